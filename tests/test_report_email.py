"""report_email.py: the supplier is told what the drop brought into the catalog, once.

Every drop here is really imported into the bundled service by the three steps (run in-process),
and the mail goes to a real SMTP server: the catalog decides what is there, the drop's record
says what this drop's requests put there, the memory of reports sent (in the user's state
folder, per test) says what the supplier was told already.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import re
import shutil
from collections.abc import Iterator
from datetime import date
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from pypdf import PdfReader

import changeImage
import report_email
import run
import supplier_image_upload
from automation import settings
from automation.catalog import Catalog
from automation.drop import Drop
from automation.holdings import Holdings
from automation.record import REPORT, ReportEvent, UploadRecord
from automation.reported import Listed, ReportMemory, catalog_key
from automation.settings import default_recipient
from demo.processes import Server, free_port, start_catalog
from demo.sample_drop import FRUITS, NEXT_WEEK, Fruit, date_back, description_text, write_drop
from demo.sample_drop import unpack_over as unpack_archive
from demo.smtp_sink import MailSink, start_sink
from report_email import (
    ALREADY,
    ANSWER_LOST,
    IMPORTED,
    NOT_POSTED,
    OLD,
    email_body,
    fate,
    read_landed,
)
from reports import AlreadyInCatalog, ImportedFruit, ImportReport, NotImported, report_title
from tests.conftest import SMALL
from tests.helpers import catalog_fruits, requests_received, run_script

pytestmark = pytest.mark.usefixtures("quick_backoff")

MARKUP_NAME = "Salt & Pepper <Special>"
TOTAL = sum(fruit.weight for fruit in FRUITS)  # 2790
MONTH = 30 * 24 * 3600


def import_drop(drop: Path, url: str) -> list[int]:
    """The three import steps, in-process, as the operator runs them; their exit codes."""
    common = ["--data-dir", str(drop), "-q"]
    return [changeImage.main(common),
            supplier_image_upload.main([*common, "--url", url]),
            run.main([*common, "--url", url])]


def flags(drop: Path, tmp_path: Path, url: str, *more: str) -> list[str]:
    """report_email's command line for a drop, its PDF in tmp_path."""
    return ["--data-dir", str(drop), "--url", url, "--pdf", str(tmp_path / "processed.pdf"),
            "--recipient", "supplier@example.com", *more]


def pdf_of(message: EmailMessage) -> tuple[str, str, str]:
    """The attachment's name, type and text (read back with pypdf)."""
    [attachment] = message.iter_attachments()
    reader = PdfReader(io.BytesIO(attachment.get_content()))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return attachment.get_filename(), attachment.get_content_type(), text


def body_of(message: EmailMessage) -> str:
    """The message's text, with the wire's CRLF made newlines."""
    return "\n".join(message.get_body(("plain",)).get_content().splitlines())


def flat(text: str) -> str:
    """Text with every run of whitespace made one space (table cells wrap where they like)."""
    return " ".join(text.split())


def memory_file() -> Path:
    """Where the reports sent are remembered: the user's state folder (set per test)."""
    return settings.state_dir() / "reports.json"


def item_of(drop: Path, key: str) -> str:
    """An item's content as the memory names it, computed here with hashlib: the SHA-256 of
    the description's and the picture's SHA-256 digests."""
    text = hashlib.sha256((drop / "descriptions" / f"{key}.txt").read_bytes()).hexdigest()
    picture = hashlib.sha256((drop / "images" / f"{key}.jpeg").read_bytes()).hexdigest()
    return hashlib.sha256(f"{text}:{picture}".encode()).hexdigest()


@pytest.fixture
def imported(drop: Path, catalog: Server) -> tuple[Path, Server]:
    """The sample drop imported into the bundled service by the three steps."""
    assert import_drop(drop, catalog.url) == [0, 0, 0]
    return drop, catalog


# What the supplier is told of a drop.


