"""Every flag of health_check.py, declared once: the parser, the settings and the cron line are
all built from FLAGS, so a flag cannot be in one and missing from another. The checks' flags come
from their rows (checks.KINDS), the environment's settings from theirs (settings.py).

Each flag says how the crontab entry carries it (`cron`):
- CHANGED: when its value differs from its default (a threshold, an interval);
- ALWAYS: whenever it has a value, because cron's environment has none of ours (the state
  file, the SMTP server, who gets the mail);
- NEVER: an action or a mode of one run (--install-cron, --silence, --nagios).
A file's path (`path=True`) is written absolute: cron runs in the home folder.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from automation import settings
from automation.cli import add_verbosity_flags
from automation.errors import AutomationError
from automation.health.checks import CHECK_NAMES, DISK_PATH, KINDS
from automation.health.judge import number
from automation.settings import Cron

log = logging.getLogger(__name__)

REMIND_MINUTES = 60.0
FAIL_AFTER = 1
CPU_INTERVAL = 1.0
CPU_WINDOW_MINUTES = 15.0
PROBE_TIMEOUT = 5.0

DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
YEAR_MINUTES = settings.YEAR_SECONDS // 60

# Every duration is at most a year: a longer one is a typo, and would overflow the dates.
seconds = settings.seconds
minutes = settings.number_type(float, 0, YEAR_MINUTES, above=True)
minutes_or_never = settings.number_type(float, 0, YEAR_MINUTES)
megabytes = settings.megabytes
load = settings.load


def duration(text: str) -> float:
    """An argparse type: `30s`, `15m`, `2h`, `1d` in seconds, at most a year (`0` lifts a
    silence)."""
    if text.strip() == "0":
        return 0.0
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", text.lower())
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration like 30s, 15m, 2h or 1d: {text!r}")
    value = float(match[1]) * DURATION_UNITS[match[2]]  # inf for a thousand digits
    if value > settings.YEAR_SECONDS:
        raise argparse.ArgumentTypeError(
            f"{text.strip()!r} is more than a year (365d): give a shorter duration")
    return value


@dataclass(frozen=True)
class Flag:
    """One flag: how argparse reads it and how the crontab entry carries it."""

    name: str
    group: str
    help: str = ""
    type: Callable[[str], Any] | None = None
    default: Any = None
    metavar: str | None = None
    action: str | None = None  # "store_true", "append"
    choices: Sequence[str] | None = None
    setting: settings.Setting | None = None  # its default comes from the environment
    cron: Cron = Cron.CHANGED
    path: bool = False  # a file or folder, written absolute in the cron line
    exclusive: bool = False  # an action instead of the checks: one at most
    alias_of: str | None = None  # another name of that flag, kept for older command lines

    @property
    def dest(self) -> str:
        """The attribute argparse stores it in."""
        return (self.alias_of or self.name).lstrip("-").replace("-", "_")

    @classmethod
    def of(cls, setting: settings.Setting, group: str) -> Flag:
        """The flag of a row of the settings' table, as that row declares it."""
        assert setting.flag is not None
        return cls(setting.flag, group, metavar=setting.metavar, setting=setting,
                   cron=setting.cron, path=setting.path)

    def declare(self, parser: Any) -> None:
        """Add the flag to a parser, or to a group of one. A value its check refuses is kept as
        Refused, so that the whole line is read (and --nagios known) before it is reported; a
        setting's default is taken from the environment only after --env-file is read."""
        options: dict[str, Any] = {"help": self.help}
        if self.metavar:
            options["metavar"] = self.metavar
        check = self.type or (self.setting.check if self.setting else None)
        if check is not None:
            options["type"] = self.deferred(self.setting.naming(check) if self.setting else check)
        if self.choices:
            options["choices"] = self.choices
        if self.action:
            options["action"] = self.action
        if self.setting is not None:
            options.update(default=argparse.SUPPRESS, help=self.setting.described())
        elif self.alias_of:  # the flag it names declares the default
            options.update(dest=self.dest, default=argparse.SUPPRESS)
        elif self.action != "store_true":
            options["default"] = self.default
        parser.add_argument(self.name, **options)

    def deferred(self, check: Callable[[str], Any]) -> Callable[[str], Any]:
        """The check, its refusal kept as a value (Refused) rather than raised at once."""

        def parse(text: str) -> Any:
            try:
                return check(text)
            except (argparse.ArgumentTypeError, ValueError, TypeError) as error:
                return Refused(f"argument {self.name}: {error}")

        parse.__name__ = getattr(check, "__name__", "value")
        return parse

    def from_environment(self) -> Any:
        """A setting's value when the command line does not give it: its variable's, or its
        default, checked as argparse checks a default; BadFlags when it cannot be used."""
        assert self.setting is not None
        text = self.setting.value()
        check = self.type or self.setting.check
        if check is None:
            return text
        try:
            return self.setting.naming(check)(text)
        except argparse.ArgumentTypeError as error:
            raise BadFlags(f"argument {self.name}: {error}") from None

    def default_value(self) -> Any:
        """The value it has when neither the command line nor the environment sets it."""
        if self.setting is None:
            return False if self.action == "store_true" else self.default
        fallback = self.setting.fallback()
        check = self.type or self.setting.check
        return check(fallback) if check and fallback else fallback

    def cron_words(self, values: Mapping[str, Any]) -> list[str]:
        """The words the crontab entry carries for this flag, given the values in force."""
        value = values.get(self.dest)
        if self.cron is Cron.NEVER or value in (None, "", False, []):
            return []
        if self.cron is Cron.CHANGED and value == self.default_value():
            return []
        if self.action == "store_true":
            return [self.name]
        values_given = value if isinstance(value, list) else [value]
        return [word for one in values_given for word in (self.name, self.written(one))]

    def written(self, value: Any) -> str:
        """A value as the cron line writes it."""
        if self.path:
            return str(Path(value).expanduser().absolute())
        if isinstance(value, float):
            return number(value, 6)
        return str(value)


