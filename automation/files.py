"""Replacing a file whole or not at all: the one atomic writer of every script."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def replacing(path: Path, mode: int = 0o644, durable: bool = True) -> Iterator[Path]:
    """A temporary file beside path (a name no reader looks for) to write; when the block ends
    without error it replaces path at once, else it is removed and path is left as it was.

    durable: flush the file and the rename to disk first, for what must survive a crash (a
    state); a file that is cheap to make again (a JPEG) may skip it.
    """
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, mode)
        if durable:
            with temporary.open("rb") as written:
                os.fsync(written.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    if durable:
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)  # the rename itself must survive a crash
        finally:
            os.close(folder)


def write_atomically(path: Path, text: str, mode: int = 0o644) -> None:
    """Replace a file with text, whole or not at all, flushed to disk."""
    with replacing(path, mode) as temporary:
        temporary.write_text(text, encoding="utf-8")
