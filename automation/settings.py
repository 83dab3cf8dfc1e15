"""Every setting, declared once: its environment variable, its flag, its default, and the check
of its value where it is read.

A value that cannot be used (a host name with a label over 63 characters, a URL that is not
one, a port over 65535, a duration over a year, an address with a line break, a credential
that SMTP or an HTTP header cannot carry) is refused in one line naming the setting: argparse's
error for a flag or a default from the environment (exit 2), SettingError elsewhere. A secret is
never shown in that line, and each one is registered with automation.redact as it is read.
"""

from __future__ import annotations

import argparse
import enum
import getpass
import ipaddress
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import getaddresses
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from automation import redact
from automation.errors import AutomationError

YEAR_SECONDS = 365 * 24 * 3600
MAX_RETRIES = 100
MAX_JOBS = 256
MAX_MEMORY_MB = 1e12  # a million TB: a bound that keeps the bytes a finite number

# C0 and C1 control characters (a line end, a tab, an escape), and the spaces among them.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")
_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
SMTP_SECURITIES = ("none", "starttls", "ssl")

_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+")


def _shown(value: float) -> str:
    """A bound as people write it: 0, 2.5, 31536000 (never 3.1536e+07)."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def number_type(
    convert: Callable[[str], Any], low: float, high: float | None = None, above: bool = False
) -> Callable[[str], Any]:
    """An argparse type: a finite number (int or float) from low, or above it, up to high."""
    what = "a whole number" if convert is int else "a number"
    rule = f"above {_shown(low)}" if above else f"{_shown(low)} or more"
    if high is not None:
        rule = f"{rule} and at most {_shown(high)}" if above else \
            f"from {_shown(low)} to {_shown(high)}"

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None
        too_high = high is not None and value > high
        infinite = isinstance(value, float) and not math.isfinite(value)  # an int may be huge
        if infinite or value < low or (above and value == low) or too_high:
            raise argparse.ArgumentTypeError(f"must be {rule}: {text.strip()!r}")
        return value

    return parse


positive_int = number_type(int, 1)
non_negative_int = number_type(int, 0)
positive_float = number_type(float, 0, above=True)
non_negative_float = number_type(float, 0)
percent = number_type(float, 0, 100)
port = number_type(int, 1, 65535)
retries = number_type(int, 0, MAX_RETRIES)
job_count = number_type(int, 1, MAX_JOBS)
seconds = number_type(float, 0, YEAR_SECONDS, above=True)  # a timeout, an interval
megabytes = number_type(float, 0, MAX_MEMORY_MB)
load = number_type(float, 0, 1e6, above=True)


def host_problem(host: str) -> str | None:
    """Why a text is not a host name (letters, digits, '-', non-ASCII ones as IDNA encodes them;
    each label 1 to 63 characters, 253 in all) nor an IP address; None when it is one."""
    if not host:
        return "it is empty"
    if _SPACE_OR_CONTROL.search(host):
        return "it holds a space or a control character"
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    try:
        encoded = host.removesuffix(".").encode("idna").decode("ascii")
    except UnicodeError:
        return ("a part between dots is empty, longer than 63 characters, or holds a character "
                "no host name has")
    if len(encoded) > 253:
        return "it is over 253 characters"
    if not all(_LABEL.fullmatch(label) for label in encoded.split(".")):
        return "letters, digits, '-' and '.' only"
    return None


def host_name(text: str) -> str:
    """An argparse type: a host name or an IP address, as the resolver takes it."""
    host = text.strip()
    problem = host_problem(host)
    if problem:
        raise argparse.ArgumentTypeError(f"not a host name: {host!r} ({problem})")
    return host


def catalog_url(text: str) -> str:
    """An argparse type: the catalog's base URL, http:// or https:// and a host; its password,
    if any, is registered as a secret and never shown (the URL is shown as ***:***@host)."""
    url = text.strip()
    redact.register_url(url)
    shown = redact.mask_url(url)
    if not url:
        raise argparse.ArgumentTypeError("is empty: give the catalog's URL, like http://localhost")
    if _SPACE_OR_CONTROL.search(url):
        raise argparse.ArgumentTypeError(
            f"not a URL: {shown!r} holds a space or a control character")
    # urllib's own messages may quote the host and port, where a password can end up: ours
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as error:
        reason = ("an IPv6 address without its ]" if "IPv6" in str(error)
                  else "its host changes under Unicode normalization")
        raise argparse.ArgumentTypeError(
            f"not a URL like http://host/: {shown!r} ({reason})") from None
    try:
        number = parts.port
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a URL: {shown!r} (its port is not a number from 1 to 65535)") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise argparse.ArgumentTypeError(
            f"not an http:// or https:// URL: {shown!r} (write it like http://localhost:8000)")
    if not host:
        raise argparse.ArgumentTypeError(f"not a URL like http://host/: {shown!r} has no host")
    if number == 0:
        raise argparse.ArgumentTypeError(f"not a URL: {shown!r} names port 0")
    problem = host_problem(host)
    if problem is None and not host.isascii():
        import idna  # what requests encodes a host with: IDNA 2008, stricter than Python's

        try:
            idna.encode(host, uts46=True)
        except (idna.IDNAError, UnicodeError) as error:
            problem = str(error)
    if problem:
        raise argparse.ArgumentTypeError(
            f"not a URL: the host of {shown!r} is not a host name ({problem})")
    return url


def email_address(text: str) -> str:
    """An argparse type: one e-mail address, bare or as `Name <name@example.com>`, that SMTP
    carries without SMTPUTF8 (ASCII before the @) and no line break can turn into headers."""
    value = text.strip()
    if not value:
        raise argparse.ArgumentTypeError("is empty: give an e-mail address, like name@example.com")
    if _CONTROL.search(value):
        raise argparse.ArgumentTypeError(
            f"not an e-mail address: {value!r} holds a line break or a control character")
    pairs = getaddresses([value])
    if len(pairs) != 1 or "@" not in pairs[0][1]:
        raise argparse.ArgumentTypeError(
            f"not one e-mail address like name@example.com: {value!r}")
    local, _, domain = pairs[0][1].rpartition("@")
    if not _LOCAL_PART.fullmatch(local):
        raise argparse.ArgumentTypeError(
            f"not an e-mail address: {value!r} (before the @: ASCII letters, digits and "
            "!#$%&'*+/=?^_`{|}~.- only)")
    problem = host_problem(domain)
    if problem:
        raise argparse.ArgumentTypeError(
            f"not an e-mail address: {value!r} (its domain: {problem})")
    return value


def smtp_security(text: str) -> str:
    """An argparse type: how the SMTP connection is secured, one of SMTP_SECURITIES."""
    value = text.strip().lower()
    if value not in SMTP_SECURITIES:
        raise argparse.ArgumentTypeError(
            f"not one of {', '.join(SMTP_SECURITIES)}: {text.strip()!r}")
    return value


def smtp_user(text: str) -> str:
    """An argparse type: an SMTP login name, which smtplib sends as ASCII (empty: no login)."""
    user = text.strip()
    if _CONTROL.search(user) or not user.isascii():
        raise argparse.ArgumentTypeError(
            f"{user!r} holds a control character or a letter outside ASCII, which SMTP's "
            "login cannot carry")
    return user


class SettingError(AutomationError):
    """A setting whose value cannot be used: one line that names it (and never shows a secret)."""


class Cron(enum.Enum):
    """How the health check's crontab entry carries a flag."""

    CHANGED = "when not the default"
    ALWAYS = "whenever it has a value"  # cron's environment has none of ours
    NEVER = "never"


