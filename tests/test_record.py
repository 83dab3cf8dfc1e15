"""The record of what landed: the decision to send, the journal, the lock."""

from __future__ import annotations

from pathlib import Path

import pytest

from automation.errors import AutomationError
from automation.record import FRUIT, IMAGE, Decision, UploadRecord, decide

CATALOG = "http://catalog.test"


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        pytest.param(None, Decision.SEND, id="never-sent"),
        pytest.param({"state": "done", "sha256": "abc"}, Decision.SKIP, id="landed"),
        pytest.param({"state": "done", "sha256": "old"}, Decision.CHANGED, id="changed-since"),
        pytest.param({"state": "pending"}, Decision.CHECK, id="answer-lost"),
        pytest.param({"state": "failed", "uncertain": True}, Decision.CHECK, id="gave-up"),
        pytest.param({"state": "failed"}, Decision.SEND, id="refused"),
    ],
)
def test_decide_what_to_do_with_an_item(entry: dict | None, expected: Decision) -> None:
    assert decide(entry, "abc") is expected


def test_events_survive_a_new_run_and_the_latest_wins(tmp_path: Path) -> None:
    path = tmp_path / "record.jsonl"
    with UploadRecord(path, CATALOG) as record:
        record.add(FRUIT, "001", "pending", since_id=0)
        record.add(FRUIT, "001", "done", id=7, name="Apple", weight=500)
        record.add(IMAGE, "001.jpeg", "done", sha256="abc")
    with UploadRecord(path, CATALOG) as record:
        assert record.entry(FRUIT, "001")["id"] == 7
        assert record.entry(FRUIT, "001")["state"] == "done"
        assert list(record.entries(FRUIT)) == ["001"]
        assert record.entry(IMAGE, "001.jpeg")["sha256"] == "abc"


def test_each_catalog_has_its_own_view_of_the_record(tmp_path: Path) -> None:
    path = tmp_path / "record.jsonl"
    with UploadRecord(path, CATALOG) as record:
        record.add(FRUIT, "001", "done")
    with UploadRecord(path, "http://other.test/") as record:
        assert record.entry(FRUIT, "001") is None
    with UploadRecord(path, CATALOG + "/") as record:
        assert record.entry(FRUIT, "001") is not None


def test_a_line_cut_short_by_a_crash_is_ignored(tmp_path: Path, caplog) -> None:
    path = tmp_path / "record.jsonl"
    with UploadRecord(path, CATALOG) as record:
        record.add(FRUIT, "001", "done")
    with path.open("a") as file:
        file.write('{"at": "2026-11-22", "catalog": "http://cat')
    with UploadRecord(path, CATALOG) as record:
        assert record.entry(FRUIT, "001")["state"] == "done"
    assert "line 2 is not a record entry" in caplog.text


def test_a_second_run_on_the_same_drop_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "record.jsonl"
    with UploadRecord(path, CATALOG), pytest.raises(AutomationError, match="another upload run"):
        UploadRecord(path, CATALOG).__enter__()


def test_an_unwritable_record_stops_the_run_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(AutomationError, match="cannot open the record"):
        UploadRecord(tmp_path / "missing-folder" / "record.jsonl", CATALOG).__enter__()
