#!/usr/bin/env python3
"""Turn each supplier TIFF of the drop into the catalog's 600x400 RGB JPEG, beside it.

Transparent areas become white. The work is spread over all CPUs. A JPEG is made again only
when it was not made from the very TIFF now in the drop, with today's recipe (see
automation/madefrom.py), or with --force. A file that is not a TIFF image is reported and the
rest go on.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops

from automation import settings
from automation.batch import (
    DONE,
    FAILED,
    SKIPPED,
    Outcome,
    display_name,
    run_each,
    summarize,
    tell,
)
from automation.cli import add_verbosity_flags, guarded, setup_logging
from automation.drop import TIFF_SUFFIXES, Drop, check_inside, files_with_suffix, jpeg_name
from automation.errors import AutomationError, ItemError
from automation.madefrom import FileState, MadeFrom

SIZE = (600, 400)
JPEG_QUALITY = 85
RECIPE = f"{SIZE[0]}x{SIZE[1]}, stretched, on white, JPEG quality {JPEG_QUALITY}"
MAX_PIXELS = 40_000_000
# open_tiff checks the declared size against --max-pixels, so that the message names the size;
# Pillow's own, looser check would only say "could be decompression bomb DOS attack".
Image.MAX_IMAGE_PIXELS = None

# Pillow reports a hostile or broken file with any of these, depending on where it breaks.
DECODE_ERRORS = (
    OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError, KeyError,
    ZeroDivisionError, Image.DecompressionBombError,
)

# EXIF orientation -> the transpose that makes the picture upright.
UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
ORIENTATION_TAG = 0x0112


@dataclass(frozen=True)
class Task:
    """One conversion: a TIFF, the folder of its JPEG, and how to do it."""

    source: Path
    output: Path
    name: str
    max_pixels: int = MAX_PIXELS


def target_for(source: Path, output: Path) -> Path:
    """The JPEG that a TIFF becomes: NNN.tiff -> output/NNN.jpeg."""
    return output / jpeg_name(source.stem)


def source_state(tiff: Path) -> FileState | None:
    """The TIFF's state before it is read, or None when it cannot be read (convert says why)."""
    try:
        return FileState.of(tiff)
    except OSError:
        return None


def is_up_to_date(task: Task, source: FileState | None, made_from: MadeFrom) -> bool:
    """Whether the task's JPEG was made from this very TIFF with today's recipe."""
    if source is None:
        return False
    target = target_for(task.source, task.output)
    return made_from.is_up_to_date(task.source, target, source, RECIPE)


def as_reducible(image: Image.Image) -> Image.Image:
    """The image in a mode that box reduction handles: L, RGB, or premultiplied La / RGBa."""
    if image.mode in ("L", "RGB", "La", "RGBa"):
        return image
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        return image.convert("I").point(lambda value: value * (1 / 257)).convert("L")
    if image.mode == "1":
        return image.convert("L")
    if image.mode == "LA":
        return image.convert("La")
    if image.mode in ("P", "PA") or "transparency" in image.info:
        return image.convert("RGBA").convert("RGBa")
    if image.mode == "RGBA":
        return image.convert("RGBa")
    return image.convert("RGB")


def on_white(image: Image.Image) -> Image.Image:
    """Flatten a premultiplied image onto white: colour + (255 - alpha), as RGB."""
    if image.mode not in ("La", "RGBa"):
        return image.convert("RGB")
    *colours, alpha = image.split()
    see_through = ImageChops.invert(alpha)
    flat = [ImageChops.add(colour, see_through) for colour in colours]
    return Image.merge("RGB", flat * 3 if len(flat) == 1 else flat)


