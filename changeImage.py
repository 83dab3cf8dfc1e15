#!/usr/bin/env python3
"""Turn each supplier TIFF of the drop into the catalog's 600x400 sRGB JPEG, beside it.

A photo keeps its shape: it is fitted inside the frame on white, or with --fit crop cropped
around its centre to fill it. Its colours are converted to sRGB from its embedded ICC profile,
transparent areas become white, and nothing of its metadata (EXIF, GPS, XMP) is kept. The work
is spread over all CPUs. A JPEG is made again only when it was not made from the very TIFF now
in the drop (see automation/madefrom.py), or with --force. A file that is
not a TIFF image is reported and the rest go on.
"""

from __future__ import annotations

import argparse
import functools
import io
import math
import os
import re
import struct
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageChops, ImageCms

from automation import settings
from automation.batch import (
    Outcome,
    Status,
    display_name,
    run_each,
    summarize,
    tell,
)
from automation.cli import add_verbosity_flags, guarded, setup_logging
from automation.drop import (
    TIFF_SUFFIXES,
    Drop,
    check_inside,
    files_with_suffix,
    jpeg_name,
    open_regular,
)
from automation.errors import AutomationError, ItemError
from automation.files import replacing
from automation.madefrom import FileState, Made, MadeFrom, tell_kept
from automation.madefrom import summary as made_summary

SIZE = (600, 400)
WHITE = 255
FITS = {
    "pad": "fitted inside the frame, white around it",
    "crop": "cropped around its centre to fill the frame",
}
# Chosen with the figures of bench/RESULTS.md ("JPEG settings").
JPEG_SETTINGS = {"quality": 85, "subsampling": "4:2:0", "progressive": False, "optimize": True}
# Photoshop's and GIMP's default conversion: colours inside sRGB stay exact, others clip to
# the nearest, and a CMYK black becomes sRGB black.
INTENT = ImageCms.Intent.RELATIVE_COLORIMETRIC
CMS_FLAGS = ImageCms.Flags.BLACKPOINTCOMPENSATION
# Every setting that changes the JPEG's bytes, noted with each JPEG.
RECIPE = (
    f"{SIZE[0]}x{SIZE[1]}; box averages with exact alpha on white, then Lanczos; "
    "sRGB from the embedded profile (relative colorimetric, black point compensation); "
    "JPEG " + ", ".join(f"{key} {value}" for key, value in JPEG_SETTINGS.items())
    + "; no metadata"
)
MAX_PIXELS = 40_000_000
# open_tiff checks the declared size against --max-pixels, so that the message names the size;
# Pillow's own, looser check would only say "could be decompression bomb DOS attack".
Image.MAX_IMAGE_PIXELS = None

# Pillow reports a hostile or broken file with any of these, depending on where it breaks.
DECODE_ERRORS = (
    OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError, KeyError,
    ZeroDivisionError, Image.DecompressionBombError,
)
PREMULTIPLIED = {"RGBA": "RGBa", "LA": "La"}
SNAP = 4  # partly transparent blocks are redone in runs that start and end on this grid
PARTLY = bytes([0] + [255] * 254 + [0])  # lookup table: alpha -> 255 when 0 < alpha < 255
SRGB = ImageCms.createProfile("sRGB")


def recipe(fit: str) -> str:
    """The recipe of a JPEG made with this fit."""
    return f"{RECIPE}; {fit}: {FITS[fit]}"


@dataclass(frozen=True)
class Task:
    """One conversion: a TIFF, the folder of its JPEG, and how to do it."""

    source: Path
    output: Path
    name: str
    max_pixels: int = MAX_PIXELS
    fit: str = "pad"


def target_for(source: Path, output: Path) -> Path:
    """The JPEG that a TIFF becomes: NNN.tiff -> output/NNN.jpeg."""
    return output / jpeg_name(source.stem)


def source_state(tiff: Path) -> FileState | None:
    """The TIFF's state before it is read, or None when it cannot be read (convert says why)."""
    try:
        return FileState.of(tiff)
    except OSError:
        return None


def judge(task: Task, source: FileState | None, made_from: MadeFrom) -> Made:
    """What the task's JPEG is, for the TIFF now in the drop (see automation/madefrom.py)."""
    if source is None:
        return Made.STALE  # convert says why it cannot be read
    target = target_for(task.source, task.output)
    return made_from.judge(task.source, target, source, recipe(task.fit))