def test_the_supplier_gets_the_report_of_what_landed(
    imported: tuple[Path, Server], mailbox: Any, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """One email: the contract's subject, a body with the total, the PDF of every fruit."""
    drop, catalog = imported
    before = {report_title(date.today())}
    assert report_email.main(flags(drop, tmp_path, catalog.url)) == 0
    titles = before | {report_title(date.today())}

    [message] = mailbox.messages()
    assert message["Subject"] == "Upload Completed - Online Fruit Store"
    assert message["From"] == "automation@example.com"
    assert message["To"] == "supplier@example.com"
    body = body_of(message)
    assert "All fruits were uploaded to our website successfully: 10 fruits." in body
    assert f"Total weight imported: {TOTAL} lbs." in body
    assert "already in the catalog" not in body
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
        f"sent the report of 10 fruits imported ({TOTAL} lbs; 0 already in the catalog, 0 not "
        f"imported) to supplier@example.com; the PDF is {pdf_file}\n"
    )


def test_the_report_is_remembered_in_the_users_state_folder_by_content_and_fruit(
    imported: tuple[Path, Server], mailbox: Any, tmp_path: Path
) -> None:
    """reports.json beside the health check's state: the catalog, each item's content and its
    fruit's id; the drop's record keeps the report too."""
    drop, catalog = imported
    assert report_email.main(flags(drop, tmp_path, catalog.url)) == 0
    memory = json.loads(memory_file().read_text())
    [remembered] = memory["catalogs"].values()
    ids = {fruit["image_name"].removesuffix(".jpeg"): fruit["id"]
           for fruit in catalog_fruits(catalog)}
    assert set(remembered["fruits"]) == {f"{item_of(drop, key)} #{ids[key]}" for key in ids}
    assert [report["recipient"] for report in remembered["reports"]] == ["supplier@example.com"]
    with UploadRecord(Drop(drop).record, catalog.url) as record:
        [sent] = record.events(REPORT)
    assert isinstance(sent, ReportEvent) and sorted(sent.ids) == sorted(ids.values())


