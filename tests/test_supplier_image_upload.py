"""supplier_image_upload.py against the real bundled service: each image lands exactly once."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import requests
from PIL import Image

import changeImage
import supplier_image_upload
from automation import settings
from automation.drop import Drop
from automation.record import PENDING, ImageEvent, UploadRecord, sha256_of
from demo.processes import free_port
from tests.helpers import fed_fifo, media_files, requests_received


def upload(drop: Path, url: str, *flags: str) -> int:
    """Run the script in-process."""
    return supplier_image_upload.main(["--data-dir", str(drop), "--url", url, *flags])


def test_every_jpeg_is_uploaded_and_served(converted: Path, catalog, capsys) -> None:
    assert upload(converted, catalog.url) == 0
    assert capsys.readouterr().out == "10 uploaded, 0 already in the catalog, 0 failed\n"
    assert media_files(catalog) == [f"{n:03d}.jpeg" for n in range(1, 11)]
    served = requests.get(f"{catalog.url}/media/images/004.jpeg", timeout=10)
    assert served.content == (converted / "images" / "004.jpeg").read_bytes()


def test_the_upload_takes_typed_settings_not_a_command_line(
    converted: Path, catalog, capsys
) -> None:
    """What main hands on is callable as it is: the drop and the catalog's settings."""
    where = settings.CatalogSettings(catalog.url, timeout=10, retries=0, jobs=2)
    assert supplier_image_upload.upload_drop(Drop(converted), where) == 0
    assert capsys.readouterr().out == "10 uploaded, 0 already in the catalog, 0 failed\n"
    served = requests.get(f"{catalog.url}/media/images/007.jpeg", timeout=10)
    assert hashlib.sha256(served.content).hexdigest() == hashlib.sha256(
        (converted / "images" / "007.jpeg").read_bytes()).hexdigest()


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
        record.add(ImageEvent(key="images/001.jpeg", state=PENDING, sha256=sha256_of(
            image.read_bytes()), image_name="001.jpeg"))
    assert upload(converted, catalog.url) == 0
    assert media_files(catalog) == [f"{n:03d}.jpeg" for n in range(1, 11)]


def test_an_upload_that_never_arrived_is_sent(converted: Path, catalog) -> None:
    with UploadRecord(converted / "catalog-record.jsonl", catalog.url) as record:
        record.add(ImageEvent(key="images/001.jpeg", state=PENDING, sha256="x"))
    assert upload(converted, catalog.url) == 0
    assert "001.jpeg" in media_files(catalog)