@dataclass(frozen=True)
class Placement:
    """Where a photo goes in the frame: the part of it shown, at what size, and where."""

    box: tuple[float, float, float, float]
    size: tuple[int, int]
    offset: tuple[int, int]


def place(photo: tuple[int, int], frame: tuple[int, int], fit: str) -> Placement:
    """Place a photo in the frame without distorting it: fitted inside it, or cropped to fill."""
    width, height = photo
    whole = (0.0, 0.0, float(width), float(height))
    wider = width * frame[1] - height * frame[0]  # > 0: wider than the frame in proportion
    if fit == "crop":
        if wider > 0:  # the full height, the middle of the width
            shown = height * frame[0] / frame[1]
            return Placement(((width - shown) / 2, 0.0, (width + shown) / 2, float(height)),
                             frame, (0, 0))
        if wider < 0:  # the full width, the middle of the height
            shown = width * frame[1] / frame[0]
            return Placement((0.0, (height - shown) / 2, float(width), (height + shown) / 2),
                             frame, (0, 0))
        return Placement(whole, frame, (0, 0))
    if wider > 0:
        size = (frame[0], max(1, round(height * frame[0] / width)))
    else:
        size = (max(1, round(width * frame[1] / height)), frame[1])
    return Placement(whole, size, ((frame[0] - size[0]) // 2, (frame[1] - size[1]) // 2))


def as_reducible(image: Image.Image) -> Image.Image:
    """The image in a mode that box averaging handles: L, LA, RGB, RGBA, CMYK (or La, RGBa)."""
    if image.mode in ("L", "LA", "RGB", "RGBA", "CMYK", "La", "RGBa"):
        return image
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return image.convert("I").point(lambda value: value * (1 / 257)).convert("L")
    if image.mode in ("I", "F"):
        return eight_bit(image)
    if image.mode == "1":
        return image.convert("L")
    if image.mode == "PA" or "transparency" in image.info:
        return image.convert("RGBA")
    return image.convert("RGB")


def eight_bit(image: Image.Image) -> Image.Image:
    """A 32-bit photo (whole numbers, I, or floating point, F) in 8 bits, scaled from its real
    range: a float one from 0-1 when its values lie within; any other from 0 (or its lowest
    value, when below) to its highest. Read as 16-bit, such values would all be near black.
    ItemError when some values are not numbers (NaN, infinity)."""
    low, high = image.getextrema()
    finite = math.isfinite(low) and math.isfinite(high)
    # A NaN is in no bin of the histogram: fewer counted than there are pixels.
    if not finite or sum(image.histogram(extrema=(low, max(high, low + 1)))) < (
            image.width * image.height):
        raise ItemError("some of its pixel values are not numbers (NaN or infinity): "
                        "not converted")
    if image.mode == "F" and low >= 0 and high <= 1:
        low, high = 0.0, 1.0
    low = min(low, 0)
    if high <= low:
        return Image.new("L", image.size, 0)
    factor = WHITE / (high - low)
    return image.convert("F").point(lambda value: value * factor - low * factor).convert("L")


def block_averages(image: Image.Image, factor: int, box: tuple[int, int, int, int]
                   ) -> Image.Image | None:
    """Every band of box averaged over factor x factor blocks, alpha like the others.

    Pillow's public reduce() first multiplies every pixel of an RGBA photo by its alpha, a
    whole extra pass over the full-size photo; its core averages without it. None when this
    Pillow's core has no such operation.
    """
    core_reduce = getattr(image.im, "reduce", None)
    if core_reduce is None:
        return None
    return image._new(core_reduce((factor, factor), box))


def partly_transparent(alpha: Image.Image) -> list[tuple[int, int, int, int]]:
    """Rectangles of blocks that together cover every block neither opaque nor transparent.

    Row by row, runs of such blocks are found on a grid of SNAP blocks, so that the rows along
    a straight or feathered edge have the same runs; each run becomes one rectangle.
    """
    partly = alpha.point(PARTLY)
    if partly.getbbox() is None:
        return []
    grid = partly.reduce((SNAP, 1))  # non-zero where any of SNAP blocks is partly transparent
    cells = grid.tobytes()
    rectangles = []
    started: dict[tuple[int, int], int] = {}  # the runs of the row above, and their first row
    runs: list[tuple[int, int]] = []
    previous = b""
    for row in range(alpha.height + 1):
        line = cells[row * grid.width:(row + 1) * grid.width]
        if line != previous:
            runs = [(match.start() * SNAP, min(alpha.width, match.end() * SNAP))
                    for match in re.finditer(rb"[^\x00]+", line)]
            for run in [run for run in started if run not in runs]:
                rectangles.append((run[0], started.pop(run), run[1], row))
            for run in runs:
                started.setdefault(run, row)
            previous = line
    return rectangles


def on_white(image: Image.Image) -> Image.Image:
    """A premultiplied image (La, RGBa) flattened onto white: colour + (255 - alpha)."""
    if image.mode == "La":
        grey, alpha = image.split()
        return ImageChops.add(grey, ImageChops.invert(alpha))
    flat = Image.new("RGB", image.size, (WHITE, WHITE, WHITE))
    flat.paste(image, mask=image)  # an RGBa mask blends premultiplied: c + white * (1 - a)
    return flat


def reduce_on_white(image: Image.Image, factor: int, box: tuple[int, int, int, int]
                    ) -> Image.Image:
    """The box of image reduced factor times, each block the average of its pixels as they
    show on white: exactly as compositing onto white first and then averaging would give.

    Averaging colour and alpha apart is exact for a block that is wholly opaque or wholly
    transparent; only the blocks in between (a feathered edge, a shadow) are averaged again
    from the full-size pixels, premultiplied by their alpha.
    """
    if image.mode in ("La", "RGBa"):
        return on_white(image.reduce(factor, box))
    if image.mode not in PREMULTIPLIED:
        return image.reduce(factor, box)
    premultiplied = PREMULTIPLIED[image.mode]
    averages = block_averages(image, factor, box) if factor > 1 else image.crop(box)
    if averages is None:
        return on_white(image.convert(premultiplied).reduce(factor, box))
    blocks = averages.convert(premultiplied)
    if factor > 1:
        left, top, right, bottom = box
        for x0, y0, x1, y1 in partly_transparent(averages.getchannel("A")):
            region = (left + x0 * factor, top + y0 * factor,
                      min(left + x1 * factor, right), min(top + y1 * factor, bottom))
            blocks.paste(image.crop(region).convert(premultiplied).reduce(factor), (x0, y0))
    return on_white(blocks)


def scale(image: Image.Image, placement: Placement) -> Image.Image:
    """The placement's part of the photo at its size, on white: box averages first, while
    they keep at least the size wanted, then Lanczos for the rest."""
    x0, y0, x1, y1 = placement.box
    width, height = placement.size
    factor = max(1, int(min((x1 - x0) / width, (y1 - y0) / height)))
    box = (math.floor(x0), math.floor(y0), math.ceil(x1), math.ceil(y1))
    small = reduce_on_white(image, factor, box)
    exact = box == placement.box and small.size == placement.size
    if exact and (box[2] - box[0]) % factor == 0 and (box[3] - box[1]) % factor == 0:
        return small
    rest = ((x0 - box[0]) / factor, (y0 - box[1]) / factor,
            (x1 - box[0]) / factor, (y1 - box[1]) / factor)
    return small.resize(placement.size, Image.Resampling.LANCZOS, box=rest)


# The colour space an ICC profile names, for the modes a photo has when its colours convert.
PROFILE_SPACES = {"L": "GRAY", "RGB": "RGB", "CMYK": "CMYK"}
SPACE_NAMES = {"GRAY": "greyscale", "L": "greyscale"}


@functools.lru_cache(maxsize=8)
def to_srgb_transform(profile: bytes, mode: str) -> ImageCms.ImageCmsTransform:
    """The LittleCMS transform from an embedded profile to sRGB, for images of mode.

    Raises ValueError, saying why, when the profile cannot be read or is not for such images.
    """
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        raise ValueError("its ICC profile cannot be read") from None
    space = source.profile.xcolor_space.strip()
    if space != PROFILE_SPACES.get(mode):
        raise ValueError(f"its ICC profile is for {SPACE_NAMES.get(space, space)} photos, "
                         f"not this {SPACE_NAMES.get(mode, mode)} one")
    try:
        return ImageCms.buildTransform(source, SRGB, mode, "RGB", INTENT, CMS_FLAGS)
    except ImageCms.PyCMSError as error:
        raise ValueError(f"its ICC profile cannot be used ({error})") from None


def in_srgb(image: Image.Image, profile: bytes | None) -> tuple[Image.Image, str]:
    """The image (L, RGB or CMYK) in sRGB, from its embedded ICC profile; without one, it is
    taken as sRGB (CMYK as Pillow converts it). Also a note when the profile was unusable."""
    if profile:
        try:
            transform = to_srgb_transform(profile, image.mode)
        except ValueError as error:
            taken_as = "Pillow's default CMYK" if image.mode == "CMYK" else "sRGB"
            return image.convert("RGB"), f"{error}: colours taken as {taken_as}"
        return ImageCms.applyTransform(image, transform), ""
    return image.convert("RGB"), ""


def render(image: Image.Image, fit: str) -> tuple[Image.Image, str]:
    """The catalog picture of a loaded photo: SIZE, RGB, sRGB, on white, no metadata; and a
    note about its colours, if any."""
    photo = as_reducible(image)
    placement = place(photo.size, SIZE, fit)
    coloured, note = in_srgb(scale(photo, placement), image.info.get("icc_profile"))
    frame = Image.new("RGB", SIZE, (WHITE, WHITE, WHITE))
    frame.paste(coloured, placement.offset)
    return frame, note


def open_tiff(file: BinaryIO, max_pixels: int) -> Image.Image:
    """Open a TIFF lazily from an open file, refusing what is not one and what declares too
    many pixels."""
    try:
        image = Image.open(file, formats=["TIFF"])
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


def write_jpeg(image: Image.Image, target: Path) -> None:
    """Save a JPEG whole or not at all (a JPEG lost in a crash is made again: not synced)."""
    try:
        with replacing(target, durable=False) as temporary:
            image.save(temporary, "JPEG", **JPEG_SETTINGS)
    except OSError as error:
        raise ItemError(f"cannot write {target}: {error.strerror or error}") from None


def convert(task: Task) -> Outcome:
    """Convert one TIFF into its catalog JPEG; never raises for a bad file."""
    try:
        target = target_for(task.source, task.output)
        check_inside(task.source, task.source.parent)
        # open_regular: a FIFO, a device or a socket named *.tiff is named, never opened
        with open_regular(task.source) as file, open_tiff(file, task.max_pixels) as image:
            pages = getattr(image, "n_frames", 1)
            try:
                image.load()  # Pillow turns a TIFF upright as it loads it (EXIF orientation)
                result, note = render(image, task.fit)
            except DECODE_ERRORS as error:
                raise ItemError(f"cannot decode it ({error})") from None
        write_jpeg(result, target)
    except ItemError as error:
        return Outcome(task.name, Status.FAILED, str(error))
    pages_note = f"has {pages} pages: converted the first" if pages > 1 else ""
    notes = "; ".join(text for text in (pages_note, note) if text)
    return Outcome(task.name, Status.DONE, notes)


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
        "--force", action="store_true",
        help="convert again even when the JPEG was made from the very TIFF now in the drop "
             "(with other settings: the catalog takes the new bytes as another picture)",
    )
    parser.add_argument(
        "--max-pixels", type=settings.positive_int, default=MAX_PIXELS,
        help="refuse a TIFF that declares more pixels than this (default: %(default)s)",
    )
    parser.add_argument(
        "--fit", choices=FITS, default="pad",
        help="a photo that is not 3:2: pad (default) fits it inside the frame, white around "
        "it; crop fills the frame, cropping around the centre",
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
            Task(tiff, output, display_name(tiff, drop.root), args.max_pixels, args.fit)
            for tiff in files_with_suffix(images, TIFF_SUFFIXES, special=True)
        ]
        made_from = MadeFrom(output)
        sources = {task.source: source_state(task.source) for task in tasks}
        made = {task: judge(task, sources[task.source], made_from) for task in tasks}
        stale = [task for task in tasks if args.force or made[task] is Made.STALE]
        fresh = [tell(Outcome(task.name, Status.SKIPPED)) for task in tasks if task not in stale]
        outcomes = run_each(convert, stale, args.jobs, "converting", args.quiet, processes=True)
        for task, outcome in zip(stale, outcomes, strict=True):
            source = sources[task.source]
            if outcome.status == Status.DONE and source is not None:
                made_from.note(task.source, target_for(task.source, output), source,
                               recipe(task.fit))
        made_from.save()
        kept = {task.name: made[task] for task in tasks
                if task not in stale and made[task] is not Made.UP_TO_DATE}
        done = fresh + outcomes
        if not args.quiet:
            print(made_summary(sum(outcome.status == Status.DONE for outcome in done),
                               len(fresh) - len(kept), len(kept),
                               sum(outcome.status == Status.FAILED for outcome in done)))
        tell_kept(kept, made_from)
        return summarize(done, "converted", "already up to date", quiet=True)

    return guarded(run)


if __name__ == "__main__":
    sys.exit(main())
