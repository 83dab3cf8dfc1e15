"""Judging: a limit on a reading and the words for both outcomes. Pure: no system access."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from automation import cli

MB = 1024 * 1024  # bytes in the MB of --memory-min-mb and of the subjects

OK = "ok"
FAILING = "failing"
UNKNOWN = "unknown"
EXIT_CODES = {OK: cli.OK, FAILING: cli.ITEMS_FAILED, UNKNOWN: cli.CANNOT_RUN}

PERCENT = "%"
BYTES = "B"
PLAIN = ""


def number(value: float, places: int = 1) -> str:
    """A number as people write it: 80, 12.5, 10000000 (never 80.0 or 1e+07)."""
    return f"{value:.{places}f}".rstrip("0").rstrip(".") if places else f"{value:.0f}"


@dataclass(frozen=True)
class Reading:
    """A reading in base units (percent, bytes or a plain number) and the bound it is held to.

    What the monitors are given: Nagios performance data, Prometheus samples.
    """

    quantity: str  # what it measures, as a metric names it: cpu_usage, disk_free, ...
    value: float
    unit: str  # PERCENT, BYTES or PLAIN
    bound: float
    upper: bool  # True: it must not go over the bound; False: not under it
    help: str = ""  # what it is, in a sentence, for the metrics file


class Judge(Protocol):
    """What a check is judged by: a test of its reading and the words for both outcomes."""

    key: str

    def fails(self, value: Any) -> bool: ...
    def problem(self) -> str: ...
    def recovery(self) -> str: ...
    def describe(self, value: Any) -> str: ...
    def summary(self, value: Any) -> str: ...
    def reading(self, value: Any) -> Reading | None: ...


@dataclass(frozen=True)
class Limit:
    """A bound on a number (in base units: percent, bytes) and the words that name it."""

    key: str
    what: str
    bound: float
    upper: bool  # True: the reading must not go over the bound; False: not under it
    unit: str = "%"  # the unit people read
    scale: float = 1.0  # base units per unit shown (MB for memory)
    place: str = ""  # where it is read: a disk's path
    named: bool = False  # whether the subject names the place (else the reading says it)
    verb: str = "is"
    quantity: str = ""  # the reading's name for the monitors (default: the key)
    help: str = ""  # what the reading is, in a sentence, for the metrics file

    @property
    def base(self) -> str:
        """The unit of the reading itself: percent, bytes (for MB shown) or a plain number."""
        return {"%": PERCENT, "MB": BYTES}.get(self.unit, PLAIN)

    def fails(self, value: float) -> bool:
        """Whether the reading is beyond the bound (the bound itself is fine)."""
        return value > self.bound if self.upper else value < self.bound

    def shown(self, value: float, places: int = 1) -> str:
        """A value in the unit people read."""
        return f"{number(value / self.scale, places)}{self.unit}"

    def subject(self) -> str:
        """What is judged, as the subject names it: `Available disk space on /var`."""
        return f"{self.what} on {self.place}" if self.named else self.what

    def problem(self) -> str:
        """The problem in the contract's words: `CPU usage is over 80%`."""
        side = "over" if self.upper else "less than"
        return f"{self.subject()} {self.verb} {side} {self.shown(self.bound, 6)}"

    def recovery(self) -> str:
        """The end of the problem: `CPU usage is back under 80%`."""
        side = "under" if self.upper else "above"
        return f"{self.subject()} {self.verb} back {side} {self.shown(self.bound, 6)}"

    def describe(self, value: float) -> str:
        """The reading: `it is 93.5%`, and where when the subject does not say."""
        pronoun = "they are" if self.verb == "are" else "it is"
        where = f" on {self.place}" if self.place and not self.named else ""
        return f"{pronoun} {self.shown(value)}{where}"

    def summary(self, value: float) -> str:
        """The reading in a status line: `CPU usage 5.2%`, `Available disk space 60% on /`."""
        return f"{self.what} {self.shown(value)}" + (f" on {self.place}" if self.place else "")

    def reading(self, value: float) -> Reading:
        """The reading in base units, for the monitors."""
        return Reading(self.quantity or self.key, value, self.base, self.bound, self.upper,
                       self.help)


@dataclass(frozen=True)
class Resolves:
    """A name must resolve to an address (among its IPv4 answers)."""

    name: str
    address: str

    @property
    def key(self) -> str:
        return self.name

    def fails(self, addresses: Sequence[str]) -> bool:
        return self.address not in addresses

    def problem(self) -> str:
        return f"{self.name} cannot be resolved to {self.address}"

    def recovery(self) -> str:
        return f"{self.name} resolves to {self.address} again"

    def describe(self, addresses: Sequence[str]) -> str:
        return f"it resolves to {', '.join(addresses) or 'nothing'}"

    def summary(self, addresses: Sequence[str]) -> str:
        return f"{self.name} resolves to {', '.join(addresses) or 'nothing'}"

    def reading(self, addresses: Sequence[str]) -> None:
        return None  # addresses are not a number


@dataclass(frozen=True)
class Answers:
    """The catalog service must answer GET <url>/fruits/."""

    url: str

    @property
    def key(self) -> str:
        return f"catalog {self.url}"

    def fails(self, answers: bool) -> bool:
        return not answers

    def problem(self) -> str:
        return f"the catalog at {self.url} does not answer"

    def recovery(self) -> str:
        return f"the catalog at {self.url} answers again"

    def describe(self, answers: bool) -> str:
        return "it answers" if answers else "it does not answer"

    def summary(self, answers: bool) -> str:
        return f"the catalog at {self.url} {'answers' if answers else 'does not answer'}"

    def reading(self, answers: bool) -> None:
        return None


@dataclass(frozen=True)
class Verdict:
    """One check's outcome in this run.

    name: the check as --silence and the metrics name it (cpu, disk, ...); labels: what else
    tells it apart there (a disk's path); reading: the number, for the monitors.
    """

    key: str
    state: str
    problem: str
    recovery: str
    detail: str
    name: str = ""
    labels: tuple[tuple[str, str], ...] = ()
    summary: str = ""
    reading: Reading | None = field(default=None, compare=False)

    @property
    def check(self) -> str:
        """The check's name (the key when none was given)."""
        return self.name or self.key


def judge(limit: Judge, value: Any) -> Verdict:
    """Compare a reading with the limit in force."""
    state = FAILING if limit.fails(value) else OK
    return Verdict(limit.key, state, limit.problem(), limit.recovery(), limit.describe(value),
                   summary=limit.summary(value), reading=limit.reading(value))


def unreadable(limit: Judge, reason: str) -> Verdict:
    """The verdict on a check whose reading could not be made."""
    return Verdict(limit.key, UNKNOWN, limit.problem(), limit.recovery(),
                   f"cannot read it: {reason}", summary=f"cannot check {limit.key}: {reason}")


def worst(verdicts: Sequence[Verdict]) -> int:
    """The run's exit code: the worst state among the checks."""
    states = {verdict.state for verdict in verdicts}
    for state in (UNKNOWN, FAILING):
        if state in states:
            return EXIT_CODES[state]
    return EXIT_CODES[OK]
