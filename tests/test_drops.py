"""A store lives on many drops: the second drop lands as right as the first, against the real
service, into a catalog that holds the first.

Every drop numbers its items from 001 again. Each test checks what the catalog serves: every
fruit's image_name gives back the bytes of its own JPEG, and the fruits are listed in the
drops' order.
"""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

import changeImage
import report_email
import run
import supplier_image_upload
from automation.catalog import Catalog
from automation.descriptions import read_description
from automation.madefrom import MANIFEST_NAME
from automation.record import sha256_of
from demo.processes import start_catalog
from demo.sample_drop import FRUITS, NEXT_WEEK, date_back, unpack_over, write_drop
from tests.conftest import SMALL
from tests.helpers import catalog_fruits, media_files, picture_served, requests_received

MONTH = 30 * 24 * 3600
WEEK_1 = [fruit.name for fruit in FRUITS]
WEEK_2 = [fruit.name for fruit in NEXT_WEEK]


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    """Next week's drop as the supplier's archive holds it: other products, numbered from 001
    again, with file times a month old."""
    folder = tmp_path / "archive"
    write_drop(folder, size=SMALL, fruits=NEXT_WEEK)
    date_back(folder, MONTH)
    return folder


def import_drop(drop: Path, url: str, quiet: bool = True) -> list[int]:
    """The three import steps in order, as the operator runs them; their exit codes."""
    common = ["--data-dir", str(drop), *(["-q"] if quiet else [])]
    return [changeImage.main(common),
            supplier_image_upload.main([*common, "--url", url]),
            run.main([*common, "--url", url])]


def pictures_of(drop: Path) -> dict[str, bytes]:
    """Each product of a drop, by name, with the bytes of its catalog JPEG."""
    return {read_description(path).name: (drop / "images" / f"{path.stem}.jpeg").read_bytes()
            for path in (drop / "descriptions").glob("*.txt")}


def assert_the_catalog_shows(server: Any, names: list[str], pictures: dict[str, bytes]) -> None:
    """The catalog lists exactly these fruits in this order, each serving its own picture."""
    fruits = catalog_fruits(server)
    assert [fruit["name"] for fruit in fruits] == names
    for fruit in fruits:
        assert picture_served(server, fruit) == pictures[fruit["name"]], fruit


def assert_a_rerun_sends_nothing(drop: Path, server: Any) -> None:
    """Every step again: exit 0, and not one POST reaches the service."""
    posts = len(requests_received(server, "POST"))
    assert import_drop(drop, server.url) == [0, 0, 0]
    assert len(requests_received(server, "POST")) == posts


def test_two_drops_from_two_folders_each_show_their_own_pictures(
    drop: Path, archive: Path, catalog: Any
) -> None:
    assert import_drop(drop, catalog.url) == [0, 0, 0]
    assert import_drop(archive, catalog.url) == [0, 0, 0]
    pictures = pictures_of(drop) | pictures_of(archive)
    assert_the_catalog_shows(catalog, WEEK_1 + WEEK_2, pictures)
    second = [fruit["image_name"] for fruit in catalog_fruits(catalog)[10:]]
    assert second == [f"{n:03d}-{sha256_of(pictures[name])[:12]}.jpeg"
                      for n, name in enumerate(WEEK_2, start=1)]
    assert len(media_files(catalog)) == 20
    assert_a_rerun_sends_nothing(drop, catalog)
    assert_a_rerun_sends_nothing(archive, catalog)


