"""report_email.py: the supplier's email tells what the record says landed, sent exactly once.

End to end, the record is made by really running the three import steps against the bundled
service; for the glue, it is written with UploadRecord. Mail goes to a real aiosmtpd server.
"""

from __future__ import annotations

import io
import re
from datetime import date
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from pypdf import PdfReader

import changeImage
import emails
import report_email
import run
import supplier_image_upload
from automation.drop import Drop
from automation.record import (
    DONE,
    FAILED,
    PENDING,
    REPORT,
    Event,
    FruitEvent,
    ImageEvent,
    ReportEvent,
    UploadRecord,
    item_digest,
    sha256_of,
)
from automation.settings import default_recipient
from demo.processes import free_port
from demo.sample_drop import FRUITS
from demo.smtp_sink import MailSink, start_sink
from report_email import ATTACHMENT_NAME, NOT_POSTED, email_body, read_landed
from reports import ImportedFruit, ImportReport, NotImported, report_title
from tests.helpers import catalog_fruits, run_script

URL = "http://catalog.test"
MARKUP_NAME = "Salt & Pepper <Special>"
TOTAL = sum(fruit.weight for fruit in FRUITS)  # 2790


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retry mail without the real waits."""
    monkeypatch.setattr(emails, "BACKOFF_SECONDS", 0.01)


def record_events(drop: Path, url: str, *events: Event) -> None:
    """Write events to the drop's record, as the upload steps do."""
    with UploadRecord(Drop(drop).record, url) as record:
        for event in events:
            record.add(event)


def item_of(drop: Path, key: str) -> str:
    """The digest of drop entry key as it is now: its description and its picture."""
    jpeg = drop / "images" / f"{key}.jpeg"
    picture = sha256_of(jpeg.read_bytes()) if jpeg.exists() else ""
    return item_digest((drop / "descriptions" / f"{key}.txt").read_bytes(), picture)


def done(drop: Path, key: str, name: str, weight: int, fruit_id: int) -> FruitEvent:
    """A fruit event of run.py: the entry as it is now is in the catalog."""
    return FruitEvent(key=f"descriptions/{key}.txt", state=DONE, item=item_of(drop, key),
                      id=fruit_id, name=name, weight=weight, image_name=f"{key}.jpeg")


def failed(drop: Path, key: str, reason: str, name: str = "") -> FruitEvent:
    """A fruit event of run.py: the entry as it is now was refused."""
    return FruitEvent(key=f"descriptions/{key}.txt", state=FAILED, item=item_of(drop, key),
                      reason=reason, name=name)


def all_done(drop: Path, count: int = 10) -> list[FruitEvent]:
    """The store's fruits, all in the catalog."""
    return [done(drop, f"{n:03d}", FRUITS[n - 1].name, FRUITS[n - 1].weight, n)
            for n in range(1, count + 1)]


def pdf_of(message: EmailMessage) -> tuple[str, str, str]:
    """The attachment's name, type and text (read back with pypdf)."""
    [attachment] = message.iter_attachments()
    reader = PdfReader(io.BytesIO(attachment.get_content()))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return attachment.get_filename(), attachment.get_content_type(), text


def body_of(message: EmailMessage) -> str:
    """The message's text, with the wire's CRLF made newlines."""
    return "\n".join(message.get_body(("plain",)).get_content().splitlines())


def todays_titles() -> set[str]:
    """The title of a report made now (two, should the test straddle midnight)."""
    return {report_title(date.today())}


def flags(drop: Path, tmp_path: Path, url: str = URL, *more: str) -> list[str]:
    """report_email's command line for a drop, its PDF in tmp_path."""
    return ["--data-dir", str(drop), "--url", url, "--pdf", str(tmp_path / "processed.pdf"),
            "--recipient", "supplier@example.com", *more]


def reports_recorded(drop: Path, url: str = URL) -> list[ReportEvent]:
    """The reports the record says were sent."""
    with UploadRecord(Drop(drop).record, url) as record:
        return record.events(REPORT)


# End to end, the record made by the real import steps.


