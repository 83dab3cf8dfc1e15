"""The checks of the command line: each a reading and the limit it is judged by."""

from __future__ import annotations

import argparse
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Any

from automation import redact, settings
from automation.health import measure
from automation.health.judge import (
    FAILING,
    MB,
    UNKNOWN,
    Answers,
    Judge,
    Limit,
    Resolves,
    Verdict,
    judge,
    unreadable,
)
from automation.health.measure import CpuUsage, Unreadable

log = logging.getLogger(__name__)

DISK_PATH = "/"


@dataclass(frozen=True)
class Probe:
    """What a reader is given: where it reads (a disk's path, the catalog's URL), how long it may
    take, and this run's CPU reading."""

    timeout: float
    place: str = ""
    cpu: CpuUsage | None = None


@dataclass(frozen=True)
class Kind:
    """One kind of check, declared once: its name (for --silence and the metrics), its flag and
    default, its reader, its limit and the words of its subject, and the metric's help.

    A default of None checks it only when the flag is given. `place` says where it is read:
    "path" once per --disk-path, "url" at the flag's value. `judge` replaces the numeric limit
    (a name that must resolve, a service that must answer).
    """

    name: str
    read: Callable[[Probe], Any]
    words: str = ""
    flag: str | None = None
    default: Any = None
    type: Callable[[str], Any] | None = None
    metavar: str | None = None
    flag_help: str = ""
    upper: bool = True
    unit: str = "%"
    scale: float = 1.0
    verb: str = "is"
    place: str = ""
    quantity: str = ""
    help: str = ""
    judge: Callable[[str], Judge] | None = None

    @property
    def dest(self) -> str:
        """The attribute argparse stores its flag's value in."""
        return (self.flag or "").lstrip("-").replace("-", "_")

    def limit(self, bound: float, place: str, named: bool) -> Judge:
        """What a reading of it is judged by: the bound in the flag's unit, where it is read."""
        if self.judge is not None:
            return self.judge(place)
        key = f"{self.name} {place}" if place else self.name
        return Limit(key, self.words, bound * self.scale, upper=self.upper, unit=self.unit,
                     scale=self.scale, place=place, named=named, verb=self.verb,
                     quantity=self.quantity, help=self.help)


def read_cpu(probe: Probe) -> float:
    """This run's CPU usage."""
    assert probe.cpu is not None
    return probe.cpu()


def read_catalog(probe: Probe) -> bool:
    """Whether the catalog at the flag's URL answers; a URL that cannot be used makes this check
    unknown alone."""
    try:
        url = settings.catalog_url(probe.place).rstrip("/")
    except argparse.ArgumentTypeError as error:
        raise Unreadable(f"--url: {redact.redact(str(error))}") from None
    return measure.read_catalog(url, probe.timeout)


# The checks, in the order they run. A new check is a reader (in measure.py) and one row here.
KINDS: tuple[Kind, ...] = (
    Kind("cpu", read_cpu, "CPU usage", "--cpu-max-percent", 80.0, settings.percent, "PERCENT",
         "alert when CPU usage is over this", quantity="cpu_usage",
         help="CPU usage over the interval since the previous run."),
    Kind("disk", lambda probe: measure.read_disk_free(probe.place, probe.timeout),
         "Available disk space", "--disk-min-free-percent", 20.0, settings.percent, "PERCENT",
         "alert when the free space on a --disk-path is less than this percentage of its size",
         upper=False, place="path", quantity="disk_free",
         help="Space users may still fill, as a share of the file system's size."),
    Kind("inodes", lambda probe: measure.read_inodes_free(probe.place, probe.timeout),
         "Free inodes", "--inodes-min-free-percent", None, settings.percent, "PERCENT",
         "also alert when the free inodes on a --disk-path are less than this percentage of "
         "them", upper=False, verb="are", place="path", quantity="inodes_free",
         help="Inodes users may still take, as a share of all of them."),
    Kind("memory", lambda probe: measure.read_memory(), "Available memory", "--memory-min-mb",
         500.0, settings.megabytes, "MB",
         "alert when available memory is less than this, in MB of 1024*1024 bytes",
         upper=False, unit="MB", scale=MB, quantity="memory_available",
         help="Memory that programs can be given without swapping."),
    Kind("swap", lambda probe: measure.read_swap_used(), "Swap in use", "--swap-max-percent",
         None, settings.percent, "PERCENT",
         "also alert when the swap in use is over this percentage of the swap space",
         quantity="swap_used", help="Swap in use, as a share of the swap space."),
    Kind("load", lambda probe: measure.read_load_per_cpu(), "Load average per CPU",
         "--load-max-per-cpu", None, settings.load, "LOAD",
         "also alert when the 5-minute load average divided by the number of CPUs is over this",
         unit="", quantity="load_per_cpu",
         help="Load average over 5 minutes, divided by the number of CPUs."),
    Kind("localhost", lambda probe: measure.read_addresses("localhost", probe.timeout),
         judge=lambda place: Resolves("localhost", "127.0.0.1")),
    Kind("catalog", read_catalog, flag="--url", metavar="URL",
         flag_help="also check that the catalog service at URL answers GET URL/fruits/",
         place="url", judge=lambda place: Answers(shown_url(place))),
)
# The names --silence and the metrics know the checks by, in the order they run.
CHECK_NAMES = tuple(kind.name for kind in KINDS)


