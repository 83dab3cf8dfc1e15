"""The layout of a supplier drop: which files are photos, descriptions and catalog images."""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from automation.errors import AutomationError, ItemError

TIFF_SUFFIXES = {".tiff", ".tif"}
JPEG_SUFFIX = ".jpeg"
DESCRIPTION_SUFFIX = ".txt"
RECORD_NAME = "catalog-record.jsonl"


@dataclass(frozen=True)
class Drop:
    """A supplier drop: images/NNN.tiff, descriptions/NNN.txt, and the record of what landed."""

    root: Path

    @property
    def images(self) -> Path:
        """The folder of the supplier's photos (and, by default, of the catalog JPEGs)."""
        return self.root / "images"

    @property
    def descriptions(self) -> Path:
        """The folder of the description files."""
        return self.root / "descriptions"

    @property
    def record(self) -> Path:
        """The record of what already landed in the catalog."""
        return self.root / RECORD_NAME

    def require(self, folder: Path) -> Path:
        """Return folder, or stop the run when it does not exist or cannot be opened."""
        # stat(), not is_dir(): from Python 3.14 on, is_dir() answers False for any error,
        # so a folder that may not be looked into would pass for one that is not there.
        try:
            mode = folder.stat().st_mode
        except (FileNotFoundError, NotADirectoryError):
            mode = 0
        except OSError as error:
            raise AutomationError(f"{folder}: cannot open it: {error.strerror}") from None
        if not stat.S_ISDIR(mode):
            raise AutomationError(
                f"{folder}: no such folder (is SUPPLIER_DATA_DIR / --data-dir right?)"
            )
        return folder


def natural_order(path: Path) -> tuple[str, str]:
    """Sort key of a drop file: by name, its numbers as numbers (9 before 10), then as written."""
    padded = re.sub(r"\d+", lambda number: number.group().rjust(30, "0"), path.name.lower())
    return padded, path.name


def files_with_suffix(folder: Path, suffixes: set[str], special: bool = False) -> list[Path]:
    """The visible files of folder whose suffix, in any case, is one of suffixes, in the drop's
    order (natural_order). With special, also what has such a name but is not a file (a FIFO,
    a device, a socket), so that it is named and refused rather than passed over in silence."""
    try:
        entries = list(folder.iterdir())
    except OSError as error:
        raise AutomationError(f"{folder}: cannot list it: {error.strerror or error}") from None
    return sorted(
        (
            path
            for path in entries
            if path.suffix.lower() in suffixes
            and not path.name.startswith(".")
            and (path.is_file() or path.is_symlink()  # a dangling link is reported, not hidden
                 or (special and is_special(path)))
        ),
        key=natural_order,
    )


def jpeg_name(key: str) -> str:
    """The catalog image name of a drop item: NNN -> NNN.jpeg, as the service will store it.

    Django keeps an uploaded file's name only when it is made of letters, digits, '-', '_'
    and '.', with spaces turned into '_': naming the JPEG so from the start keeps the fruit's
    image_name and the stored file the same.
    """
    safe = re.sub(r"[^-\w.]", "", key.strip().replace(" ", "_"))
    if not safe.strip("."):
        raise ItemError(f"the name {key!r} has no letters or digits to name its image by")
    return f"{safe}{JPEG_SUFFIX}"


def check_inside(path: Path, folder: Path) -> None:
    """Refuse a file that is, or links to, something outside folder."""
    target = path.resolve()
    if not target.is_relative_to(folder.resolve()):
        raise ItemError(f"is a link to {target}, outside the drop: not read")


KINDS = {
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a folder",
}


def is_special(path: Path) -> bool:
    """Whether path is neither a file, a folder nor a link: a FIFO, a device, a socket."""
    try:
        mode = path.lstat().st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode))


def not_a_file(path: Path, mode: int) -> ItemError:
    """The failure of an entry that is not a regular file, naming what it is."""
    kind = KINDS.get(stat.S_IFMT(mode), "not a regular file")
    link = "a link to " if path.is_symlink() else ""
    return ItemError(f"is {link}{kind}, not a file: not read")


def open_regular(path: Path) -> BinaryIO:
    """Open a file of the drop for reading; ItemError, naming what it is, when it is not a
    regular file (or a link to one). Reading a FIFO would wait for a writer for ever, and
    opening a device may do something to it: neither is opened."""
    try:
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):
            raise not_a_file(path, mode)
        # O_NONBLOCK: a FIFO put there since the stat() above does not hold the open.
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ItemError("cannot read it: no such file (a broken link?)") from None
    except OSError as error:
        raise ItemError(f"cannot read it: {(error.strerror or str(error)).lower()}") from None
    try:
        mode = os.fstat(handle).st_mode
        if not stat.S_ISREG(mode):
            raise not_a_file(path, mode)
        os.set_blocking(handle, True)
        return os.fdopen(handle, "rb")
    except BaseException:
        os.close(handle)
        raise


def read_regular(path: Path) -> bytes:
    """The bytes of a regular file of the drop (see open_regular); ItemError, in words, when
    it is something else or cannot be read."""
    try:
        with open_regular(path) as file:
            return file.read()
    except OSError as error:
        raise ItemError(f"cannot read it: {(error.strerror or str(error)).lower()}") from None
