"""The layout of a supplier drop: which files are photos, descriptions and catalog images."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from automation.cli import AutomationError, ItemError

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
        """Return folder, or stop the run when it does not exist."""
        if not folder.is_dir():
            raise AutomationError(
                f"{folder}: no such folder (is SUPPLIER_DATA_DIR / --data-dir right?)"
            )
        return folder


def files_with_suffix(folder: Path, suffixes: set[str]) -> list[Path]:
    """The visible files of folder whose suffix, in any case, is one of suffixes, by name."""
    try:
        entries = list(folder.iterdir())
    except OSError as error:
        raise AutomationError(f"{folder}: cannot list it: {error.strerror or error}") from None
    return sorted(
        path
        for path in entries
        if path.suffix.lower() in suffixes and not path.name.startswith(".")
    )


def jpeg_name(key: str) -> str:
    """The catalog image name of a drop item: NNN -> NNN.jpeg."""
    return f"{key}{JPEG_SUFFIX}"


def check_inside(path: Path, folder: Path) -> None:
    """Refuse a file that is, or links to, something outside folder."""
    target = path.resolve()
    if not target.is_relative_to(folder.resolve()):
        raise ItemError(f"is a link to {target}, outside the drop: not read")