def test_the_next_drop_unpacked_over_the_last_lands_though_its_files_look_older(
    drop: Path, archive: Path, catalog: Any, mailbox: Any, tmp_path: Path, capsys
) -> None:
    """The archive's files are a month older than last week's JPEGs; each step says what
    changed, imports it, and the supplier gets a report of this drop alone."""
    report = ["--data-dir", str(drop), "--url", catalog.url, "--pdf", str(tmp_path / "r.pdf")]
    assert import_drop(drop, catalog.url) == [0, 0, 0]
    assert report_email.main(report) == 0
    pictures = pictures_of(drop)
    unpack_over(archive, drop)
    capsys.readouterr()

    assert import_drop(drop, catalog.url, quiet=False) == [0, 0, 0]
    pictures |= pictures_of(drop)
    assert pictures_of(drop)["Banana"] != pictures["Apple"]
    assert_the_catalog_shows(catalog, WEEK_1 + WEEK_2, pictures)
    captured = capsys.readouterr()
    assert captured.err == ""  # a normal weekly drop: no per-item warning
    assert captured.out.splitlines() == [
        "10 converted, 0 already up to date, 0 failed",
        f"10 uploaded, 0 already in the catalog, 0 failed; 10 {supplier_image_upload.RENEWED}",
        f"10 posted, 0 already in the catalog, 0 failed; 10 {run.RENEWED}",
    ]

    assert report_email.main(report) == 0
    _, second = mailbox.messages()
    total = sum(fruit.weight for fruit in NEXT_WEEK)
    body = second.get_body().get_content()
    assert "successfully: 10 fruits." in body
    assert f"Total weight imported: {total} lbs." in body
    [pdf] = second.iter_attachments()
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.get_content())).pages)
    listed = set(re.findall(r"name: (\w+)", text))
    assert listed == set(WEEK_2)
    assert_a_rerun_sends_nothing(drop, catalog)
    assert report_email.main(report) == 0
    assert len(mailbox.messages()) == 2


def test_a_smaller_drop_unpacked_over_reports_only_what_it_brought(
    drop: Path, catalog: Any, mailbox: Any, tmp_path: Path
) -> None:
    """Six new products over last week's ten: last week's four left behind are not news."""
    report = ["--data-dir", str(drop), "--url", catalog.url, "--pdf", str(tmp_path / "r.pdf")]
    assert import_drop(drop, catalog.url) == [0, 0, 0]
    assert report_email.main(report) == 0
    small = tmp_path / "small-archive"
    write_drop(small, count=6, size=SMALL, fruits=NEXT_WEEK)
    unpack_over(small, drop)
    assert import_drop(drop, catalog.url) == [0, 0, 0]
    assert [f["name"] for f in catalog_fruits(catalog)] == WEEK_1 + WEEK_2[:6]
    assert report_email.main(report) == 0
    body = mailbox.messages()[1].get_body().get_content()
    assert "successfully: 6 fruits." in body
    assert f"Total weight imported: {sum(f.weight for f in NEXT_WEEK[:6])} lbs." in body


@pytest.mark.parametrize("interruption", ["service stopped", "ctrl-c"])
def test_the_second_drop_interrupted_half_way_is_resumed_without_a_double(
    drop: Path, archive: Path, catalog: Any, monkeypatch: pytest.MonkeyPatch, interruption: str
) -> None:
    assert import_drop(drop, catalog.url) == [0, 0, 0]
    pictures = pictures_of(drop)
    unpack_over(archive, drop)
    assert changeImage.main(["--data-dir", str(drop), "-q"]) == 0
    pictures |= pictures_of(drop)
    flags = ["--data-dir", str(drop), "--url", catalog.url, "-q", "--jobs", "1",
             "--retries", "1"]
    server = catalog
    if interruption == "service stopped":
        real_upload = Catalog.upload_image
        calls: list[str] = []

        def upload_then_fall_over(self: Catalog, name: str, data: bytes) -> None:
            calls.append(name)
            if len(calls) == 5:
                catalog.stop()
            real_upload(self, name, data)

        monkeypatch.setattr(Catalog, "upload_image", upload_then_fall_over)
        assert supplier_image_upload.main(flags) == 2
        monkeypatch.setattr(Catalog, "upload_image", real_upload)
        server = start_catalog(Path(catalog.log).parent, port=catalog.port)
        assert len(media_files(server)) == 14
    else:
        assert supplier_image_upload.main(flags) == 0
        real_post = Catalog.post_fruit
        posts: list[str] = []

        def post_then_interrupt(self: Catalog, fruit: dict) -> dict:
            posts.append(fruit["name"])
            if len(posts) == 4:
                raise KeyboardInterrupt
            return real_post(self, fruit)

        monkeypatch.setattr(Catalog, "post_fruit", post_then_interrupt)
        assert run.main(flags) == 2
        monkeypatch.setattr(Catalog, "post_fruit", real_post)
        assert len(catalog_fruits(server)) == 13
    try:
        assert import_drop(drop, server.url) == [0, 0, 0]
        assert_the_catalog_shows(server, WEEK_1 + WEEK_2, pictures)
        assert len(media_files(server)) == 20
        assert_a_rerun_sends_nothing(drop, server)
    finally:
        server.stop()


