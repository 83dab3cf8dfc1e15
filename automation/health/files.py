"""Files the health check writes: replaced atomically, and one run at a time."""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from automation.errors import AutomationError

LOCK_POLL_SECONDS = 0.05


def write_atomically(path: Path, text: str) -> None:
    """Replace a file with text at once: a temporary file beside it (a name that no reader
    looks for), flushed to disk, renamed over the old one. Nothing is left behind on failure."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself must survive a crash
    finally:
        os.close(folder)


@contextlib.contextmanager
def run_lock(state_path: Path, wait: float = 0.0) -> Iterator[None]:
    """Hold the lock beside the state file for the run; when another run has it, wait up to
    `wait` seconds for it (0: stop at once)."""
    lock_path = state_path.with_name(state_path.name + ".lock")
    try:
        state_path.parent.mkdir(parents=True, exist_ok=True)
        lock = lock_path.open("a")
    except OSError as error:
        raise AutomationError(f"{lock_path}: cannot open the lock: {error.strerror}") from None
    with lock:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise AutomationError(
                        f"another health check is running (it holds {lock_path}): this one stops"
                    ) from None
                time.sleep(LOCK_POLL_SECONDS)
        yield
