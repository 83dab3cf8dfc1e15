#!/usr/bin/env python3
"""Email the supplier the report of their drop: what it brought into the catalog, as a PDF.

The report is made from the drop's record (catalog-record.jsonl, kept by
supplier_image_upload.py and run.py) and the files now in the drop: each description, with its
picture, is an item, and the record says whether that very item is in the catalog (and as which
fruit) or why not. A fruit an earlier report listed is not listed again, so the next drop,
unpacked over the last in the same folder, gets a report of its own with its own total weight;
a run with nothing new to say sends nothing (--resend reports the whole drop again). No network
is used but the SMTP server's.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from automation import settings
from automation.batch import display_name
from automation.cli import add_verbosity_flags, guarded, setup_logging
from automation.descriptions import parse_bytes, read_bytes
from automation.drop import DESCRIPTION_SUFFIX, Drop, files_with_suffix, jpeg_name
from automation.errors import AutomationError, ItemError
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
from emails import MailError, SmtpSettings, generate_email, send_email
from reports import ImportedFruit, ImportReport, NotImported, write_import_report

log = logging.getLogger(__name__)

SUBJECT = "Upload Completed - Online Fruit Store"
ATTACHMENT_NAME = "processed.pdf"
REPORT_KEY = "supplier-report"
BODY_MAX_FAILURES = 10

NOT_POSTED = "not posted to the catalog yet (run.py has not run for it)"
ANSWER_LOST = "its post got no answer: run run.py again to settle whether it landed"


class NothingImported(AutomationError):
    """The record shows no fruit of the drop in the catalog: there is nothing to report."""


@dataclass
class Landed:
    """What the record says of the items now in the drop: the fruits in the catalog, by id (one
    fruit may be two identical items), and the items that are not, each with why."""

    fruits: dict[int, ImportedFruit] = field(default_factory=dict)
    not_imported: list[NotImported] = field(default_factory=list)

    def new_fruits(self, reported: set[int]) -> dict[int, ImportedFruit]:
        """The fruits that no report sent before listed, by id."""
        return {key: fruit for key, fruit in self.fruits.items() if key not in reported}


def posted_as(text: bytes, event: FruitEvent) -> bool:
    """Whether a fruit recorded by an earlier version, which kept only the digest of the fruit
    it posted, was made from this description."""
    try:
        fruit = parse_bytes(text).as_fruit(event.image_name)
    except ItemError:
        return False
    return event.sha256 == sha256_of(json.dumps(fruit, sort_keys=True,
                                                ensure_ascii=False).encode())


def latest_of_item(record: UploadRecord, key: str, text: bytes, picture: str) -> FruitEvent | None:
    """The record's latest event of the very item now at key: this description, this picture."""
    digest = item_digest(text, picture)
    for event in reversed(record.history(FRUIT, key)):
        if not isinstance(event, FruitEvent):
            continue
        if event.item == digest or (not event.item and event.state == DONE
                                    and posted_as(text, event)):
            return event
    return None


def why_not_posted(record: UploadRecord, image_key: str, picture: str) -> str:
    """Why an item the record never posted is missing: its image's failure, or not run yet."""
    image = record.latest(IMAGE, image_key)
    if isinstance(image, ImageEvent) and image.state == FAILED and image.sha256 == picture:
        return f"its image {image_key} was not uploaded: {image.reason or 'no reason'}"
    return NOT_POSTED


def read_landed(record: UploadRecord, drop: Drop, descriptions: list[Path]) -> Landed:
    """What the record says of each description now in the drop, with its picture."""
    landed = Landed()
    for path in descriptions:
        file = display_name(path, drop.root)
        image = drop.images / jpeg_name(path.stem)
        try:
            text = read_bytes(path)
        except ItemError as error:
            landed.not_imported.append(NotImported(file, str(error)))
            continue
        try:
            picture = sha256_of(image.read_bytes())
        except OSError:
            picture = ""
        event = latest_of_item(record, file, text, picture)
        if event is None:
            why = why_not_posted(record, display_name(image, drop.root), picture)
            landed.not_imported.append(NotImported(file, why))
        elif event.state == DONE and event.id is not None and event.weight is not None:
            landed.fruits.setdefault(event.id, ImportedFruit(
                path.stem, event.name, event.weight, image if picture else None))
        elif event.state == PENDING:
            landed.not_imported.append(NotImported(file, ANSWER_LOST, event.name))
        else:
            landed.not_imported.append(NotImported(file, event.reason or "failed", event.name))
    return landed


def reported_fruits(record: UploadRecord) -> set[int]:
    """The fruits that reports sent before listed."""
    return {fruit_id for event in record.events(REPORT) if isinstance(event, ReportEvent)
            and event.state == SENT for fruit_id in event.ids}


def last_report(record: UploadRecord) -> ReportEvent | None:
    """The last report sent, or None."""
    sent = [event for event in record.events(REPORT)
            if isinstance(event, ReportEvent) and event.state == SENT]
    return sent[-1] if sent else None


