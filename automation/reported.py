"""The supplier reports sent, remembered outside every drop: in the user's state folder.

A report tells of products, not of files. Each fruit it listed is remembered by the catalog's
URL, the content of its item (record.item_digest: its description and its picture) and the
fruit's id in that catalog, with the import it told of. So the memory outlives a lost drop
record and a moved drop, and a catalog emptied and filled again (which numbers its fruits from 1
again) still has its later drops reported: their contents are others.

The file, reports.json beside the health check's state, is small JSON an operator can read. It
is replaced whole (written beside it, then renamed), and one report run at a time holds its lock.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

from automation.errors import AutomationError
from automation.files import lock_within, write_atomically

MEMORY_NAME = "reports.json"
LOCK_NAME = "reports.lock"
VERSION = 1


def catalog_key(url: str) -> str:
    """The catalog's URL as the memory knows it: no trailing slash, and no password in it."""
    parts = urlsplit(url.strip().rstrip("/"))
    if parts.password is not None:
        host = parts.netloc.rsplit("@", 1)[1]
        user = parts.username or ""
        parts = parts._replace(netloc=f"{user}@{host}" if user else host)
    return urlunsplit(parts)


@dataclass(frozen=True)
class Listed:
    """A fruit a report listed: when the drop's own request had put it in the catalog ("" when
    the catalog held it before the drop), when that report was made, and whether it counted
    the fruit as imported (or listed it apart, as already in the catalog)."""

    imported: str
    report: str
    counted: bool = True


@dataclass(frozen=True)
class SentReport:
    """One report sent: when, of which drop, to whom, and what it said."""

    at: str
    drop: str
    recipient: str
    fruits: int
    already: int
    total: int
    not_imported: tuple[str, ...] = field(default_factory=tuple)
    pdf: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SentReport:
        """A SentReport from its JSON form; raises KeyError or TypeError when it is not one."""
        return cls(**{**data, "not_imported": tuple(data.get("not_imported", ()))})


def fruit_key(item: str, fruit_id: int) -> str:
    """How the memory names one fruit of one item: '<item digest> #<fruit id>'."""
    return f"{item} #{fruit_id}"


class ReportMemory:
    """What was reported to the suppliers about one catalog, locked while a report run uses it."""

    def __init__(self, folder: Path, catalog: str) -> None:
        self.path = folder / MEMORY_NAME
        self.catalog = catalog_key(catalog)
        self._lock_path = folder / LOCK_NAME
        self._lock: IO[str] | None = None
        self._data: dict[str, Any] = {"version": VERSION, "catalogs": {}}

    def __enter__(self) -> ReportMemory:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._lock = self._lock_path.open("a", encoding="utf-8")
        except OSError as error:
            raise AutomationError(
                f"{self._lock_path}: cannot open it: {error.strerror or error}"
            ) from None
        if not lock_within(self._lock):
            self._lock.close()
            raise AutomationError(
                f"{self.path}: another report_email.py run is sending a report; wait for it "
                "to end"
            )
        try:
            self._load()
        except AutomationError:
            self._lock.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._lock is not None:
            self._lock.close()  # closing releases the lock

    def _load(self) -> None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except OSError as error:
            raise AutomationError(
                f"{self.path}: cannot read the reports sent: {error.strerror or error}"
            ) from None
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or not isinstance(data.get("catalogs"), dict):
                raise ValueError("not a memory of reports")
            mine = data["catalogs"].get(self.catalog, {})
            for report in mine.get("reports", []):
                SentReport.from_json(report)
            for listed in mine.get("fruits", {}).values():
                Listed(**listed)
        except (ValueError, TypeError, KeyError, AttributeError):
            # Forgetting would send again every report it remembers: the operator decides.
            raise AutomationError(
                f"{self.path}: not a memory of reports (cut short, or edited?): no report sent; "
                "mend it, or move it aside to start afresh (the reports it remembers may then "
                "go again)"
            ) from None
        self._data = data

    @property
    def _mine(self) -> dict[str, Any]:
        return self._data["catalogs"].get(self.catalog, {})

    def listed(self, item: str, fruit_id: int) -> Listed | None:
        """What the last report that listed this fruit of this item told of it, if one did."""
        data = self._mine.get("fruits", {}).get(fruit_key(item, fruit_id))
        return None if data is None else Listed(**data)

    def reports(self) -> list[SentReport]:
        """Every report sent for this catalog, oldest first."""
        return [SentReport.from_json(report) for report in self._mine.get("reports", [])]

    def last_report(self, drop: Path | None = None) -> SentReport | None:
        """The last report sent for this catalog (of the drop at that folder, when given)."""
        wanted = None if drop is None else str(drop.resolve())
        sent = [report for report in self.reports() if wanted in (None, report.drop)]
        return sent[-1] if sent else None

    def report_at(self, at: str) -> SentReport | None:
        """The report sent at that time, if it is remembered."""
        return next((report for report in self.reports() if report.at == at), None)

    def remember(self, report: SentReport, fruits: dict[tuple[str, int], Listed]) -> None:
        """Remember a report sent, with what it said of each fruit it listed, by (item, fruit
        id). Written whole, or an AutomationError says why not."""
        catalogs = self._data["catalogs"]
        mine = catalogs.setdefault(self.catalog, {"fruits": {}, "reports": []})
        for (item, fruit_id), listed in fruits.items():
            mine["fruits"][fruit_key(item, fruit_id)] = asdict(listed)
        mine["reports"].append({**asdict(report), "not_imported": list(report.not_imported)})
        self._write()

    def _write(self) -> None:
        text = json.dumps(self._data, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
        try:
            write_atomically(self.path, text, mode=0o600)
        except OSError as error:
            raise AutomationError(
                f"{self.path}: cannot write it: {error.strerror or error}"
            ) from None
