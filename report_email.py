#!/usr/bin/env python3
"""Email the supplier the report of their drop: what it brought into the catalog, as a PDF.

Each description now in the drop, with its picture, is an item. The catalog decides whether it
is there (GET /fruits/, and the picture its image name serves); the drop's record
(catalog-record.jsonl) says whether this drop's own request put it there, or why it is not
there. A fruit is counted as imported only when this drop brought it; one the catalog held
before (the supplier sent it again) is listed apart and not counted. The reports sent are
remembered in the user's state folder (automation/reported.py), by the content of each item and
its fruit in that catalog: a report goes once, even after the record was lost, and a later drop
into a catalog emptied meanwhile is still reported. --resend sends the report again.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from automation import settings
from automation.batch import display_name
from automation.catalog import open_catalog
from automation.cli import add_verbosity_flags, guarded, setup_logging
from automation.descriptions import Description, parse_bytes, read_bytes
from automation.drop import DESCRIPTION_SUFFIX, Drop, files_with_suffix, jpeg_name, read_regular
from automation.errors import AutomationError, ItemError
from automation.files import replacing
from automation.holdings import Holdings, fields_of
from automation.mail import MailError, SmtpSettings, generate_email, send_email
from automation.record import (
    DONE,
    FAILED,
    FRUIT,
    IMAGE,
    PENDING,
    REPORT,
    SENT,
    FruitEvent,
    ImageEvent,
    ReportEvent,
    UploadRecord,
    item_digest,
    sha256_of,
)
from automation.reported import Listed, ReportMemory, SentReport
from reports import (
    AlreadyInCatalog,
    ImportedFruit,
    ImportReport,
    NotImported,
    long_date,
    plural,
    write_import_report,
)

log = logging.getLogger(__name__)

SUBJECT = "Upload Completed - Online Fruit Store"
ATTACHMENT_NAME = "processed.pdf"
REPORT_KEY = "supplier-report"
BODY_MAX_ITEMS = 10

NOT_POSTED = "not posted to the catalog yet (run.py has not run for it)"
ANSWER_LOST = "its post got no answer: run run.py again to settle whether it landed"
HELD_BEFORE = "in the catalog before this drop"

IMPORTED = "imported"
ALREADY = "already in the catalog"
OLD = "told before"


class NothingImported(AutomationError):
    """No item of the drop is in the catalog: there is nothing to report."""


@dataclass
class Landed:
    """What became of the items now in the drop, each list in the drop's order: the fruits it
    brought into the catalog, those the catalog held already, and the items not there (with
    why). One fruit of the catalog may be two identical items: it is listed once."""

    imported: list[ImportedFruit] = field(default_factory=list)
    already: list[AlreadyInCatalog] = field(default_factory=list)
    not_imported: list[NotImported] = field(default_factory=list)
    news: bool = False  # something no report told before
    told: dict[tuple[str, int], Listed] = field(default_factory=dict)  # by (item, fruit id)
    ids: list[int] = field(default_factory=list)  # every fruit of the drop in the catalog
    listings: list[Listed] = field(default_factory=list)  # what earlier reports said of them


def posted_as(text: bytes, event: FruitEvent) -> bool:
    """Whether a fruit recorded by an earlier version, which kept only the digest of the fruit
    it posted, was made from this description."""
    try:
        fruit = parse_bytes(text).as_fruit(event.image_name)
    except ItemError:
        return False
    return event.sha256 == sha256_of(json.dumps(fruit, sort_keys=True,
                                                ensure_ascii=False).encode())


def item_events(record: UploadRecord, key: str, text: bytes, digest: str) -> list[FruitEvent]:
    """The record's events of the very item now at key (this description, this picture),
    oldest first; also as an earlier version wrote them (a digest of the fruit posted)."""
    events = [event for event in record.history(FRUIT, key) if isinstance(event, FruitEvent)]
    earlier = {event.sha256 for event in events
               if not event.item and event.state == DONE and event.sha256
               and posted_as(text, event)}
    return [event for event in events
            if event.item == digest or (not event.item and event.sha256 in earlier)]


def imported_at(history: list[FruitEvent], fruit_id: int) -> str:
    """When this drop's own request put the item in the catalog as that fruit ("" when it did
    not: the catalog held it already).

    The record says so of a fruit done after our request: a done event that says sent, or one
    found done after a request whose answer was lost (an earlier version's too).
    """
    imported = requested = ""
    for event in history:
        if event.state == PENDING:
            requested = event.at
        elif event.state == FAILED and not event.uncertain:
            requested = ""
        elif event.state == DONE:
            if event.id == fruit_id and (event.sent or requested):
                imported = event.at if event.sent else requested
            requested = ""
    return imported


def listed_in_record(
    record: UploadRecord, history: list[FruitEvent], fruit_id: int, imported: str
) -> Listed | None:
    """What a report kept in the drop's record (this version's or an earlier one's) said of
    this fruit of this item, if one listed it since the item became that fruit."""
    landed = [event.at for event in history if event.state == DONE and event.id == fruit_id]
    if not landed:
        return None
    reports = [event for event in record.events(REPORT)
               if isinstance(event, ReportEvent) and event.state == SENT
               and fruit_id in event.ids and event.at >= min(landed)]
    if not reports or (imported and imported > reports[-1].at):
        return None
    return Listed(imported, reports[-1].at)


def served_here(holdings: Holdings, stored: dict[str, Any], product: Description,
                picture: str) -> bool:
    """Whether a fruit of the catalog is this product, with this picture."""
    name = stored.get("image_name")
    return (fields_of(stored) == fields_of(product) and isinstance(name, str) and bool(name)
            and holdings.served(name) == picture)


def in_catalog(holdings: Holdings, product: Description, picture: str,
               history: list[FruitEvent]) -> dict[str, Any] | None:
    """The catalog's fruit of the item, if it holds one: the one the record says it became,
    or any with the same fields and picture."""
    done = [event for event in history if event.state == DONE and event.id is not None]
    if done:
        stored = holdings.fruit(done[-1].id)
        if stored is not None and served_here(holdings, stored, product, picture):
            return stored
    return holdings.find_fruit(product, picture)


def why_not_in_catalog(record: UploadRecord, history: list[FruitEvent], image_key: str,
                       picture: str) -> str:
    """Why an item is not in the catalog, from what the record says of it."""
    latest = history[-1] if history else None
    if latest is None:
        image = record.latest(IMAGE, image_key)
        # A failure before its bytes were known (unreadable, not a JPEG) names no digest.
        if isinstance(image, ImageEvent) and image.state == FAILED \
                and image.sha256 in ("", picture):
            return f"its image {image_key} was not uploaded: {image.reason or 'no reason'}"
        return NOT_POSTED
    if latest.state == PENDING:
        return ANSWER_LOST
    if latest.state == FAILED:
        return latest.reason or "failed"
    return (f"the record says it landed as fruit #{latest.id}, but the catalog does not hold "
            "it now: run run.py again")


def reported_on(listed: Listed) -> str:
    """'listed in the report of November 22, 2026'."""
    try:
        day = long_date(date.fromisoformat(listed.report[:10]))
    except ValueError:
        day = listed.report
    return f"listed in the report of {day}"


def epoch(at: str) -> float:
    """An ISO time of the record or the memory, in seconds since the epoch (0 when unreadable)."""
    try:
        return datetime.fromisoformat(at).timestamp()
    except ValueError:
        return 0.0


def changed_since(path: Path, at: str) -> bool:
    """Whether a file of the drop was written (or unpacked) again after a time.

    The change time, which no archive can set. A time written to the second (the record's) may
    be up to a second before the moment it names.
    """
    try:
        changed = path.stat().st_ctime
    except OSError:
        return True
    return changed >= epoch(at) + (0 if "." in at else 1)


def fate(imported: str, listed: Listed | None, changed: bool, again: bool) -> tuple[str, bool]:
    """What a report tells of a fruit of the drop the catalog holds, and whether that is news.

    imported: when this drop's own request put it there ("" when the catalog held it before);
    listed: what the last report that listed it said; changed: whether its description was
    written again since that report (the supplier sent it again); again: --resend of that very
    report. IMPORTED is counted, ALREADY is listed apart, OLD is not told again: an earlier
    report told of it, and its file is still the one then (last week's, left in the folder).
    """
    if listed is None:
        return (IMPORTED if imported else ALREADY), True
    if imported and imported != listed.imported:
        return IMPORTED, True  # imported again since: a catalog emptied and filled again
    if again:
        return (IMPORTED if imported and listed.counted else ALREADY), False
    return (ALREADY if changed else OLD), False


def read_landed(
    record: UploadRecord, drop: Drop, descriptions: list[Path], holdings: Holdings,
    memory: ReportMemory, resend: bool = False, now: str = "",
) -> Landed:
    """What became of each description now in the drop, with its picture: the catalog says
    whether it is there, the record whether this drop put it there, the reports sent before
    whether they told of it already. now: when this report is made."""
    landed = Landed()
    here = str(drop.root.resolve())
    last = memory.last_report(drop.root)
    last_event = last_in_record(record)
    last_reports = {report.at for report in (last, last_event) if report is not None}
    for path in descriptions:
        file = display_name(path, drop.root)
        try:
            image = drop.images / jpeg_name(path.stem)
            text = read_bytes(path)
        except ItemError as error:
            landed.not_imported.append(NotImported(file, str(error)))
            continue
        try:
            picture = sha256_of(read_regular(image))  # a FIFO would hold the read for ever
        except ItemError:
            picture = ""
        digest = item_digest(text, picture)
        history = item_events(record, file, text, digest)
        try:
            product = parse_bytes(text)
        except ItemError as error:
            reason = history[-1].reason if history and history[-1].state == FAILED else ""
            landed.not_imported.append(NotImported(file, reason or str(error)))
            continue
        stored = in_catalog(holdings, product, picture, history) if picture else None
        if stored is None:
            why = why_not_in_catalog(record, history, display_name(image, drop.root), picture)
            landed.not_imported.append(NotImported(file, why, product.name))
            continue
        fruit_id = stored["id"]
        if fruit_id in landed.ids:
            continue
        landed.ids.append(fruit_id)
        imported = imported_at(history, fruit_id)
        listed = (memory.listed(digest, fruit_id)
                  or listed_in_record(record, history, fruit_id, imported))
        if listed is not None:
            landed.listings.append(listed)
            earlier = memory.report_at(listed.report)
            if not imported and listed.imported and earlier is not None and earlier.drop == here:
                imported = listed.imported  # this drop's import: the record that knew it was lost
        again = resend and (not last_reports or (listed is not None
                            and listed.report in last_reports))
        told, news = fate(imported, listed,
                          listed is not None and changed_since(path, listed.report), again)
        landed.news = landed.news or news
        if told == OLD:
            continue
        if told == IMPORTED:
            landed.imported.append(ImportedFruit(path.stem, product.name, product.weight, image))
        else:
            why = "; ".join(part for part in (
                "" if imported else HELD_BEFORE, reported_on(listed) if listed else ""
            ) if part)
            landed.already.append(AlreadyInCatalog(path.stem, product.name, product.weight, why))
        landed.told[(digest, fruit_id)] = Listed(imported, now, counted=told == IMPORTED)
    return landed


def last_in_record(record: UploadRecord) -> ReportEvent | None:
    """The last report the drop's record says was sent, or None."""
    sent = [event for event in record.events(REPORT)
            if isinstance(event, ReportEvent) and event.state == SENT]
    return sent[-1] if sent else None


def nothing_new(landed: Landed, last_failures: tuple[str, ...] | None) -> bool:
    """Whether a report would tell nothing that reports sent before did not: every fruit was
    listed, and every item not imported was in the last report of the drop as such."""
    failures = {item.file for item in landed.not_imported}
    if last_failures is None:
        return not landed.news and not failures
    return not landed.news and failures <= set(last_failures)


def were(count: int) -> str:
    """'was' or 'were'."""
    return "was" if count == 1 else "were"


def email_body(report: ImportReport) -> str:
    """The email's text: whether every fruit was uploaded, the total weight imported, and how
    many of the drop's fruits the catalog held already."""
    imported, failed, already = len(report.imported), len(report.not_imported), \
        len(report.already)
    lines = ["Hello,", ""]
    if failed:
        lines.append(f"{plural(imported, 'fruit')} {were(imported)} uploaded to our website; "
                     f"{failed} failed and {were(failed)} not imported.")
    elif imported:
        lines.append(
            f"All fruits were uploaded to our website successfully: {plural(imported, 'fruit')}."
        )
    else:
        lines.append("No fruit of this drop was new to our website: nothing was imported.")
    lines.append(f"Total weight imported: {report.total_weight} lbs.")
    if already:
        names = ", ".join(fruit.name for fruit in report.already[:BODY_MAX_ITEMS])
        more = f" and {already - BODY_MAX_ITEMS} more" if already > BODY_MAX_ITEMS else ""
        lines.append(f"{plural(already, 'fruit')} of this drop {were(already)} already in the "
                     f"catalog, so not counted: {names}{more}.")
    if failed:
        lines += ["", "Not imported:"]
        for item in report.not_imported[:BODY_MAX_ITEMS]:
            name = f" ({item.name})" if item.name else ""
            lines.append(f"- {item.file}{name}: {item.reason}")
        if failed > BODY_MAX_ITEMS:
            lines.append(f"- and {failed - BODY_MAX_ITEMS} more, listed in the PDF")
        lines += ["", f"The attached PDF ({ATTACHMENT_NAME}) lists each fruit imported with its "
                      "weight, and each item not imported with the reason."]
    else:
        lines += ["", f"The attached PDF ({ATTACHMENT_NAME}) lists each fruit and its weight."]
    lines += ["", "Online Fruit Store"]
    return "\n".join(lines) + "\n"


def write_pdf(path: Path, report: ImportReport) -> None:
    """Write the report's PDF at path, whole or not at all."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with replacing(path) as partial:
            write_import_report(partial, report)
    except OSError as error:
        reason = error.strerror or error
        raise AutomationError(f"{path}: cannot write the report: {reason}") from None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line, with defaults from the environment."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    settings.DATA_DIR.add_to(parser)
    settings.CATALOG_URL.add_to(parser, metavar="URL")
    settings.CATALOG_TIMEOUT.add_to(parser, type=settings.positive_float, metavar="SECONDS")
    settings.CATALOG_RETRIES.add_to(parser, type=settings.non_negative_int, metavar="N")
    settings.REPORT_PDF.add_to(parser, type=Path, metavar="FILE")
    settings.REPORT_SENDER.add_to(parser, metavar="ADDRESS")
    settings.REPORT_RECIPIENT.add_to(parser, metavar="ADDRESS")
    settings.add_smtp_flags(parser)
    parser.add_argument(
        "--resend", action="store_true",
        help="send the report again: every fruit this drop brought, also those an earlier "
             "report listed, even when it says nothing new",
    )
    add_verbosity_flags(parser)
    return parser.parse_args(argv)


def to_the_second(at: str) -> str:
    """A time of the record or the memory as the operator reads it: to the second."""
    try:
        return datetime.fromisoformat(at).isoformat(timespec="seconds")
    except ValueError:
        return at


def last_sent(memory: ReportMemory, landed: Landed, last: SentReport | None,
              last_event: ReportEvent | None) -> str:
    """The report sent last that told what a report would tell now, in words."""
    if last is None and landed.listings:
        last = memory.report_at(max(listed.report for listed in landed.listings))
    if last is not None:
        return f"the report sent to {last.recipient} at {to_the_second(last.at)}"
    if last_event is not None:
        return f"the report sent to {last_event.recipient} at {last_event.at}"
    at = max((listed.report for listed in landed.listings), default="")
    return f"the report sent at {to_the_second(at)}"


@dataclass(frozen=True)
class Delivery:
    """Where the report goes: the PDF's path, the sender, the supplier, the mail server."""

    pdf: Path
    sender: str
    recipient: str
    smtp: SmtpSettings


def report_drop(
    drop: Drop, where: settings.CatalogSettings, delivery: Delivery, resend: bool = False,
    quiet: bool = False,
) -> int:
    """Report what this drop brought into the catalog to the supplier, once (or again, with
    resend); 0 when sent or nothing new to say. Raises the project's errors for exit 2."""

    def say(text: str) -> None:
        if not quiet:
            print(text)

    pdf = delivery.pdf
    descriptions = files_with_suffix(drop.require(drop.descriptions), {DESCRIPTION_SUFFIX})
    had_record = drop.record.is_file()
    with ReportMemory(settings.state_dir(), where.url) as memory, \
            UploadRecord(drop.record, where.url, writable=had_record) as record, \
            open_catalog(where) as catalog:
        now = datetime.now(timezone.utc).isoformat()
        landed = read_landed(record, drop, descriptions, Holdings(catalog), memory,
                             resend, now)
        if not landed.ids:
            if not had_record:
                raise NothingImported(
                    f"{drop.root}: nothing of it is in the catalog at {where.url}, and "
                    f"there is no {drop.record.name} (run supplier_image_upload.py and "
                    "run.py first): no report sent"
                )
            raise NothingImported(
                f"{drop.root}: no fruit of it is in the catalog at {where.url} "
                f"({plural(len(landed.not_imported), 'item')} not imported; see run.py): "
                "no report sent"
            )
        last = memory.last_report(drop.root)
        last_event = last_in_record(record)
        last_failures = (last.not_imported if last else
                         last_event.not_imported if last_event else None)
        if not resend and nothing_new(landed, last_failures):
            say(f"nothing new since {last_sent(memory, landed, last, last_event)}: no "
                "email sent (--resend sends it again)")
            return 0
        report = ImportReport(date.today(), landed.imported, landed.not_imported,
                              landed.already)
        for item in landed.not_imported:
            log.warning("%s: not imported: %s", item.file, item.reason)
        write_pdf(pdf, report)
        message = generate_email(delivery.sender, delivery.recipient, SUBJECT, email_body(report),
                                 pdf, filename=ATTACHMENT_NAME)
        try:
            send_email(message, delivery.smtp)
        except MailError as error:
            raise MailError(f"{error}; the report stays at {pdf}: run this again to "
                            "send it") from None
        sent = ReportEvent(
            key=REPORT_KEY, state=SENT, ids=tuple(fruit_id for _, fruit_id in landed.told),
            not_imported=tuple(item.file for item in landed.not_imported),
            total=report.total_weight, recipient=delivery.recipient, pdf=str(pdf),
        )
        if had_record:
            sent = record.add(sent)
        else:
            with UploadRecord(drop.record, where.url) as new_record:
                sent = new_record.add(sent)
        try:
            memory.remember(SentReport(
                now, str(drop.root.resolve()), delivery.recipient, len(report.imported),
                len(report.already), report.total_weight, sent.not_imported, str(pdf),
            ), landed.told)
        except AutomationError as error:
            raise AutomationError(f"the report was sent to {delivery.recipient}, but {error} "
                                  f"(the drop's {drop.record.name} remembers it)") from None
    say(f"sent the report of {plural(len(report.imported), 'fruit')} imported "
        f"({report.total_weight} lbs; {len(report.already)} already in the catalog, "
        f"{len(report.not_imported)} not imported) to {delivery.recipient}; the PDF is {pdf}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Send the report; exit 0 when sent (or nothing new to send), 2 when it cannot be."""
    args = parse_args(argv)
    setup_logging(args.verbose, args.quiet)
    where = settings.CatalogSettings(args.url, args.timeout, args.retries)
    delivery = Delivery(args.pdf.expanduser(), args.sender, args.recipient,
                        SmtpSettings.from_argparse(args))
    return guarded(lambda: report_drop(Drop(settings.drop_dir(args.data_dir)), where, delivery,
                                       args.resend, args.quiet))


if __name__ == "__main__":
    sys.exit(main())
