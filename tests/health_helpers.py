"""What the health check's tests share: a machine whose readings a test sets, fed through
psutil (and os.statvfs, and the resolver's answer for localhost), and the contract's subjects.

Only readings are fed: the checks, the judge, the state, the mail and the outputs are real.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import SimpleNamespace

import psutil
import pytest

from automation.health.judge import MB

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=timezone.utc)
BOOT = 1_795_000_000.0  # the fed machine's boot time, seconds since the epoch

CPU_ALERT = "Error - CPU usage is over 80%"
DISK_ALERT = "Error - Available disk space is less than 20%"
MEMORY_ALERT = "Error - Available memory is less than 500MB"
LOCALHOST_ALERT = "Error - localhost cannot be resolved to 127.0.0.1"
MEMORY_OK = "OK - Available memory is back above 500MB"
# Thresholds no machine crosses, so that a real reading fails only where a test forces it.
NEVER = ("--cpu-max-percent", "100", "--disk-min-free-percent", "0", "--memory-min-mb", "0")


@dataclass
class Machine:
    """The readings the checks get: set them in a test.

    CPU: each psutil.cpu_times() call moves the counters on by 100 s of CPU time, `cpu`
    percent of it busy, so the usage over the interval between two runs is `cpu`;
    psutil.cpu_percent(interval) (the one-second sample) answers `cpu` too and is counted.
    Disks: free space and free inodes by path; psutil is asked about no other path.
    """

    cpu: float = 5.0
    disks: dict[str, float] = field(default_factory=lambda: {"/": 60.0})
    inodes: dict[str, float | None] = field(default_factory=lambda: {"/": 90.0})  # None: no count
    memory: int = 8 * 1024 * MB
    swap_total: int = 2048 * MB
    swap_used: int = 0
    load5: float = 0.5
    cpus: int = 2
    boot: float = BOOT
    localhost: tuple[str, ...] = ("127.0.0.1",)
    resolver_hangs: bool = False
    busy_seconds: float = 1000.0
    idle_seconds: float = 9000.0
    samples: list[float] = field(default_factory=list)  # the intervals cpu_percent was given
    disks_asked: list[str] = field(default_factory=list)

    @property
    def disk_free_percent(self) -> float:
        """Free space on /."""
        return self.disks["/"]

    @disk_free_percent.setter
    def disk_free_percent(self, value: float) -> None:
        self.disks["/"] = value

    def cpu_times(self) -> SimpleNamespace:
        """The counters now, moved on by one step."""
        self.busy_seconds += self.cpu
        self.idle_seconds += 100 - self.cpu
        times = {"user": self.busy_seconds * 0.75, "nice": 0.0, "system": self.busy_seconds / 4,
                 "idle": self.idle_seconds, "iowait": 0.0, "irq": 0.0, "softirq": 0.0,
                 "steal": 0.0, "guest": 0.0, "guest_nice": 0.0}
        return SimpleNamespace(_asdict=lambda: times)


def feed(monkeypatch: pytest.MonkeyPatch) -> Iterator[Machine]:
    """A healthy machine whose readings the test sets (the body of a `machine` fixture)."""
    fed = Machine()
    real_getaddrinfo = socket.getaddrinfo
    real_statvfs = os.statvfs
    released = threading.Event()

    def disk_usage(path: str) -> SimpleNamespace:
        fed.disks_asked.append(path)
        if path not in fed.disks:
            raise FileNotFoundError(2, "No such file or directory", path)
        total = 1000 * MB
        free = int(total * fed.disks[path] / 100)
        return SimpleNamespace(total=total, used=total - free, free=free)

    def statvfs(path):
        if path not in fed.inodes:
            return real_statvfs(path)
        files = 0 if fed.inodes[path] is None else 1_000_000
        available = int(files * (fed.inodes[path] or 0) / 100)
        return SimpleNamespace(f_files=files, f_ffree=available, f_favail=available)

    def getaddrinfo(host, *args, **kwargs):  # only localhost is fed: SMTP still resolves
        if host != "localhost":
            return real_getaddrinfo(host, *args, **kwargs)
        if fed.resolver_hangs:
            released.wait()
        if not fed.localhost:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, 0))
                for address in fed.localhost]

    def cpu_percent(interval=None, percpu=False):
        fed.samples.append(interval)
        return fed.cpu

    monkeypatch.setattr(psutil, "cpu_times", fed.cpu_times)
    monkeypatch.setattr(psutil, "cpu_percent", cpu_percent)
    monkeypatch.setattr(psutil, "boot_time", lambda: fed.boot)
    monkeypatch.setattr(psutil, "disk_usage", disk_usage)
    monkeypatch.setattr(os, "statvfs", statvfs)
    monkeypatch.setattr(psutil, "virtual_memory", lambda: SimpleNamespace(available=fed.memory))
    monkeypatch.setattr(psutil, "swap_memory",
                        lambda: SimpleNamespace(total=fed.swap_total, used=fed.swap_used))
    monkeypatch.setattr(psutil, "getloadavg", lambda: (fed.load5 * 1.1, fed.load5, 0.1))
    monkeypatch.setattr(psutil, "cpu_count", lambda logical=True: fed.cpus)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield fed
    released.set()
