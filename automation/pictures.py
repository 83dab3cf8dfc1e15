"""A catalog JPEG goes with its product only when it was made from the TIFF now in the drop.

changeImage.py notes, in the JPEGs' folder, which TIFF each JPEG was made from
(automation/madefrom.py). When the next drop is unpacked over the last and one of its photos
cannot be converted, last week's JPEG is still there under the same name: it must not go to the
catalog as the new product's picture.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from automation.drop import TIFF_SUFFIXES, jpeg_name
from automation.errors import ItemError
from automation.madefrom import FileState, Made, MadeFrom


class Conversions:
    """What changeImage.py made the JPEGs of a folder from, for the TIFFs now in the drop."""

    def __init__(self, tiffs: Path, jpegs: Path) -> None:
        self.tiffs = tiffs
        self.made_from = MadeFrom(jpegs)
        self._tiff_by_jpeg: dict[str, Path] = {}
        with contextlib.suppress(OSError):
            for path in sorted(tiffs.iterdir(), reverse=True):  # .tif before .tiff wins
                if path.suffix.lower() in TIFF_SUFFIXES:
                    with contextlib.suppress(ItemError):
                        self._tiff_by_jpeg[jpeg_name(path.stem)] = path

    def tiff_of(self, jpeg: Path) -> Path | None:
        """The supplier photo that a catalog JPEG stands for, if the drop has one."""
        making = self.made_from.makings.get(jpeg.name)
        if making is not None and (self.tiffs / making.tiff).exists():
            return self.tiffs / making.tiff
        return self._tiff_by_jpeg.get(jpeg.name)

    def check(self, jpeg: Path) -> None:
        """Refuse a JPEG that was not made from the TIFF now in the drop (its conversion failed,
        or was not run); a JPEG with no TIFF of its own in the drop is taken as it is."""
        tiff = self.tiff_of(jpeg)
        if tiff is None:
            return
        try:
            source = FileState.of(tiff)
        except OSError:
            return
        if self.made_from.judge(tiff, jpeg, source, recipe="") is Made.STALE:
            raise ItemError(
                f"was not made from the images/{tiff.name} now in the drop (it could not be "
                "converted, or changeImage.py has not run since it arrived): not sent"
            )
