"""Telling a monitor (Nagios, Icinga, Naemon, Monit's `check program`): one plugin line.

The line is `STATE - text | perfdata`, its exit code the state's as the plugin API says (0 OK,
1 WARNING, 2 CRITICAL, 3 UNKNOWN). A failing check is CRITICAL, or WARNING while a silence
(--silence) holds it; one that cannot be read is UNKNOWN. As in nagiosplugin, the worst state is
the one with the highest code. Performance data are `'label'=value[UOM];[warn];[crit];[min];[max]`
in base units, the threshold given as the plugin API's range (`80`: over 80 is a problem, `20:`:
under 20 is).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime

from automation.health.judge import BYTES, FAILING, OK, PERCENT, UNKNOWN, Reading, Verdict, number
from automation.health.state import silenced
from automation.health.texts import shown_time

STATES = ("OK", "WARNING", "CRITICAL", "UNKNOWN")  # by exit code
OK_CODE, WARNING_CODE, CRITICAL_CODE, UNKNOWN_CODE = range(4)


def code_of(verdict: Verdict, silences: Mapping[str, datetime], now: datetime) -> int:
    """A check's plugin state."""
    if verdict.state == UNKNOWN:
        return UNKNOWN_CODE
    if verdict.state == FAILING:
        return WARNING_CODE if silenced(verdict.check, silences, now) else CRITICAL_CODE
    return OK_CODE


def label(verdict: Verdict, reading: Reading) -> str:
    """A perfdata label: the quantity and what tells it apart (`'disk_free /var'`), quoted
    when it is not one word. It may not hold ' or =."""
    text = " ".join([reading.quantity, *(value for _, value in verdict.labels)])
    text = re.sub(r"['=]", "_", text)
    return text if re.fullmatch(r"\w+", text) else f"'{text}'"


def figure(value: float) -> str:
    """A perfdata number: digits, a point and a sign only (no exponent, no locale)."""
    return number(value, 6) if isinstance(value, float) else str(value)


def perfdata(verdict: Verdict, reading: Reading) -> str:
    """One reading as performance data."""
    unit = reading.unit if reading.unit in (PERCENT, BYTES) else ""
    critical = figure(reading.bound) if reading.upper else f"{figure(reading.bound)}:"
    low, high = ("0", "100") if unit == PERCENT else ("0", "")
    fields = [f"{label(verdict, reading)}={figure(reading.value)}{unit}", "", critical, low, high]
    return ";".join(fields).rstrip(";")


def described(verdict: Verdict, code: int, silences: Mapping[str, datetime]) -> str:
    """What the line says of one check."""
    if code == UNKNOWN_CODE:
        return verdict.summary or f"cannot check {verdict.key}: {verdict.detail}"
    if verdict.state == OK:
        return verdict.summary or verdict.recovery
    text = f"{verdict.problem} ({verdict.detail})"
    if code == WARNING_CODE:
        text += f", silenced until {shown_time(silences[verdict.check])}"
    return text


def status(verdicts: Sequence[Verdict], silences: Mapping[str, datetime],
           now: datetime) -> tuple[str, int]:
    """The plugin's line and exit code: the problems first, worst first, then the readings."""
    codes = [code_of(verdict, silences, now) for verdict in verdicts]
    worst = max(codes, default=OK_CODE)
    if worst == OK_CODE:
        text = ", ".join(described(verdict, OK_CODE, silences) for verdict in verdicts)
    else:
        problems = sorted(((code, index) for index, code in enumerate(codes) if code),
                          key=lambda pair: (-pair[0], pair[1]))
        text = "; ".join(described(verdicts[index], code, silences) for code, index in problems)
    text = text.replace("|", "/")  # a | would start the performance data
    data = " ".join(perfdata(verdict, verdict.reading) for verdict in verdicts
                    if verdict.reading is not None)
    line = f"{STATES[worst]} - {text}" + (f" | {data}" if data else "")
    return line, worst


def unknown(reason: str) -> tuple[str, int]:
    """The line and code of a run that could not check at all."""
    return f"UNKNOWN - {reason.replace('|', '/')}", UNKNOWN_CODE
