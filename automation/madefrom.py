"""What each catalog JPEG was made from, so that a JPEG is remade exactly when it must be.

The folder of the JPEGs keeps `.made-from.json`: for each JPEG, the TIFF it was made from as the
file system knows that file (device, inode, size, modification and change times, like git's
index), the recipe it was made with, and the JPEG's own size and time. A JPEG is up to date
only when all of these still hold. An archive unpacked over the drop can give a TIFF an old
modification time, but never an old change time: the kernel sets that, whatever the archive says.
Hashing the TIFF instead would cost as much as converting it again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

log = logging.getLogger(__name__)

MANIFEST_NAME = ".made-from.json"


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

    def is_up_to_date(self, tiff: Path, jpeg: Path, source: FileState, recipe: str) -> bool:
        """Whether jpeg was made from this very TIFF (in state source) with this recipe."""
        try:
            made = jpeg.stat()
        except FileNotFoundError:
            return False
        making = self.makings.get(jpeg.name)
        if making is None:
            # Made before JPEGs were noted here: keep it if the TIFF has not changed since.
            return made.st_mtime_ns >= max(source.ctime_ns, source.mtime_ns)
        return making == Making(tiff.name, source, recipe, made.st_size, made.st_mtime_ns)

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
