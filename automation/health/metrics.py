"""Telling Prometheus: the verdicts and readings in its text format, for node_exporter's
textfile collector (which reads `*.prom` in its --collector.textfile.directory).

`fruit_health_check_ok{check="cpu"} 1` (0: failing, or not checked) for each check, its
silence, and each reading in base units: a percentage becomes a ratio from 0 to 1 (`_ratio`),
memory is in bytes (`_bytes`). No timestamps: the collector refuses them. The file is replaced
atomically, so that a scrape never reads half of it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

from automation.files import write_atomically
from automation.health.judge import BYTES, OK, PERCENT, Verdict
from automation.health.state import silenced

PREFIX = "fruit_health_"
Labels = tuple[tuple[str, str], ...]


def escaped(value: str) -> str:
    """A label value as the text format writes it: backslash, double quote and newline escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def sample(name: str, labels: Labels, value: float) -> str:
    """One sample line: name{label="value",...} value."""
    inside = ",".join(f'{key}="{escaped(text)}"' for key, text in labels)
    return f"{name}{{{inside}}} {figure(value)}" if inside else f"{name} {figure(value)}"


def figure(value: float) -> str:
    """A sample value as the text format writes it (integers exactly, NaN, +Inf)."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


def family(name: str, help_text: str, samples: Sequence[tuple[Labels, float]]) -> list[str]:
    """A metric family: its HELP and TYPE lines, then its samples (all gauges here)."""
    if not samples:
        return []
    help_line = help_text.replace("\\", "\\\\").replace("\n", "\\n")
    return [f"# HELP {name} {help_line}", f"# TYPE {name} gauge",
            *(sample(name, labels, value) for labels, value in samples)]


def in_base_units(value: float, unit: str) -> tuple[str, float]:
    """A reading's metric suffix and value in Prometheus's base units."""
    if unit == PERCENT:
        return "_ratio", value / 100
    if unit == BYTES:
        return "_bytes", value
    return "", value


def exposition(verdicts: Sequence[Verdict], silences: Mapping[str, datetime],
               now: datetime) -> str:
    """The text of the metrics file."""
    def labels_of(verdict: Verdict) -> Labels:
        return (("check", verdict.check), *verdict.labels)

    lines = family(f"{PREFIX}check_ok", "1 when the check passes, 0 when it fails or cannot "
                   "be made.", [(labels_of(v), int(v.state == OK)) for v in verdicts])
    lines += family(f"{PREFIX}check_silenced", "1 while a silence (--silence) holds the "
                    "check's alerts.",
                    [(labels_of(v), int(silenced(v.check, silences, now))) for v in verdicts])
    readings: dict[str, list[tuple[Labels, float]]] = {}
    helps: dict[str, str] = {}
    for verdict in verdicts:
        if verdict.reading is not None:
            suffix, value = in_base_units(verdict.reading.value, verdict.reading.unit)
            name = f"{verdict.reading.quantity}{suffix}"
            readings.setdefault(name, []).append((verdict.labels, value))
            helps.setdefault(name, verdict.reading.help or name)
    for name, samples in readings.items():
        lines += family(f"{PREFIX}{name}", helps[name], samples)
    lines += family(f"{PREFIX}last_run_timestamp_seconds", "When the health check last ran.",
                    [((), now.timestamp())])
    return "\n".join(lines) + "\n"


def write_metrics(path: Path, verdicts: Sequence[Verdict], silences: Mapping[str, datetime],
                  now: datetime) -> None:
    """Replace the metrics file atomically."""
    write_atomically(path, exposition(verdicts, silences, now))
