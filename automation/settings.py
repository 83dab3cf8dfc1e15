"""Every setting, declared once: its environment variable, its flag and its default."""

from __future__ import annotations

import argparse
import getpass
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Setting:
    """A setting read from the environment that a flag may override."""

    env: str
    flag: str
    default: str
    help: str

    def add_to(self, parser: argparse.ArgumentParser, **kwargs: object) -> None:
        """Declare the flag, its default taken from the environment when set there."""
        parser.add_argument(
            self.flag,
            default=os.environ.get(self.env) or self.default,
            help=f"{self.help} (env {self.env}, default {self.default or 'none'})",
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
CATALOG_RETRIES = Setting(
    "CATALOG_RETRIES", "--retries", "3", "times to retry a request that failed for the network"
)

# Credentials come only from the environment: a flag would show them in the process listing.
CATALOG_TOKEN_ENV = "CATALOG_TOKEN"


def add_catalog_flags(parser: argparse.ArgumentParser, jobs: int = 4) -> None:
    """Declare the flags of the scripts that talk to the catalog service."""
    CATALOG_URL.add_to(parser, metavar="URL")
    CATALOG_TIMEOUT.add_to(parser, type=positive_float, metavar="SECONDS")
    CATALOG_RETRIES.add_to(parser, type=non_negative_int, metavar="N")
    parser.add_argument(
        "--jobs", type=positive_int, default=jobs,
        help="send this many requests at once (default %(default)s)",
    )


def secret(env: str) -> str | None:
    """A credential from the environment, or None when it is unset or empty."""
    return os.environ.get(env) or None


def drop_dir(value: str) -> Path:
    """The drop folder named by a setting, with ~ expanded."""
    return Path(value).expanduser()


def positive_int(text: str) -> int:
    """argparse type: an integer of 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more: {text}")
    return value


def non_negative_int(text: str) -> int:
    """argparse type: an integer of 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be above 0: {text}")
    return value