CHECKS, ALERTS, MONITORS, RUNNING = "checks", "alerts", "monitoring", "running"



def threshold_help(text: str, default: Any) -> str:
    """A check's flag help, with its default (or that it is not checked without it)."""
    return f"{text} (default{' %(default)g' if default is not None else ': not checked'})"


CHECK_FLAGS = tuple(
    Flag(kind.flag, CHECKS, threshold_help(kind.flag_help, kind.default), kind.type,
         kind.default, kind.metavar)
    for kind in KINDS if kind.flag
)
FLAGS: tuple[Flag, ...] = (
    *CHECK_FLAGS,
    Flag("--disk-path", CHECKS, "a file system whose free space is checked; give it again for "
         "more (default /)", metavar="PATH", action="append", path=True),
    Flag("--cpu-interval", CHECKS, "with no usable reading of an earlier run, sample CPU usage "
         "over this long (default %(default)g)", seconds, CPU_INTERVAL,
         "SECONDS"),
    Flag("--cpu-window-minutes", CHECKS, "measure CPU usage since the previous run when it was "
         "at most this long ago, else sample it (default %(default)g)",
         minutes, CPU_WINDOW_MINUTES, "MINUTES"),
    Flag("--probe-timeout", CHECKS, "give up on name resolution, a disk, the catalog and the "
         "mail server after this long (default %(default)g)", seconds,
         PROBE_TIMEOUT, "SECONDS"),
    Flag("--fail-after", ALERTS, "alert only once a check has failed this many runs in a row "
         "(default %(default)s: at once)", settings.positive_int, FAIL_AFTER, "N"),
    Flag("--remind-minutes", ALERTS, "while a check keeps failing, remind at most this often; "
         "0: never (default %(default)g)", minutes_or_never, REMIND_MINUTES,
         "MINUTES"),
    Flag.of(settings.HEALTH_STATE_FILE, ALERTS),
    Flag.of(settings.REPORT_SENDER, ALERTS),
    Flag.of(settings.ALERT_RECIPIENT, ALERTS),
    Flag("--recipient", ALERTS, "the same as --alert-recipient (the name crontab entries "
         "installed before it carry)", settings.email_address, metavar="ADDRESS",
         cron=Cron.NEVER, alias_of="--alert-recipient"),
    *(Flag.of(setting, ALERTS) for setting in settings.SMTP_SETTINGS),
    Flag("--env-file", ALERTS, "read settings the environment lacks (SMTP_PASSWORD) from "
         "NAME=value lines in FILE (default none)", metavar="FILE", cron=Cron.ALWAYS,
         path=True),
    Flag("--nagios", MONITORS, "behave as a Nagios plugin: print one status line with "
         "performance data, exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN, send no mail",
         action="store_true", cron=Cron.NEVER),
    Flag("--metrics-file", MONITORS, "also write the readings to FILE in Prometheus text format "
         "(for node_exporter's textfile collector: name it *.prom), replaced atomically "
         "(default none)", metavar="FILE", cron=Cron.ALWAYS, path=True),
    Flag("--log-file", RUNNING, "also append diagnostics to FILE, with the time (default none; "
         "the cron entry logs to health.log beside the state file)", metavar="FILE",
         cron=Cron.ALWAYS, path=True),
    Flag("--install-cron", RUNNING, "add a crontab entry that runs this check every minute with "
         "the settings in force now, then exit", action="store_true", cron=Cron.NEVER,
         exclusive=True),
    Flag("--uninstall-cron", RUNNING, "remove that crontab entry, then exit",
         action="store_true", cron=Cron.NEVER, exclusive=True),
    Flag("--silence", RUNNING, "record a silence of CHECK for --for DURATION: no alert for it "
         "until then; check nothing else", choices=CHECK_NAMES, metavar="CHECK",
         cron=Cron.NEVER, exclusive=True),
    Flag("--for", RUNNING, "how long --silence lasts: 30s, 15m, 2h, 1d, at most a year (0 "
         "lifts it)",
         duration, metavar="DURATION", cron=Cron.NEVER),
    Flag("--list", RUNNING, "list the silences in force, then exit", action="store_true",
         cron=Cron.NEVER, exclusive=True),
)
GROUP_TITLES = {CHECKS: "checks", ALERTS: "alerts by mail",
                MONITORS: "for the monitoring you run", RUNNING: "running"}