def test_the_record_says_what_landed(converted: Path, catalog) -> None:
    assert upload(converted, catalog.url) == 0
    lines = (converted / "catalog-record.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    done = {e["key"]: e for e in events if e["state"] == "done"}
    assert sorted(done) == [f"images/{n:03d}.jpeg" for n in range(1, 11)]
    assert done["images/004.jpeg"]["image_name"] == "004.jpeg"
    assert done["images/004.jpeg"]["sha256"] == sha256_of(
        (converted / "images" / "004.jpeg").read_bytes())
    assert all(e["catalog"] == catalog.url for e in events)


def test_a_file_that_is_not_a_jpeg_is_one_line_and_the_rest_go_on(
    converted: Path, catalog, capsys
) -> None:
    (converted / "images" / "005.tiff").unlink()  # a JPEG the supplier sent as it is
    (converted / "images" / "005.jpeg").write_bytes(b"not a jpeg at all")
    assert upload(converted, catalog.url, "--jobs", "1") == 1
    captured = capsys.readouterr()
    errors = [line for line in captured.err.splitlines() if "ERROR" in line]
    assert errors == ["supplier_image_upload.py: ERROR: images/005.jpeg: not a JPEG image "
                      "(Pillow cannot identify it): not uploaded"]
    assert captured.out == "9 uploaded, 0 already in the catalog, 1 failed\n"
    assert len(media_files(catalog)) == 9


def test_an_image_the_service_refuses_is_reported_with_its_reason(
    converted: Path, catalog, capsys
) -> None:
    """A JPEG of over 10 MB: the bundled service's limit, answered 413 with its reason."""
    (converted / "images" / "006.tiff").unlink()  # a JPEG the supplier sent as it is
    big = converted / "images" / "006.jpeg"
    big.write_bytes(big.read_bytes() + b"\0" * 11 * 1024 * 1024)
    assert upload(converted, catalog.url, "--jobs", "1") == 1
    err = capsys.readouterr().err
    assert "images/006.jpeg: the service refused it (413): Request too large" in err
    assert len(media_files(catalog)) == 9


def test_a_name_serving_another_picture_is_left_to_it(converted: Path, catalog, capsys) -> None:
    """An earlier drop's 001.jpeg is in the catalog: ours goes up under a name of its own."""
    theirs = (converted / "images" / "002.jpeg").read_bytes() + b"another picture"
    requests.post(f"{catalog.url}/upload/", files={"file": ("001.jpeg", theirs)}, timeout=10)
    ours = (converted / "images" / "001.jpeg").read_bytes()
    assert upload(converted, catalog.url) == 0
    name = f"001-{sha256_of(ours)[:12]}.jpeg"
    assert name in media_files(catalog)
    assert requests.get(f"{catalog.url}/media/images/{name}", timeout=10).content == ours
    assert requests.get(f"{catalog.url}/media/images/001.jpeg", timeout=10).content == theirs
    assert capsys.readouterr().out == "10 uploaded, 0 already in the catalog, 0 failed\n"


def test_a_changed_photo_goes_up_under_a_name_of_its_own_and_says_so_in_the_summary(
    converted: Path, catalog, capsys
) -> None:
    assert upload(converted, catalog.url) == 0
    tiff = converted / "images" / "002.tiff"
    with Image.open(tiff) as photo:
        photo.rotate(180).save(tiff)  # the next drop's photo at the same number
    assert changeImage.main(["--data-dir", str(converted), "--jobs", "1", "-q"]) == 0
    image = converted / "images" / "002.jpeg"
    capsys.readouterr()
    assert upload(converted, catalog.url, "-v") == 0
    name = f"002-{hashlib.sha256(image.read_bytes()).hexdigest()[:12]}.jpeg"
    captured = capsys.readouterr()
    assert "images/002.jpeg: changed since it landed as 002.jpeg (" in captured.err  # -v only
    assert f"): it goes up as {name}; the store's service cannot replace an image" in captured.err
    assert captured.out == ("1 uploaded, 9 already in the catalog, 0 failed; 1 "
                            f"{supplier_image_upload.RENEWED}\n")
    assert len(media_files(catalog)) == 11
    assert requests.get(f"{catalog.url}/media/images/{name}", timeout=10).content == \
        image.read_bytes()


def test_a_dry_run_says_what_it_would_send_and_sends_nothing(
    converted: Path, catalog, capsys
) -> None:
    theirs = (converted / "images" / "003.jpeg").read_bytes() + b"another picture"
    requests.post(f"{catalog.url}/upload/", files={"file": ("001.jpeg", theirs)}, timeout=10)
    (converted / "images" / "004.jpeg").write_bytes(b"junk")
    posts = len(requests_received(catalog, "POST"))
    assert upload(converted, catalog.url, "--dry-run") == 1  # what the real run would give
    captured = capsys.readouterr()
    name = f"001-{sha256_of((converted / 'images' / '001.jpeg').read_bytes())[:12]}.jpeg"
    assert captured.out.splitlines() == [
        f"would upload images/001.jpeg as {name}",
        "would upload images/002.jpeg as 002.jpeg",
        "would upload images/003.jpeg as 003.jpeg",
        *(f"would upload images/{n:03d}.jpeg as {n:03d}.jpeg" for n in range(5, 11)),
        "9 to upload, 0 already in the catalog, 1 would fail (dry run: nothing sent)",
    ]
    assert "images/004.jpeg: was not made from the images/004.tiff now in the drop" in captured.err
    assert len(requests_received(catalog, "POST")) == posts
    assert not (converted / "catalog-record.jsonl").exists()
    assert media_files(catalog) == ["001.jpeg"]


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


def test_a_jpeg_that_is_a_link_to_a_fifo_is_named_and_never_read(
    converted: Path, catalog, capsys
) -> None:
    """This FIFO's writer hands a real JPEG to any read: code that opened it would upload it."""
    image = converted / "images" / "003.jpeg"
    picture = image.read_bytes()
    image.unlink()
    (converted / "images" / "003.tiff").unlink()
    with fed_fifo(converted / "images" / "pipe", picture):
        image.symlink_to("pipe")
        assert upload(converted, catalog.url, "--jobs", "1") == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if "ERROR" in line]
    assert errors == ["supplier_image_upload.py: ERROR: images/003.jpeg: is a link to a FIFO "
                      "(named pipe), not a file: not read"]
    assert len(media_files(catalog)) == 9
