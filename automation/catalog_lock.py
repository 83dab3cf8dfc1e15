"""One sending run per catalog at a time on this machine, and what its requests left in doubt.

The store's service has no idempotency key, and it may store a request after the client stopped
waiting for the answer. So a run that sends to a catalog holds a lock keyed by the catalog's URL
in the user's state folder, whichever drop folder it runs from, and notes there, before each
request, the moment by which that request will have completed for sure. A run that starts after
one that was interrupted (Ctrl-C, kill -9) waits until then before it asks the catalog what it
holds: only then does the catalog's answer settle whether an item went. A run that ended with
every answer in hand clears the note, so that the next one waits for nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import IO

from automation import settings
from automation.errors import AutomationError
from automation.files import lock_within

log = logging.getLogger(__name__)


def lock_path(url: str) -> Path:
    """The lock file of a catalog URL in the user's state folder."""
    key = hashlib.sha256(url.rstrip("/").encode()).hexdigest()[:16]
    return settings.state_dir() / "catalogs" / f"{key}.lock"


class CatalogLock:
    """The right to send to one catalog, held by one run at a time on this machine."""

    def __init__(self, url: str, shown_as: str, wait: float) -> None:
        self.path = lock_path(url)
        self.shown_as = shown_as  # the URL as it may be printed (no password)
        self.wait = wait
        self._file: IO[str] | None = None
        self._in_doubt_until = 0.0
        self._unsettled = 0
        self._guard = threading.Lock()

    def __enter__(self) -> CatalogLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a+", encoding="utf-8")
        except OSError as error:
            raise AutomationError(
                f"{self.path}: cannot open the lock of the catalog: {error.strerror}"
            ) from None
        self._acquire()
        self._wait_for_earlier_requests()
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._file is not None
        if self._unsettled == 0:  # every request was answered or settled, whatever stopped us
            with contextlib.suppress(AutomationError):  # the next run then waits: no harm
                self._write(0.0)
        self._file.close()  # closing releases the lock

    def _acquire(self) -> None:
        assert self._file is not None

        def waiting() -> None:
            log.warning("another run is sending to the catalog at %s: waiting for it to end "
                        "(up to %g s)", self.shown_as, self.wait)

        if not lock_within(self._file, self.wait, waiting):
            self._file.close()
            raise AutomationError(
                f"another run is sending to the catalog at {self.shown_as}: run this again "
                "when it has ended"
            )

    def _read(self) -> float:
        assert self._file is not None
        self._file.seek(0)
        try:
            return float(json.loads(self._file.read() or "{}").get("in_doubt_until", 0))
        except (ValueError, TypeError, AttributeError, UnicodeDecodeError):
            return 0.0  # a damaged note: the catalog is asked all the same

    def _write(self, until: float) -> None:
        assert self._file is not None
        try:
            self._file.seek(0)
            self._file.truncate()
            self._file.write(json.dumps({"catalog": self.shown_as, "pid": os.getpid(),
                                         "in_doubt_until": until}) + "\n")
            self._file.flush()
        except OSError as error:
            raise AutomationError(
                f"{self.path}: cannot note a request before sending it ({error.strerror}): "
                "nothing more is sent"
            ) from None

    def _wait_for_earlier_requests(self) -> None:
        """Wait until a request an earlier run left without an answer has surely completed."""
        until = self._read()
        left = until - time.time()
        if left > 0:
            log.warning(
                "a request an earlier run sent to %s got no answer: waiting %.0f s until it has "
                "surely completed, then asking the catalog whether it landed", self.shown_as,
                left,
            )
            time.sleep(left)
        self._in_doubt_until = 0.0

    def sending(self, window: float) -> None:
        """Note, before a request goes, when it will have completed for sure (window seconds
        from now): until answered() says its outcome is known, it is in doubt."""
        with self._guard:
            self._in_doubt_until = max(self._in_doubt_until, time.time() + window)
            self._write(self._in_doubt_until)
            self._unsettled += 1

    def answered(self) -> None:
        """Take in that a request's outcome is known: answered, never sent, or asked after it
        surely completed."""
        with self._guard:
            self._unsettled -= 1
