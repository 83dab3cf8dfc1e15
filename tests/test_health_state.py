"""automation.health.state: the typed state and its JSON file, both ways."""

from __future__ import annotations

import json
from datetime import timedelta, timezone
from pathlib import Path

import pytest

from automation.health.measure import CpuSample
from automation.health.state import (
    ALERT,
    Message,
    Problem,
    State,
    from_json,
    load_state,
    save_state,
    to_json,
)
from tests.health_helpers import BOOT, CPU_ALERT, T0

FULL = State(
    failing={"cpu": Problem("CPU usage is over 80%", T0, runs=4, announced=T0, reminders=2),
             "disk /var": Problem("Available disk space on /var is less than 20%", T0, runs=1)},
    outbox=(Message("cpu", ALERT, CPU_ALERT, "Please check.", T0),),
    silences={"memory": T0 + timedelta(hours=2)},
    cpu=CpuSample(T0, BOOT, {"user": 12.5, "system": 3.0, "idle": 400.25}),
)


def test_a_state_survives_its_file(tmp_path: Path) -> None:
    save_state(tmp_path / "state.json", FULL)
    assert load_state(tmp_path / "state.json") == FULL
    assert [path.name for path in tmp_path.iterdir()] == ["state.json"]  # no temporary left


def test_the_file_is_plain_json_an_admin_can_read() -> None:
    data = to_json(FULL)
    assert data["version"] == 2
    assert data["failing"]["disk /var"] == {
        "problem": "Available disk space on /var is less than 20%",
        "since": "2026-11-22T09:00:00+00:00", "runs": 1, "announced": None, "reminders": 0}
    assert data["silences"] == {"memory": "2026-11-22T11:00:00+00:00"}
    assert data["cpu"] == {"taken": "2026-11-22T09:00:00+00:00", "boot": BOOT,
                           "times": {"user": 12.5, "system": 3.0, "idle": 400.25}}
    assert from_json(json.loads(json.dumps(data))) == FULL


def test_a_version_1_file_is_read_as_what_was_already_told() -> None:
    """The state of the health check before --fail-after: everything failing had been told."""
    state = from_json({"version": 1, "failing": {"memory": {
        "problem": "Available memory is less than 500MB", "since": "2026-11-22T08:00:00+00:00",
        "announced": "2026-11-22T08:30:00+00:00", "reminders": 0}}, "outbox": []})
    assert state.failing["memory"] == Problem(
        "Available memory is less than 500MB", T0 - timedelta(hours=1), runs=1,
        announced=T0 - timedelta(minutes=30))
    assert (state.silences, state.cpu) == ({}, None)


def test_times_keep_their_offset() -> None:
    state = from_json({"version": 2, "silences": {"cpu": "2026-11-22T10:00:00+01:00"}})
    assert state.silences["cpu"] == T0
    assert state.silences["cpu"].utcoffset() == timezone(timedelta(hours=1)).utcoffset(None)


@pytest.mark.parametrize("data", [
    pytest.param({"version": 3}, id="a later version"),
    pytest.param({"version": 2, "failing": []}, id="failing a list"),
    pytest.param({"version": 2, "failing": {"cpu": {"since": "2026-11-22T09:00:00"}}},
                 id="a time without offset"),
    pytest.param({"version": 2, "failing": {"cpu": {"since": "2026-11-22T09:00:00+00:00",
                                                    "runs": -1}}}, id="negative runs"),
    pytest.param({"version": 2, "outbox": [{"check": "cpu", "kind": "gossip", "subject": "s",
                                            "body": "b", "raised": "2026-11-22T09:00:00+00:00"}]},
                 id="an unknown kind of mail"),
    pytest.param({"version": 2, "silences": {"cpu": "soon"}}, id="a silence without a time"),
    pytest.param({"version": 2, "cpu": {"taken": "2026-11-22T09:00:00+00:00", "boot": True,
                                        "times": {}}}, id="boot not a number"),
])
def test_what_this_script_did_not_write_is_refused(data: dict) -> None:
    with pytest.raises(ValueError):
        from_json(data)
