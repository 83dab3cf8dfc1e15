"""The record of what was sent to the catalog: an append-only journal beside the drop.

Each line is one JSON event about one item of the drop (an image or a fruit, named by its file)
or about the supplier report, for one catalog URL: `pending` is written before a request is
sent, `done` once the catalog confirmed it (or was found to hold it already), `failed` when it
refused it, `sent` for a report. The catalog is the truth: the steps ask it what it holds before
sending anything, and the record only remembers what they saw, for the report and for telling
the operator what changed since.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, ClassVar

from automation.errors import AutomationError
from automation.files import lock_within
from automation.redact import mask_url

log = logging.getLogger(__name__)

IMAGE = "image"
FRUIT = "fruit"
REPORT = "report"

PENDING = "pending"
DONE = "done"
FAILED = "failed"
SENT = "sent"


@dataclass(frozen=True, kw_only=True)
class Event:
    """One thing that happened to one item, for one catalog."""

    kind: ClassVar[str]
    key: str  # the item's drop file as the operator knows it (images/001.jpeg), or a report's key
    state: str
    at: str = ""
    catalog: str = ""
    reason: str = ""  # why it failed
    sent: bool = False  # done because this drop's own request put it in the catalog

    @property
    def content(self) -> str:
        """The digest of what the item held, or "" when unknown."""
        return ""

    @property
    def landed_as(self) -> str:
        """Where the item is in the catalog, in words."""
        return self.key


@dataclass(frozen=True, kw_only=True)
class ImageEvent(Event):
    """An image of the drop: its bytes, and the catalog name that serves them."""

    kind = IMAGE
    sha256: str = ""
    image_name: str = ""

    @property
    def content(self) -> str:
        """The digest of the image's bytes."""
        return self.sha256

    @property
    def landed_as(self) -> str:
        """The catalog name that serves it."""
        return self.image_name or self.key.rsplit("/", 1)[-1]


@dataclass(frozen=True, kw_only=True)
class FruitEvent(Event):
    """A description of the drop: the item it makes with its picture, and the fruit it became."""

    kind = FRUIT
    item: str = ""  # item_digest() of the description and its picture
    id: int | None = None
    name: str = ""
    weight: int | None = None
    image_name: str = ""
    sha256: str = ""  # only in records written before `item`: the digest of the posted fruit

    @property
    def content(self) -> str:
        """The digest of the item: its description and its picture."""
        return self.item

    @property
    def landed_as(self) -> str:
        """The fruit it became."""
        return f"fruit #{self.id}"


@dataclass(frozen=True, kw_only=True)
class ReportEvent(Event):
    """A supplier report sent: the fruits it listed, and the items it said were not imported."""

    kind = REPORT
    ids: tuple[int, ...] = field(default_factory=tuple)
    not_imported: tuple[str, ...] = field(default_factory=tuple)
    total: int | None = None
    recipient: str = ""
    pdf: str = ""


EVENT_TYPES: dict[str, type[Event]] = {cls.kind: cls for cls in (ImageEvent, FruitEvent,
                                                                  ReportEvent)}


def sha256_of(data: bytes) -> str:
    """The hex SHA-256 digest of data."""
    return hashlib.sha256(data).hexdigest()


def item_digest(description: bytes, picture_sha256: str) -> str:
    """What identifies an item of the drop: its description file's bytes and its picture's."""
    return sha256_of(f"{sha256_of(description)}:{picture_sha256}".encode())


def event_from_json(data: dict[str, Any]) -> Event:
    """An event from its JSON form, also as written by earlier versions; raises ValueError."""
    cls = EVENT_TYPES.get(data.get("kind", ""))
    if cls is None or not isinstance(data.get("key"), str) or "state" not in data:
        raise ValueError("not an event")
    known = {f.name for f in dataclasses.fields(cls)}
    values = {name: value for name, value in data.items() if name in known}
    if cls is not ReportEvent and isinstance(data.get("file"), str):
        values["key"] = data["file"]  # earlier versions keyed items by NNN or NNN.jpeg
    for name in ("ids", "not_imported"):
        if name in values:
            values[name] = tuple(values[name])
    try:
        return cls(**values)
    except TypeError as error:
        raise ValueError(str(error)) from None