def test_a_second_run_with_nothing_new_sends_nothing_unless_resend(
    imported: tuple[Path, Server], mailbox: Any, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Sent once; again: 'nothing new' on stdout, exit 0; --resend sends the same report."""
    drop, catalog = imported
    assert report_email.main(flags(drop, tmp_path, catalog.url)) == 0
    capsys.readouterr()
    assert report_email.main(flags(drop, tmp_path, catalog.url)) == 0
    assert len(mailbox.messages()) == 1
    assert re.fullmatch(
        r"nothing new since the report sent to supplier@example\.com at "
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00: no email sent \(--resend sends it again\)\n",
        capsys.readouterr().out,
    )
    assert report_email.main(flags(drop, tmp_path, catalog.url, "--resend")) == 0
    first, second = mailbox.messages()
    assert body_of(second) == body_of(first)
    assert f"Total weight imported: {TOTAL} lbs." in body_of(second)


def test_a_fruit_imported_after_the_report_brings_a_report_of_its_own(
    drop: Path, catalog: Server, mailbox: Any, tmp_path: Path
) -> None:
    """010 was not posted when the first report went: the second tells of it alone."""
    aside = tmp_path / "010.txt"
    shutil.move(drop / "descriptions" / "010.txt", aside)
    assert import_drop(drop, catalog.url) == [0, 0, 0]
    shutil.move(aside, drop / "descriptions" / "010.txt")
    assert report_email.main(flags(drop, tmp_path, catalog.url)) == 0
    assert f"- descriptions/010.txt (Watermelon): {NOT_POSTED}" in body_of(mailbox.messages()[0])
    assert run.main(["--data-dir", str(drop), "--url", catalog.url, "-q"]) == 0
    assert report_email.main(flags(drop, tmp_path, catalog.url)) == 0
    first, second = mailbox.messages()
    assert f"Total weight imported: {TOTAL - 500} lbs." in body_of(first)
    assert "All fruits were uploaded to our website successfully: 1 fruit." in body_of(second)
    assert "Total weight imported: 500 lbs." in body_of(second)
    assert "already in the catalog" not in body_of(second)  # the nine were told of already
    _, _, text = pdf_of(second)
    assert "name: Watermelon" in text and "Apple" not in text


# Issue 16: a true report.


def fruit_file(folder: Path, key: str, fruit: Fruit, index: int) -> None:
    """Write a description of fruit at folder/descriptions/key.txt, as the supplier would."""
    (folder / "descriptions" / f"{key}.txt").write_bytes(
        description_text(fruit, index).encode("utf-8"))


def test_a_drop_that_resends_products_counts_only_what_it_brought(
    catalog: Server, mailbox: Any, tmp_path: Path
) -> None:
    """Week 2 resends three products exactly (one at its old number, two at others), changes
    the weight of two, adds three: 5 fruits imported, the three counted apart."""
    drop = tmp_path / "supplier-data"
    week1 = tmp_path / "week-1"
    write_drop(week1, count=5, size=SMALL, fruits=NEXT_WEEK)  # Banana Cherry Fig Grapefruit Lime
    unpack_archive(week1, drop)
    assert import_drop(drop, catalog.url) == [0, 0, 0]
    assert report_email.main(flags(drop, tmp_path, catalog.url)) == 0

    week2 = tmp_path / "week-2"
    (week2 / "images").mkdir(parents=True)
    (week2 / "descriptions").mkdir()
    for new, old in (("001", "003"), ("002", "002"), ("003", "001")):  # Fig, Cherry, Banana
        for folder, suffix in (("images", ".tiff"), ("descriptions", ".txt")):
            shutil.copy2(week1 / folder / f"{old}{suffix}", week2 / folder / f"{new}{suffix}")
    for key, fruit, weight in (("004", NEXT_WEEK[3], 375), ("005", NEXT_WEEK[4], 200)):
        shutil.copy2(week1 / "images" / f"{key}.tiff", week2 / "images" / f"{key}.tiff")
        fruit_file(week2, key, Fruit(fruit.name, weight, fruit.colour, fruit.description), 4)
    write_drop(week2, count=3, size=SMALL, start=6, fruits=NEXT_WEEK)  # Orange Papaya Peach
    date_back(week2, MONTH)
    unpack_archive(week2, drop)
    assert import_drop(drop, catalog.url) == [0, 0, 0]
    assert len(catalog_fruits(catalog)) == 10  # the resent three were not posted again

    assert report_email.main(flags(drop, tmp_path, catalog.url)) == 0
    _, second = mailbox.messages()
    body = body_of(second)
    assert "All fruits were uploaded to our website successfully: 5 fruits." in body
    assert f"Total weight imported: {375 + 200 + 450 + 260 + 220} lbs." in body
    assert ("3 fruits of this drop were already in the catalog, so not counted: Fig, Cherry, "
            "Banana.") in body
    _, _, text = pdf_of(second)
    imported, already = flat(text).split("Already in the catalog", 1)
    assert re.findall(r"name: (\w+)", imported) == ["Grapefruit", "Lime", "Orange", "Papaya",
                                                    "Peach"]
    assert "Total weight imported (5 items): 1505 lbs" in imported
    for key, name, weight in (("001", "Fig", 90), ("002", "Cherry", 120),
                              ("003", "Banana", 400)):
        assert re.search(rf"{key} {name} {weight} lbs (in the catalog before this drop; )?"
                         r"listed in the report of ", already)
    assert "name:" not in already


def test_a_lost_record_sends_no_second_mail_and_resend_still_works(
    imported: tuple[Path, Server], mailbox: Any, tmp_path: Path,
    capsys: pytest.CaptureFixture,
) -> None:
    """catalog-record.jsonl deleted after the report: the steps send nothing, nor does the
    report; --resend sends this drop's report again, with its ten fruits counted."""
    drop, catalog = imported
    assert report_email.main(flags(drop, tmp_path, catalog.url)) == 0
    Drop(drop).record.unlink()
    posts = len(requests_received(catalog, "POST"))
    assert import_drop(drop, catalog.url) == [0, 0, 0]
    assert len(requests_received(catalog, "POST")) == posts
    capsys.readouterr()

    assert report_email.main(flags(drop, tmp_path, catalog.url)) == 0
    assert capsys.readouterr().out.startswith("nothing new since the report sent to ")
    assert len(mailbox.messages()) == 1

    assert report_email.main(flags(drop, tmp_path, catalog.url, "--resend")) == 0
    first, second = mailbox.messages()
    assert body_of(second) == body_of(first)


def test_a_lost_record_with_no_step_run_again_sends_nothing_either(
    imported: tuple[Path, Server], mailbox: Any, tmp_path: Path
) -> None:
    """The catalog holds the drop's products by content: no record is needed to know them."""
    drop, catalog = imported
    assert report_email.main(flags(drop, tmp_path, catalog.url)) == 0
    Drop(drop).record.unlink()
    assert report_email.main(flags(drop, tmp_path, catalog.url)) == 0
    assert len(mailbox.messages()) == 1


def test_a_later_drop_into_an_emptied_catalog_is_reported(
    imported: tuple[Path, Server], mailbox: Any, tmp_path: Path
) -> None:
    """The catalog is emptied (a new one at the same address) and numbers its fruits from 1
    again: next week's drop gets fruits 1 to 10, as last week's did, and is reported."""
    drop, catalog = imported
    assert report_email.main(flags(drop, tmp_path, catalog.url)) == 0
    catalog.stop()
    emptied = start_catalog(tmp_path / "emptied-catalog", port=catalog.port)
    try:
        assert report_email.main(flags(drop, tmp_path, emptied.url)) == 2  # nothing there now
        archive = tmp_path / "week-2"
        write_drop(archive, size=SMALL, fruits=NEXT_WEEK)
        date_back(archive, MONTH)
        unpack_archive(archive, drop)
        assert import_drop(drop, emptied.url) == [0, 0, 0]
        assert [fruit["id"] for fruit in catalog_fruits(emptied)] == list(range(1, 11))
        assert report_email.main(flags(drop, tmp_path, emptied.url)) == 0
    finally:
        emptied.stop()
    _, second = mailbox.messages()
    assert "All fruits were uploaded to our website successfully: 10 fruits." in body_of(second)
    total = sum(fruit.weight for fruit in NEXT_WEEK)
    assert f"Total weight imported: {total} lbs." in body_of(second)
    _, _, text = pdf_of(second)
    assert set(re.findall(r"name: (\w+)", text)) == {fruit.name for fruit in NEXT_WEEK}


def test_a_memory_of_reports_that_cannot_be_read_stops_the_run_and_sends_nothing(
    imported: tuple[Path, Server], mailbox: Any, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Forgetting would send every report again: one line, exit 2, the file left as it is."""
    drop, catalog = imported
    memory_file().parent.mkdir(parents=True, exist_ok=True)
    memory_file().write_text('{"catalogs": {"cut short')
    assert report_email.main(flags(drop, tmp_path, catalog.url)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a memory of reports" in err
    assert memory_file().read_text() == '{"catalogs": {"cut short'
    assert mailbox.messages() == []


def test_two_report_runs_never_overlap(
    drop: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """While one run holds the memory of reports, another stops at once in one line (it would
    not know yet what the first one sent)."""
    lock = settings.state_dir() / "reports.lock"
    lock.parent.mkdir(parents=True)
    with lock.open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert report_email.main(flags(drop, tmp_path, "http://127.0.0.1:9")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "another report_email.py run is sending a report" in err


@pytest.mark.parametrize(
    ("imported", "listed", "changed", "again", "told"),
    [
        pytest.param("T1", None, False, False, (IMPORTED, True), id="brought-never-told"),
        pytest.param("", None, False, False, (ALREADY, True), id="held-never-told"),
        pytest.param("T1", Listed("T1", "R1"), False, False, (OLD, False),
                     id="told-and-left-in-the-folder"),
        pytest.param("T1", Listed("T1", "R1"), True, False, (ALREADY, False),
                     id="told-and-sent-again"),
        pytest.param("", Listed("", "R1", counted=False), True, False, (ALREADY, False),
                     id="held-told-sent-again"),
        pytest.param("T2", Listed("T1", "R1"), False, False, (IMPORTED, True),
                     id="imported-again-into-an-emptied-catalog"),
        pytest.param("T1", Listed("T1", "R1"), False, True, (IMPORTED, False),
                     id="resend-counted"),
        pytest.param("T1", Listed("T1", "R1", counted=False), True, True, (ALREADY, False),
                     id="resend-listed-apart"),
    ],
)
def test_what_a_report_tells_of_each_fruit(
    imported: str, listed: Listed | None, changed: bool, again: bool, told: tuple[str, bool]
) -> None:
    """The judge of one fruit: counted, listed apart, or not told again; and whether news."""
    assert fate(imported, listed, changed, again) == told


@pytest.mark.parametrize(
    ("url", "key"),
    [
        pytest.param("http://127.0.0.1:8000/", "http://127.0.0.1:8000", id="slash"),
        pytest.param("https://shop:s3cret@store.example/api/", "https://shop@store.example/api",
                     id="password"),
        pytest.param("http://:s3cret@store.example", "http://store.example", id="no-user"),
    ],
)
def test_the_memory_knows_a_catalog_by_its_url_without_a_password(url: str, key: str) -> None:
    assert catalog_key(url) == key


# What the report says when not everything landed: the record, checked against the catalog.


@pytest.fixture
def mixed_drop(drop: Path, catalog: Server, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Six fruits in the catalog; one refused (a weight in kg), one whose post was interrupted
    (Ctrl-C), one whose image was refused, one never posted, one edited after it was posted."""
    (drop / "descriptions" / "008.txt").write_text(f"{MARKUP_NAME}\n2 kg\nSpicy.")
    common = ["--data-dir", str(drop), "--url", catalog.url, "-q", "--jobs", "1"]
    assert changeImage.main(common[:2]) == 0
    (drop / "images" / "010.jpeg").write_bytes(b"a JPEG the service would refuse")
    assert supplier_image_upload.main(common) == 1
    real_post = Catalog.post_fruit

    def interrupted_at_009(self: Catalog, fruit: dict) -> dict:
        if fruit["name"] == FRUITS[8].name:
            raise KeyboardInterrupt
        return real_post(self, fruit)

    monkeypatch.setattr(Catalog, "post_fruit", interrupted_at_009)
    assert run.main(common) == 2
    monkeypatch.setattr(Catalog, "post_fruit", real_post)
    (drop / "descriptions" / "011.txt").write_text("Fig\n50 lbs\nSweet.")
    (drop / "descriptions" / "002.txt").write_text("Avocado\n999 lbs\nEdited after posting.")
    return drop


def test_read_landed_checks_the_record_against_the_catalog(
    mixed_drop: Path, catalog: Server
) -> None:
    """Imported: what the catalog holds of the items now in the drop; the rest with a reason."""
    descriptions = sorted((mixed_drop / "descriptions").glob("*.txt"))
    with ReportMemory(settings.state_dir(), catalog.url) as memory, \
            UploadRecord(Drop(mixed_drop).record, catalog.url) as record, \
            Catalog(catalog.url) as client:
        landed = read_landed(record, Drop(mixed_drop), descriptions, Holdings(client), memory)
    assert [(f.key, f.name, f.weight) for f in landed.imported] == [
        (f"{n:03d}", FRUITS[n - 1].name, FRUITS[n - 1].weight) for n in (1, 3, 4, 5, 6, 7)
    ]
    assert landed.already == []
    assert landed.not_imported == [
        NotImported("descriptions/002.txt", NOT_POSTED, "Avocado"),
        NotImported("descriptions/008.txt", "weight '2 kg' is not in lbs (unit 'kg')"),
        NotImported("descriptions/009.txt", ANSWER_LOST, FRUITS[8].name),
        NotImported("descriptions/010.txt", "its image images/010.jpeg was not uploaded: was not "
                    "made from the images/010.tiff now in the drop (it could not be converted, or "
                    "changeImage.py has not run since it arrived): not sent", FRUITS[9].name),
        NotImported("descriptions/011.txt", NOT_POSTED, "Fig"),
    ]


def test_the_report_of_a_partial_import_says_what_failed_and_why_and_once(
    mixed_drop: Path, catalog: Server, mailbox: Any, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Body: how many failed, each named; PDF: every fruit imported and a 'Not imported' part.
    The same failures again are nothing new; a new one is."""
    assert report_email.main(flags(mixed_drop, tmp_path, catalog.url)) == 0
    [message] = mailbox.messages()
    body = body_of(message)
    imported_weight = sum(FRUITS[n - 1].weight for n in (1, 3, 4, 5, 6, 7))
    assert "6 fruits were uploaded to our website; 5 failed and were not imported." in body
    assert f"Total weight imported: {imported_weight} lbs." in body
    assert "- descriptions/008.txt: weight '2 kg' is not in lbs (unit 'kg')" in body
    assert f"- descriptions/011.txt (Fig): {NOT_POSTED}" in body
    _, _, text = pdf_of(message)
    assert "999 lbs" not in text  # posted as it was, not as edited
    assert f"Total weight imported (6 items): {imported_weight} lbs" in text
    section = flat(text.split("Not imported", 1)[1])
    for file in ("002", "008", "009", "010", "011"):
        assert f"descriptions/{file}.txt" in section
    assert "not posted to the catalog yet (run.py has not run for it)" in section
    warned = [r.getMessage() for r in caplog.records if "not imported" in r.getMessage()]
    assert len(warned) == 5  # one line per item, naming the file and the reason

    assert report_email.main(flags(mixed_drop, tmp_path, catalog.url)) == 0
    assert len(mailbox.messages()) == 1
    (mixed_drop / "descriptions" / "012.txt").write_text("Kiwi\n1 lbs\nSmall.")
    assert report_email.main(flags(mixed_drop, tmp_path, catalog.url)) == 0
    second = mailbox.messages()[1]
    assert "0 fruits were uploaded to our website; 6 failed" in body_of(second)
    assert "descriptions/012.txt" in body_of(second)


# The body.


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
        pytest.param(
            ImportReport(date(2026, 11, 22), [ImportedFruit("004", "Lime", 200)],
                         already=[AlreadyInCatalog("001", "Fig", 90),
                                  AlreadyInCatalog("002", "Cherry", 120)]),
            "Hello,\n\nAll fruits were uploaded to our website successfully: 1 fruit.\n"
            "Total weight imported: 200 lbs.\n"
            "2 fruits of this drop were already in the catalog, so not counted: Fig, Cherry.\n\n"
            "The attached PDF (processed.pdf) lists each fruit and its weight.\n\n"
            "Online Fruit Store\n",
            id="some-already",
        ),
        pytest.param(
            ImportReport(date(2026, 11, 22), [],
                         already=[AlreadyInCatalog("001", "Fig", 90)]),
            "Hello,\n\nNo fruit of this drop was new to our website: nothing was imported.\n"
            "Total weight imported: 0 lbs.\n"
            "1 fruit of this drop was already in the catalog, so not counted: Fig.\n\n"
            "The attached PDF (processed.pdf) lists each fruit and its weight.\n\n"
            "Online Fruit Store\n",
            id="nothing-new",
        ),
    ],
)
def test_email_body(report: ImportReport, body: str) -> None:
    """The body says whether all fruits were uploaded, how many failed, the total, and how
    many the catalog held already."""
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
    imported: tuple[Path, Server], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    """Nothing listens: exit 2, one line, the PDF kept, nothing remembered; up again: one."""
    drop, catalog = imported
    port = free_port()
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(port))
    pdf = tmp_path / "processed.pdf"

    assert report_email.main(flags(drop, tmp_path, catalog.url)) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "connection refused" in error and f"the report stays at {pdf}" in error
    assert PdfReader(pdf).pages
    assert not memory_file().exists()

    sink = start_sink(tmp_path / "mail", port)
    try:
        assert report_email.main(flags(drop, tmp_path, catalog.url)) == 0
        assert report_email.main(flags(drop, tmp_path, catalog.url)) == 0
        assert len(sink.handler.messages()) == 1
    finally:
        sink.stop()


def test_nothing_imported_is_one_line_and_no_report(
    drop: Path, catalog: Server, mailbox: Any, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Every item refused: exit 2 with one line; no PDF, no mail."""
    for path in (drop / "descriptions").glob("*.txt"):
        path.write_text("Apple\n5 kg\nCrisp.")
    assert import_drop(drop, catalog.url) == [0, 0, 1]
    capsys.readouterr()
    assert report_email.main(flags(drop, tmp_path, catalog.url)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no fruit of it is in the catalog" in err
    assert "10 items not imported" in err
    assert not (tmp_path / "processed.pdf").exists()
    assert mailbox.messages() == []


def test_a_drop_never_imported_is_one_line_and_gets_no_record(
    drop: Path, catalog: Server, mailbox: Any, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Nothing in the catalog, no record: say to run the import first; leave the drop as it
    was."""
    assert report_email.main(flags(drop, tmp_path, catalog.url)) == 2
    assert "run supplier_image_upload.py and run.py first" in capsys.readouterr().err
    assert not Drop(drop).record.exists()
    assert mailbox.messages() == []


def test_an_unreachable_catalog_is_one_line_and_no_report(
    imported: tuple[Path, Server], mailbox: Any, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """The catalog decides what to report: without it, nothing is sent."""
    drop, catalog = imported
    catalog.stop()
    assert report_email.main(flags(drop, tmp_path, catalog.url, "--retries", "0")) == 2
    err = capsys.readouterr().err
    # Refused, or (a stopped server's socket closing at that moment) reset: one line either way
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "unreachable" in err or "the connection was lost" in err
    assert mailbox.messages() == []


def test_a_pdf_of_another_name_is_attached_as_processed_pdf(
    imported: tuple[Path, Server], mailbox: Any, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """REPORT_PDF decides where the PDF is kept; the supplier always gets processed.pdf."""
    drop, catalog = imported
    kept = tmp_path / "reports" / "weekly-report.pdf"  # its folder does not exist yet
    monkeypatch.setenv("REPORT_PDF", str(kept))
    assert report_email.main(["--data-dir", str(drop), "--url", catalog.url]) == 0
    [message] = mailbox.messages()
    [attachment] = message.iter_attachments()
    assert attachment.get_filename() == report_email.ATTACHMENT_NAME
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == kept.read_bytes()
    assert not list(kept.parent.glob("*.part"))


def test_a_recipient_with_a_line_break_is_refused(
    imported: tuple[Path, Server], mailbox: Any, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
) -> None:
    """A line break in REPORT_RECIPIENT could add a Bcc: one line, exit 2, nothing sent."""
    drop, catalog = imported
    monkeypatch.setenv("REPORT_RECIPIENT", "supplier@example.com\nBcc: all@example.com")
    with pytest.raises(SystemExit) as exited:  # refused where the setting is read (issue 17)
        report_email.main(["--data-dir", str(drop), "--url", catalog.url,
                           "--pdf", str(tmp_path / "p.pdf")])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "--recipient: not an e-mail address" in err and "Traceback" not in err
    assert mailbox.messages() == []
    assert not memory_file().exists()


def test_markup_in_names_reaches_the_supplier_as_written(
    drop: Path, catalog: Server, mailbox: Any, tmp_path: Path
) -> None:
    """A fruit called 'Salt & Pepper <Special>' prints so in the PDF, a reason with '<b>' too."""
    (drop / "descriptions" / "001.txt").write_text(f"{MARKUP_NAME}\n5 lbs\nHot.")
    (drop / "descriptions" / "002.txt").write_text("A & B\n<b> lbs\nBold.")
    assert import_drop(drop, catalog.url) == [0, 0, 1]
    assert report_email.main(flags(drop, tmp_path, catalog.url)) == 0
    [message] = mailbox.messages()
    _, _, text = pdf_of(message)
    assert f"name: {MARKUP_NAME}" in text
    assert "weight '<b> lbs' is not a number of lbs" in flat(text)
    assert "- descriptions/002.txt: weight '<b> lbs' is not a number of lbs" in body_of(message)


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


@pytest.fixture
def refusing_smtp(tmp_path: Path) -> Iterator[int]:
    """A real SMTP server that refuses every recipient; its port."""
    port = free_port()
    server = Controller(NoSuchUser(tmp_path / "mail"), hostname="127.0.0.1", port=port)
    server.start()
    yield port
    server.stop()


def test_as_a_process_a_refused_send_is_one_line_without_traceback(
    imported: tuple[Path, Server], refusing_smtp: int, tmp_path: Path
) -> None:
    """The operator's view of a failed send: exit 2, one line on stderr, nothing on stdout."""
    drop, catalog = imported
    result = run_script(
        "report_email.py", "-q",
        env={"SUPPLIER_DATA_DIR": str(drop), "CATALOG_URL": catalog.url,
             "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(refusing_smtp),
             "REPORT_PDF": str(tmp_path / "processed.pdf")},
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"report_email.py: ERROR: cannot send mail through 127.0.0.1:{refusing_smtp} (none): "
        f"the server refused the recipients {default_recipient()}; the report stays at "
        f"{tmp_path / 'processed.pdf'}: run this again to send it"
    ]
    assert (tmp_path / "processed.pdf").is_file()
