"""One health check at a time: the lock beside its state file."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from automation.errors import AutomationError
from automation.files import lock_within


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
        if not lock_within(lock, wait):
            raise AutomationError(
                f"another health check is running (it holds {lock_path}): this one stops"
            )
        yield
