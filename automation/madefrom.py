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

import contextlib
import json
import logging
import os
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path

log = logging.getLogger(__name__)

MANIFEST_NAME = ".made-from.json"


class Made(Enum):
    """What a JPEG is, for the TIFF now in the drop."""

    STALE = "stale"  # missing, or not made from this very TIFF: make it
    UP_TO_DATE = "up to date"  # made from it, with today's settings
    OTHER_SETTINGS = "other settings"  # made from it with other settings, or none noted: kept


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
        try:
            entries = json.loads(self.path.read_text(encoding="utf-8"))
            self.makings = {name: Making.from_json(data) for name, data in entries.items()}
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
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
            return Made.OTHER_SETTINGS if made.st_mtime_ns >= changed else Made.STALE
        if making != Making(tiff.name, source, making.recipe, made.st_size, made.st_mtime_ns):
            return Made.STALE
        return Made.UP_TO_DATE if making.recipe == recipe else Made.OTHER_SETTINGS

    def note(self, tiff: Path, jpeg: Path, source: FileState, recipe: str) -> None:
        """Remember that jpeg, as it is now, was made from the TIFF in state source."""
        made = jpeg.stat()
        self.makings[jpeg.name] = Making(tiff.name, source, recipe, made.st_size,
                                         made.st_mtime_ns)

    def save(self) -> None:
        """Write the manifest, whole or not at all; a failure only costs conversions later."""
        temporary = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        text = json.dumps({name: asdict(making) for name, making in sorted(self.makings.items())},
                          indent=1)
        try:
            temporary.write_text(text + "\n", encoding="utf-8")
            os.replace(temporary, self.path)
        except OSError as error:
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)
            log.warning("%s: cannot write it (%s): the JPEGs will be made again next time",
                        self.path, error.strerror or error)