def test_a_dry_run_of_the_second_drop_says_what_it_would_send_and_sends_nothing(
    drop: Path, archive: Path, catalog: Any, capsys
) -> None:
    assert import_drop(drop, catalog.url) == [0, 0, 0]
    unpack_over(archive, drop)
    assert changeImage.main(["--data-dir", str(drop), "-q"]) == 0
    record = (drop / "catalog-record.jsonl").read_bytes()
    posts = len(requests_received(catalog, "POST"))
    pictures = pictures_of(drop)
    names = [f"{n:03d}-{sha256_of(pictures[name])[:12]}.jpeg"
             for n, name in enumerate(WEEK_2, start=1)]
    capsys.readouterr()

    flags = ["--data-dir", str(drop), "--url", catalog.url, "--dry-run"]
    assert supplier_image_upload.main(flags) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [*(f"would upload images/{n:03d}.jpeg as {name}"
                       for n, name in enumerate(names, start=1)),
                     "10 to upload, 0 already in the catalog, 0 would fail (dry run: nothing sent)"
                     f"; 10 {supplier_image_upload.RENEWED}"]
    assert len(requests_received(catalog, "POST")) == posts
    assert (drop / "catalog-record.jsonl").read_bytes() == record

    assert supplier_image_upload.main([*flags[:-1], "-q"]) == 0
    posts = len(requests_received(catalog, "POST"))
    assert run.main(flags) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"would post descriptions/001.txt: Banana, 400 lbs, image {names[0]}"
    assert lines[-1] == ("10 to post, 0 already in the catalog, 0 would fail (dry run: nothing "
                         f"sent); 10 {run.RENEWED}")
    assert len(requests_received(catalog, "POST")) == posts
    assert len(catalog_fruits(catalog)) == 10


def test_the_same_product_in_a_later_drop_is_not_imported_again(
    drop: Path, archive: Path, catalog: Any, capsys
) -> None:
    """Last week's Blackberry comes again as 011: same photo, same description, same item."""
    assert import_drop(drop, catalog.url) == [0, 0, 0]
    for folder, suffix in (("images", ".tiff"), ("descriptions", ".txt")):
        shutil.copy2(drop / folder / f"003{suffix}", archive / folder / f"011{suffix}")
    capsys.readouterr()
    assert import_drop(archive, catalog.url) == [0, 0, 0]
    assert capsys.readouterr().out == ""  # -q
    assert [f["name"] for f in catalog_fruits(catalog)] == WEEK_1 + WEEK_2
    assert len(media_files(catalog)) == 20
    assert "011.jpeg" not in media_files(catalog)


def test_a_lost_record_and_a_moved_drop_send_nothing_again(
    drop: Path, catalog: Any, tmp_path: Path
) -> None:
    """The catalog is the truth: without the record, nothing it holds is sent again."""
    assert import_drop(drop, catalog.url) == [0, 0, 0]
    moved = tmp_path / "elsewhere" / "supplier-data"
    shutil.move(drop, moved)
    (moved / "catalog-record.jsonl").unlink()
    assert_a_rerun_sends_nothing(moved, catalog)
    assert_the_catalog_shows(catalog, WEEK_1, pictures_of(moved))


