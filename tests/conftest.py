"""Fixtures shared by the tests: a generated drop, the real catalog service, a real SMTP server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest
import requests

from demo.processes import PROJECT, Server, free_port, start_catalog
from demo.sample_drop import write_drop
from demo.smtp_sink import MailSink, start_sink

# Every setting of the contract: a test sees only what it sets itself.
CONTRACT_ENV = (
    "SUPPLIER_DATA_DIR", "CATALOG_URL", "CATALOG_TOKEN", "CATALOG_TIMEOUT", "CATALOG_RETRIES",
    "SMTP_HOST", "SMTP_PORT", "SMTP_SECURITY", "SMTP_USER", "SMTP_PASSWORD", "SMTP_CA_FILE",
    "REPORT_SENDER", "REPORT_RECIPIENT", "ALERT_RECIPIENT", "REPORT_PDF", "HEALTH_STATE_FILE",
)
SMALL = (300, 200)  # photos small enough to keep the tests quick; the shape is the store's


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the tester's own settings out of every test."""
    for name in CONTRACT_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    """A supplier drop of the store's ten products, with small photos."""
    root = tmp_path / "supplier-data"
    write_drop(root, size=SMALL)
    return root


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[Server]:
    """The bundled catalog service, running on a free loopback port with its own database."""
    server = start_catalog(tmp_path / "catalog-service")
    yield server
    server.stop()


def catalog_fruits(server: Server) -> list[dict]:
    """What the service holds: GET /fruits/."""
    response = requests.get(f"{server.url}/fruits/", timeout=10)
    response.raise_for_status()
    return response.json()


def media_files(server: Server) -> list[str]:
    """The names of the image files the service stored."""
    folder = Path(server.log).parent / "media" / "images"
    return sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []


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
    """A real SMTP server, with SMTP_HOST and SMTP_PORT pointing at it."""
    port = free_port()
    controller = start_sink(tmp_path / "mail", port)
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(port))
    yield Mailbox(port, controller.handler)
    controller.stop()


def run_script(script: str, *args: str, env: dict[str, str] | None = None,
               timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run one of the project's scripts as the operator does: python3 SCRIPT.py ARGS."""
    environment = {k: v for k, v in os.environ.items() if k not in CONTRACT_ENV}
    return subprocess.run(
        [sys.executable, script, *args], cwd=PROJECT, env={**environment, **(env or {})},
        capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
    )