@dataclass(frozen=True)
class Check:
    """A reading and the limit it is judged by, with the name and labels the outside uses."""

    name: str
    limit: Judge
    read: Callable[[], Any]
    labels: tuple[tuple[str, str], ...] = ()


def named_in_subject(path: str, paths: Sequence[str]) -> bool:
    """Whether a disk's subject names its path.

    The subject keeps the contract's words for / (and for the only path checked); with several
    paths, each other one is named in its subject, so that their alerts can be told apart.
    """
    return path != DISK_PATH and len(paths) > 1


def make_checks(options: settings.HealthSettings, cpu: CpuUsage | None) -> list[Check]:
    """The checks of the settings, made from KINDS: the contract's four, and those asked for."""
    checks = []
    paths = options.disk_paths
    timeout = options.probe_timeout
    for kind in KINDS:
        value = options.thresholds.get(kind.name)
        if kind.flag and value is None:
            continue
        if kind.place == "path":
            for path in paths:
                checks.append(Check(
                    kind.name, kind.limit(value, path, named_in_subject(path, paths)),
                    partial(kind.read, Probe(timeout, path, cpu)), (("path", path),)))
        elif kind.place == "url":
            shown = shown_url(value)
            checks.append(Check(kind.name, kind.limit(0, value, False),
                                partial(kind.read, Probe(timeout, value, cpu)),
                                (("url", shown),)))
        else:
            checks.append(Check(kind.name, kind.limit(value, "", False),
                                partial(kind.read, Probe(timeout, "", cpu))))
    return checks


def shown_url(text: str) -> str:
    """A URL as the alerts, the state and the metrics show it: without its user and password,
    a control character escaped."""
    url = redact.mask_url(text.strip()).rstrip("/")
    return re.sub(r"[\x00-\x1f\x7f-\x9f]", lambda match: ascii(match[0])[1:-1], url)


def cpu_usage(options: settings.HealthSettings, now: datetime) -> CpuUsage:
    """The CPU reading of the settings (give it the earlier sample before reading)."""
    return CpuUsage(None, now, options.cpu_interval, options.cpu_window)


def read_and_judge(check: Check) -> Verdict:
    """One check's verdict; a reading that cannot be made is unknown."""
    try:
        verdict = judge(check.limit, check.read())
    except OSError as error:
        verdict = unreadable(check.limit, getattr(error, "strerror", None) or str(error))
    except Unreadable as error:
        verdict = unreadable(check.limit, str(error))
    return replace(verdict, name=check.name, labels=check.labels)


def take_readings(checks: Sequence[Check]) -> list[Verdict]:
    """Read and judge every check; one that cannot be read is unknown, the others go on."""
    return [tell(read_and_judge(check)) for check in checks]


def tell(verdict: Verdict) -> Verdict:
    """Log a verdict: a failing check is a warning, one that cannot be made an error."""
    if verdict.state == FAILING:
        log.warning("%s (%s)", verdict.problem, verdict.detail)
    elif verdict.state == UNKNOWN:
        log.error("cannot check %s: %s", verdict.key, verdict.detail)
    else:
        log.info("ok: %s: %s", verdict.key, verdict.detail)
    return verdict
