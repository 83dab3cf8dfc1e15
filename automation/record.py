"""The record of what already landed in the catalog: an append-only journal beside the drop.

Each line is one JSON event about one item (an image or a fruit) for one catalog URL:
`pending` is written before a request is sent, `done` once the service confirmed it, `failed`
when it refused it. The latest event of an item wins. A request whose answer was lost leaves
`pending`, which the next attempt settles by looking at the catalog before sending again.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import threading
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Any

from automation.errors import AutomationError

log = logging.getLogger(__name__)

IMAGE = "image"
FRUIT = "fruit"
REPORT = "report"


class Decision(Enum):
    """What to do with an item, given what the record says of it."""

    SEND = "send"  # never sent, or refused before: send it
    CHECK = "check"  # sent, answer unknown: look at the catalog before sending again
    SKIP = "skip"  # already in the catalog
    CHANGED = "changed"  # in the catalog, but the file changed since: the service cannot update it


def decide(entry: dict[str, Any] | None, sha256: str) -> Decision:
    """Whether an item must be sent, given its latest record entry and its content's digest."""
    if entry is None:
        return Decision.SEND
    if entry["state"] == "done":
        return Decision.SKIP if entry.get("sha256") == sha256 else Decision.CHANGED
    if entry["state"] == "pending" or entry.get("uncertain"):
        return Decision.CHECK
    return Decision.SEND


def sha256_of(data: bytes) -> str:
    """The hex SHA-256 digest of data."""
    return hashlib.sha256(data).hexdigest()


class UploadRecord:
    """The journal of one drop, locked for the length of a run, seen through one catalog URL."""

    def __init__(self, path: Path, catalog: str) -> None:
        self.path = path
        self.catalog = catalog.rstrip("/")
        self._latest: dict[tuple[str, str], dict[str, Any]] = {}
        self._file: Any = None
        self._lock = threading.Lock()

    def __enter__(self) -> UploadRecord:
        try:
            self._file = self.path.open("a+", encoding="utf-8")
        except OSError as error:
            raise AutomationError(
                f"{self.path}: cannot open the record: {error.strerror}"
            ) from None
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.close()
            raise AutomationError(
                f"{self.path}: another upload run is using this drop; wait for it to end"
            ) from None
        self._file.seek(0)
        self._load(self._file.read())
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._file.close()  # closing releases the lock

    def _load(self, text: str) -> None:
        for number, line in enumerate(text.splitlines(), start=1):
            try:
                event = json.loads(line)
                key = (event["kind"], event["key"])
            except (ValueError, KeyError, TypeError):
                log.warning(
                    "%s: line %d is not a record entry (cut short?): ignored", self.path, number
                )
                continue
            if event.get("catalog") == self.catalog:
                self._latest[key] = event

    def entry(self, kind: str, key: str) -> dict[str, Any] | None:
        """The latest entry of an item for this catalog, or None."""
        return self._latest.get((kind, key))

    def entries(self, kind: str) -> dict[str, dict[str, Any]]:
        """The latest entry of every item of a kind, by key, in the order they were first seen."""
        return {key: entry for (k, key), entry in self._latest.items() if k == kind}

    def add(self, kind: str, key: str, state: str, **fields: Any) -> None:
        """Append an event and make it durable before returning."""
        event = {
            "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "catalog": self.catalog,
            "kind": kind,
            "key": key,
            "state": state,
            **fields,
        }
        line = json.dumps(event, ensure_ascii=False) + "\n"
        with self._lock:
            self._file.write(line)
            self._file.flush()
            os.fsync(self._file.fileno())
            self._latest[(kind, key)] = event
