#!/usr/bin/env python3
"""The naive conversion, for comparison: open, convert to RGB, resize, save, one by one."""

import sys
from pathlib import Path

from PIL import Image


def main(folder: str, output: str) -> int:
    """Convert every TIFF of folder into output, the way most tutorials do (quality 85)."""
    for path in sorted(Path(folder).glob("*.tiff")):
        image = Image.open(path).convert("RGB").resize((600, 400))
        image.save(Path(output) / f"{path.stem}.jpeg", "JPEG", quality=85)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
