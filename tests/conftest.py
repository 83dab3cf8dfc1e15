"""Fixtures shared by the tests: a generated drop, the real catalog service, a real SMTP server."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

import changeImage
from automation import redact
from demo.processes import Server, start_catalog, start_smtp_sink
from demo.proxy import CatalogProxy
from demo.sample_drop import write_drop
from demo.smtp_sink import MailSink
from tests.health_helpers import Machine, feed
from tests.helpers import CONTRACT_ENV, NotOursToTouch

SMALL = (300, 200)  # photos small enough to keep the tests quick; the shape is the store's

# Hypothesis fails an example that takes over 200 ms by default: a timing check in disguise,
# which a loaded machine trips. No deadline, for every property test here.
hypothesis_settings.register_profile("no-deadline", deadline=None)
hypothesis_settings.load_profile("no-deadline")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fail-on-skip", action="store_true",
        help="count a skipped test as failed: for CI, which installs everything they need",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The slow tests first: under several workers (make test), the real cron daemon's wait
    for the next minute goes on while the other tests run, instead of at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport:
    """With --fail-on-skip, a skip is a failure that still gives its reason (unless what
    stands in the way is not the test's to touch)."""
    report = yield
    if (report.skipped and item.config.getoption("--fail-on-skip")
            and not hasattr(report, "wasxfail")
            and not (call.excinfo and call.excinfo.errisinstance(NotOursToTouch))):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped, where --fail-on-skip wants it run: {reason}"
    return report


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep the tester's own settings and state folder out of every test."""
    for name in CONTRACT_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "user-state"))
    redact.forget()  # the secrets an earlier test registered are not this one's


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """A script's main() sets up the root logger (-q: errors only); undo it after each test,
    so that no later test misses a warning in caplog, whatever the order."""
    root = logging.getLogger()
    level, handlers, hook = root.level, list(root.handlers), sys.excepthook
    yield
    sys.excepthook = hook  # setup_logging reports uncaught errors through logging
    root.setLevel(level)
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    """A supplier drop of the store's ten products, with small photos."""
    root = tmp_path / "supplier-data"
    write_drop(root, size=SMALL)
    return root


@pytest.fixture
def converted(drop: Path) -> Path:
    """The sample drop with its catalog JPEGs made."""
    assert changeImage.main(["--data-dir", str(drop), "--jobs", "1", "-q"]) == 0
    return drop


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[Server]:
    """The bundled catalog service, running on a free loopback port with its own database."""
    server = start_catalog(tmp_path / "catalog-service")
    yield server
    server.stop()


@dataclass
class Mailbox:
    """A real SMTP server (aiosmtpd) on loopback, and what it received."""

    port: int
    sink: MailSink

    def messages(self) -> list[EmailMessage]:
        """Every message received so far, oldest first."""
        return self.sink.messages()


@pytest.fixture
def mailbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    """A real SMTP server in a process of its own, with SMTP_HOST and SMTP_PORT pointing at it.

    Its own process, not a thread of the tests': changeImage forks its workers, and a process
    that forks must have no other thread (a lock held there stays held in the child).
    """
    server = start_smtp_sink(tmp_path / "mail")
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(server.port))
    yield Mailbox(server.port, MailSink(tmp_path / "mail"))
    server.stop()


@pytest.fixture
def proxy(catalog: Server) -> Iterator[CatalogProxy]:
    """A fault proxy in front of the real service (demo/proxy.py)."""
    started = CatalogProxy(catalog.url).start()
    yield started
    started.stop()


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch) -> Iterator[Machine]:
    """A healthy machine whose readings the test sets (tests/health_helpers.py)."""
    yield from feed(monkeypatch)


@pytest.fixture
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries wait milliseconds instead of seconds, the catalog's and the mail's: the waits
    are not what is tested. (A module takes it with pytest.mark.usefixtures.)"""
    monkeypatch.setattr("automation.catalog.BACKOFF_SECONDS", 0.01)
    monkeypatch.setattr("automation.mail.BACKOFF_SECONDS", 0.01)
