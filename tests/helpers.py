"""Helpers of the tests that are not fixtures: looking into the service, running a script."""

from __future__ import annotations

import contextlib
import os
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from automation import settings
from demo.processes import PROJECT, Server

# Every setting of the table (the contract's and the project's): a test sees only what it sets.
CONTRACT_ENV = tuple(setting.env for setting in settings.SETTINGS)


class NotOursToTouch(pytest.skip.Exception):
    """A skip because something on this machine that is not the test's stands in the way (a
    file someone else left): --fail-on-skip lets it be, since CI cannot change that either."""


def catalog_fruits(server: Server) -> list[dict]:
    """What the service holds: GET /fruits/."""
    response = requests.get(f"{server.url}/fruits/", timeout=10)
    response.raise_for_status()
    return response.json()


def media_files(server: Server) -> list[str]:
    """The names of the image files the service stored."""
    folder = Path(server.log).parent / "media" / "images"
    return sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []


def requests_received(server: Server, method: str) -> list[str]:
    """The paths of the requests of a method the service answered, in order, from its request
    journal: the service writes each line before it sends the answer, so a request whose
    answer came back is always there (gunicorn's access log comes after the answer)."""
    journal = Path(server.log).parent / "requests.log"
    lines = journal.read_text(errors="replace").splitlines() if journal.exists() else []
    return [line.split()[1] for line in lines if line.split()[0] == method]


def picture_served(server: Server, fruit: dict) -> bytes:
    """The bytes the service serves for a fruit's image_name."""
    response = requests.get(f"{server.url}/media/images/{fruit['image_name']}", timeout=10)
    response.raise_for_status()
    return response.content


def run_script(
    script: str, *args: str, env: dict[str, str] | None = None, timeout: float = 120,
    unset: tuple[str, ...] = (), wrapper: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    """Run one of the project's scripts as the operator does: python3 SCRIPT.py ARGS (after the
    words of wrapper, a command that runs the rest, when given).

    The contract's settings are not passed on unless given in env; nor are the names in unset.
    """
    environment = {k: v for k, v in os.environ.items() if k not in (*CONTRACT_ENV, *unset)}
    return subprocess.run(
        [*wrapper, sys.executable, script, *args], cwd=PROJECT,
        env={**environment, **(env or {})}, capture_output=True, text=True, timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


# Running the import, as the operator does: each step's exit code.

IMPORT_STEPS = ("changeImage.py", "supplier_image_upload.py", "run.py")


def import_drop(drop: Path, url: str, *flags: str, quiet: bool = True) -> list[int]:
    """The three import steps in order, in-process (so a test may patch them); their exit
    codes. flags go to the upload and the post."""
    import changeImage
    import run
    import supplier_image_upload

    common = ["--data-dir", str(drop), *(["-q"] if quiet else [])]
    return [changeImage.main(common),
            supplier_image_upload.main([*common, "--url", url, *flags]),
            run.main([*common, "--url", url, *flags])]


def run_pipeline(drop: Path, url: str, *flags: str) -> list[int]:
    """The three import steps in order, each as the process the operator starts, with the drop
    and the catalog given by the environment; their exit codes. flags go to every step."""
    env = {"SUPPLIER_DATA_DIR": str(drop), "CATALOG_URL": url}
    return [run_script(step, *flags, env=env).returncode for step in IMPORT_STEPS]


def bomb_tiff(path: Path, width: int = 100_000, height: int = 100_000) -> Path:
    """A tiny file whose header declares a huge greyscale image (a decompression bomb)."""
    entries = [
        (256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1),
        (262, 3, 1, 1), (273, 4, 1, 8), (277, 3, 1, 1), (278, 4, 1, height), (279, 4, 1, 1),
    ]
    ifd = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHII", tag, kind, count, value) for tag, kind, count, value in entries
    ) + struct.pack("<I", 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"II*\x00" + struct.pack("<I", 8 + 1) + b"\x00" + ifd)
    return path


@contextlib.contextmanager
def fed_fifo(path: Path, data: bytes) -> Iterator[None]:
    """A FIFO at path whose writer, in a thread, waits for a reader and hands it data: code
    that wrongly opens it gets the data (and fails on it) instead of waiting for ever."""
    os.mkfifo(path)

    def write() -> None:
        with contextlib.suppress(BrokenPipeError), path.open("wb") as pipe:  # waits for a reader
            pipe.write(data)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        yield
    finally:
        # The writer may still wait: open the other end and take what it writes until it ends.
        reader = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            while writer.is_alive():
                with contextlib.suppress(BlockingIOError):
                    os.read(reader, 1 << 16)
                writer.join(0.01)
        finally:
            os.close(reader)
