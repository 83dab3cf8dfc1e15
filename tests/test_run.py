"""run.py against the real bundled service: each description becomes one fruit, exactly once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

import changeImage
import run
import supplier_image_upload
from automation.record import PENDING, FruitEvent, UploadRecord
from demo.processes import free_port
from demo.sample_drop import FRUITS
from tests.helpers import catalog_fruits, fed_fifo, picture_served, requests_received


@pytest.fixture
def uploaded(drop: Path, catalog) -> Path:
    """The sample drop with its images converted and uploaded."""
    assert changeImage.main(["--data-dir", str(drop), "--jobs", "1", "-q"]) == 0
    assert supplier_image_upload.main(["--data-dir", str(drop), "--url", catalog.url, "-q"]) == 0
    return drop


def post(drop: Path, url: str, *flags: str) -> int:
    """Run the script in-process."""
    return run.main(["--data-dir", str(drop), "--url", url, *flags])


def test_every_description_becomes_a_fruit(uploaded: Path, catalog, capsys) -> None:
    assert post(uploaded, catalog.url) == 0
    assert capsys.readouterr().out == "10 posted, 0 already in the catalog, 0 failed\n"
    fruits = catalog_fruits(catalog)
    assert sorted((f["name"], f["weight"], f["image_name"]) for f in fruits) == sorted(
        (fruit.name, fruit.weight, f"{n:03d}.jpeg") for n, fruit in enumerate(FRUITS, start=1)
    )
    kiwi = next(f for f in fruits if f["name"] == "Kiwifruit")
    assert kiwi["description"] == FRUITS[4].description
    assert set(kiwi) == {"id", "name", "weight", "description", "image_name"}


def test_a_second_run_posts_nothing(uploaded: Path, catalog, capsys) -> None:
    assert post(uploaded, catalog.url) == 0
    assert post(uploaded, catalog.url) == 0
    last_line = capsys.readouterr().out.splitlines()[-1]
    assert last_line == "0 posted, 10 already in the catalog, 0 failed"
    assert len(catalog_fruits(catalog)) == 10


def test_two_entries_with_the_same_name_are_two_products(uploaded: Path, catalog) -> None:
    apple = (uploaded / "descriptions" / "001.txt").read_bytes()
    (uploaded / "descriptions" / "002.txt").write_bytes(apple)
    assert post(uploaded, catalog.url) == 0
    apples = [f for f in catalog_fruits(catalog) if f["name"] == "Apple"]
    assert sorted(f["image_name"] for f in apples) == ["001.jpeg", "002.jpeg"]


def test_a_post_whose_answer_was_lost_is_not_sent_again(uploaded: Path, catalog) -> None:
    fruit = {"name": "Apple", "weight": 500, "description": FRUITS[0].description,
             "image_name": "001.jpeg"}
    with UploadRecord(uploaded / "catalog-record.jsonl", catalog.url) as record:
        record.add(FruitEvent(key="descriptions/001.txt", state=PENDING))
    requests.post(f"{catalog.url}/fruits/", json=fruit, timeout=10).raise_for_status()
    assert post(uploaded, catalog.url) == 0
    assert len(catalog_fruits(catalog)) == 10
    assert [f["image_name"] for f in catalog_fruits(catalog)].count("001.jpeg") == 1


def test_a_product_the_catalog_holds_is_not_posted_again_whoever_posted_it(
    uploaded: Path, catalog, capsys
) -> None:
    """The same fields with an image name serving the same picture: the same product."""
    fruit = {"name": "Apple", "weight": 500, "description": FRUITS[0].description,
             "image_name": "001.jpeg"}
    requests.post(f"{catalog.url}/fruits/", json=fruit, timeout=10).raise_for_status()
    assert post(uploaded, catalog.url) == 0
    assert capsys.readouterr().out == "9 posted, 1 already in the catalog, 0 failed\n"
    assert [f["name"] for f in catalog_fruits(catalog)].count("Apple") == 1


def test_the_same_fields_with_another_picture_are_another_product(
    uploaded: Path, catalog
) -> None:
    fruit = {"name": "Apple", "weight": 500, "description": FRUITS[0].description,
             "image_name": "002.jpeg"}
    requests.post(f"{catalog.url}/fruits/", json=fruit, timeout=10).raise_for_status()
    assert post(uploaded, catalog.url) == 0
    apples = [f["image_name"] for f in catalog_fruits(catalog) if f["name"] == "Apple"]
    assert apples == ["002.jpeg", "001.jpeg"]


def test_fruits_are_posted_in_the_drops_order(drop: Path, catalog) -> None:
    """001, 002, ... 010, and 9 before 10 when the numbers are not padded."""
    for number in range(1, 11):
        for folder, suffix in (("images", ".tiff"), ("descriptions", ".txt")):
            old = drop / folder / f"{number:03d}{suffix}"
            old.rename(old.with_name(f"{number}{suffix}"))
    assert changeImage.main(["--data-dir", str(drop), "-q"]) == 0
    common = ["--data-dir", str(drop), "--url", catalog.url, "-q", "--jobs", "8"]
    assert supplier_image_upload.main(common) == 0
    assert run.main(common) == 0
    fruits = catalog_fruits(catalog)
    assert [f["name"] for f in fruits] == [fruit.name for fruit in FRUITS]
    assert [f["image_name"] for f in fruits] == [f"{n}.jpeg" for n in range(1, 11)]
    assert [f["id"] for f in fruits] == sorted(f["id"] for f in fruits)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        pytest.param(b"Apple\nheavy\nRed.", "weight 'heavy' is not a number of lbs", id="weight"),
        pytest.param(b"Apple\n5 kg\nRed.", "weight '5 kg' is not in lbs (unit 'kg')", id="kg"),
        pytest.param(b"", "the file is empty", id="empty"),
        pytest.param(b"Caf\xe9\n5 lbs\nx", "not UTF-8 text", id="latin-1"),
    ],
)
def test_a_bad_description_is_one_line_and_the_rest_go_on(
    uploaded: Path, catalog, capsys, content: bytes, reason: str
) -> None:
    (uploaded / "descriptions" / "003.txt").write_bytes(content)
    assert post(uploaded, catalog.url) == 1
    captured = capsys.readouterr()
    errors = [line for line in captured.err.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and f"descriptions/003.txt: {reason}" in errors[0], errors
    assert captured.out == "9 posted, 0 already in the catalog, 1 failed\n"
    assert len(catalog_fruits(catalog)) == 9


def test_a_fixed_description_is_posted_by_the_next_run(uploaded: Path, catalog) -> None:
    good = (uploaded / "descriptions" / "003.txt").read_bytes()
    (uploaded / "descriptions" / "003.txt").write_bytes(b"Blackberry\nheavy\nx")
    assert post(uploaded, catalog.url) == 1
    (uploaded / "descriptions" / "003.txt").write_bytes(good)
    assert post(uploaded, catalog.url) == 0
    assert len(catalog_fruits(catalog)) == 10


@pytest.mark.parametrize("dry_run", [False, True], ids=["real", "dry-run"])
@pytest.mark.parametrize(("text", "why"), [
    pytest.param("G" * 101 + "\n200 lbs\nGrapes.", "its name has 101 characters; the store's "
                 "service keeps at most 100: not posted", id="name"),
    pytest.param("Grapes\n200 lbs\n" + "g" * 5001, "its description has 5001 characters; the "
                 "store's service keeps at most 5000: not posted", id="description"),
])
def test_what_the_service_would_refuse_is_refused_by_a_dry_run_too(
    uploaded: Path, catalog, capsys, text: str, why: str, dry_run: bool
) -> None:
    (uploaded / "descriptions" / "004.txt").write_text(text)
    assert post(uploaded, catalog.url, *(["--dry-run"] if dry_run else [])) == 1
    assert f"descriptions/004.txt: {why}" in capsys.readouterr().err
    assert len(catalog_fruits(catalog)) == (0 if dry_run else 9)


def test_the_service_reason_for_refusing_a_fruit_is_reported(
    uploaded: Path, catalog, capsys
) -> None:
    """A name of exactly 100 characters is the service's own limit: sent, and stored."""
    (uploaded / "descriptions" / "004.txt").write_text("G" * 100 + "\n200 lbs\nGrapes.")
    assert post(uploaded, catalog.url) == 0
    assert "G" * 100 in {fruit["name"] for fruit in catalog_fruits(catalog)}