@dataclass(frozen=True)
class Setting:
    """One row of the table of settings: its variable, the flag that may override it (None: the
    environment only, as for a secret), its default, the check of its value (an argparse type:
    it returns the value to use, or raises ArgumentTypeError saying why), whether it is a
    secret, and how the health check's crontab entry carries it (a path written absolute)."""

    env: str
    flag: str | None
    default: str | Callable[[], str]
    help: str
    check: Callable[[str], Any] | None = None
    metavar: str | None = None
    cron: Cron = Cron.CHANGED
    path: bool = False
    secret: bool = False

    def fallback(self) -> str:
        """The default used when the environment does not set it."""
        return self.default() if callable(self.default) else self.default

    def value(self) -> str:
        """The setting's value from the environment, or its default, unchecked."""
        return os.environ.get(self.env) or self.fallback()

    def checked(self) -> Any:
        """The setting's value from the environment (or its default), checked; SettingError,
        naming the variable, when it cannot be used."""
        text = self.value()
        if self.check is None:
            return text
        try:
            return self.check(text)
        except (argparse.ArgumentTypeError, ValueError, TypeError) as error:
            raise SettingError(f"{self.env}: {redact.redact(str(error))}") from None

    def add_to(self, parser: argparse.ArgumentParser, **kwargs: Any) -> None:
        """Declare the flag, its default taken from the environment when set there; its value,
        from either, goes through the check (argparse checks a default given as text too)."""
        check = kwargs.pop("type", self.check)
        if check is not None:
            kwargs["type"] = self.naming(check)
        parser.add_argument(
            self.flag,
            default=kwargs.pop("default", self.value()),
            help=self.described(kwargs.pop("help", self.help)),
            metavar=kwargs.pop("metavar", self.metavar or self.env),
            **kwargs,
        )

    def described(self, what: str = "") -> str:
        """Its help: what it is (for this script, when given), its variable and its default."""
        return f"{what or self.help} (env {self.env}, default {self.fallback() or 'none'})"

    def naming(self, check: Callable[[str], Any]) -> Callable[[str], Any]:
        """The check as argparse calls it: its refusal says when the value came from the
        environment, and never shows a secret (argparse would print the value as it is)."""

        def parse(text: str) -> Any:
            try:
                return check(text)
            except (argparse.ArgumentTypeError, ValueError, TypeError) as error:
                origin = f" (from {self.env})" if os.environ.get(self.env) == text else ""
                raise argparse.ArgumentTypeError(f"{redact.redact(str(error))}{origin}") from None

        parse.__name__ = getattr(check, "__name__", "value")
        return parse