def event_to_json(event: Event) -> str:
    """An event as one line of JSON, leaving out what it does not say."""
    data: dict[str, Any] = {"at": event.at, "catalog": event.catalog, "kind": event.kind}
    for item in dataclasses.fields(event):
        value = getattr(event, item.name)
        default = item.default_factory() if item.default_factory is not dataclasses.MISSING \
            else item.default
        if item.name not in data and value != default:
            data[item.name] = list(value) if isinstance(value, tuple) else value
    return json.dumps(data, ensure_ascii=False)


class UploadRecord:
    """The journal of one drop seen through one catalog URL, locked while a run writes to it.

    Opened with writable=False (a dry run), it is only read: not created, not locked.
    """

    def __init__(self, path: Path, catalog: str, writable: bool = True) -> None:
        self.path = path
        self.catalog = mask_url(catalog).rstrip("/")
        self.writable = writable
        self._events: list[Event] = []
        self._by_item: dict[tuple[str, str], list[Event]] = {}
        self._file: IO[bytes] | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> UploadRecord:
        if not self.writable:
            try:
                self._load(self.path.read_bytes())
            except FileNotFoundError:
                pass
            except OSError as error:
                raise AutomationError(
                    f"{self.path}: cannot read the record: {error.strerror}"
                ) from None
            return self
        try:
            self._file = self.path.open("a+b")
        except OSError as error:
            raise AutomationError(
                f"{self.path}: cannot open the record: {error.strerror}"
            ) from None
        if not lock_within(self._file):
            self._file.close()
            raise AutomationError(
                f"{self.path}: another upload run is using this drop; wait for it to end"
            )
        self._file.seek(0)
        if not self._load(self._file.read()):
            self._set_aside()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                os.fsync(self._file.fileno())
            with contextlib.suppress(OSError):  # a write that failed was said already
                self._file.close()  # closing releases the lock

    def _load(self, data: bytes) -> bool:
        """Take in the record's events; False when it cannot be decoded at all (damaged)."""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            log.warning(
                "%s: damaged (not UTF-8 text at byte %d): set aside; what the catalog holds "
                "decides what is sent", self.path, error.start,
            )
            return False
        for number, line in enumerate(text.splitlines(), start=1):
            try:
                entry = json.loads(line)
                event = event_from_json(entry)
            except (ValueError, AttributeError):
                log.warning(
                    "%s: line %d is not a record entry (cut short?): ignored", self.path, number
                )
                continue
            if event.catalog.rstrip("/") == self.catalog:
                self._keep(event)
        return True

    def _set_aside(self) -> None:
        """Move a damaged record aside (for whoever wants to look at it) and start a new one."""
        assert self._file is not None
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
        try:
            os.replace(self.path, aside)
            fresh = self.path.open("a+b")
            lock_within(fresh)  # a new file: no other run has it yet
        except OSError as error:
            raise AutomationError(
                f"{self.path}: damaged, and cannot be set aside: {error.strerror}"
            ) from None
        self._file.close()
        self._file = fresh
        log.warning("%s: the damaged record is kept as %s", self.path, aside.name)

    def _keep(self, event: Event) -> None:
        self._events.append(event)
        self._by_item.setdefault((event.kind, event.key), []).append(event)

    def history(self, kind: str, key: str) -> list[Event]:
        """Every event of an item, oldest first."""
        return list(self._by_item.get((kind, key), []))

    def latest(self, kind: str, key: str) -> Event | None:
        """The latest event of an item, or None."""
        history = self._by_item.get((kind, key))
        return history[-1] if history else None

    def events(self, kind: str) -> list[Event]:
        """Every event of a kind, oldest first."""
        return [event for event in self._events if event.kind == kind]

    def add(self, event: Event) -> Event:
        """Append an event, stamped with the time and the catalog.

        Each line is flushed at once, so that it outlives the process; the file is synced only
        when the run ends: a line lost with the machine costs nothing but asking the catalog
        again, which every run does anyway.
        """
        if self._file is None:
            raise RuntimeError(f"{self.path} was opened only to be read")
        event = dataclasses.replace(
            event, at=datetime.now(timezone.utc).isoformat(timespec="microseconds"),
            catalog=self.catalog,
        )
        with self._lock:
            try:
                self._file.write((event_to_json(event) + "\n").encode("utf-8"))
                self._file.flush()
            except OSError as error:
                raise AutomationError(
                    f"{self.path}: cannot write the record ({error.strerror}): nothing more is "
                    "sent, since what is sent must be recorded first"
                ) from None
            self._keep(event)
        return event