def test_a_description_without_its_image_is_not_posted(uploaded: Path, catalog, capsys) -> None:
    (uploaded / "descriptions" / "011.txt").write_text("Cherry\n20 lbs\nSmall and red.")
    assert post(uploaded, catalog.url) == 1
    assert "descriptions/011.txt: there is no images/011.jpeg" in capsys.readouterr().err
    assert len(catalog_fruits(catalog)) == 10


def test_an_image_not_uploaded_yet_is_named(drop: Path, catalog, capsys) -> None:
    assert changeImage.main(["--data-dir", str(drop), "--jobs", "1", "-q"]) == 0
    assert post(drop, catalog.url, "--jobs", "1") == 1
    err = capsys.readouterr().err
    assert ("descriptions/001.txt: its image images/001.jpeg is not in the catalog yet (run "
            "supplier_image_upload.py first; it goes up as 001.jpeg)") in err
    assert catalog_fruits(catalog) == []


def test_the_record_keeps_what_the_report_needs(uploaded: Path, catalog) -> None:
    assert post(uploaded, catalog.url) == 0
    events = [json.loads(line) for line in (uploaded / "catalog-record.jsonl").open()]
    done = {e["key"]: e for e in events if e["kind"] == "fruit" and e["state"] == "done"}
    kiwi = done["descriptions/005.txt"]
    assert (kiwi["name"], kiwi["weight"], kiwi["image_name"]) == ("Kiwifruit", 250, "005.jpeg")
    ids = {f["id"] for f in catalog_fruits(catalog)}
    assert {e["id"] for e in done.values()} == ids