def default_recipient() -> str:
    """The contract's default recipient: <login name>@example.com."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no login name in a bare container
        login = "root"
    return f"{login}@example.com"


DATA_DIR = Setting("SUPPLIER_DATA_DIR", "--data-dir", "~/supplier-data", "the supplier drop")
CATALOG_URL = Setting("CATALOG_URL", "--url", "http://localhost", "the catalog service",
                      catalog_url)
CATALOG_TIMEOUT = Setting(
    "CATALOG_TIMEOUT", "--timeout", "30", "seconds to wait for each answer of the service",
    seconds,
)
CATALOG_SETTLE = Setting(
    "CATALOG_SETTLE", "--settle", "",
    "seconds the service may still store a request after the client stopped waiting for its "
    "answer; the catalog is asked whether it landed only after that (default: the timeout)",
    number_type(float, 0, YEAR_SECONDS),
)
CATALOG_RETRIES = Setting(
    "CATALOG_RETRIES", "--retries", "3", "times to retry a request that failed for the network",
    retries,
)
CATALOG_JOBS = Setting("CATALOG_JOBS", "--jobs", "8", "send this many requests at once",
                       job_count, metavar="N")
CATALOG_LOCK_WAIT = Setting(
    "CATALOG_LOCK_WAIT", "--lock-wait", "600",
    "seconds to wait while another run sends to the same catalog",
    number_type(float, 0, YEAR_SECONDS), metavar="SECONDS",
)

SMTP_HOST = Setting("SMTP_HOST", "--smtp-host", "localhost", "the SMTP server", host_name,
                    "HOST", Cron.ALWAYS)
SMTP_PORT = Setting("SMTP_PORT", "--smtp-port", "25", "its port", port, "PORT", Cron.ALWAYS)
SMTP_SECURITY = Setting(
    "SMTP_SECURITY", "--smtp-security", "none", "how to secure it: none, starttls or ssl",
    smtp_security, "{none,starttls,ssl}",
)
SMTP_USER = Setting("SMTP_USER", "--smtp-user", "", "the login name, when it asks for one",
                    smtp_user, "USER")
SMTP_CA_FILE = Setting(
    "SMTP_CA_FILE", "--smtp-ca-file", "", "a CA certificate to trust besides the system's",
    metavar="FILE", path=True,
)
SMTP_SETTINGS = (SMTP_HOST, SMTP_PORT, SMTP_SECURITY, SMTP_USER, SMTP_CA_FILE)

REPORT_SENDER = Setting("REPORT_SENDER", "--sender", "automation@example.com", "the sender",
                        email_address, "ADDRESS", Cron.ALWAYS)
REPORT_RECIPIENT = Setting(
    "REPORT_RECIPIENT", "--recipient", default_recipient, "the supplier who gets the report",
    email_address, "ADDRESS",
)
ALERT_RECIPIENT = Setting(
    "ALERT_RECIPIENT", "--alert-recipient", REPORT_RECIPIENT.value, "who gets the health alerts",
    email_address, "ADDRESS", Cron.ALWAYS,
)
REPORT_PDF = Setting("REPORT_PDF", "--pdf", "/tmp/processed.pdf", "where to write the PDF report")
HEALTH_STATE_FILE = Setting(
    "HEALTH_STATE_FILE", "--state-file", "~/.local/state/fruit-catalog/health.json",
    "what the health check remembers between runs", metavar="FILE", cron=Cron.ALWAYS, path=True,
)

# Credentials come only from the environment: a flag would show them in the process listing.
CATALOG_TOKEN = Setting("CATALOG_TOKEN", None, "", "the catalog service's token", secret=True)
SMTP_PASSWORD = Setting("SMTP_PASSWORD", None, "", "the SMTP login's password", secret=True)
CATALOG_TOKEN_ENV = CATALOG_TOKEN.env
SMTP_PASSWORD_ENV = SMTP_PASSWORD.env

SETTINGS = (DATA_DIR, CATALOG_URL, CATALOG_TIMEOUT, CATALOG_SETTLE, CATALOG_RETRIES,
            CATALOG_JOBS, CATALOG_LOCK_WAIT, CATALOG_TOKEN, *SMTP_SETTINGS, SMTP_PASSWORD,
            REPORT_SENDER, REPORT_RECIPIENT, ALERT_RECIPIENT, REPORT_PDF, HEALTH_STATE_FILE)
SECRET_ENVS = tuple(setting.env for setting in SETTINGS if setting.secret)


def add_catalog_flags(
    parser: argparse.ArgumentParser, jobs_help: str = "send this many requests at once",
) -> None:
    """Declare the flags of the scripts that talk to the catalog service."""
    CATALOG_URL.add_to(parser, metavar="URL")
    CATALOG_TIMEOUT.add_to(parser, metavar="SECONDS")
    CATALOG_RETRIES.add_to(parser, metavar="N")
    CATALOG_SETTLE.add_to(parser, metavar="SECONDS")
    parser.set_defaults(settle=CATALOG_SETTLE.value() or None)  # None: the timeout
    CATALOG_JOBS.add_to(parser, help=f"{jobs_help}, at most {MAX_JOBS}")
    CATALOG_LOCK_WAIT.add_to(parser)


def add_dry_run_flag(parser: argparse.ArgumentParser, sent: str) -> None:
    """Declare --dry-run: everything but sending and recording."""
    parser.add_argument(
        "--dry-run", action="store_true",
        help=f"check the whole drop, ask the catalog what it holds and print what would be "
             f"{sent}; send nothing, record nothing (the exit code is the real run's)",
    )


def add_smtp_flags(parser: argparse.ArgumentParser) -> None:
    """Declare the flags of the scripts that send mail (the password stays in the environment)."""
    for setting in SMTP_SETTINGS:
        setting.add_to(parser)


@dataclass(frozen=True)
class CatalogSettings:
    """How to reach the catalog service: its URL, the waits and tries, how many requests at once;
    the token is read from the environment where it is used."""

    url: str
    timeout: float = 30.0
    retries: int = 3
    settle: float | None = None  # None: the timeout
    jobs: int = 8
    lock_wait: float = 600.0

    @classmethod
    def from_argparse(cls, args: argparse.Namespace) -> CatalogSettings:
        """The settings of a command line made with add_catalog_flags."""
        return cls(args.url, args.timeout, args.retries, args.settle, args.jobs, args.lock_wait)


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send mail. The password is only ever read from the environment."""

    host: str = "localhost"
    port: int = 25
    security: str = "none"
    user: str = ""
    ca_file: str = ""

    @classmethod
    def from_env(cls) -> SmtpSettings:
        """The settings of the environment (SMTP_HOST, SMTP_PORT, ...), defaults elsewhere;
        SettingError naming the one that cannot be used."""
        return cls(host=SMTP_HOST.checked(), port=SMTP_PORT.checked(),
                   security=SMTP_SECURITY.checked(), user=SMTP_USER.checked(),
                   ca_file=SMTP_CA_FILE.value())

    @classmethod
    def from_argparse(cls, args: argparse.Namespace) -> SmtpSettings:
        """The settings of a command line made with add_smtp_flags."""
        return cls(args.smtp_host, args.smtp_port, args.smtp_security, args.smtp_user,
                   args.smtp_ca_file)

    def __str__(self) -> str:
        return f"{self.host}:{self.port} ({self.security})"

    def password(self) -> str | None:
        """SMTP_PASSWORD when a login is asked for; SettingError naming the setting that cannot
        be used, for settings made in code (a command line's were checked as it was read)."""
        values = ((SMTP_HOST, host_name, self.host), (SMTP_PORT, port, str(self.port)),
                  (SMTP_SECURITY, smtp_security, self.security),
                  (SMTP_USER, smtp_user, self.user))
        for setting, check, value in values:
            try:
                check(value)
            except argparse.ArgumentTypeError as error:
                raise SettingError(f"{setting.env}: {error}") from None
        if not self.user:
            return None
        password = smtp_password()
        if not password:
            raise SettingError(f"SMTP_USER is {self.user!r} but SMTP_PASSWORD is not in the "
                               "environment")
        return password