def earlier_versions_record(drop: Path, url: str, fruits: list[dict], recipient: str) -> str:
    """The record the version before this one wrote for a drop it imported, line for line in its
    format (as seen in a real run of it): items keyed by NNN.jpeg and NNN with their file beside,
    a fruit known by the digest of the JSON it posted, the report by its keys and ids."""
    at = "2026-11-15T09:00:00+00:00"
    lines = []
    for jpeg in sorted((drop / "images").glob("*.jpeg")):
        for state in ("pending", "done"):
            lines.append({"at": at, "catalog": url, "kind": "image", "key": jpeg.name,
                          "state": state, "sha256": sha256_of(jpeg.read_bytes()),
                          "file": f"images/{jpeg.name}"})
    for fruit in fruits:
        key = fruit["image_name"].removesuffix(".jpeg")
        posted = {name: fruit[name] for name in ("name", "weight", "description", "image_name")}
        digest = sha256_of(json.dumps(posted, sort_keys=True, ensure_ascii=False).encode())
        file = f"descriptions/{key}.txt"
        lines.append({"at": at, "catalog": url, "kind": "fruit", "key": key, "state": "pending",
                      "sha256": digest, "since_id": 0, "file": file})
        lines.append({"at": at, "catalog": url, "kind": "fruit", "key": key, "state": "done",
                      "sha256": digest, "file": file, "id": fruit["id"], "name": fruit["name"],
                      "weight": fruit["weight"], "image_name": fruit["image_name"]})
    keys = sorted(fruit["image_name"].removesuffix(".jpeg") for fruit in fruits)
    lines.append({"at": at, "catalog": url, "kind": "report", "key": "supplier-report",
                  "state": "sent", "keys": keys, "ids": [fruit["id"] for fruit in fruits],
                  "not_imported": [], "total": sum(fruit["weight"] for fruit in fruits),
                  "recipient": recipient, "pdf": "/tmp/processed.pdf"})
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)


def test_a_drop_the_earlier_version_imported_is_not_sent_again_and_the_next_one_lands(
    drop: Path, archive: Path, catalog: Any, mailbox: Any, tmp_path: Path
) -> None:
    """The catalog and the drop as the earlier version left them (its record, its JPEGs with
    no note of what they were made from): nothing is sent or mailed again; then next week's."""
    report = ["--data-dir", str(drop), "--url", catalog.url, "--pdf", str(tmp_path / "r.pdf"),
              "--recipient", "supplier@example.com"]
    assert import_drop(drop, catalog.url) == [0, 0, 0]
    (drop / "images" / MANIFEST_NAME).unlink()
    (drop / "catalog-record.jsonl").write_text(earlier_versions_record(
        drop, catalog.url, catalog_fruits(catalog), "supplier@example.com"))
    jpegs = {path.name: path.stat().st_mtime_ns for path in (drop / "images").glob("*.jpeg")}

    assert_a_rerun_sends_nothing(drop, catalog)
    assert {p.name: p.stat().st_mtime_ns for p in (drop / "images").glob("*.jpeg")} == jpegs
    assert report_email.main(report) == 0
    assert mailbox.messages() == []

    pictures = pictures_of(drop)
    unpack_over(archive, drop)
    assert import_drop(drop, catalog.url) == [0, 0, 0]
    assert_the_catalog_shows(catalog, WEEK_1 + WEEK_2, pictures | pictures_of(drop))
    assert report_email.main(report) == 0
    [message] = mailbox.messages()
    assert "successfully: 10 fruits." in message.get_body().get_content()


def test_run_py_asks_nothing_the_upload_just_saw_served(drop: Path, catalog: Any) -> None:
    """A name that served a picture serves it for good (the service can neither replace nor
    delete an image): the fruits go with the names the upload step checked, unasked."""
    common = ["--data-dir", str(drop), "--url", catalog.url, "-q"]
    assert changeImage.main(common[:2]) == 0
    assert supplier_image_upload.main(common) == 0
    gets = len(requests_received(catalog, "GET"))
    assert run.main(common) == 0
    assert requests_received(catalog, "GET")[gets:] == ["/fruits/"]
    assert_the_catalog_shows(catalog, WEEK_1, pictures_of(drop))


def test_a_catalog_that_lost_everything_gets_everything_again(
    drop: Path, catalog: Any, tmp_path: Path
) -> None:
    """The record remembers, the catalog decides: a new empty catalog at the same address gets
    the whole drop, though the record says it all landed."""
    assert import_drop(drop, catalog.url) == [0, 0, 0]
    catalog.stop()
    empty = start_catalog(tmp_path / "new-catalog", port=catalog.port)
    try:
        assert import_drop(drop, empty.url) == [0, 0, 0]
        assert_the_catalog_shows(empty, WEEK_1, pictures_of(drop))
        assert len(media_files(empty)) == 10
    finally:
        empty.stop()
