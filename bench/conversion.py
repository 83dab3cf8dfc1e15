"""The conversion's own figures: each step's cost on one core, and the JPEG settings compared.

bench/run.py measures whole processes against the naive way; this looks inside one process at
one photo, and at what each JPEG setting does to the files' size and to their quality (PSNR of
luma and of chroma against the lossless picture).
"""

from __future__ import annotations

import io
import math
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageChops, ImageFilter

import changeImage
from demo.sample_drop import FRUITS, photo

STORE = (3000, 2000)
FEATHER = 20  # px: the blur that feathers the transparent margin of a store photo


def feathered_store_photo(number: int) -> Image.Image:
    """A store-shaped photo (3000x2000 RGBA) whose margin fades out over some 60 px, inside
    its edge, with garbage (black) under the transparent part."""
    image = photo(FRUITS[(number - 1) % len(FRUITS)], STORE, seed=number)
    blurred = image.getchannel("A").filter(ImageFilter.GaussianBlur(FEATHER))
    image.putalpha(blurred.point(lambda level: max(0, 2 * level - 255)))
    return image


def write_feathered_drop(root: Path, count: int, compression: str | None) -> None:
    """A drop of count feathered store photos (images only), compressed or not."""
    images = root / "images"
    images.mkdir(parents=True, exist_ok=True)
    for number in range(1, count + 1):
        feathered_store_photo(number).save(images / f"{number:03d}.tiff", "TIFF",
                                           compression=compression or "raw")


def partly_transparent_share(tiff: Path) -> float:
    """The share of a photo's pixels that are neither opaque nor transparent."""
    with Image.open(tiff) as image:
        histogram = image.getchannel("A").histogram()
    return sum(histogram[1:255]) / sum(histogram)


def median_ms(step: Callable[[], object], repeats: int) -> float:
    """The median time of a step, in milliseconds."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def loaded(tiff: Path) -> Image.Image:
    """A TIFF, read and decoded."""
    image = Image.open(tiff)
    image.load()
    return image


def step_costs(tiff: Path, repeats: int) -> dict[str, float]:
    """What each step of changeImage (and of the naive way) costs on one photo, one core."""
    image = loaded(tiff)
    box = (0, 0, *image.size)
    rendered, _ = changeImage.render(image, "pad")
    rgb = image.convert("RGB")
    return {
        "read and decode the TIFF": median_ms(lambda: loaded(tiff), repeats),
        "changeImage: average 5x5 blocks, colour and alpha apart":
            median_ms(lambda: changeImage.block_averages(image, 5, box), repeats),
        "changeImage: the whole reduction onto white (the line above, then the partly "
        "transparent blocks again, premultiplied)":
            median_ms(lambda: changeImage.reduce_on_white(image, 5, box), repeats),
        "changeImage: everything after decoding but the save (reduction, colour, frame)":
            median_ms(lambda: changeImage.render(image, "pad"), repeats),
        "changeImage: save the JPEG":
            median_ms(lambda: rendered.save(io.BytesIO(), "JPEG", **changeImage.JPEG_SETTINGS),
                      repeats),
        "for comparison: premultiply every pixel (convert RGBa)":
            median_ms(lambda: image.convert("RGBa"), repeats),
        "naive: convert(RGB)": median_ms(lambda: image.convert("RGB"), repeats),
        "naive: resize((600, 400)), bicubic": median_ms(lambda: rgb.resize((600, 400)), repeats),
    }


def steps_table(raw: Path, lzw: Path, repeats: int) -> str:
    """The step costs of one photo, uncompressed and LZW, as markdown."""
    columns = [step_costs(raw, repeats), step_costs(lzw, repeats)]
    lines = [f"### Each step on one photo, one core (median of {repeats})", "",
             "| step | uncompressed | LZW |", "| --- | --- | --- |"]
    for step in columns[0]:
        lines.append(f"| {step} | {columns[0][step]:.1f} ms | {columns[1][step]:.1f} ms |")
    return "\n".join([*lines, ""])


def psnr(a: Image.Image, b: Image.Image) -> float:
    """The peak signal-to-noise ratio between two single-band images, in dB."""
    histogram = ImageChops.difference(a, b).histogram()
    error = sum(count * level**2 for level, count in enumerate(histogram)) / (a.width * a.height)
    return 10 * math.log10(255**2 / error) if error else math.inf


TODAY = {"quality": 85}  # what changeImage.py saved with before issue 10
CANDIDATES = {
    "before: quality 85, 4:2:0, baseline, standard Huffman tables": TODAY,
    "chosen: quality 85, 4:2:0, baseline, optimised Huffman tables":
        changeImage.JPEG_SETTINGS,
    "quality 85, 4:2:0, progressive": {"quality": 85, "progressive": True, "optimize": True},
    "quality 85, 4:4:4 (no chroma subsampling)":
        {"quality": 85, "subsampling": "4:4:4", "optimize": True},
    "quality 80, 4:4:4": {"quality": 80, "subsampling": "4:4:4", "optimize": True},
    "quality 90, 4:2:0": {"quality": 90, "optimize": True},
    "quality 80, 4:2:0": {"quality": 80, "optimize": True},
    "quality 75, 4:2:0": {"quality": 75, "optimize": True},
}


def jpeg_table(tiffs: list[Path], repeats: int) -> str:
    """Each candidate JPEG setting on the catalog pictures of tiffs: size, quality, time."""
    pictures = [changeImage.render(loaded(tiff), "pad")[0] for tiff in tiffs]
    references = [picture.convert("YCbCr").split() for picture in pictures]
    lines = [f"### JPEG settings, on the {len(tiffs)} catalog pictures (600x400)", "",
             "| settings | mean size | against before | PSNR luma | PSNR chroma | save |",
             "| --- | --- | --- | --- | --- | --- |"]
    before = None
    for name, options in CANDIDATES.items():
        sizes, luma, chroma = [], [], []
        for picture, (y, cb, cr) in zip(pictures, references, strict=True):
            buffer = io.BytesIO()
            picture.save(buffer, "JPEG", **options)
            sizes.append(buffer.tell())
            with Image.open(buffer) as saved:
                y2, cb2, cr2 = saved.convert("YCbCr").split()
            luma.append(psnr(y, y2))
            chroma.append((psnr(cb, cb2) + psnr(cr, cr2)) / 2)
        size = statistics.mean(sizes)
        before = before or size
        save = median_ms(lambda o=options: pictures[0].save(io.BytesIO(), "JPEG", **o), repeats)
        lines.append(f"| {name} | {size / 1024:.1f} KiB | {100 * (size / before - 1):+.0f}% "
                     f"| {statistics.mean(luma):.2f} dB | {statistics.mean(chroma):.2f} dB "
                     f"| {save:.1f} ms |")
    return "\n".join([*lines, ""])