@dataclass(frozen=True)
class HealthSettings:
    """The health check's settings, typed and frozen: what every part of automation.health is
    given (never the command line itself)."""

    thresholds: Mapping[str, Any]  # by check name: its flag's value (None: not checked)
    disk_paths: tuple[str, ...]
    cpu_interval: float
    cpu_window: timedelta
    probe_timeout: float
    fail_after: int
    remind: timedelta | None  # None: never
    state_file: Path
    sender: str
    alert_recipient: str
    smtp: SmtpSettings
    metrics_file: Path | None
    log_file: str | None
    nagios: bool = False
    install_cron: bool = False
    uninstall_cron: bool = False
    list_silences: bool = False
    silence: str | None = None
    silence_for: float | None = None
    values: Mapping[str, Any] = field(default_factory=dict)  # by flag, for the cron line


def secret(env: str) -> str | None:
    """A credential from the environment, checked, or None when it is unset or blank; it is
    registered as a secret, so that no line logged shows it."""
    if env == CATALOG_TOKEN_ENV:
        return catalog_token()
    if env == SMTP_PASSWORD_ENV:
        return smtp_password()
    value = os.environ.get(env)
    redact.register(value)
    return value or None


def catalog_token() -> str | None:
    """CATALOG_TOKEN without the whitespace around it (the line end of the file it was read
    from is not part of it), or None when unset or blank; SettingError, without showing it,
    when it cannot go into an HTTP header (printable Latin-1 only)."""
    raw = os.environ.get(CATALOG_TOKEN_ENV)
    redact.register(raw)
    token = (raw or "").strip()
    if not token:
        return None
    if _CONTROL.search(token):
        raise SettingError(f"{CATALOG_TOKEN_ENV} holds a control character (a line end, a tab), "
                           "which an HTTP header cannot carry (the token is not shown)")
    if any(ord(character) > 0xFF for character in token):
        raise SettingError(f"{CATALOG_TOKEN_ENV} holds a character outside Latin-1, which an "
                           "HTTP header cannot carry (the token is not shown)")
    return token


