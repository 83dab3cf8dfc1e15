"""Starting the bundled catalog service and the SMTP sink as real processes, on free ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import requests

PROJECT = Path(__file__).resolve().parent.parent
SERVE = PROJECT / "catalog_service" / "serve.py"
SMTP_SINK = PROJECT / "demo" / "smtp_sink.py"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    """A server process that we started, and where it listens."""

    process: subprocess.Popen
    port: int
    log: Path

    @property
    def url(self) -> str:
        """Its base URL (for the catalog service)."""
        return f"http://127.0.0.1:{self.port}"

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop it and wait until it is gone."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _spawn(command: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    log.parent.mkdir(parents=True, exist_ok=True)
    output: IO[bytes] = log.open("ab")
    with output:
        return subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, **env},
        )


def _wait_until(ready: Callable[[], bool], server: Server, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{what} exited at start: see {server.log}")
        if ready():
            return
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{what} did not answer within {timeout:g} s: see {server.log}")


def start_catalog(
    data_dir: Path,
    port: int | None = None,
    token: str | None = None,
    workers: int = 1,
    threads: int = 8,
    timeout: float = 60.0,
) -> Server:
    """Start the bundled catalog service with its own database and media, and wait for it."""
    port = port or free_port()
    env = {"CATALOG_TOKEN": token or ""}
    command = [
        sys.executable, str(SERVE), "--host", "127.0.0.1", "--port", str(port),
        "--data-dir", str(data_dir), "--workers", str(workers), "--threads", str(threads),
    ]
    server = Server(_spawn(command, data_dir / "server.log", env), port, data_dir / "server.log")

    def answers() -> bool:
        try:
            return requests.get(f"{server.url}/fruits/", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    _wait_until(answers, server, "the catalog service", timeout)
    return server


def start_smtp_sink(folder: Path, port: int | None = None, timeout: float = 30.0) -> Server:
    """Start the SMTP sink as its own process, keeping mail in folder, and wait for it."""
    port = port or free_port()
    command = [sys.executable, str(SMTP_SINK), str(folder), "--port", str(port)]
    server = Server(_spawn(command, folder.parent / "smtp-sink.log", {}), port,
                    folder.parent / "smtp-sink.log")

    def answers() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False

    _wait_until(answers, server, "the SMTP sink", timeout)
    return server
