#!/usr/bin/env python3
"""The naive uploads, for comparison: a fresh requests.post per request, one at a time."""

import sys
from pathlib import Path

import requests


def main(drop: str, url: str) -> int:
    """Upload every JPEG, then post every description, the way most tutorials do."""
    root = Path(drop)
    for path in sorted((root / "images").glob("*.jpeg")):
        with path.open("rb") as image:
            requests.post(f"{url}/upload/", files={"file": image}).raise_for_status()
    for path in sorted((root / "descriptions").glob("*.txt")):
        name, weight, description = path.read_text(encoding="utf-8-sig").split("\n", 2)
        fruit = {"name": name.strip(), "weight": int(weight.strip().split()[0]),
                 "description": description.strip(), "image_name": f"{path.stem}.jpeg"}
        requests.post(f"{url}/fruits/", json=fruit).raise_for_status()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