def smtp_password() -> str | None:
    """SMTP_PASSWORD as it is, or None when unset or empty; SettingError, without showing it,
    when SMTP's login cannot carry it (smtplib sends it as ASCII)."""
    password = os.environ.get(SMTP_PASSWORD_ENV)
    redact.register(password)
    if not password:
        return None
    if not password.isascii():
        raise SettingError(f"{SMTP_PASSWORD_ENV} holds a character outside ASCII, which SMTP's "
                           "login cannot carry (the password is not shown)")
    return password


def register_secrets() -> None:
    """Know the secrets of the environment now (the credentials, CATALOG_URL's password), so
    that even a line logged before they are used hides them."""
    for env in SECRET_ENVS:
        redact.register(os.environ.get(env))
    redact.register_url(os.environ.get(CATALOG_URL.env))


def state_dir() -> Path:
    """The user's state folder of this project: what runs remember outside any drop
    ($XDG_STATE_HOME/fruit-catalog, by default ~/.local/state/fruit-catalog)."""
    base = os.environ.get("XDG_STATE_HOME") or "~/.local/state"
    return Path(base).expanduser() / "fruit-catalog"


def drop_dir(value: str) -> Path:
    """The drop folder named by a setting, with ~ expanded."""
    return Path(value).expanduser()
