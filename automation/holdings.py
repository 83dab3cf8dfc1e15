"""What the catalog holds: its fruits and the pictures its image names serve.

The catalog is the truth about what was imported. A picture is known by the bytes of its JPEG,
an item of the drop by its fruit (name, weight, description) together with its picture: the
same item is in the catalog when a fruit with the same fields has an image name serving the
same bytes, whichever drop, folder or number it came from.

A picture is uploaded once: any image name that already serves these very bytes (a name the
catalog's fruits use, or one this run saw) is used again. Otherwise a drop entry NNN's picture
goes under NNN.jpeg when that name is free, and under NNN-<first 12 hex digits of its
SHA-256>.jpeg when NNN.jpeg serves another picture (an earlier drop's): the store's service can
neither replace nor delete an image. Every name fits the service's 93 characters: a long NNN is
cut, and the digest keeps the name unique to the picture.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from automation.catalog import MAX_IMAGE_NAME, Catalog
from automation.descriptions import Description
from automation.drop import JPEG_SUFFIX, jpeg_name
from automation.record import sha256_of

DIGEST_DIGITS = 12


def image_names(key: str, picture: str) -> list[str]:
    """The catalog names a drop entry's picture may take, in order of preference, each of at
    most MAX_IMAGE_NAME characters."""
    plain = jpeg_name(key)
    stem = plain.removesuffix(JPEG_SUFFIX)
    room = MAX_IMAGE_NAME - len(JPEG_SUFFIX) - 1 - DIGEST_DIGITS
    own = f"{stem[:room]}-{picture[:DIGEST_DIGITS]}{JPEG_SUFFIX}"
    return [plain, own] if len(plain) <= MAX_IMAGE_NAME else [own]


def fields_of(fruit: Description | dict[str, Any]) -> tuple[str, int, str]:
    """What a fruit says of the product, apart from its picture."""
    if isinstance(fruit, Description):
        return fruit.name, fruit.weight, fruit.description
    return fruit.get("name", ""), fruit.get("weight", 0), fruit.get("description", "")


@dataclass(frozen=True)
class PictureName:
    """Where a picture goes in the catalog: the name, and whether it already serves it there."""

    name: str
    held: bool


class Holdings:
    """A view of one catalog: its fruits read once (and kept up to date with what we post), the
    pictures of its image names read when first needed."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._served: dict[str, str | None] = {}
        self._lock = threading.Lock()
        self._picture_locks: dict[str, threading.Lock] = {}
        self._scanned = False
        self._index(catalog.fruits())

    def _index(self, fruits: Sequence[dict[str, Any]]) -> None:
        by_fields: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
        for fruit in fruits:
            by_fields.setdefault(fields_of(fruit), []).append(fruit)
        with self._lock:
            self._by_fields = by_fields
            self._by_id = {fruit.get("id"): fruit for fruit in fruits}

    def fruit(self, fruit_id: int | None) -> dict[str, Any] | None:
        """The catalog's fruit of an id, if it holds it."""
        return self._by_id.get(fruit_id)

    def fruits_named(self, name: str) -> list[dict[str, Any]]:
        """The catalog's fruits of a name, oldest first."""
        return sorted((fruit for fruit in self._by_id.values() if fruit.get("name") == name),
                      key=lambda fruit: fruit.get("id") or 0)

    def served(self, name: str, fresh: bool = False) -> str | None:
        """The SHA-256 of the picture an image name serves, or None when it serves none."""
        if fresh or name not in self._served:
            data = self.catalog.image(name)
            self._served[name] = None if data is None else sha256_of(data)
        return self._served[name]

    def remember(self, name: str, picture: str) -> None:
        """Take in that an image name was seen serving a picture: the store's service can
        neither replace nor delete an image, so it serves it for good."""
        self._served[name] = picture

    def named(self, picture: str) -> str | None:
        """An image name seen serving a picture, if any (the first in name order)."""
        names = sorted(name for name, served in list(self._served.items()) if served == picture)
        return names[0] if names else None

    def _scan(self) -> None:
        """Read the picture of every image name the catalog's fruits use, once."""
        with self._lock:
            if self._scanned:
                return
            names = {fruit.get("image_name") for fruit in self._by_id.values()}
            for name in sorted(n for n in names if isinstance(n, str) and n):
                self.served(name)
            self._scanned = True

    @contextmanager
    def placing(self, picture: str) -> Iterator[None]:
        """Place and upload one picture at a time: two entries of a drop with the same photo
        must not both find it missing and upload it twice."""
        with self._lock:
            lock = self._picture_locks.setdefault(picture, threading.Lock())
        with lock:
            yield

    def place(self, key: str, picture: str) -> PictureName | None:
        """Where drop entry key's picture goes: a name that serves it already, else its first
        name that is free; None when every one of its names serves another picture."""
        known = self.named(picture)
        if known is not None:
            return PictureName(known, held=True)
        free = None
        for name in image_names(key, picture):
            served = self.served(name)
            if served == picture:
                return PictureName(name, held=True)
            if served is None:
                free = name
                break
        self._scan()
        known = self.named(picture)
        if known is not None:
            return PictureName(known, held=True)
        return None if free is None else PictureName(free, held=False)

    def find_fruit(
        self, fruit: Description, picture: str, fresh: bool = False
    ) -> dict[str, Any] | None:
        """The catalog's fruit of an item (the same fields and picture), if it holds one."""
        if fresh:
            self._index(self.catalog.fruits())
        for stored in self._by_fields.get(fields_of(fruit), []):
            name = stored.get("image_name")
            if isinstance(name, str) and name and self.served(name, fresh) == picture:
                return stored
        return None

    def posted(self, stored: dict[str, Any], picture: str) -> None:
        """Take in a fruit we just posted, with the picture its image name serves."""
        with self._lock:
            self._by_fields.setdefault(fields_of(stored), []).append(stored)
            self._by_id[stored["id"]] = stored
            self._served[stored["image_name"]] = picture
