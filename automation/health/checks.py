"""The checks of the command line: each a reading and the limit it is judged by."""

from __future__ import annotations

import argparse
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
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

# The names --silence and the metrics know the checks by, in the order they run.
CHECK_NAMES = ("cpu", "disk", "inodes", "memory", "swap", "load", "localhost", "catalog")
DISK_PATH = "/"


@dataclass(frozen=True)
class Check:
    """A reading and the limit it is judged by, with the name and labels the outside uses."""

    name: str
    limit: Judge
    read: Callable[[], Any]
    labels: tuple[tuple[str, str], ...] = ()


def disk_paths(args: argparse.Namespace) -> list[str]:
    """The file systems to check: every --disk-path given, or /."""
    return list(dict.fromkeys(args.disk_path or [DISK_PATH]))


def named_in_subject(path: str, paths: Sequence[str]) -> bool:
    """Whether a disk's subject names its path.

    The subject keeps the contract's words for / (and for the only path checked); with several
    paths, each other one is named in its subject, so that their alerts can be told apart.
    """
    return path != DISK_PATH and len(paths) > 1


def make_checks(args: argparse.Namespace, cpu: CpuUsage) -> list[Check]:
    """The checks of the command line: the contract's four, and those asked for."""
    timeout = args.probe_timeout
    paths = disk_paths(args)
    checks = [Check("cpu", Limit("cpu", "CPU usage", args.cpu_max_percent, upper=True,
                                 quantity="cpu_usage"), cpu)]
    for path in paths:
        checks.append(Check(
            "disk",
            Limit(f"disk {path}", "Available disk space", args.disk_min_free_percent,
                  upper=False, place=path, named=named_in_subject(path, paths),
                  quantity="disk_free"),
            partial(measure.read_disk_free, path, timeout), (("path", path),)))
    if args.inodes_min_free_percent is not None:
        for path in paths:
            checks.append(Check(
                "inodes",
                Limit(f"inodes {path}", "Free inodes", args.inodes_min_free_percent,
                      upper=False, place=path, named=named_in_subject(path, paths), verb="are",
                      quantity="inodes_free"),
                partial(measure.read_inodes_free, path, timeout), (("path", path),)))
    checks.append(Check("memory", Limit("memory", "Available memory", args.memory_min_mb * MB,
                                        upper=False, unit="MB", scale=MB,
                                        quantity="memory_available"),
                        measure.read_memory))
    if args.swap_max_percent is not None:
        checks.append(Check("swap", Limit("swap", "Swap in use", args.swap_max_percent,
                                          upper=True, quantity="swap_used"),
                            measure.read_swap_used))
    if args.load_max_per_cpu is not None:
        checks.append(Check("load", Limit("load", "Load average per CPU", args.load_max_per_cpu,
                                          upper=True, unit="", quantity="load_per_cpu"),
                            measure.read_load_per_cpu))
    checks.append(Check("localhost", Resolves("localhost", "127.0.0.1"),
                        partial(measure.read_addresses, "localhost", timeout)))
    if args.url:
        checks.append(catalog_check(args.url, timeout))
    return checks


def shown_url(text: str) -> str:
    """A URL as the alerts, the state and the metrics show it: without its user and password,
    a control character escaped."""
    url = redact.mask_url(text.strip()).rstrip("/")
    return re.sub(r"[\x00-\x1f\x7f-\x9f]", lambda match: ascii(match[0])[1:-1], url)


def refused(reason: str) -> None:
    """The reading of a check whose setting cannot be used."""
    raise Unreadable(reason)


def catalog_check(text: str, timeout: float) -> Check:
    """The catalog check of --url; a URL that cannot be used makes this check unknown alone."""
    shown = shown_url(text)
    try:
        url = settings.catalog_url(text).rstrip("/")
    except argparse.ArgumentTypeError as error:
        read: Callable[[], Any] = partial(refused, f"--url: {redact.redact(str(error))}")
    else:
        read = partial(measure.read_catalog, url, timeout)
    return Check("catalog", Answers(shown), read, (("url", shown),))


def cpu_usage(args: argparse.Namespace, now: datetime) -> CpuUsage:
    """The CPU reading of the command line (give it the earlier sample before reading)."""
    return CpuUsage(None, now, args.cpu_interval, timedelta(minutes=args.cpu_window_minutes))


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