def says_nothing_new(report: ImportReport, last: ReportEvent | None) -> bool:
    """Whether a report would repeat the last one: no new fruit, the same items not imported."""
    not_imported = sorted(item.file for item in report.not_imported)
    return last is not None and not report.imported and sorted(last.not_imported) == not_imported


def plural(count: int, word: str) -> str:
    """'1 fruit', '2 fruits'."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def email_body(report: ImportReport) -> str:
    """The email's text: whether every fruit was uploaded, and the total weight imported."""
    imported, failed = len(report.imported), len(report.not_imported)
    lines = ["Hello,", ""]
    if not failed:
        lines.append(
            f"All fruits were uploaded to our website successfully: {plural(imported, 'fruit')}."
        )
    else:
        lines.append(
            f"{plural(imported, 'fruit')} {'was' if imported == 1 else 'were'} uploaded to our "
            f"website; {failed} failed and {'was' if failed == 1 else 'were'} not imported."
        )
    lines.append(f"Total weight imported: {report.total_weight} lbs.")
    if failed:
        lines += ["", "Not imported:"]
        for item in report.not_imported[:BODY_MAX_FAILURES]:
            name = f" ({item.name})" if item.name else ""
            lines.append(f"- {item.file}{name}: {item.reason}")
        if failed > BODY_MAX_FAILURES:
            lines.append(f"- and {failed - BODY_MAX_FAILURES} more, listed in the PDF")
        lines += ["", f"The attached PDF ({ATTACHMENT_NAME}) lists each fruit imported with its "
                      "weight, and each item not imported with the reason."]
    else:
        lines += ["", f"The attached PDF ({ATTACHMENT_NAME}) lists each fruit and its weight."]
    lines += ["", "Online Fruit Store"]
    return "\n".join(lines) + "\n"


def write_pdf(path: Path, report: ImportReport) -> None:
    """Write the report's PDF at path, whole or not at all."""
    partial = path.with_name(path.name + ".part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_import_report(partial, report)
        partial.replace(path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        reason = error.strerror or error
        raise AutomationError(f"{path}: cannot write the report: {reason}") from None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line, with defaults from the environment."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    settings.DATA_DIR.add_to(parser)
    settings.CATALOG_URL.add_to(parser, metavar="URL")
    settings.REPORT_PDF.add_to(parser, type=Path, metavar="FILE")
    settings.REPORT_SENDER.add_to(parser, metavar="ADDRESS")
    settings.REPORT_RECIPIENT.add_to(parser, metavar="ADDRESS")
    settings.add_smtp_flags(parser)
    parser.add_argument(
        "--resend", action="store_true",
        help="report every fruit of the drop in the catalog, also those an earlier report "
             "listed, even when it says nothing new",
    )
    add_verbosity_flags(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Send the report; exit 0 when sent (or nothing new to send), 2 when it cannot be."""
    args = parse_args(argv)
    setup_logging(args.verbose, args.quiet)

    def say(text: str) -> None:
        if not args.quiet:
            print(text)

    def run() -> int:
        drop = Drop(settings.drop_dir(args.data_dir))
        pdf = args.pdf.expanduser()
        descriptions = files_with_suffix(drop.require(drop.descriptions), {DESCRIPTION_SUFFIX})
        if not drop.record.is_file():
            raise NothingImported(
                f"{drop.root}: nothing was imported yet, there is no {drop.record.name} "
                "(run supplier_image_upload.py and run.py first): no report sent"
            )
        with UploadRecord(drop.record, args.url) as record:
            landed = read_landed(record, drop, descriptions)
            if not landed.fruits:
                raise NothingImported(
                    f"{drop.root}: no fruit of it is in the catalog at {args.url} "
                    f"({plural(len(landed.not_imported), 'item')} not imported; see run.py): "
                    "no report sent"
                )
            new = landed.new_fruits(set() if args.resend else reported_fruits(record))
            report = ImportReport(date.today(), list(new.values()), landed.not_imported)
            last = last_report(record)
            if says_nothing_new(report, last):
                assert last is not None
                say(f"nothing new since the report sent to {last.recipient} at {last.at}: "
                    "no email sent (--resend reports the whole drop again)")
                return 0
            for item in landed.not_imported:
                log.warning("%s: not imported: %s", item.file, item.reason)
            write_pdf(pdf, report)
            message = generate_email(args.sender, args.recipient, SUBJECT, email_body(report),
                                     pdf, filename=ATTACHMENT_NAME)
            try:
                send_email(message, SmtpSettings.from_args(args))
            except MailError as error:
                raise MailError(f"{error}; the report stays at {pdf}: run this again to "
                                "send it") from None
            record.add(ReportEvent(
                key=REPORT_KEY, state=SENT, ids=tuple(new),
                not_imported=tuple(item.file for item in landed.not_imported),
                total=report.total_weight, recipient=args.recipient, pdf=str(pdf),
            ))
        say(f"sent the report of {plural(len(report.imported), 'fruit')} "
            f"({report.total_weight} lbs, {len(report.not_imported)} not imported) to "
            f"{args.recipient}; the PDF is {pdf}")
        return 0

    return guarded(run)


if __name__ == "__main__":
    sys.exit(main())
