"""Starting the bundled catalog service and the SMTP sink as real processes, on free ports."""

from __future__ import annotations

import atexit
import contextlib
import errno
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import psutil
import requests

PROJECT = Path(__file__).resolve().parent.parent
SERVE = PROJECT / "catalog_service" / "serve.py"
SMTP_SINK = PROJECT / "demo" / "smtp_sink.py"
DATABASE = "db.sqlite3"  # in a catalog's data dir

# The ports free_port() handed out: each stays bound here, not listening, for the life of this
# process. A connection to it is refused, and the system gives it to nobody else (a port closed
# at once could be taken by another program before the caller uses its number).
_reserved: list[socket.socket] = []
_migrated: Path | None = None
_migrating = threading.Lock()


def free_port() -> int:
    """A TCP port on loopback that nothing listens on and that stays ours: connecting to it is
    refused, until a server of ours is started on it (start_catalog, start_smtp_sink, or any
    server that binds with SO_REUSEADDR, as asyncio's and gunicorn's do)."""
    probe = socket.socket()
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    probe.bind(("127.0.0.1", 0))
    _reserved.append(probe)
    return probe.getsockname()[1]


def listening_socket(port: int | None = None, timeout: float = 10.0) -> socket.socket:
    """A socket listening on loopback, on port or on one the system picks, for a server process
    to inherit: nothing can take the port between choosing it and serving on it.

    A port given is waited for while in use: a server just stopped on it may take a moment to
    be gone (the processes of a killed group do not all end at once).
    """
    deadline = time.monotonic() + timeout
    while True:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind(("127.0.0.1", port or 0))
            listener.listen(128)
            return listener
        except OSError as error:
            listener.close()
            if error.errno != errno.EADDRINUSE or time.monotonic() > deadline:
                raise RuntimeError(f"cannot listen on 127.0.0.1:{port}: {error.strerror}") from None
        time.sleep(0.05)


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

    def stop(self, sig: int = signal.SIGKILL) -> None:
        """Stop it, with every process it started, and wait until they are all gone.

        At once by default: a graceful stop would wait for gunicorn's graceful timeout (some
        seconds) whenever a client keeps a connection alive. What the servers keep is on disk
        before they answer (SQLite's journal, the media, each .eml), so nothing is lost. It
        returns only once no process of the server is left to take a request or hold its
        port (gunicorn's worker can outlive its killed master by a moment).
        """
        if self.process.poll() is not None:
            return
        family = [self.process.pid]
        with contextlib.suppress(psutil.Error):
            family += [child.pid for child in psutil.Process(self.process.pid).children(True)]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        deadline = time.monotonic() + 10
        while any(map(_alive, family)) and time.monotonic() < deadline:
            time.sleep(0.01)


def _alive(pid: int) -> bool:
    """Whether a process still runs (a zombie has closed its sockets: it does not)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _spawn(command: list[str], log: Path, env: dict[str, str],
           listener: socket.socket) -> subprocess.Popen:
    log.parent.mkdir(parents=True, exist_ok=True)
    output: IO[bytes] = log.open("ab")
    with output, listener:  # the child keeps its own copy of the listening socket
        return subprocess.Popen(
            [*command, "--fd", str(listener.fileno())], stdout=output,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env={**os.environ, **env},
            pass_fds=(listener.fileno(),), start_new_session=True,
        )


def _wait_until(ready: Callable[[], bool], server: Server, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{what} exited at start: see {server.log}")
        if ready():
            return
        time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"{what} did not answer within {timeout:g} s: see {server.log}")


def migrated_database() -> Path:
    """An empty catalog database, migrated once in this process: every new catalog starts from
    a copy of it, instead of migrating its own."""
    global _migrated
    with _migrating:
        if _migrated is None:
            folder = Path(tempfile.mkdtemp(prefix="catalog-migrated-"))
            atexit.register(shutil.rmtree, folder, True)
            done = subprocess.run(
                [sys.executable, str(SERVE), "--data-dir", str(folder), "--migrate-only"],
                capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False,
            )
            if done.returncode != 0:
                raise RuntimeError(f"cannot migrate the catalog's database: {done.stderr}")
            _migrated = folder / DATABASE
        return _migrated


def start_catalog(
    data_dir: Path,
    port: int | None = None,
    token: str | None = None,
    workers: int = 1,
    threads: int = 8,
    timeout: float = 60.0,
) -> Server:
    """Start the bundled catalog service with its own database and media, and wait for it.

    A data dir without a database gets a copy of an empty one migrated once per process; one
    with a database (a restart) keeps it.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, str(SERVE), "--data-dir", str(data_dir),
        "--workers", str(workers), "--threads", str(threads),
    ]
    if not (data_dir / DATABASE).exists():
        shutil.copyfile(migrated_database(), data_dir / DATABASE)
        command.append("--no-migrate")
    listener = listening_socket(port)
    port = listener.getsockname()[1]
    log = data_dir / "server.log"
    server = Server(_spawn(command, log, {"CATALOG_TOKEN": token or ""}, listener), port, log)

    def answers() -> bool:
        try:
            return requests.get(f"{server.url}/fruits/", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    _wait_until(answers, server, "the catalog service", timeout)
    return server


def start_smtp_sink(folder: Path, port: int | None = None, timeout: float = 30.0) -> Server:
    """Start the SMTP sink as its own process, keeping mail in folder, and wait for it."""
    listener = listening_socket(port)
    port = listener.getsockname()[1]
    log = folder.parent / "smtp-sink.log"
    start = log.stat().st_size if log.exists() else 0
    server = Server(_spawn([sys.executable, str(SMTP_SINK), str(folder)], log, {}, listener),
                    port, log)

    def says_it_serves() -> bool:  # a connection would be queued before it serves: ask it
        with log.open("rb") as output:
            output.seek(start)
            return b"SMTP sink on " in output.read()

    _wait_until(says_it_serves, server, "the SMTP sink", timeout)
    return server
