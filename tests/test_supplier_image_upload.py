"""supplier_image_upload.py against the real bundled service: each image lands exactly once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

import changeImage
import supplier_image_upload
from automation.record import IMAGE, UploadRecord
from demo.processes import free_port
from tests.helpers import media_files


@pytest.fixture
def converted(drop: Path) -> Path:
    """The sample drop with its catalog JPEGs made."""
    assert changeImage.main(["--data-dir", str(drop), "--jobs", "1", "-q"]) == 0
    return drop


def upload(drop: Path, url: str, *flags: str) -> int:
    """Run the script in-process."""
    return supplier_image_upload.main(["--data-dir", str(drop), "--url", url, *flags])


def test_every_jpeg_is_uploaded_and_served(converted: Path, catalog, capsys) -> None:
    assert upload(converted, catalog.url) == 0
    assert capsys.readouterr().out == "10 uploaded, 0 already in the catalog, 0 failed\n"
    assert media_files(catalog) == [f"{n:03d}.jpeg" for n in range(1, 11)]
    served = requests.get(f"{catalog.url}/media/images/004.jpeg", timeout=10)
    assert served.content == (converted / "images" / "004.jpeg").read_bytes()


def test_a_second_run_uploads_nothing(converted: Path, catalog, capsys) -> None:
    assert upload(converted, catalog.url) == 0
    assert upload(converted, catalog.url) == 0
    last_line = capsys.readouterr().out.splitlines()[-1]
    assert last_line == "0 uploaded, 10 already in the catalog, 0 failed"
    assert len(media_files(catalog)) == 10


def test_an_upload_whose_answer_was_lost_is_not_sent_again(converted: Path, catalog) -> None:
    image = converted / "images" / "001.jpeg"
    requests.post(f"{catalog.url}/upload/", files={"file": image.open("rb")}, timeout=10)
    with UploadRecord(converted / "catalog-record.jsonl", catalog.url) as record:
        record.add(IMAGE, "001.jpeg", "pending", sha256="whatever was sent")
    assert upload(converted, catalog.url) == 0
    assert media_files(catalog) == [f"{n:03d}.jpeg" for n in range(1, 11)]


def test_an_upload_that_never_arrived_is_sent(converted: Path, catalog) -> None:
    with UploadRecord(converted / "catalog-record.jsonl", catalog.url) as record:
        record.add(IMAGE, "001.jpeg", "pending", sha256="x")
    assert upload(converted, catalog.url) == 0
    assert "001.jpeg" in media_files(catalog)


def test_the_record_says_what_landed(converted: Path, catalog) -> None:
    assert upload(converted, catalog.url) == 0
    lines = (converted / "catalog-record.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    done = {e["key"] for e in events if e["state"] == "done"}
    assert done == {f"{n:03d}.jpeg" for n in range(1, 11)}
    assert all(e["catalog"] == catalog.url for e in events)


def test_an_image_the_service_refuses_is_reported_and_the_rest_go_on(
    converted: Path, catalog, capsys
) -> None:
    (converted / "images" / "005.jpeg").write_bytes(b"not a jpeg at all")
    assert upload(converted, catalog.url, "--jobs", "1") == 1
    captured = capsys.readouterr()
    errors = [line for line in captured.err.splitlines() if "ERROR" in line]
    assert len(errors) == 1
    assert "images/005.jpeg: the service refused it (400): file: " in errors[0]
    assert captured.out == "9 uploaded, 0 already in the catalog, 1 failed\n"
    assert len(media_files(catalog)) == 9


def test_a_changed_image_is_not_uploaded_twice(converted: Path, catalog, capsys) -> None:
    assert upload(converted, catalog.url) == 0
    image = converted / "images" / "002.jpeg"
    image.write_bytes(image.read_bytes() + b"\0")
    capsys.readouterr()
    assert upload(converted, catalog.url) == 0
    assert "images/002.jpeg: changed since it landed (" in capsys.readouterr().err
    assert len(media_files(catalog)) == 10


def test_an_image_without_description_is_uploaded_with_a_warning(
    converted: Path, catalog, capsys
) -> None:
    (converted / "descriptions" / "003.txt").unlink()
    assert upload(converted, catalog.url) == 0
    assert "images/003.jpeg: there is no descriptions/003.txt" in capsys.readouterr().err


def test_an_unreachable_service_is_one_line_and_exit_2(converted: Path, capsys) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert upload(converted, url, "--retries", "0") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"the catalog service at {url}/ is unreachable after 1 tries: connection refused" in err


def test_the_url_and_token_come_from_the_environment(converted: Path, catalog, monkeypatch) -> None:
    monkeypatch.setenv("CATALOG_URL", catalog.url)
    monkeypatch.setenv("SUPPLIER_DATA_DIR", str(converted))
    assert supplier_image_upload.main([]) == 0
    assert len(media_files(catalog)) == 10


def test_nothing_to_upload_is_said(drop: Path, catalog, capsys) -> None:
    assert upload(drop, catalog.url) == 0
    captured = capsys.readouterr()
    assert "images: no .jpeg images to upload (has changeImage.py run?)" in captured.err
    assert captured.out == "0 uploaded, 0 already in the catalog, 0 failed\n"