def shrink(image: Image.Image, size: tuple[int, int], orientation: int = 1) -> Image.Image:
    """Resize a photo to exactly size, upright, on white, RGB; working small as early as it can."""
    width, height = size
    if orientation in (5, 6, 7, 8):  # the photo lies on its side: its width becomes height
        width, height = height, width
    factor = max(1, min(image.width // width, image.height // height))
    small = as_reducible(image)
    if factor > 1:
        small = small.reduce(factor)
    if small.size != (width, height):
        small = small.resize((width, height), Image.Resampling.LANCZOS)
    if orientation in UPRIGHT:
        small = small.transpose(UPRIGHT[orientation])
    return on_white(small)


def cache_freed_blocks(image: Image.Image) -> None:
    """Let Pillow keep freed image memory for the next image, when decoding a compressed TIFF.

    A compressed TIFF is decoded into fresh memory, and the kernel faults in every page of it
    anew for each image: keeping two freed 16 MB blocks saves about a fifth of the time
    (bench/RESULTS.md). An uncompressed TIFF is mapped instead, and runs slower with the
    cache. Pillow offers the setting only as PILLOW_BLOCKS_MAX, read once at import, so this
    uses its core's setter when there is one, and does without otherwise.
    """
    setter = getattr(Image.core, "set_blocks_max", None)
    if setter is not None and not os.environ.get("PILLOW_BLOCKS_MAX"):
        setter(0 if image.info.get("compression", "raw") == "raw" else 2)


def open_tiff(path: Path, max_pixels: int) -> Image.Image:
    """Open a TIFF lazily, refusing what is not one and what declares too many pixels."""
    try:
        image = Image.open(path, formats=["TIFF"])
    except FileNotFoundError:
        raise ItemError("cannot read it: no such file (a broken link?)") from None
    except PermissionError:
        raise ItemError("cannot read it: permission denied") from None
    except DECODE_ERRORS:
        raise ItemError("not a TIFF image (Pillow cannot identify it)") from None
    pixels = image.width * image.height
    if pixels > max_pixels:
        image.close()
        raise ItemError(
            f"declares {image.width}x{image.height} pixels, over the limit of {max_pixels:,} "
            "(a decompression bomb?): not converted"
        )
    return image


def write_atomically(image: Image.Image, target: Path) -> None:
    """Save a JPEG under a temporary name, then rename it: never a half-written target."""
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        image.save(temporary, "JPEG", quality=JPEG_QUALITY)
        os.replace(temporary, target)
    except OSError as error:
        with contextlib.suppress(OSError):  # a read-only folder cannot even hold the attempt
            temporary.unlink(missing_ok=True)
        raise ItemError(f"cannot write {target}: {error.strerror or error}") from None


def convert(task: Task) -> Outcome:
    """Convert one TIFF into its catalog JPEG; never raises for a bad file."""
    try:
        target = target_for(task.source, task.output)
        check_inside(task.source, task.source.parent)
        with open_tiff(task.source, task.max_pixels) as image:
            pages = getattr(image, "n_frames", 1)
            cache_freed_blocks(image)
            try:
                image.load()
                # Recent Pillow turns a TIFF upright as it loads it and drops the tag; older
                # Pillow leaves the tag for us to apply.
                orientation = image.getexif().get(ORIENTATION_TAG, 1)
                result = shrink(image, SIZE, orientation)
            except DECODE_ERRORS as error:
                raise ItemError(f"cannot decode it ({error})") from None
        write_atomically(result, target)
    except ItemError as error:
        return Outcome(task.name, FAILED, str(error))
    note = f"has {pages} pages: converted the first" if pages > 1 else ""
    return Outcome(task.name, DONE, note)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line, with defaults from the environment."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    settings.DATA_DIR.add_to(parser)
    parser.add_argument(
        "--output", type=Path, metavar="DIR",
        help="write the JPEGs to this folder (default: beside the TIFFs, in <drop>/images)",
    )
    parser.add_argument(
        "--jobs", type=settings.positive_int, default=os.cpu_count() or 1,
        help="convert this many images at once (default: the number of CPUs, %(default)s)",
    )
    parser.add_argument(
        "--force", action="store_true", help="convert again even when the JPEG is up to date"
    )
    parser.add_argument(
        "--max-pixels", type=settings.positive_int, default=MAX_PIXELS,
        help="refuse a TIFF that declares more pixels than this (default: %(default)s)",
    )
    add_verbosity_flags(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Convert the TIFFs: exit 0 when all are done, 1 when some failed, 2 if it cannot run."""
    args = parse_args(argv)
    setup_logging(args.verbose, args.quiet, prog=Path(__file__).name)

    def run() -> int:
        drop = Drop(settings.drop_dir(args.data_dir))
        images = drop.require(drop.images)
        output = args.output or images
        try:
            output.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise AutomationError(f"{output}: cannot create it: {error.strerror}") from None
        tasks = [
            Task(tiff, output, display_name(tiff, drop.root), args.max_pixels)
            for tiff in files_with_suffix(images, TIFF_SUFFIXES)
        ]
        made_from = MadeFrom(output)
        sources = {task.source: source_state(task.source) for task in tasks}
        stale = [task for task in tasks
                 if args.force or not is_up_to_date(task, sources[task.source], made_from)]
        fresh = [tell(Outcome(task.name, SKIPPED)) for task in tasks if task not in stale]
        outcomes = run_each(convert, stale, args.jobs, "converting", args.quiet, processes=True)
        for task, outcome in zip(stale, outcomes, strict=True):
            source = sources[task.source]
            if outcome.status == DONE and source is not None:
                made_from.note(task.source, target_for(task.source, output), source, RECIPE)
        made_from.save()
        return summarize(fresh + outcomes, "converted", "already up to date", args.quiet)

    return guarded(run)


if __name__ == "__main__":
    sys.exit(main())