def test_an_unreachable_service_is_one_line_and_exit_2(drop: Path, capsys) -> None:
    assert post(drop, f"http://127.0.0.1:{free_port()}", "--retries", "0") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is unreachable after 1 tries: connection refused" in err


def test_a_missing_descriptions_folder_is_exit_2(tmp_path: Path, capsys) -> None:
    assert post(tmp_path, "http://127.0.0.1:9") == 2
    assert "descriptions: no such folder" in capsys.readouterr().err


def test_nothing_to_post_is_said(tmp_path: Path, catalog, capsys) -> None:
    (tmp_path / "descriptions").mkdir()
    assert post(tmp_path, catalog.url) == 0
    assert "descriptions: no .txt descriptions to post" in capsys.readouterr().err


def test_a_description_changed_after_it_landed_goes_as_a_new_fruit_and_says_so(
    uploaded: Path, catalog, capsys
) -> None:
    assert post(uploaded, catalog.url) == 0
    avocado = next(f for f in catalog_fruits(catalog) if f["name"] == "Avocado")
    (uploaded / "descriptions" / "002.txt").write_text("Avocado\n210 lbs\nNow heavier.")
    capsys.readouterr()
    assert post(uploaded, catalog.url) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        f"run.py: WARNING: descriptions/002.txt: Avocado is in the catalog already as fruit "
        f"#{avocado['id']} with other details (200 lbs, image 002.jpeg): both versions will show"
    ]
    assert captured.out == f"1 posted, 9 already in the catalog, 0 failed; 1 {run.RENEWED}\n"
    newest = catalog_fruits(catalog)[-1]
    assert (newest["name"], newest["weight"], newest["image_name"]) == (
        "Avocado", 210, "002.jpeg")
    assert picture_served(catalog, newest) == (uploaded / "images" / "002.jpeg").read_bytes()


def test_a_dry_run_says_what_it_would_post_and_posts_nothing(
    uploaded: Path, catalog, capsys
) -> None:
    (uploaded / "descriptions" / "003.txt").write_text("Blackberry\nheavy\nx")
    posts = len(requests_received(catalog, "POST"))
    assert post(uploaded, catalog.url, "--dry-run") == 1  # what the real run would give
    captured = capsys.readouterr()
    expected = [f"would post descriptions/{n:03d}.txt: {FRUITS[n - 1].name}, "
                f"{FRUITS[n - 1].weight} lbs, image {n:03d}.jpeg" for n in range(1, 11) if n != 3]
    assert captured.out.splitlines() == [
        *expected, "9 to post, 0 already in the catalog, 1 would fail (dry run: nothing sent)"]
    assert "descriptions/003.txt: weight 'heavy' is not a number of lbs" in captured.err
    assert len(requests_received(catalog, "POST")) == posts
    assert catalog_fruits(catalog) == []
    record = (uploaded / "catalog-record.jsonl").read_text()
    assert '"kind": "fruit"' not in record


def test_a_failure_that_stays_the_same_is_recorded_once(uploaded: Path, catalog) -> None:
    (uploaded / "descriptions" / "003.txt").write_bytes(b"Blackberry\nheavy\nx")
    for _ in range(3):
        assert post(uploaded, catalog.url) == 1
    events = [json.loads(line) for line in (uploaded / "catalog-record.jsonl").open()]
    about_003 = [e["state"] for e in events if e["key"] == "descriptions/003.txt"]
    assert about_003 == ["failed"]


def test_a_picture_that_is_a_link_to_a_fifo_is_named_and_never_read(
    uploaded: Path, catalog, capsys
) -> None:
    """Reading a FIFO waits for a writer for ever; this one's writer hands the real picture to
    any read, so code that opened it would post the fruit instead of hanging."""
    image = uploaded / "images" / "003.jpeg"
    picture = image.read_bytes()
    image.unlink()
    (uploaded / "images" / "003.tiff").unlink()
    with fed_fifo(uploaded / "images" / "pipe", picture):
        image.symlink_to("pipe")
        assert post(uploaded, catalog.url) == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if "ERROR" in line]
    assert errors == ["run.py: ERROR: descriptions/003.txt: its picture images/003.jpeg is a link "
                      "to a FIFO (named pipe), not a file: not read"]
    assert len(catalog_fruits(catalog)) == 9
