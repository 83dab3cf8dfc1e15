#!/usr/bin/env python3
"""Email the supplier the report of their drop: what landed in the catalog, as a PDF attached.

The report is made from the drop's record (catalog-record.jsonl, kept by
supplier_image_upload.py and run.py), not from the files of the drop: it tells what the catalog
holds. A sent report is recorded too: running this again sends nothing unless the report would
say something new (or --resend). No network is used but the SMTP server's.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from automation import settings
from automation.cli import add_verbosity_flags, guarded, setup_logging
from automation.drop import DESCRIPTION_SUFFIX, Drop, files_with_suffix, jpeg_name
from automation.errors import AutomationError
from automation.record import FRUIT, IMAGE, REPORT, UploadRecord
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
    """What the record says of a drop: the fruits in the catalog, their ids, and the rest."""

    imported: list[ImportedFruit] = field(default_factory=list)
    ids: dict[str, Any] = field(default_factory=dict)
    not_imported: list[NotImported] = field(default_factory=list)

    def fingerprint(self) -> dict[str, list]:
        """What a report of this says, in short: to tell whether it was sent already."""
        keys = sorted(self.ids)
        return {
            "keys": keys,
            "ids": [self.ids[key] for key in keys],
            "not_imported": sorted(item.file for item in self.not_imported),
        }


def description_file(key: str) -> str:
    """The drop file of an item, as the upload steps name it."""
    return f"descriptions/{key}{DESCRIPTION_SUFFIX}"


def image_path(drop: Drop, record: UploadRecord, image_name: str) -> Path:
    """Where the catalog image of a fruit lies: where it was uploaded from, or images/."""
    entry = record.entry(IMAGE, image_name)
    if entry and entry.get("state") == "done" and entry.get("file"):
        return drop.root / entry["file"]
    return drop.images / image_name


def why_not_posted(record: UploadRecord, key: str) -> str:
    """The reason an item the record never posted is missing, its image's failure first."""
    image = record.entry(IMAGE, jpeg_name(key))
    if image and image.get("state") == "failed":
        return f"its image {jpeg_name(key)} was not uploaded: {image.get('reason', 'no reason')}"
    return NOT_POSTED


def read_landed(record: UploadRecord, drop: Drop, described: list[str]) -> Landed:
    """The fruits the record shows in the catalog, and every other item of the drop with why."""
    landed = Landed()
    fruits = record.entries(FRUIT)
    for key in sorted(fruits):
        entry = fruits[key]
        file = entry.get("file") or description_file(key)
        name = entry.get("name") or ""
        if entry["state"] == "done":
            weight = entry.get("weight")
            if not name or not isinstance(weight, int):
                log.warning("%s: the record lacks its name or weight: left out", file)
                continue
            image = entry.get("image_name")
            landed.imported.append(ImportedFruit(
                key, name, weight, image_path(drop, record, image) if image else None
            ))
            landed.ids[key] = entry.get("id")
        elif entry["state"] == "failed":
            landed.not_imported.append(NotImported(file, entry.get("reason", "failed"), name))
        else:
            landed.not_imported.append(NotImported(file, ANSWER_LOST, name))
    for key in described:
        if key not in fruits:
            landed.not_imported.append(NotImported(description_file(key),
                                                   why_not_posted(record, key)))
    landed.not_imported.sort(key=lambda item: item.file)
    return landed


def already_sent(record: UploadRecord, state: dict[str, list]) -> dict[str, Any] | None:
    """The last report sent, when it said what a report would say now; else None."""
    last = record.entry(REPORT, REPORT_KEY)
    if last and last.get("state") == "sent" and all(
        last.get(name) == value for name, value in state.items()
    ):
        return last
    return None


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
        help="send the report even when the last one sent said the same",
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
        descriptions = drop.require(drop.descriptions)
        if not drop.record.is_file():
            raise NothingImported(
                f"{drop.root}: nothing was imported yet, there is no {drop.record.name} "
                "(run supplier_image_upload.py and run.py first): no report sent"
            )
        described = [path.stem for path in files_with_suffix(descriptions, {DESCRIPTION_SUFFIX})]
        with UploadRecord(drop.record, args.url) as record:
            landed = read_landed(record, drop, described)
            if not landed.imported:
                raise NothingImported(
                    f"{drop.root}: no fruit of it is in the catalog at {args.url} "
                    f"({plural(len(landed.not_imported), 'item')} not imported; see run.py): "
                    "no report sent"
                )
            state = landed.fingerprint()
            last = already_sent(record, state)
            if last and not args.resend:
                say(f"nothing new since the report sent to {last.get('recipient')} at "
                    f"{last['at']}: no email sent (--resend sends it again)")
                return 0
            for item in landed.not_imported:
                log.warning("%s: not imported: %s", item.file, item.reason)
            report = ImportReport(date.today(), landed.imported, landed.not_imported)
            write_pdf(pdf, report)
            message = generate_email(args.sender, args.recipient, SUBJECT, email_body(report),
                                     pdf, filename=ATTACHMENT_NAME)
            try:
                send_email(message, SmtpSettings.from_args(args))
            except MailError as error:
                raise MailError(f"{error}; the report stays at {pdf}: run this again to "
                                "send it") from None
            record.add(REPORT, REPORT_KEY, "sent", **state, total=report.total_weight,
                       recipient=args.recipient, pdf=str(pdf))
        say(f"sent the report of {plural(len(report.imported), 'fruit')} "
            f"({report.total_weight} lbs, {len(report.not_imported)} not imported) to "
            f"{args.recipient}; the PDF is {pdf}")
        return 0

    return guarded(run)


if __name__ == "__main__":
    sys.exit(main())