class BadFlags(AutomationError):
    """The command line cannot be used (argparse's error, or one of ours); `plugin` says whether
    it asked for --nagios, which reports it as the plugin API says."""

    def __init__(self, message: str, plugin: bool = False) -> None:
        super().__init__(message)
        self.plugin = plugin


@dataclass(frozen=True)
class Refused:
    """A flag's value that its check refused: reported once the whole line is read."""

    message: str


class Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are raised, so that --nagios can say UNKNOWN."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise BadFlags(message)


def build_parser(description: str, epilog: str) -> Parser:
    """The parser of FLAGS (and -v/-q)."""
    parser = Parser(description=description, epilog=epilog)
    groups = {key: parser.add_argument_group(title) for key, title in GROUP_TITLES.items()}
    actions = groups[RUNNING].add_mutually_exclusive_group()
    for flag in FLAGS:
        flag.declare(actions if flag.exclusive else groups[flag.group])
    add_verbosity_flags(groups[RUNNING])
    return parser


@dataclass(frozen=True)
class CommandLine:
    """The command line as given, read once: the values of the flags given, by destination (a
    setting the line does not give is absent), and whether it asks for --nagios."""

    given: Mapping[str, Any]
    plugin: bool
    verbose: int = 0
    quiet: bool = False
    log_file: str | None = None


