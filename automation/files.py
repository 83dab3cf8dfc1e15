"""Files shared by runs: replaced whole or not at all (the one atomic writer of every script),
and locked by one run at a time."""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

LOCK_POLL_SECONDS = 0.05


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


def lock_within(
    file: IO[Any], wait: float = 0.0, waiting: Callable[[], None] | None = None
) -> bool:
    """Take the exclusive lock of an open file (closing the file releases it), waiting up to
    `wait` seconds while another process holds it (0: not at all); whether it was taken.
    waiting, when given, is called once, as the wait begins."""
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
        if waiting is not None:
            waiting()
            waiting = None
        time.sleep(LOCK_POLL_SECONDS)
