"""automation/holdings.py alone: image names and placement against a catalog held in memory."""

from __future__ import annotations

import hashlib

import pytest

from automation.descriptions import Description
from automation.holdings import Holdings, image_names


class MemoryCatalog:
    """A catalog's fruits and served images, in memory, counting the images asked for."""

    def __init__(self, fruits: list[dict] | None = None, images: dict[str, bytes] | None = None):
        self._fruits = fruits or []
        self.images = images or {}
        self.asked: list[str] = []

    def fruits(self) -> list[dict]:
        return list(self._fruits)

    def image(self, name: str) -> bytes | None:
        self.asked.append(name)
        return self.images.get(name)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


OURS = b"our picture"
THEIRS = b"an earlier drop's picture"


@pytest.mark.parametrize(("key", "expected"), [
    ("001", ["001.jpeg", f"001-{digest(OURS)[:12]}.jpeg"]),
    ("114 pomme é", ["114_pomme_é.jpeg", f"114_pomme_é-{digest(OURS)[:12]}.jpeg"]),
    ("4" * 88, ["4" * 88 + ".jpeg", "4" * 75 + f"-{digest(OURS)[:12]}.jpeg"]),
    ("4" * 89, ["4" * 75 + f"-{digest(OURS)[:12]}.jpeg"]),  # 94 characters would not fit
    ("4" * 120, ["4" * 75 + f"-{digest(OURS)[:12]}.jpeg"]),
])
def test_image_names_fit_the_services_93_characters(key: str, expected: list[str]) -> None:
    names = image_names(key, digest(OURS))
    assert names == expected
    assert all(len(name) <= 93 for name in names)


def test_a_free_name_is_taken() -> None:
    holdings = Holdings(MemoryCatalog())
    place = holdings.place("001", digest(OURS))
    assert (place.name, place.held) == ("001.jpeg", False)


def test_a_name_serving_these_bytes_is_used_again() -> None:
    holdings = Holdings(MemoryCatalog(images={"001.jpeg": OURS}))
    place = holdings.place("001", digest(OURS))
    assert (place.name, place.held) == ("001.jpeg", True)


def test_a_name_serving_another_picture_gives_way_to_the_digest_name() -> None:
    holdings = Holdings(MemoryCatalog(images={"001.jpeg": THEIRS}))
    place = holdings.place("001", digest(OURS))
    assert (place.name, place.held) == (f"001-{digest(OURS)[:12]}.jpeg", False)


def test_every_name_taken_by_other_pictures_is_no_place() -> None:
    catalog = MemoryCatalog(images={"001.jpeg": THEIRS,
                                    f"001-{digest(OURS)[:12]}.jpeg": THEIRS})
    assert Holdings(catalog).place("001", digest(OURS)) is None


def test_a_picture_a_fruit_shows_under_another_number_is_not_placed_again() -> None:
    fruit = {"id": 7, "name": "Old", "weight": 1, "description": "x", "image_name": "006-x.jpeg"}
    catalog = MemoryCatalog([fruit], images={"006-x.jpeg": OURS})
    place = Holdings(catalog).place("004", digest(OURS))
    assert (place.name, place.held) == ("006-x.jpeg", True)


def test_an_empty_catalog_is_asked_only_for_the_first_name() -> None:
    catalog = MemoryCatalog()
    Holdings(catalog).place("001", digest(OURS))
    assert catalog.asked == ["001.jpeg"]


def test_a_name_remembered_is_not_asked_again() -> None:
    catalog = MemoryCatalog()
    holdings = Holdings(catalog)
    holdings.remember("009.jpeg", digest(OURS))
    place = holdings.place("001", digest(OURS))
    assert (place.name, place.held, catalog.asked) == ("009.jpeg", True, [])


@pytest.mark.parametrize(("field", "value"), [("name", "Pear"), ("weight", 2),
                                              ("description", "y")])
def test_a_fruit_is_found_only_with_every_field_and_its_picture(field: str, value: object) -> None:
    fruit = {"id": 1, "name": "Apple", "weight": 1, "description": "x", "image_name": "a.jpeg"}
    holdings = Holdings(MemoryCatalog([fruit], images={"a.jpeg": OURS}))
    same = Description("Apple", 1, "x")
    assert holdings.find_fruit(same, digest(OURS)) == fruit
    assert holdings.find_fruit(same, digest(THEIRS)) is None
    other = Description(**{"name": "Apple", "weight": 1, "description": "x", field: value})
    assert holdings.find_fruit(other, digest(OURS)) is None
