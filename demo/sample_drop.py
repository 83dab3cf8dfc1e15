#!/usr/bin/env python3
"""Generate a realistic supplier drop: TIFF photos and description files with real-world quirks."""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter

STORE_SIZE = (3000, 2000)


@dataclass(frozen=True)
class Fruit:
    """One product of the store's sample drop."""

    name: str
    weight: int
    colour: tuple[int, int, int]
    description: str


FRUITS = [
    Fruit("Apple", 500, (200, 30, 40),
          "Crisp and sweet, picked at the start of autumn. It’s the fruit most customers ask "
          "for first, and it keeps for weeks in a cool room."),
    Fruit("Avocado", 200, (70, 110, 40),
          "Creamy flesh with a nutty taste. Ripe when it yields to gentle pressure; store it "
          "at room temperature until then."),
    Fruit("Blackberry", 150, (40, 20, 60),
          "Hand-picked wild blackberries, deep purple and juicy. Best eaten within two days."),
    Fruit("Grape", 200, (110, 40, 120),
          "Seedless red grapes in loose bunches.\nRinse just before serving; they keep a week "
          "in the fridge."),
    Fruit("Kiwifruit", 250, (120, 90, 40),
          "Fuzzy brown skin, bright green inside, with a tangy “sweet and sour” taste."),
    Fruit("Lemon", 300, (240, 210, 40),
          "Thin-skinned lemons full of juice, for drinks, dressings and baking."),
    Fruit("Mango", 300, (240, 150, 30),
          "Sweet golden flesh with a floral scent.\n\nSlice along the flat stone, score the "
          "halves and turn them inside out."),
    Fruit("Plum", 150, (90, 30, 70),
          "Dark, sweet plums with a tart skin; lovely fresh or baked in a tart."),
    Fruit("Strawberry", 240, (220, 30, 50),
          "Sun-ripened strawberries, fragrant and sweet. Don’t wash them until you eat them."),
    Fruit("Watermelon", 500, (60, 140, 60),
          "Big, heavy and refreshing: crisp red flesh and a striped green rind."),
]

# The next week's drop: other products, numbered from 001 again.
NEXT_WEEK = [
    Fruit("Banana", 400, (240, 220, 60),
          "Sweet bananas, picked green and ripened here. Yellow with brown flecks is best."),
    Fruit("Cherry", 120, (150, 10, 30),
          "Dark sweet cherries with their stems on; keep them cold and dry."),
    Fruit("Fig", 90, (100, 60, 90),
          "Soft purple figs, honey-sweet inside. They bruise easily: handle with care."),
    Fruit("Grapefruit", 350, (240, 120, 90),
          "Pink grapefruit, juicy and tart, for breakfast halves or fresh juice."),
    Fruit("Lime", 180, (110, 170, 50),
          "Seedless limes with thin skins and plenty of juice."),
    Fruit("Orange", 450, (250, 140, 20),
          "Navel oranges, easy to peel and sweet, the winter favourite."),
    Fruit("Papaya", 260, (250, 160, 60),
          "Tropical papaya with orange flesh; scoop out the black seeds and squeeze lime over."),
    Fruit("Peach", 220, (250, 170, 120),
          "White peaches, fragrant and juicy. Ripe when they smell sweet at the stem."),
    Fruit("Pear", 320, (190, 200, 80),
          "Buttery pears that ripen on the counter in a few days."),
    Fruit("Pineapple", 600, (220, 180, 40),
          "Golden pineapples, sweet and low in acid; twist off the crown to serve."),
]

LICENSE_TEXT = "Photos (c) the supplier. Licensed to the store for its catalog only.\n"
README_TEXT = "Supplier drop: one NNN.tiff photo and one NNN.txt description per product.\n"


def description_text(fruit: Fruit, index: int) -> str:
    """A description file's text, with the quirks of real supplier files, varied by index."""
    lines = [fruit.name, f"{fruit.weight} lbs", fruit.description]
    newline = "\r\n" if index % 3 == 1 else "\n"
    text = newline.join(lines)
    if index % 4 == 2:
        text += "\u00a0"  # a trailing non-breaking space, as word processors leave
    if index % 5 == 0:
        text = "\ufeff" + text  # a byte-order mark, as Windows editors write
    return text


