"""Measuring: each function reads one thing of the machine, in base units, and decides nothing.

CPU usage is the share of busy CPU time over the whole interval since the previous run: the
CPU times of each run are kept in the state, and the next run compares its own with them. Only
a run without a usable earlier reading (none, too old, too recent, or from before a reboot)
samples for --cpu-interval seconds instead.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psutil

from automation import settings
from automation.health.judge import number

log = logging.getLogger(__name__)

BOOT_TOLERANCE = 5.0  # seconds: the kernel's boot time moves a little when the clock is set


class Unreadable(Exception):
    """A reading that cannot be made, for a reason other than the system's (a setting that
    cannot be used): the check is unknown, the others go on."""


def within(seconds: float, work: Callable[..., Any], *args: Any) -> Any:
    """work(*args), given up after `seconds` (a hung resolver or mount must not hang the run).

    It runs in a daemon thread, which a stuck call leaves behind to die with the process.
    """
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = work(*args)
        except BaseException as error:  # handed to the caller below
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True, name=getattr(work, "__name__", "probe"))
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise TimeoutError(f"no answer within {number(seconds)} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


# CPU: the counters of one moment, and the usage between two of them.


@dataclass(frozen=True)
class CpuSample:
    """The machine's cumulative CPU times (seconds, as psutil.cpu_times() names them) at a time,
    and the boot they count from (psutil.boot_time(), seconds since the epoch)."""

    taken: datetime
    boot: float
    times: Mapping[str, float] = field(default_factory=dict)

    def busy_and_total(self, names: Collection[str] | None = None) -> tuple[float, float]:
        """Busy and total CPU seconds (of the times named, default all), counted as
        psutil.cpu_percent() counts them."""
        times = {name: value for name, value in self.times.items()
                 if names is None or name in names}
        # guest time is already counted in user and nice on Linux
        total = sum(times.values()) - times.get("guest", 0.0) - times.get("guest_nice", 0.0)
        idle = times.get("idle", 0.0) + times.get("iowait", 0.0)
        return total - idle, total


def take_cpu_sample(now: datetime) -> CpuSample:
    """The CPU times now."""
    return CpuSample(now, psutil.boot_time(), dict(psutil.cpu_times()._asdict()))


def unusable(earlier: CpuSample | None, later: CpuSample, shortest: timedelta,
             longest: timedelta) -> str | None:
    """Why an earlier sample cannot measure the interval up to a later one; None when it can."""
    if earlier is None:
        return "no earlier reading"
    if abs(later.boot - earlier.boot) > BOOT_TOLERANCE:
        return "the earlier reading is from before a reboot"
    age = later.taken - earlier.taken
    if age < timedelta(0):
        return "the earlier reading is from a later time (the clock went back)"
    if age < shortest:
        return f"the earlier reading is only {number(age.total_seconds())} s old"
    if age > longest:
        return f"the earlier reading is {number(age.total_seconds() / 60)} min old"
    (busy_before, total_before), (busy_now, total_now) = both(earlier, later)
    if total_now <= total_before or busy_now < busy_before:
        return "the CPU times went back (a reboot?)"
    return None


def both(earlier: CpuSample, later: CpuSample) -> tuple[tuple[float, float], ...]:
    """Busy and total CPU seconds of two samples, over the times both name (another psutil
    may name more)."""
    names = set(earlier.times) & set(later.times)
    return earlier.busy_and_total(names), later.busy_and_total(names)


def usage_between(earlier: CpuSample, later: CpuSample) -> float:
    """CPU usage in percent over the interval between two samples of the same boot."""
    (busy_before, total_before), (busy_now, total_now) = both(earlier, later)
    busy, total = busy_now - busy_before, total_now - total_before
    return round(min(100.0, max(0.0, busy / total * 100)), 1)


@dataclass
class CpuUsage:
    """The CPU reading of a run: usage since the earlier sample, or sampled for `interval`
    seconds when there is no usable one. Keeps the sample it took, for the next run."""

    earlier: CpuSample | None
    now: datetime
    interval: float
    longest: timedelta
    sample: CpuSample | None = None

    def __call__(self) -> float:
        later = take_cpu_sample(self.now)
        reason = unusable(self.earlier, later, timedelta(seconds=self.interval), self.longest)
        if reason is None:
            assert self.earlier is not None
            self.sample = later
            return usage_between(self.earlier, later)
        log.info("CPU: %s: sampling for %s s", reason, number(self.interval))
        # psutil's first call without an interval answers a meaningless 0.0: give it one.
        percent = psutil.cpu_percent(interval=self.interval)
        self.sample = take_cpu_sample(self.now + timedelta(seconds=self.interval))
        return percent


# Disks, memory, load.


def read_disk_free(path: str, timeout: float) -> float:
    """The space that users may still fill on the file system of path, in percent of its size."""
    usage = within(timeout, psutil.disk_usage, path)
    return usage.free / usage.total * 100


def read_inodes_free(path: str, timeout: float) -> float:
    """The inodes users may still take on the file system of path, in percent of all of them.

    A file system without a fixed number of inodes (btrfs says 0) cannot run out: 100.
    """
    stats = within(timeout, os.statvfs, path)
    if not stats.f_files:
        return 100.0
    return stats.f_favail / stats.f_files * 100


def read_memory() -> int:
    """Available memory in bytes: what can be given to programs without swapping."""
    return psutil.virtual_memory().available


def read_swap_used() -> float:
    """Swap in use, in percent of the swap space (0 when there is none)."""
    swap = psutil.swap_memory()
    return swap.used / swap.total * 100 if swap.total else 0.0


def read_load_per_cpu() -> float:
    """The load average over 5 minutes, divided by the number of CPUs."""
    return psutil.getloadavg()[1] / (psutil.cpu_count() or 1)


# Names and services.


def read_addresses(name: str, timeout: float) -> tuple[str, ...]:
    """The IPv4 addresses a name resolves to (none when the resolver fails or hangs)."""
    try:
        answers = within(timeout, socket.getaddrinfo, name, None, socket.AF_INET)
    except (OSError, UnicodeError) as error:
        log.warning("resolving %s: %s", name, getattr(error, "strerror", None) or error)
        return ()
    return tuple(sorted({answer[4][0] for answer in answers}))


def read_catalog(url: str, timeout: float) -> bool:
    """Whether the catalog service answers GET <url>/fruits/ with its list, within timeout.

    Unreadable when CATALOG_TOKEN cannot be used, or the URL cannot be asked.
    """
    from automation.catalog import Catalog, CatalogError  # requests: only when --url is given

    try:
        token = settings.catalog_token()
    except settings.SettingError as error:
        raise Unreadable(str(error)) from None
    try:
        with Catalog(url, token=token, timeout=timeout, retries=0, pool_size=1) as catalog:
            catalog.fruits()
    except CatalogError as error:
        log.warning("%s", error)
        return False
    except ValueError as error:  # requests' InvalidURL: a URL that settings.catalog_url let by
        raise Unreadable(f"--url cannot be asked: {error}") from None
    return True