@pytest.fixture
def imported(drop: Path, catalog: Any) -> tuple[Path, Any]:
    """The sample drop imported into the bundled service by the three steps, in-process."""
    common = ["--data-dir", str(drop), "-q"]
    assert changeImage.main(common) == 0
    assert supplier_image_upload.main([*common, "--url", catalog.url]) == 0
    assert run.main([*common, "--url", catalog.url]) == 0
    return drop, catalog


def test_the_supplier_gets_the_report_of_what_landed(
    imported: tuple[Path, Any], mailbox: Any, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """One email: the contract's subject, a body with the total, the PDF of every fruit."""
    drop, catalog = imported
    before = todays_titles()
    assert report_email.main(flags(drop, tmp_path, catalog.url)) == 0
    titles = before | todays_titles()

    [message] = mailbox.messages()
    assert message["Subject"] == "Upload Completed - Online Fruit Store"
    assert message["From"] == "automation@example.com"
    assert message["To"] == "supplier@example.com"
    body = body_of(message)
    assert "All fruits were uploaded to our website successfully: 10 fruits." in body
    assert f"Total weight imported: {TOTAL} lbs." in body
    name, mime_type, text = pdf_of(message)
    assert (name, mime_type) == ("processed.pdf", "application/pdf")
    assert any(title in text for title in titles)
    for fruit in catalog_fruits(catalog):  # what the service holds, not what the drop says
        assert f"name: {fruit['name']}" in text
        assert f"weight: {fruit['weight']} lbs" in text
    assert f"Total weight imported (10 items): {TOTAL} lbs" in text
    assert "Not imported" not in text
    pdf_file = tmp_path / "processed.pdf"
    assert sum(len(page.images) for page in PdfReader(pdf_file).pages) == 10
    assert capsys.readouterr().out == (
        f"sent the report of 10 fruits ({TOTAL} lbs, 0 not imported) to supplier@example.com; "
        f"the PDF is {pdf_file}\n"
    )


def test_a_second_run_with_nothing_new_sends_nothing_unless_resend(
    drop: Path, mailbox: Any, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Sent once, recorded; again: 'nothing new' on stdout, exit 0; --resend sends it again."""
    record_events(drop, URL, *all_done(drop))
    assert report_email.main(flags(drop, tmp_path)) == 0
    [sent] = reports_recorded(drop)
    assert (sent.state, sent.ids, sent.total) == ("sent", tuple(range(1, 11)), TOTAL)
    capsys.readouterr()

    assert report_email.main(flags(drop, tmp_path)) == 0
    assert len(mailbox.messages()) == 1
    assert capsys.readouterr().out.startswith(
        f"nothing new since the report sent to supplier@example.com at {sent.at}: no email"
    )
    assert report_email.main(flags(drop, tmp_path, URL, "--resend")) == 0
    assert len(mailbox.messages()) == 2
    assert f"Total weight imported: {TOTAL} lbs." in body_of(mailbox.messages()[1])


def test_a_fruit_imported_after_the_report_brings_a_report_of_its_own(
    drop: Path, mailbox: Any, tmp_path: Path
) -> None:
    """The second report tells what came since the first: the fruit that was missing."""
    record_events(drop, URL, *all_done(drop, 9))
    assert report_email.main(flags(drop, tmp_path)) == 0
    assert "descriptions/010.txt" in body_of(mailbox.messages()[0])  # not posted yet, then
    record_events(drop, URL, done(drop, "010", "Watermelon", 500, 10))
    assert report_email.main(flags(drop, tmp_path)) == 0
    first, second = mailbox.messages()
    assert f"Total weight imported: {TOTAL - 500} lbs." in body_of(first)
    assert "All fruits were uploaded to our website successfully: 1 fruit." in body_of(second)
    assert "Total weight imported: 500 lbs." in body_of(second)
    _, _, text = pdf_of(second)
    assert "name: Watermelon" in text and "name: Apple" not in text


# What the report says: the record, of the items now in the drop.


@pytest.fixture
def mixed_drop(drop: Path) -> Path:
    """Six fruits in the catalog; one refused, one unanswered, one whose image failed, one
    never posted, and one whose description was edited after it was posted."""
    (drop / "descriptions" / "011.txt").write_text("Fig\n50 lbs\nSweet.")
    (drop / "images" / "010.jpeg").write_bytes(b"a JPEG the service refused")
    record_events(
        drop, URL, *all_done(drop, 7),
        failed(drop, "008", "weight '2 kg' is not in lbs (unit 'kg')", name=MARKUP_NAME),
        FruitEvent(key="descriptions/009.txt", state=PENDING, item=item_of(drop, "009")),
        ImageEvent(key="images/010.jpeg", state=FAILED,
                   sha256=sha256_of(b"a JPEG the service refused"),
                   reason="the service refused it (400): Empty content"),
    )
    (drop / "descriptions" / "002.txt").write_text("Avocado\n999 lbs\nEdited after posting.")
    return drop


def test_read_landed_takes_what_the_record_says_of_the_items_now_in_the_drop(
    mixed_drop: Path,
) -> None:
    """Imported: the record's done fruits (weights as posted); the rest each with its reason."""
    descriptions = sorted((mixed_drop / "descriptions").glob("*.txt"))
    with UploadRecord(Drop(mixed_drop).record, URL) as record:
        landed = read_landed(record, Drop(mixed_drop), descriptions)
    assert [(key, f.key, f.name, f.weight) for key, f in landed.fruits.items()] == [
        (n, f"{n:03d}", FRUITS[n - 1].name, FRUITS[n - 1].weight) for n in (1, 3, 4, 5, 6, 7)
    ]
    assert landed.not_imported == [
        NotImported("descriptions/002.txt", NOT_POSTED),
        NotImported("descriptions/008.txt", "weight '2 kg' is not in lbs (unit 'kg')",
                    MARKUP_NAME),
        NotImported("descriptions/009.txt", report_email.ANSWER_LOST),
        NotImported("descriptions/010.txt", "its image images/010.jpeg was not uploaded: the "
                    "service refused it (400): Empty content"),
        NotImported("descriptions/011.txt", NOT_POSTED),
    ]


def test_the_report_of_a_partial_import_says_what_failed_and_why(
    mixed_drop: Path, mailbox: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Body: how many failed, each named; PDF: every fruit imported and a 'Not imported' part."""
    assert report_email.main(flags(mixed_drop, tmp_path)) == 0
    [message] = mailbox.messages()
    body = body_of(message)
    imported_weight = sum(FRUITS[n - 1].weight for n in (1, 3, 4, 5, 6, 7))
    assert "6 fruits were uploaded to our website; 5 failed and were not imported." in body
    assert f"Total weight imported: {imported_weight} lbs." in body
    assert (f"- descriptions/008.txt ({MARKUP_NAME}): weight '2 kg' is not in lbs (unit 'kg')"
            in body)
    assert f"- descriptions/011.txt: {NOT_POSTED}" in body
    _, _, text = pdf_of(message)
    assert "999 lbs" not in text  # posted as it was, not as edited
    assert f"Total weight imported (6 items): {imported_weight} lbs" in text
    section = " ".join(text.split("Not imported", 1)[1].split())
    for file in ("002", "008", "009", "010", "011"):
        assert f"descriptions/{file}.txt" in section
    assert MARKUP_NAME in section
    assert "not posted to the catalog yet (run.py has not run for it)" in section
    warned = [r.getMessage() for r in caplog.records if "not imported" in r.getMessage()]
    assert len(warned) == 5  # one line per item, naming the file and the reason


def test_the_same_failures_again_are_nothing_new_and_a_new_one_is(
    mixed_drop: Path, mailbox: Any, tmp_path: Path
) -> None:
    assert report_email.main(flags(mixed_drop, tmp_path)) == 0
    assert report_email.main(flags(mixed_drop, tmp_path)) == 0
    assert len(mailbox.messages()) == 1
    (mixed_drop / "descriptions" / "012.txt").write_text("Kiwi\n1 lbs\nSmall.")
    assert report_email.main(flags(mixed_drop, tmp_path)) == 0
    second = mailbox.messages()[1]
    assert "0 fruits were uploaded to our website; 6 failed" in body_of(second)
    assert "descriptions/012.txt" in body_of(second)


@pytest.mark.parametrize(
    ("report", "body"),
    [
        pytest.param(
            ImportReport(date(2026, 11, 22), [ImportedFruit("001", "Apple", 500),
                                              ImportedFruit("002", "Apple", 20)]),
            "Hello,\n\nAll fruits were uploaded to our website successfully: 2 fruits.\n"
            "Total weight imported: 520 lbs.\n\n"
            "The attached PDF (processed.pdf) lists each fruit and its weight.\n\n"
            "Online Fruit Store\n",
            id="all",
        ),
        pytest.param(
            ImportReport(date(2026, 11, 22), [ImportedFruit("001", "Apple", 500)],
                         [NotImported("descriptions/002.txt", "the file is empty")]),
            "Hello,\n\n1 fruit was uploaded to our website; 1 failed and was not imported.\n"
            "Total weight imported: 500 lbs.\n\nNot imported:\n"
            "- descriptions/002.txt: the file is empty\n\n"
            "The attached PDF (processed.pdf) lists each fruit imported with its weight, and "
            "each item not imported with the reason.\n\nOnline Fruit Store\n",
            id="some-failed",
        ),
    ],
)
def test_email_body(report: ImportReport, body: str) -> None:
    """The body says whether all fruits were uploaded, how many failed, and the total."""
    assert email_body(report) == body


def test_the_body_lists_at_most_ten_failures() -> None:
    """Hundreds of failures: ten in the body, the rest counted, all of them in the PDF."""
    failures = [NotImported(f"descriptions/{n:03d}.txt", "the file is empty")
                for n in range(2, 302)]
    body = email_body(ImportReport(date(2026, 11, 22), [ImportedFruit("001", "Apple", 500)],
                                   failures))
    assert body.count("the file is empty") == 10
    assert "- and 290 more, listed in the PDF" in body


# Failures: one line, the right exit code, nothing sent twice.


def test_smtp_down_keeps_the_pdf_and_the_next_run_sends_exactly_one(
    drop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    """Nothing listens: exit 2, one line, the PDF kept, nothing recorded; up again: one email."""
    record_events(drop, URL, *all_done(drop))
    port = free_port()
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(port))
    pdf = tmp_path / "processed.pdf"

    assert report_email.main(flags(drop, tmp_path)) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "connection refused" in error and f"the report stays at {pdf}" in error
    assert PdfReader(pdf).pages
    assert reports_recorded(drop) == []

    sink = start_sink(tmp_path / "mail", port)
    try:
        assert report_email.main(flags(drop, tmp_path)) == 0
        assert report_email.main(flags(drop, tmp_path)) == 0
        assert len(sink.handler.messages()) == 1
    finally:
        sink.stop()


def test_nothing_imported_is_one_line_and_no_report(
    drop: Path, mailbox: Any, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Every item refused: exit 2 with one line; no PDF, no mail."""
    record_events(drop, URL,
                  *[failed(drop, f"{n:03d}", "the file is empty") for n in range(1, 11)])
    assert report_email.main(flags(drop, tmp_path)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no fruit of it is in the catalog" in err
    assert "10 items not imported" in err
    assert not (tmp_path / "processed.pdf").exists()
    assert mailbox.messages() == []


def test_a_drop_never_imported_is_one_line_and_gets_no_record(
    drop: Path, mailbox: Any, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """No record at all: say to run the import first, and leave the drop as it was."""
    assert report_email.main(flags(drop, tmp_path)) == 2
    assert "nothing was imported yet" in capsys.readouterr().err
    assert not Drop(drop).record.exists()
    assert mailbox.messages() == []


def test_the_record_is_read_for_the_catalog_url_given(
    drop: Path, mailbox: Any, tmp_path: Path
) -> None:
    """What landed in one catalog is no report for another."""
    record_events(drop, URL, *all_done(drop))
    assert report_email.main(flags(drop, tmp_path, "http://other.test")) == 2
    assert mailbox.messages() == []


def test_a_pdf_of_another_name_is_attached_as_processed_pdf(
    drop: Path, mailbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """REPORT_PDF decides where the PDF is kept; the supplier always gets processed.pdf."""
    record_events(drop, URL, *all_done(drop))
    kept = tmp_path / "reports" / "weekly-report.pdf"  # its folder does not exist yet
    monkeypatch.setenv("REPORT_PDF", str(kept))
    args = ["--data-dir", str(drop), "--url", URL]
    assert report_email.main(args) == 0
    [message] = mailbox.messages()
    [attachment] = message.iter_attachments()
    assert attachment.get_filename() == ATTACHMENT_NAME
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == kept.read_bytes()
    assert not list(kept.parent.glob("*.part"))


def test_a_recipient_with_a_line_break_is_refused(
    drop: Path, mailbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    """A line break in REPORT_RECIPIENT could add a Bcc: one line, exit 2, nothing sent."""
    record_events(drop, URL, *all_done(drop))
    monkeypatch.setenv("REPORT_RECIPIENT", "supplier@example.com\nBcc: all@example.com")
    with pytest.raises(SystemExit) as exited:  # refused where the setting is read (issue 17)
        report_email.main(["--data-dir", str(drop), "--url", URL, "--pdf", str(tmp_path / "p.pdf")])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "--recipient: not an e-mail address" in err and "Traceback" not in err
    assert mailbox.messages() == []
    assert reports_recorded(drop) == []


def test_markup_in_names_reaches_the_supplier_as_written(
    drop: Path, mailbox: Any, tmp_path: Path
) -> None:
    """A fruit called 'Salt & Pepper <Special>' prints so in the PDF (and the body's list)."""
    record_events(drop, URL, done(drop, "001", MARKUP_NAME, 5, 1),
                  failed(drop, "002", "weight '<b>' is not a number of lbs", name="A & B"))
    assert report_email.main(flags(drop, tmp_path)) == 0
    [message] = mailbox.messages()
    _, _, text = pdf_of(message)
    assert f"name: {MARKUP_NAME}" in text
    assert "weight '<b>' is not a number of lbs" in " ".join(text.split())
    assert "- descriptions/002.txt (A & B): weight '<b>' is not a number of lbs" in body_of(
        message)


# As the operator runs it.


def test_help_names_every_setting_and_no_password_flag() -> None:
    """python3 report_email.py --help: the settings and their variables; the password is none."""
    result = run_script("report_email.py", "--help")
    assert result.returncode == 0, result.stderr
    for name in ("SUPPLIER_DATA_DIR", "CATALOG_URL", "REPORT_PDF", "REPORT_SENDER",
                 "REPORT_RECIPIENT", "SMTP_HOST", "SMTP_PORT", "SMTP_SECURITY", "SMTP_USER",
                 "--resend"):
        assert name in result.stdout
    assert not re.search(r"--smtp-pass", result.stdout)


class NoSuchUser(MailSink):
    """A server that refuses every recipient for good."""

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        """Refuse the recipient."""
        return "550 5.1.1 No such user here"


def test_as_a_process_a_refused_send_is_one_line_without_traceback(
    drop: Path, tmp_path: Path
) -> None:
    """The operator's view of a failed send: exit 2, one line on stderr, nothing on stdout."""
    record_events(drop, URL, *all_done(drop))
    port = free_port()
    server = Controller(NoSuchUser(tmp_path / "mail"), hostname="127.0.0.1", port=port)
    server.start()
    try:
        result = run_script(
            "report_email.py", "-q",
            env={"SUPPLIER_DATA_DIR": str(drop), "CATALOG_URL": URL, "SMTP_HOST": "127.0.0.1",
                 "SMTP_PORT": str(port), "REPORT_PDF": str(tmp_path / "processed.pdf")},
        )
    finally:
        server.stop()
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"report_email.py: ERROR: cannot send mail through 127.0.0.1:{port} (none): the server "
        f"refused the recipients {default_recipient()}; the report stays at "
        f"{tmp_path / 'processed.pdf'}: run this again to send it"
    ]
    assert (tmp_path / "processed.pdf").is_file()