def photo(fruit: Fruit, size: tuple[int, int], seed: int) -> Image.Image:
    """A photo-like RGBA picture of a fruit, with a transparent margin whose colour is garbage."""
    rng = random.Random(seed)
    width, height = size
    backdrop = Image.radial_gradient("L").resize(size, Image.Resampling.BILINEAR)
    scene = Image.merge("RGB", [backdrop.point(lambda v, c=c: 255 - v * (255 - c) // 600)
                                for c in (230, 225, 210)])
    draw = ImageDraw.Draw(scene)
    for _ in range(3):
        cx = width * rng.uniform(0.35, 0.65)
        cy = height * rng.uniform(0.4, 0.6)
        r = min(size) * rng.uniform(0.18, 0.3)
        draw.ellipse((cx - r, cy - r * 0.9, cx + r, cy + r * 0.9), fill=fruit.colour)
        shine = tuple(min(255, c + 70) for c in fruit.colour)
        draw.ellipse((cx - r * 0.5, cy - r * 0.6, cx - r * 0.1, cy - r * 0.3), fill=shine)
    scene = scene.filter(ImageFilter.BoxBlur(max(1, min(size) // 200)))
    grain = Image.effect_noise(size, 18).convert("RGB")
    scene = ImageChops.overlay(scene, grain)
    margin = max(1, min(size) // 25)
    alpha = Image.new("L", size, 0)
    ImageDraw.Draw(alpha).rounded_rectangle(
        (margin, margin, width - margin, height - margin), radius=margin * 2, fill=255
    )
    scene.paste((0, 0, 0), mask=ImageChops.invert(alpha))  # garbage under the transparent margin
    scene.putalpha(alpha)
    return scene


def write_drop(
    root: Path,
    count: int = len(FRUITS),
    size: tuple[int, int] = STORE_SIZE,
    compression: str | None = None,
    start: int = 1,
    fruits: list[Fruit] = FRUITS,
) -> list[Fruit]:
    """Write count products (fruits, then again) under root; return them in order."""
    images = root / "images"
    descriptions = root / "descriptions"
    images.mkdir(parents=True, exist_ok=True)
    descriptions.mkdir(parents=True, exist_ok=True)
    (images / "LICENSE").write_text(LICENSE_TEXT)
    (images / "README").write_text(README_TEXT)
    written = []
    for number in range(start, start + count):
        fruit = fruits[(number - 1) % len(fruits)]
        key = f"{number:03d}"
        photo(fruit, size, seed=number).save(
            images / f"{key}.tiff", "TIFF", compression=compression or "raw"
        )
        text = description_text(fruit, number)
        (descriptions / f"{key}.txt").write_bytes(text.encode("utf-8"))
        written.append(fruit)
    return written


def date_back(folder: Path, seconds: float) -> None:
    """Date every file of folder that long ago, as the supplier's archive keeps its times."""
    stamp = time.time() - seconds
    for path in folder.rglob("*"):
        os.utime(path, (stamp, stamp))


def unpack_over(archive: Path, drop: Path) -> None:
    """Unpack an archive over a drop as tar does: each file written anew, keeping its times."""
    for source in archive.rglob("*"):
        if source.is_file():
            target = drop / source.relative_to(archive)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.unlink(missing_ok=True)
            shutil.copy2(source, target)


def parse_size(text: str) -> tuple[int, int]:
    """argparse type: WIDTHxHEIGHT."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not WIDTHxHEIGHT: {text!r}") from None
    return width, height


def main(argv: list[str] | None = None) -> int:
    """Write a sample drop to the folder given."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", type=Path, help="where to write images/ and descriptions/")
    parser.add_argument("--count", type=int, default=len(FRUITS), help="products (default 10)")
    parser.add_argument("--size", type=parse_size, default=STORE_SIZE, help="default 3000x2000")
    parser.add_argument("--lzw", action="store_true", help="LZW-compress the TIFFs")
    parser.add_argument("--next-week", action="store_true",
                        help="the next week's products (numbered from 001 again)")
    args = parser.parse_args(argv)
    write_drop(args.folder, args.count, args.size, "tiff_lzw" if args.lzw else None,
               fruits=NEXT_WEEK if args.next_week else FRUITS)
    print(f"wrote {args.count} products to {args.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
