"""What an item is, against the real service: a picture is named by its SHA-256, and a product
is its name, weight, description and picture, each of which makes another product.

Every expected value is worked out here (hashlib on the bytes the service serves, the fields
read back from the catalog), never with the scripts' own helpers.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest

from demo.sample_drop import NEXT_WEEK, write_drop
from tests.conftest import SMALL
from tests.helpers import catalog_fruits, import_drop, media_files, picture_served


def test_a_name_taken_by_another_picture_gets_the_first_12_hex_digits_of_its_sha256(
    drop: Path, catalog: Any, tmp_path: Path
) -> None:
    """The contract's NNN-<first hex digits of its SHA-256>.jpeg, with the README's twelve."""
    assert import_drop(drop, catalog.url) == [0, 0, 0]
    next_week = tmp_path / "next-week"
    write_drop(next_week, count=2, size=SMALL, fruits=NEXT_WEEK)
    assert import_drop(next_week, catalog.url) == [0, 0, 0]
    for number, fruit in enumerate(catalog_fruits(catalog)[10:], start=1):
        served = picture_served(catalog, fruit)
        assert served == (next_week / "images" / f"{number:03d}.jpeg").read_bytes()
        assert fruit["image_name"] == f"{number:03d}-{hashlib.sha256(served).hexdigest()[:12]}.jpeg"


def the_same_drop_again(drop: Path, folder: Path) -> Path:
    """A copy of the supplier's files of a drop (photos and descriptions, nothing the scripts
    made or keep), in another folder: only the catalog can tell what it holds."""
    for part in ("images", "descriptions"):
        shutil.copytree(drop / part, folder / part,
                        ignore=shutil.ignore_patterns("*.jpeg", ".*"))
    return folder


CHANGES = {
    "nothing": ("Apple", "500 lbs", None),
    "only the description": ("Apple", "500 lbs", "Crisp and sweet, from another orchard."),
    "only the weight": ("Apple", "510 lbs", None),
    "only the name": ("Green apple", "500 lbs", None),
}


@pytest.mark.parametrize("change", CHANGES)
def test_a_product_differing_in_one_field_alone_is_another_product(
    drop: Path, catalog: Any, tmp_path: Path, change: str
) -> None:
    """The README: two entries with the same photo and different descriptions are two
    products; so are two weights, or two names. The same entry is one product."""
    assert import_drop(drop, catalog.url) == [0, 0, 0]
    [first, *_] = before = catalog_fruits(catalog)
    again = the_same_drop_again(drop, tmp_path / "again")
    name, weight, description = CHANGES[change]
    text = (again / "descriptions" / "001.txt").read_text(encoding="utf-8-sig").splitlines()
    lines = [name, weight, *([description] if description else text[2:])]
    (again / "descriptions" / "001.txt").write_text("\n".join(lines), encoding="utf-8")

    assert import_drop(again, catalog.url) == [0, 0, 0]
    after = catalog_fruits(catalog)
    assert len(media_files(catalog)) == 10  # the same pictures: nothing uploaded again
    if change == "nothing":
        assert after == before
        return
    assert after[:10] == before
    [new] = after[10:]
    assert (new["name"], f"{new['weight']} lbs") == (name, weight)
    assert new["description"] == (description or first["description"])
    assert new["image_name"] == first["image_name"]  # the same picture, already served
    assert picture_served(catalog, new) == (drop / "images" / "001.jpeg").read_bytes()
