"""The record of what was sent: typed events, the journal, the lock, and earlier versions' lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from automation.errors import AutomationError
from automation.record import (
    DONE,
    FRUIT,
    IMAGE,
    PENDING,
    REPORT,
    SENT,
    FruitEvent,
    ImageEvent,
    ReportEvent,
    UploadRecord,
    event_from_json,
    item_digest,
)

CATALOG = "http://catalog.test"


def test_events_survive_a_new_run_and_the_latest_wins(tmp_path: Path) -> None:
    path = tmp_path / "record.jsonl"
    with UploadRecord(path, CATALOG) as record:
        record.add(FruitEvent(key="descriptions/001.txt", state=PENDING, item="abc"))
        record.add(FruitEvent(key="descriptions/001.txt", state=DONE, item="abc", id=7,
                              name="Apple", weight=500, image_name="001.jpeg"))
        record.add(ImageEvent(key="images/001.jpeg", state=DONE, sha256="f00",
                              image_name="001.jpeg"))
    with UploadRecord(path, CATALOG) as record:
        fruit = record.latest(FRUIT, "descriptions/001.txt")
        assert fruit == FruitEvent(key="descriptions/001.txt", state=DONE, item="abc", id=7,
                                   name="Apple", weight=500, image_name="001.jpeg",
                                   at=fruit.at, catalog=CATALOG)
        assert [e.state for e in record.history(FRUIT, "descriptions/001.txt")] == [PENDING, DONE]
        assert record.latest(IMAGE, "images/001.jpeg").landed_as == "001.jpeg"
        assert record.latest(IMAGE, "images/002.jpeg") is None


def test_a_line_leaves_out_what_the_event_does_not_say(tmp_path: Path) -> None:
    path = tmp_path / "record.jsonl"
    with UploadRecord(path, CATALOG) as record:
        record.add(ReportEvent(key="supplier-report", state=SENT, ids=(3, 4), total=700))
    [line] = path.read_text().splitlines()
    data = json.loads(line)
    assert set(data) == {"at", "catalog", "kind", "key", "state", "ids", "total"}
    assert data["ids"] == [3, 4]
    assert event_from_json(data).ids == (3, 4)


def test_each_catalog_has_its_own_view_of_the_record(tmp_path: Path) -> None:
    path = tmp_path / "record.jsonl"
    with UploadRecord(path, CATALOG) as record:
        record.add(FruitEvent(key="descriptions/001.txt", state=DONE))
    with UploadRecord(path, "http://other.test/") as record:
        assert record.latest(FRUIT, "descriptions/001.txt") is None
    with UploadRecord(path, CATALOG + "/") as record:
        assert record.latest(FRUIT, "descriptions/001.txt") is not None


def test_the_lines_an_earlier_version_wrote_are_read_by_their_file(tmp_path: Path) -> None:
    """Earlier versions keyed items by NNN or NNN.jpeg and named their file beside; the lines
    below are as that version wrote them (seen in a real run)."""
    path = tmp_path / "record.jsonl"
    lines = [
        {"at": "2026-11-22T12:47:08+00:00", "catalog": CATALOG, "kind": "image",
         "key": "001.jpeg", "state": "done", "sha256": "5e69", "file": "images/001.jpeg"},
        {"at": "2026-11-22T12:47:09+00:00", "catalog": CATALOG, "kind": "fruit", "key": "001",
         "state": "pending", "sha256": "4ac9", "since_id": 0, "file": "descriptions/001.txt"},
        {"at": "2026-11-22T12:47:09+00:00", "catalog": CATALOG, "kind": "fruit", "key": "001",
         "state": "done", "sha256": "4ac9", "file": "descriptions/001.txt", "id": 3,
         "name": "Apple", "weight": 500, "image_name": "001.jpeg"},
        {"at": "2026-11-22T12:47:09+00:00", "catalog": CATALOG, "kind": "report",
         "key": "supplier-report", "state": "sent", "keys": ["001"], "ids": [3],
         "not_imported": [], "total": 500, "recipient": "root@example.com", "pdf": "/tmp/p.pdf"},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    with UploadRecord(path, CATALOG) as record:
        image = record.latest(IMAGE, "images/001.jpeg")
        fruit = record.latest(FRUIT, "descriptions/001.txt")
        [report] = record.events(REPORT)
    assert (image.sha256, image.landed_as) == ("5e69", "001.jpeg")
    assert (fruit.id, fruit.name, fruit.weight, fruit.sha256, fruit.item) == (
        3, "Apple", 500, "4ac9", "")
    assert fruit.landed_as == "fruit #3"
    assert (report.ids, report.total, report.recipient) == ((3,), 500, "root@example.com")


def test_a_line_cut_short_by_a_crash_is_ignored(tmp_path: Path, caplog) -> None:
    path = tmp_path / "record.jsonl"
    with UploadRecord(path, CATALOG) as record:
        record.add(FruitEvent(key="descriptions/001.txt", state=DONE))
    with path.open("a") as file:
        file.write('{"at": "2026-11-22", "catalog": "http://cat\n')
        file.write('{"kind": "fruit", "key": 7, "state": "done"}\n')
    with UploadRecord(path, CATALOG) as record:
        assert record.latest(FRUIT, "descriptions/001.txt").state == DONE
    assert "line 2 is not a record entry" in caplog.text
    assert "line 3 is not a record entry" in caplog.text


def test_a_second_run_on_the_same_drop_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "record.jsonl"
    with UploadRecord(path, CATALOG), pytest.raises(AutomationError, match="another upload run"):
        UploadRecord(path, CATALOG).__enter__()


def test_read_only_it_neither_creates_nor_locks_nor_writes(tmp_path: Path) -> None:
    path = tmp_path / "record.jsonl"
    with UploadRecord(path, CATALOG, writable=False) as record:
        assert record.events(FRUIT) == []
        with pytest.raises(RuntimeError, match="opened only to be read"):
            record.add(FruitEvent(key="descriptions/001.txt", state=DONE))
    assert not path.exists()
    with UploadRecord(path, CATALOG) as writer:
        writer.add(FruitEvent(key="descriptions/001.txt", state=DONE, id=1))
        with UploadRecord(path, CATALOG, writable=False) as reader:  # while a run holds it
            assert reader.latest(FRUIT, "descriptions/001.txt").id == 1


def test_an_unwritable_record_stops_the_run_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(AutomationError, match="cannot open the record"):
        UploadRecord(tmp_path / "missing-folder" / "record.jsonl", CATALOG).__enter__()


@pytest.mark.parametrize(
    ("other_description", "other_picture", "same"),
    [
        pytest.param(b"Apple\n500 lbs\nRed.", "p1", True, id="same-item"),
        pytest.param(b"Apple\n501 lbs\nRed.", "p1", False, id="other-description"),
        pytest.param(b"Apple\n500 lbs\nRed.", "p2", False, id="other-picture"),
    ],
)
def test_an_item_is_its_description_and_its_picture(
    other_description: bytes, other_picture: str, same: bool
) -> None:
    first = item_digest(b"Apple\n500 lbs\nRed.", "p1")
    assert (item_digest(other_description, other_picture) == first) is same
