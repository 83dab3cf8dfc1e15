"""Remembering: what the health check keeps between runs, typed, in a small JSON file.

The file (HEALTH_STATE_FILE) is plain JSON an admin can read and edit: the checks failing now,
the mail not sent yet, the silences in force and the CPU times of the last run. A file this
script did not write is set aside (`.corrupt`) and the run starts afresh.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from automation.files import write_atomically
from automation.health.measure import CpuSample

log = logging.getLogger(__name__)

STATE_VERSION = 2
READABLE_VERSIONS = (1, 2)  # version 1: before --fail-after, silences and the CPU times

ALERT = "alert"
REMINDER = "reminder"
RECOVERY = "recovery"
KINDS = (ALERT, REMINDER, RECOVERY)


def silenced(check: str, silences: Mapping[str, datetime], now: datetime) -> bool:
    """Whether a silence holds a check's alerts now (the one place that says so)."""
    return silences.get(check, now) > now


@dataclass(frozen=True)
class Problem:
    """A check failing now: since when, for how many runs in a row, and what was told."""

    problem: str
    since: datetime
    runs: int = 1
    announced: datetime | None = None  # the last alert or reminder; None: not told yet
    reminders: int = 0


@dataclass(frozen=True)
class Message:
    """A mail to send, kept until the SMTP server takes it."""

    check: str
    kind: str
    subject: str
    body: str
    raised: datetime


@dataclass(frozen=True)
class State:
    """Everything the state file holds."""

    failing: Mapping[str, Problem] = field(default_factory=dict)
    outbox: tuple[Message, ...] = ()
    silences: Mapping[str, datetime] = field(default_factory=dict)  # check name: until
    cpu: CpuSample | None = None


# JSON, both ways.


def stamp(moment: datetime) -> str:
    """A time as stored: ISO 8601 with its offset."""
    return moment.isoformat(timespec="seconds")


def parse_time(text: Any) -> datetime:
    """A stored time; ValueError when it is not one with an offset."""
    if not isinstance(text, str):
        raise ValueError(f"not a time: {text!r}")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"a time without its offset: {text!r}")
    return moment


def whole(value: Any, what: str) -> int:
    """A stored count; ValueError when it is not one."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{what} is not a count: {value!r}")
    return value


def seconds(value: Any, what: str) -> float:
    """A stored number of seconds; ValueError when it is not one."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{what} is not a number: {value!r}")
    return float(value)


def to_json(state: State) -> dict[str, Any]:
    """The state as the file keeps it."""
    data: dict[str, Any] = {
        "version": STATE_VERSION,
        "failing": {key: {"problem": entry.problem, "since": stamp(entry.since),
                          "runs": entry.runs,
                          "announced": stamp(entry.announced) if entry.announced else None,
                          "reminders": entry.reminders}
                    for key, entry in state.failing.items()},
        "outbox": [{"check": message.check, "kind": message.kind, "subject": message.subject,
                    "body": message.body, "raised": stamp(message.raised)}
                   for message in state.outbox],
        "silences": {check: stamp(until) for check, until in state.silences.items()},
    }
    if state.cpu is not None:
        data["cpu"] = {"taken": stamp(state.cpu.taken), "boot": state.cpu.boot,
                       "times": dict(state.cpu.times)}
    return data


def problem_from_json(key: str, entry: Any, version: int) -> Problem:
    """One failing check of the file."""
    if not isinstance(entry, dict) or not isinstance(entry.get("problem", ""), str):
        raise ValueError(f"failing[{key!r}] is not an object with its problem")
    announced = entry.get("announced")
    if announced is None and version == 1:
        raise ValueError(f"failing[{key!r}] lacks when it was announced")  # then, all were
    return Problem(
        problem=entry.get("problem", ""),
        since=parse_time(entry.get("since")),
        runs=whole(entry.get("runs", 1), f"failing[{key!r}].runs"),
        announced=None if announced is None else parse_time(announced),
        reminders=whole(entry.get("reminders", 0), f"failing[{key!r}].reminders"),
    )


def message_from_json(entry: Any) -> Message:
    """One mail of the outbox."""
    if not isinstance(entry, dict) or not all(
        isinstance(entry.get(name), str) for name in ("check", "kind", "subject", "body")
    ):
        raise ValueError("an outbox entry lacks its check, kind, subject or body")
    if entry["kind"] not in KINDS:
        raise ValueError(f"an outbox entry of an unknown kind: {entry['kind']!r}")
    return Message(entry["check"], entry["kind"], entry["subject"], entry["body"],
                   parse_time(entry.get("raised")))


def cpu_from_json(data: Any) -> CpuSample | None:
    """The CPU times of the last run, when there are any."""
    if data is None:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("times"), dict):
        raise ValueError("'cpu' must be an object with its times")
    times = {name: seconds(value, f"cpu.times.{name}") for name, value in data["times"].items()}
    return CpuSample(parse_time(data.get("taken")), seconds(data.get("boot"), "cpu.boot"), times)


def from_json(data: Any) -> State:
    """The state of a file's JSON; ValueError when it is not what this script writes."""
    if not isinstance(data, dict) or data.get("version") not in READABLE_VERSIONS:
        raise ValueError(f"not version {STATE_VERSION} of the health check's state")
    version = data["version"]
    failing, outbox = data.get("failing", {}), data.get("outbox", [])
    silences = data.get("silences", {})
    if not isinstance(failing, dict) or not isinstance(outbox, list):
        raise ValueError("'failing' must be an object and 'outbox' a list")
    if not isinstance(silences, dict):
        raise ValueError("'silences' must be an object")
    return State(
        failing={key: problem_from_json(key, entry, version) for key, entry in failing.items()},
        outbox=tuple(message_from_json(entry) for entry in outbox),
        silences={check: parse_time(until) for check, until in silences.items()},
        cpu=cpu_from_json(data.get("cpu")),
    )


# The file.


def load_state(path: Path) -> State:
    """The remembered state; none is an empty state, and so is a corrupt one, set aside."""
    try:
        text = path.read_text(encoding="utf-8")
        return from_json(json.loads(text))
    except FileNotFoundError:
        log.info("%s: no state yet: nothing is known to be failing", path)
        return State()
    except (ValueError, OSError) as error:  # UnicodeDecodeError and JSON's errors are ValueErrors
        reason = getattr(error, "strerror", None) or error
    aside = path.with_name(path.name + ".corrupt")
    try:
        os.replace(path, aside)  # kept for a look, and the next run does not warn again
    except OSError:
        aside = path
    log.warning("%s: not a state this script wrote (%s): starting afresh (it is now %s)",
                path, reason, aside)
    return State()


def save_state(path: Path, state: State) -> None:
    """Write the state atomically."""
    write_atomically(path, json.dumps(to_json(state), indent=2, ensure_ascii=False) + "\n")


def try_save(path: Path, state: State) -> None:
    """Save the state; a failure (a full disk) is an error line, and the run goes on."""
    try:
        save_state(path, state)
    except OSError as error:
        log.error("%s: cannot save the state (%s): alerts may be repeated",
                  path, error.strerror or error)
