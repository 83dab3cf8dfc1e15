"""What each catalog JPEG was made from, so that a JPEG is remade exactly when it must be.

The folder of the JPEGs keeps `.made-from.json`: for each JPEG, the TIFF it was made from as the
file system knows that file (device, inode, size, modification and change times, like git's
index), the recipe it was made with, and the JPEG's own size and time. A JPEG is made again
when it was not made from the very TIFF now in the drop. An archive unpacked over the drop can
give a TIFF an old modification time, but never an old change time: the kernel sets that,
whatever the archive says. Hashing the TIFF instead would cost as much as converting it again.

A JPEG made from this very TIFF with other settings (another --fit, an earlier version) is
kept: the catalog knows a picture by its bytes and may show these already, so new bytes would
be a second picture of the same product there. --force makes it again all the same.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path

from automation.files import write_atomically

log = logging.getLogger(__name__)

MANIFEST_NAME = ".made-from.json"


class Made(Enum):
    """What a JPEG is, for the TIFF now in the drop."""

    STALE = "stale"  # missing, or not made from this very TIFF: make it
    UP_TO_DATE = "up to date"  # made from it, with today's settings
    OTHER_SETTINGS = "other settings"  # made from it with other settings: kept
    NOT_NOTED = "not noted"  # no note of it, but newer than every change of its TIFF: kept


@dataclass(frozen=True)
class FileState:
    """A file as the file system knows it: which file it is, and when it last changed."""

    device: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, path: Path) -> FileState:
        """The state of the file at path now (following links)."""
        stat = path.stat()
        return cls(stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


@dataclass(frozen=True)
class Making:
    """How one JPEG was made: from which TIFF, with which recipe, and the JPEG it gave."""

    tiff: str
    source: FileState
    recipe: str
    jpeg_size: int
    jpeg_mtime_ns: int

    @classmethod
    def from_json(cls, data: dict) -> Making:
        """A Making from its JSON form; raises KeyError or TypeError when it is not one."""
        return cls(data["tiff"], FileState(**data["source"]), data["recipe"],
                   data["jpeg_size"], data["jpeg_mtime_ns"])


class MadeFrom:
    """The manifest of one folder of JPEGs."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / MANIFEST_NAME
        self.makings: dict[str, Making] = {}
        self.found = True  # whether the manifest was there and could be read
        self._noted = False  # whether a JPEG was noted since: only then is it written
        try:
            entries = json.loads(self.path.read_text(encoding="utf-8"))
            self.makings = {name: Making.from_json(data) for name, data in entries.items()}
        except FileNotFoundError:
            self.found = False
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            self.found = False
            log.warning("%s: unreadable, ignored: a JPEG is kept only when it is newer than "
                        "every change of its TIFF", self.path)

    def judge(self, tiff: Path, jpeg: Path, source: FileState, recipe: str) -> Made:
        """What jpeg is, for the TIFF now at tiff (in state source) and the recipe of today."""
        try:
            made = jpeg.stat()
        except FileNotFoundError:
            return Made.STALE
        making = self.makings.get(jpeg.name)
        if making is None:
            # Made before JPEGs were noted here, by an earlier version with its own settings:
            # kept while the TIFF has not changed since.
            changed = max(source.ctime_ns, source.mtime_ns)
            return Made.NOT_NOTED if made.st_mtime_ns >= changed else Made.STALE
        if making != Making(tiff.name, source, making.recipe, made.st_size, made.st_mtime_ns):
            return Made.STALE
        return Made.UP_TO_DATE if making.recipe == recipe else Made.OTHER_SETTINGS

    def note(self, tiff: Path, jpeg: Path, source: FileState, recipe: str) -> None:
        """Remember that jpeg, as it is now, was made from the TIFF in state source."""
        made = jpeg.stat()
        self.makings[jpeg.name] = Making(tiff.name, source, recipe, made.st_size,
                                         made.st_mtime_ns)
        self._noted = True

    def save(self) -> None:
        """Write the manifest when a JPEG was noted, whole or not at all; a failure only costs
        conversions later. With nothing new to note, the file is left as it is: a manifest that
        is missing stays so, and one that could not be read is not overwritten."""
        if not self._noted:
            return
        text = json.dumps({name: asdict(making) for name, making in sorted(self.makings.items())},
                          indent=1)
        try:
            write_atomically(self.path, text + "\n")
        except OSError as error:
            log.warning("%s: cannot write it (%s): the JPEGs will be made again next time",
                        self.path, error.strerror or error)


def plural(count: int, word: str) -> str:
    """'1 JPEG', '2 JPEGs'."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def summary(converted: int, up_to_date: int, kept: int, failed: int) -> str:
    """changeImage's summary line: each TIFF counted once, a kept JPEG never as up to date."""
    kept_part = f", {kept} kept as made before" if kept else ""
    return f"{converted} converted, {up_to_date} already up to date{kept_part}, {failed} failed"


def tell_kept(kept: dict[str, Made], made_from: MadeFrom) -> None:
    """Warn once for each reason JPEGs were kept though not known to be made with today's
    settings (the operator may want --force), and name each of them with -v."""
    for reason in (Made.OTHER_SETTINGS, Made.NOT_NOTED):
        names = [name for name, made in kept.items() if made is reason]
        if not names:
            continue
        one = len(names) == 1
        it, them, was = ("it", "it", "was") if one else ("they", "them", "were")
        if reason is Made.OTHER_SETTINGS:
            why = ("made from the very TIFF now in the drop, with other settings (another "
                   "--fit, an earlier version)")
        else:
            where = (f"{made_from.path} has no note of {them}" if made_from.found
                     else f"{made_from.path} is missing or unreadable")
            why = (f"no note says what {it} {was} made from ({where}), and "
                   f"{'it is' if one else 'each is'} newer than its TIFF")
        log.warning("%s kept as made before: %s; the catalog may show %s already: --force "
                    "makes %s again, as %s", plural(len(names), "JPEG"), why, them, them,
                    "a new picture" if one else "new pictures")
        for name in names:
            log.info("%s: its JPEG kept as made before (%s)", name, reason.value)