def read(parser: Parser, argv: Sequence[str] | None) -> CommandLine:
    """Read the command line once; BadFlags (saying whether --nagios was asked) when it cannot
    be used."""
    namespace = argparse.Namespace()
    try:
        parser.parse_args(argv, namespace)
    except BadFlags as error:
        raise BadFlags(str(error), getattr(namespace, "nagios", False)) from None
    given = vars(namespace)
    plugin = bool(given.get("nagios"))
    refused = [value for value in given.values() if isinstance(value, Refused)]
    refused += [one for value in given.values() if isinstance(value, list)
                for one in value if isinstance(one, Refused)]
    if refused:
        raise BadFlags(refused[0].message, plugin)
    if given["silence"] and given["for"] is None:
        raise BadFlags("--silence needs --for DURATION (30s, 15m, 2h, 1d)", plugin)
    if given["for"] is not None and not given["silence"]:
        raise BadFlags("--for goes with --silence CHECK", plugin)
    if plugin and any(given[flag.dest] for flag in FLAGS if flag.exclusive):
        raise BadFlags("--nagios checks: it goes with none of --install-cron, --uninstall-cron, "
                       "--silence, --list", plugin)
    return CommandLine(dict(given), plugin, given["verbose"], given["quiet"], given["log_file"])


def settings_of(line: CommandLine, env_file: bool = True) -> settings.HealthSettings:
    """The settings in force: the command line, then --env-file (unless env_file is False),
    then the environment, then the defaults; BadFlags when a value cannot be used."""
    given = dict(line.given)
    try:
        if env_file and given.get("env_file"):
            load_env_file(Path(given["env_file"]).expanduser())
        for flag in FLAGS:
            if flag.setting is not None and flag.dest not in given:
                given[flag.dest] = flag.from_environment()
    except AutomationError as error:
        raise BadFlags(str(error), line.plugin) from None
    remind = given["remind_minutes"]
    return settings.HealthSettings(
        thresholds={kind.name: given[kind.dest] for kind in KINDS if kind.flag},
        disk_paths=tuple(dict.fromkeys(given["disk_path"] or [DISK_PATH])),
        cpu_interval=given["cpu_interval"],
        cpu_window=timedelta(minutes=given["cpu_window_minutes"]),
        probe_timeout=given["probe_timeout"],
        fail_after=given["fail_after"],
        remind=timedelta(minutes=remind) if remind else None,
        state_file=Path(given["state_file"]).expanduser().absolute(),
        sender=given["sender"],
        alert_recipient=given["alert_recipient"],
        smtp=settings.SmtpSettings(given["smtp_host"], given["smtp_port"],
                                   given["smtp_security"], given["smtp_user"],
                                   given["smtp_ca_file"]),
        metrics_file=Path(given["metrics_file"]).expanduser() if given["metrics_file"] else None,
        log_file=given["log_file"],
        nagios=given["nagios"],
        install_cron=given["install_cron"],
        uninstall_cron=given["uninstall_cron"],
        list_silences=given["list"],
        silence=given["silence"],
        silence_for=given["for"],
        values=given,
    )


def load_env_file(path: Path) -> None:
    """Set the NAME=value lines of an env file that the environment does not set already."""
    try:
        text = path.read_text(encoding="utf-8")
        private = not path.stat().st_mode & 0o077
    except (OSError, UnicodeDecodeError) as error:
        raise AutomationError(f"{path}: cannot read the env file: "
                              f"{getattr(error, 'strerror', None) or error}") from None
    if not private:
        log.warning("%s can be read by other users: a password in it is not safe (chmod 600)",
                    path)
    for line_number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, equals, value = line.removeprefix("export ").partition("=")
        name, value = name.strip(), value.strip()
        if not equals or not name.isidentifier() or "\0" in line:  # no NUL in an environment
            raise AutomationError(f"{path}:{line_number}: not a NAME=value line")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        os.environ.setdefault(name, value)
    settings.register_secrets()
