"""Every setting, declared once: its environment variable, its flag and its default."""

from __future__ import annotations

import argparse
import getpass
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Setting:
    """A setting read from the environment that a flag may override."""

    env: str
    flag: str
    default: str | Callable[[], str]
    help: str

    def fallback(self) -> str:
        """The default used when the environment does not set it."""
        return self.default() if callable(self.default) else self.default

    def value(self) -> str:
        """The setting's value from the environment, or its default."""
        return os.environ.get(self.env) or self.fallback()

    def add_to(self, parser: argparse.ArgumentParser, **kwargs: object) -> None:
        """Declare the flag, its default taken from the environment when set there."""
        parser.add_argument(
            self.flag,
            default=self.value(),
            help=f"{self.help} (env {self.env}, default {self.fallback() or 'none'})",
            metavar=kwargs.pop("metavar", self.env),
            **kwargs,
        )


def default_recipient() -> str:
    """The contract's default recipient: <login name>@example.com."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no login name in a bare container
        login = "root"
    return f"{login}@example.com"


DATA_DIR = Setting("SUPPLIER_DATA_DIR", "--data-dir", "~/supplier-data", "the supplier drop")
CATALOG_URL = Setting("CATALOG_URL", "--url", "http://localhost", "the catalog service")
CATALOG_TIMEOUT = Setting(
    "CATALOG_TIMEOUT", "--timeout", "30", "seconds to wait for each answer of the service"
)
CATALOG_SETTLE = Setting(
    "CATALOG_SETTLE", "--settle", "",
    "seconds the service may still store a request after the client stopped waiting for its "
    "answer; the catalog is asked whether it landed only after that (default: the timeout)",
)
CATALOG_RETRIES = Setting(
    "CATALOG_RETRIES", "--retries", "3", "times to retry a request that failed for the network"
)

SMTP_HOST = Setting("SMTP_HOST", "--smtp-host", "localhost", "the SMTP server")
SMTP_PORT = Setting("SMTP_PORT", "--smtp-port", "25", "its port")
SMTP_SECURITY = Setting(
    "SMTP_SECURITY", "--smtp-security", "none", "how to secure it: none, starttls or ssl"
)
SMTP_USER = Setting("SMTP_USER", "--smtp-user", "", "the login name, when it asks for one")
SMTP_CA_FILE = Setting(
    "SMTP_CA_FILE", "--smtp-ca-file", "", "a CA certificate to trust besides the system's"
)
SMTP_SECURITIES = ("none", "starttls", "ssl")

REPORT_SENDER = Setting("REPORT_SENDER", "--sender", "automation@example.com", "the sender")
REPORT_RECIPIENT = Setting(
    "REPORT_RECIPIENT", "--recipient", default_recipient, "the supplier who gets the report"
)
ALERT_RECIPIENT = Setting(
    "ALERT_RECIPIENT", "--recipient", REPORT_RECIPIENT.value, "who gets the health alerts"
)
REPORT_PDF = Setting("REPORT_PDF", "--pdf", "/tmp/processed.pdf", "where to write the PDF report")
HEALTH_STATE_FILE = Setting(
    "HEALTH_STATE_FILE", "--state-file", "~/.local/state/fruit-catalog/health.json",
    "what the health check remembers between runs",
)

# Credentials come only from the environment: a flag would show them in the process listing.
CATALOG_TOKEN_ENV = "CATALOG_TOKEN"
SMTP_PASSWORD_ENV = "SMTP_PASSWORD"


def add_catalog_flags(
    parser: argparse.ArgumentParser, jobs: int = 8,
    jobs_help: str = "send this many requests at once",
) -> None:
    """Declare the flags of the scripts that talk to the catalog service."""
    CATALOG_URL.add_to(parser, metavar="URL")
    CATALOG_TIMEOUT.add_to(parser, type=positive_float, metavar="SECONDS")
    CATALOG_RETRIES.add_to(parser, type=non_negative_int, metavar="N")
    CATALOG_SETTLE.add_to(parser, type=non_negative_float, metavar="SECONDS")
    parser.set_defaults(settle=CATALOG_SETTLE.value() or None)  # None: the timeout
    parser.add_argument(
        "--jobs", type=positive_int, default=jobs, help=f"{jobs_help} (default %(default)s)",
    )
    parser.add_argument(
        "--lock-wait", type=non_negative_float, default=600, metavar="SECONDS",
        help="how long to wait while another run sends to the same catalog (default "
             "%(default)s)",
    )


def add_dry_run_flag(parser: argparse.ArgumentParser, sent: str) -> None:
    """Declare --dry-run: everything but sending and recording."""
    parser.add_argument(
        "--dry-run", action="store_true",
        help=f"check the whole drop, ask the catalog what it holds and print what would be "
             f"{sent}; send nothing, record nothing (the exit code is the real run's)",
    )


def add_smtp_flags(parser: argparse.ArgumentParser) -> None:
    """Declare the flags of the scripts that send mail (the password stays in the environment)."""
    SMTP_HOST.add_to(parser, metavar="HOST")
    SMTP_PORT.add_to(parser, type=positive_int, metavar="PORT")
    SMTP_SECURITY.add_to(parser, choices=SMTP_SECURITIES, metavar="{none,starttls,ssl}")
    SMTP_USER.add_to(parser, metavar="USER")
    SMTP_CA_FILE.add_to(parser, metavar="FILE")


def secret(env: str) -> str | None:
    """A credential from the environment, or None when it is unset or empty."""
    return os.environ.get(env) or None


def state_dir() -> Path:
    """The user's state folder of this project: what runs remember outside any drop
    ($XDG_STATE_HOME/fruit-catalog, by default ~/.local/state/fruit-catalog)."""
    base = os.environ.get("XDG_STATE_HOME") or "~/.local/state"
    return Path(base).expanduser() / "fruit-catalog"


def drop_dir(value: str) -> Path:
    """The drop folder named by a setting, with ~ expanded."""
    return Path(value).expanduser()


def number_type(
    convert: Callable[[str], Any], low: float, high: float | None = None, above: bool = False
) -> Callable[[str], Any]:
    """An argparse type: a finite number (int or float) from low, or above it, up to high."""
    what = "a whole number" if convert is int else "a number"
    if above:
        rule = f"above {low:g}"
    elif high is None:
        rule = f"{low:g} or more"
    else:
        rule = f"from {low:g} to {high:g}"

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None
        too_high = high is not None and value > high
        if not math.isfinite(value) or value < low or (above and value == low) or too_high:
            raise argparse.ArgumentTypeError(f"must be {rule}: {text}")
        return value

    return parse


positive_int = number_type(int, 1)
non_negative_int = number_type(int, 0)
positive_float = number_type(float, 0, above=True)
non_negative_float = number_type(float, 0)
percent = number_type(float, 0, 100)
