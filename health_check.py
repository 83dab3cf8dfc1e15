#!/usr/bin/env python3
"""Check CPU, disk, memory and name resolution; mail an alert when one fails, once.

Every check runs in every run. A check that starts failing is announced at once, reminded at
most once per --remind-minutes while it keeps failing, and its recovery is announced too. What
is failing, and the mail not sent yet, is kept in a small JSON state file (HEALTH_STATE_FILE):
an alert that cannot be sent now is sent by the next run that reaches the SMTP server.
Meant to run every minute from cron: `--install-cron` adds the entry. Quiet when all is well.
Exit 0 healthy, 1 a check is failing, 2 a check (or the run) could not be made.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import logging
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import psutil

from automation import cli, settings
from automation.cli import add_verbosity_flags, guarded, setup_logging
from automation.errors import AutomationError
from emails import MailError, SmtpSettings, generate_error_report, send_email

log = logging.getLogger("health_check")

SCRIPT = Path(__file__).resolve()
MB = 1024 * 1024  # bytes in the MB of --memory-min-mb and of the subjects

CPU_MAX_PERCENT = 80.0
DISK_MIN_FREE_PERCENT = 20.0
DISK_PATH = "/"
MEMORY_MIN_MB = 500.0
REMIND_MINUTES = 60.0
CPU_INTERVAL = 1.0
PROBE_TIMEOUT = 5.0

BODY = "Please check your system and resolve the issue as soon as possible."
CRON_TAG = "# fruit-catalog-health-check"
OUTBOX_LIMIT = 100
STATE_VERSION = 1

OK = "ok"
FAILING = "failing"
UNKNOWN = "unknown"
EXIT_CODES = {OK: cli.OK, FAILING: cli.ITEMS_FAILED, UNKNOWN: cli.CANNOT_RUN}

ALERT = "alert"
REMINDER = "reminder"
RECOVERY = "recovery"


# Judging: a limit and its words, pure.


def number(value: float, places: int = 1) -> str:
    """A number as people write it: 80, 12.5, 10000000 (never 80.0 or 1e+07)."""
    return f"{value:.{places}f}".rstrip("0").rstrip(".") if places else f"{value:.0f}"


class Judge(Protocol):
    """What a check is judged by: a test of its reading and the words for both outcomes."""

    key: str

    def fails(self, value: Any) -> bool: ...
    def problem(self) -> str: ...
    def recovery(self) -> str: ...
    def describe(self, value: Any) -> str: ...


@dataclass(frozen=True)
class Limit:
    """A bound on a number (in base units: percent, bytes) and the words that name it."""

    key: str
    what: str
    bound: float
    upper: bool  # True: the reading must not go over the bound; False: not under it
    unit: str = "%"
    scale: float = 1.0  # base units per unit shown (MB for memory)
    where: str = ""

    def fails(self, value: float) -> bool:
        """Whether the reading is beyond the bound (the bound itself is fine)."""
        return value > self.bound if self.upper else value < self.bound

    def shown(self, value: float, places: int = 1) -> str:
        """A value in the unit people read."""
        return f"{number(value / self.scale, places)}{self.unit}"

    def problem(self) -> str:
        """The problem in the contract's words: `CPU usage is over 80%`."""
        return f"{self.what} is {'over' if self.upper else 'less than'} {self.shown(self.bound, 6)}"

    def recovery(self) -> str:
        """The end of the problem: `CPU usage is back under 80%`."""
        side = "under" if self.upper else "above"
        return f"{self.what} is back {side} {self.shown(self.bound, 6)}"

    def describe(self, value: float) -> str:
        """The reading: `it is 93.5%`."""
        return f"it is {self.shown(value)}{self.where}"


@dataclass(frozen=True)
class Resolves:
    """A name must resolve to an address (among its IPv4 answers)."""

    name: str
    address: str

    @property
    def key(self) -> str:
        return self.name

    def fails(self, addresses: Sequence[str]) -> bool:
        return self.address not in addresses

    def problem(self) -> str:
        return f"{self.name} cannot be resolved to {self.address}"

    def recovery(self) -> str:
        return f"{self.name} resolves to {self.address} again"

    def describe(self, addresses: Sequence[str]) -> str:
        return f"it resolves to {', '.join(addresses) or 'nothing'}"


@dataclass(frozen=True)
class Answers:
    """The catalog service must answer GET <url>/fruits/."""

    url: str

    @property
    def key(self) -> str:
        return f"catalog {self.url}"

    def fails(self, answers: bool) -> bool:
        return not answers

    def problem(self) -> str:
        return f"the catalog at {self.url} does not answer"

    def recovery(self) -> str:
        return f"the catalog at {self.url} answers again"

    def describe(self, answers: bool) -> str:
        return "it answers" if answers else "it does not answer"


@dataclass(frozen=True)
class Verdict:
    """One check's outcome in this run."""

    key: str
    state: str
    problem: str
    recovery: str
    detail: str


def judge(limit: Judge, value: Any) -> Verdict:
    """Compare a reading with the limit in force."""
    state = FAILING if limit.fails(value) else OK
    return Verdict(limit.key, state, limit.problem(), limit.recovery(), limit.describe(value))


def worst(verdicts: Sequence[Verdict]) -> int:
    """The run's exit code: the worst state among the checks."""
    states = {verdict.state for verdict in verdicts}
    for state in (UNKNOWN, FAILING):
        if state in states:
            return EXIT_CODES[state]
    return EXIT_CODES[OK]


# Reading: each function measures one thing and decides nothing.


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


def read_cpu(interval: float) -> float:
    """CPU usage in percent, sampled over `interval` seconds (a fresh process has no earlier
    sample: psutil's first call without an interval answers a meaningless 0.0)."""
    return psutil.cpu_percent(interval=interval)


def read_disk_free(path: str, timeout: float) -> float:
    """The space that users may still fill on the file system of path, in percent of its size."""
    usage = within(timeout, psutil.disk_usage, path)
    return usage.free / usage.total * 100


def read_memory() -> int:
    """Available memory in bytes: what can be given to programs without swapping."""
    return psutil.virtual_memory().available


def read_addresses(name: str, timeout: float) -> tuple[str, ...]:
    """The IPv4 addresses a name resolves to (none when the resolver fails or hangs)."""
    try:
        answers = within(timeout, socket.getaddrinfo, name, None, socket.AF_INET)
    except (OSError, UnicodeError) as error:
        log.warning("resolving %s: %s", name, getattr(error, "strerror", None) or error)
        return ()
    return tuple(sorted({answer[4][0] for answer in answers}))


def read_catalog(url: str, timeout: float) -> bool:
    """Whether the catalog service answers GET <url>/fruits/ with its list, within timeout."""
    from automation.catalog import Catalog, CatalogError  # requests: only when --url is given

    try:
        token = settings.secret(settings.CATALOG_TOKEN_ENV)
        with Catalog(url, token=token, timeout=timeout, retries=0, pool_size=1) as catalog:
            catalog.fruits()
    except CatalogError as error:
        log.warning("%s", error)
        return False
    return True


@dataclass(frozen=True)
class Check:
    """A reading and the limit it is judged by."""

    limit: Judge
    read: Callable[[], Any]


def make_checks(args: argparse.Namespace) -> list[Check]:
    """The checks of the command line: the contract's four, and the catalog's with --url."""
    timeout = args.probe_timeout
    checks = [
        Check(Limit("cpu", "CPU usage", args.cpu_max_percent, upper=True),
              partial(read_cpu, args.cpu_interval)),
        Check(Limit(f"disk {args.disk_path}", "Available disk space", args.disk_min_free_percent,
                    upper=False, where=f" on {args.disk_path}"),
              partial(read_disk_free, args.disk_path, timeout)),
        Check(Limit("memory", "Available memory", args.memory_min_mb * MB, upper=False,
                    unit="MB", scale=MB),
              read_memory),
        Check(Resolves("localhost", "127.0.0.1"), partial(read_addresses, "localhost", timeout)),
    ]
    if args.url:
        checks.append(Check(Answers(args.url.rstrip("/")),
                            partial(read_catalog, args.url, timeout)))
    return checks


def take_readings(checks: Sequence[Check]) -> list[Verdict]:
    """Read and judge every check; one that cannot be read is unknown, the others go on."""
    verdicts = []
    for check in checks:
        try:
            verdict = judge(check.limit, check.read())
        except OSError as error:
            reason = getattr(error, "strerror", None) or str(error)
            verdict = Verdict(check.limit.key, UNKNOWN, check.limit.problem(),
                              check.limit.recovery(), f"cannot read it: {reason}")
        verdicts.append(tell(verdict))
    return verdicts


def tell(verdict: Verdict) -> Verdict:
    """Log a verdict: a failing check is a warning, one that cannot be made an error."""
    if verdict.state == FAILING:
        log.warning("%s (%s)", verdict.problem, verdict.detail)
    elif verdict.state == UNKNOWN:
        log.error("cannot check %s: %s", verdict.key, verdict.detail)
    else:
        log.info("ok: %s: %s", verdict.key, verdict.detail)
    return verdict


# Remembering: what is failing, and the mail not sent yet.


@dataclass
class State:
    """What the state file holds: the failing checks and the outbox, as plain JSON data.

    failing: {check: {"problem", "since", "announced", "reminders"}} (times in ISO 8601);
    outbox: [{"check", "kind", "subject", "body", "raised"}], oldest first.
    """

    failing: dict[str, dict[str, Any]] = field(default_factory=dict)
    outbox: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"version": STATE_VERSION, "failing": self.failing, "outbox": self.outbox}

    @classmethod
    def from_json(cls, data: Any) -> State:
        """The state of a file's JSON; ValueError when it is not what this script writes."""
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            raise ValueError(f"not version {STATE_VERSION} of the health check's state")
        failing, outbox = data.get("failing", {}), data.get("outbox", [])
        if not isinstance(failing, dict) or not isinstance(outbox, list):
            raise ValueError("'failing' must be an object and 'outbox' a list")
        for key, entry in failing.items():
            if not isinstance(entry, dict):
                raise ValueError(f"failing[{key!r}] is not an object")
            parse_time(entry.get("since"))
            parse_time(entry.get("announced"))
            if not isinstance(entry.get("reminders", 0), int):
                raise ValueError(f"failing[{key!r}].reminders is not a number")
        for entry in outbox:
            if not isinstance(entry, dict) or not all(
                isinstance(entry.get(name), str) for name in ("check", "kind", "subject", "body")
            ):
                raise ValueError("an outbox entry lacks its check, kind, subject or body")
            parse_time(entry.get("raised"))
        return cls(failing, outbox)


def stamp(moment: datetime) -> str:
    """A time as stored: ISO 8601 with its offset."""
    return moment.isoformat(timespec="seconds")


def parse_time(text: Any) -> datetime:
    """A stored time; ValueError when it is not one with an offset."""
    if not isinstance(text, str):
        raise ValueError(f"not a time: {text!r}")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"a time without its offset: {text!r}")
    return moment


def shown_time(text: str) -> str:
    """A stored time as people read it: 2026-11-22 05:30 UTC."""
    return parse_time(text).strftime("%Y-%m-%d %H:%M %Z").strip()


def duration(start: str, end: datetime) -> str:
    """How long from a stored time until end: `10 min`, `2 h 5 min`, `3 d 4 h`."""
    minutes = max(0, int((end - parse_time(start)).total_seconds() // 60))
    days, hours, minutes = minutes // 1440, minutes // 60 % 24, minutes % 60
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def message(check: str, kind: str, subject: str, body: str, now: datetime) -> dict[str, str]:
    """An outbox entry."""
    return {"check": check, "kind": kind, "subject": subject, "body": body, "raised": stamp(now)}


def step(state: State, verdicts: Sequence[Verdict], now: datetime,
         remind: timedelta | None) -> State:
    """The next state and the mail it adds to the outbox: alert once, remind, recover.

    A check that could not be read leaves its entry as it was.
    """
    failing = dict(state.failing)
    outbox = list(state.outbox)
    for verdict in verdicts:
        known = failing.get(verdict.key)
        if verdict.state == FAILING and known is None:
            failing[verdict.key] = {"problem": verdict.problem, "since": stamp(now),
                                    "announced": stamp(now), "reminders": 0}
            outbox.append(message(verdict.key, ALERT, f"Error - {verdict.problem}", BODY, now))
        elif verdict.state == FAILING:
            announced = parse_time(known["announced"])
            if announced > now:  # the clock went back: count from now
                failing[verdict.key] = {**known, "announced": stamp(now)}
            elif remind and now - announced >= remind:
                count = known.get("reminders", 0) + 1
                failing[verdict.key] = {**known, "problem": verdict.problem,
                                        "announced": stamp(now), "reminders": count}
                if not queued(outbox, verdict.key):
                    body = (f"{BODY}\n\nReminder {count}: failing since "
                            f"{shown_time(known['since'])} ({duration(known['since'], now)}). "
                            f"{verdict.problem} ({verdict.detail}).")
                    outbox.append(message(verdict.key, REMINDER, f"Error - {verdict.problem}",
                                          body, now))
        elif verdict.state == OK and known is not None:
            del failing[verdict.key]
            body = (f"{verdict.recovery} ({verdict.detail}).\n\nIt had been failing since "
                    f"{shown_time(known['since'])}, for {duration(known['since'], now)}.")
            outbox.append(message(verdict.key, RECOVERY, f"OK - {verdict.recovery}", body, now))
    if len(outbox) > OUTBOX_LIMIT:
        log.warning("the outbox holds over %d messages: the oldest %d are dropped",
                    OUTBOX_LIMIT, len(outbox) - OUTBOX_LIMIT)
        outbox = outbox[-OUTBOX_LIMIT:]
    return State(failing, outbox)


def queued(outbox: Sequence[dict[str, str]], check: str) -> bool:
    """Whether the outbox already tells that a check is failing (its last word is not OK)."""
    kinds = [entry["kind"] for entry in outbox if entry["check"] == check]
    return bool(kinds) and kinds[-1] != RECOVERY


def load_state(path: Path) -> State:
    """The remembered state; none is an empty state, and so is a corrupt one, set aside."""
    try:
        text = path.read_text(encoding="utf-8")
        return State.from_json(json.loads(text))
    except FileNotFoundError:
        log.info("%s: no state yet: nothing is known to be failing", path)
        return State()
    except (ValueError, OSError) as error:  # UnicodeDecodeError and JSON's errors are ValueErrors
        reason = getattr(error, "strerror", None) or error
    aside = path.with_name(path.name + ".corrupt")
    try:
        os.replace(path, aside)  # kept for a look, and the next run does not warn again
    except OSError:
        aside = path
    log.warning("%s: not a state this script wrote (%s): starting afresh (it is now %s)",
                path, reason, aside)
    return State()


def save_state(path: Path, state: State) -> None:
    """Write the state atomically: a temporary file, flushed to disk, renamed over the old one."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(state.to_json(), file, indent=2, ensure_ascii=False)
            file.write("\n")
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself must survive a crash
    finally:
        os.close(folder)


def try_save(path: Path, state: State) -> None:
    """Save the state; a failure (a full disk) is an error line, and the run goes on."""
    try:
        save_state(path, state)
    except OSError as error:
        log.error("%s: cannot save the state (%s): alerts may be repeated",
                  path, error.strerror or error)


@contextlib.contextmanager
def run_lock(state_path: Path) -> Iterator[None]:
    """Hold the lock beside the state file for the run; stop at once when another run has it."""
    lock_path = state_path.with_name(state_path.name + ".lock")
    try:
        state_path.parent.mkdir(parents=True, exist_ok=True)
        lock = lock_path.open("a")
    except OSError as error:
        raise AutomationError(f"{lock_path}: cannot open the lock: {error.strerror}") from None
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AutomationError(
                f"another health check is running (it holds {lock_path}): this one stops"
            ) from None
        yield


# Telling: the outbox goes out through the SMTP server.


def late_note(entry: dict[str, str], now: datetime) -> str:
    """What a message sent by a later run adds: when it was raised."""
    if entry["raised"] == stamp(now):
        return ""
    return (f"\n\nRaised at {shown_time(entry['raised'])}; the mail server could not be "
            "reached then.")


def deliver(outbox: Sequence[dict[str, str]], send: Callable[[str, str], None],
            now: datetime) -> list[dict[str, str]]:
    """Send the outbox oldest first; at the first failure keep the rest for the next run."""
    for index, entry in enumerate(outbox):
        try:
            send(entry["subject"], entry["body"] + late_note(entry, now))
        except MailError as error:
            left = len(outbox) - index
            log.warning("%s; %d message%s kept for the next run", error, left,
                        "" if left == 1 else "s")
            return list(outbox[index:])
    return []


def mailer(args: argparse.Namespace) -> Callable[[str, str], None]:
    """Send one alert to the recipient, one try (a dead server must not hold a cron run)."""
    smtp = SmtpSettings.from_args(args)

    def send(subject: str, body: str) -> None:
        send_email(generate_error_report(args.sender, args.recipient, subject, body), smtp,
                   attempts=1, timeout=args.probe_timeout)

    return send


def check_health(checks: Sequence[Check], state_path: Path, send: Callable[[str, str], None],
                 now: datetime, remind: timedelta | None) -> int:
    """One run: read and judge every check, remember, mail what changed; the exit code."""
    with run_lock(state_path):
        state = load_state(state_path)
        verdicts = take_readings(checks)
        after = step(state, verdicts, now, remind)
        if after != state:
            try_save(state_path, after)  # before sending: a run killed now loses no alert
        if after.outbox:
            sent = State(after.failing, deliver(after.outbox, send, now))
            try_save(state_path, sent)
    return worst(verdicts)


def state_file(args: argparse.Namespace) -> Path:
    """The state file of the command line, absolute."""
    return Path(args.state_file).expanduser().absolute()


def run_checks(args: argparse.Namespace, now: datetime | None = None) -> int:
    """Check the health as the command line says, at `now` (default: the clock's)."""
    now = now or datetime.now().astimezone().replace(microsecond=0)
    remind = timedelta(minutes=args.remind_minutes) if args.remind_minutes else None
    return check_health(make_checks(args), state_file(args), mailer(args), now, remind)


# Cron: one entry, every minute, marked with our tag.


def cron_command(args: argparse.Namespace) -> list[str]:
    """The command cron runs: this interpreter and script, with the settings in force now."""
    state = state_file(args)
    log_file = Path(args.log_file).expanduser().absolute() if args.log_file else (
        state.with_name("health.log"))
    command = [sys.executable, str(SCRIPT), "--state-file", str(state), "--log-file",
               str(log_file), "--quiet", "--smtp-host", args.smtp_host, "--smtp-port",
               str(args.smtp_port), "--sender", args.sender, "--recipient", args.recipient]
    if args.smtp_security != "none":
        command += ["--smtp-security", args.smtp_security]
    if args.smtp_user:
        command += ["--smtp-user", args.smtp_user]
    if args.smtp_ca_file:
        command += ["--smtp-ca-file", str(Path(args.smtp_ca_file).expanduser().absolute())]
    if args.env_file:
        command += ["--env-file", str(Path(args.env_file).expanduser().absolute())]
    defaults = {
        "--cpu-max-percent": (args.cpu_max_percent, CPU_MAX_PERCENT),
        "--disk-min-free-percent": (args.disk_min_free_percent, DISK_MIN_FREE_PERCENT),
        "--disk-path": (args.disk_path, DISK_PATH),
        "--memory-min-mb": (args.memory_min_mb, MEMORY_MIN_MB),
        "--remind-minutes": (args.remind_minutes, REMIND_MINUTES),
        "--cpu-interval": (args.cpu_interval, CPU_INTERVAL),
        "--probe-timeout": (args.probe_timeout, PROBE_TIMEOUT),
        "--url": (args.url, None),
    }
    for flag, (value, default) in defaults.items():
        if value != default:
            command += [flag, number(value, 6) if isinstance(value, float) else str(value)]
    return command


def cron_line(args: argparse.Namespace) -> str:
    """The crontab entry: every minute, the command, our tag."""
    command = shlex.join(cron_command(args)).replace("%", "\\%")  # cron reads % as a newline
    return f"* * * * * {command} {CRON_TAG}"


def is_ours(line: str) -> bool:
    """Whether a crontab line is the health check's entry."""
    return line.rstrip().endswith(CRON_TAG)


def with_entry(crontab: str, line: str) -> str:
    """The crontab with our entry in place of any earlier one (or at its end), the rest kept."""
    lines = crontab.splitlines()
    spots = [index for index, text in enumerate(lines) if is_ours(text)]
    kept = [text for text in lines if not is_ours(text)]
    kept.insert(spots[0] if spots else len(kept), line)
    return "\n".join(kept) + "\n"


def without_entry(crontab: str) -> str:
    """The crontab without our entry, the rest kept."""
    kept = [line for line in crontab.splitlines() if not is_ours(line)]
    return "\n".join(kept) + "\n" if kept else ""


def crontab(*args: str, text: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the crontab program."""
    if not shutil.which("crontab"):
        raise AutomationError("there is no crontab program: install cron (apt-get install cron)")
    return subprocess.run(["crontab", *args], input=text, capture_output=True, text=True,
                          check=False, timeout=30)


def read_crontab() -> str:
    """The user's crontab; none at all is an empty one."""
    done = crontab("-l")
    if done.returncode == 0:
        return done.stdout
    if "no crontab for" in done.stderr:
        return ""
    raise AutomationError(f"crontab -l failed: {done.stderr.strip()}")


def write_crontab(content: str) -> None:
    """Replace the user's crontab (remove it when nothing is left)."""
    done = crontab("-r") if not content.strip() else crontab("-", text=content)
    if done.returncode != 0 and "no crontab for" not in done.stderr:
        raise AutomationError(f"crontab failed: {done.stderr.strip()}")


def install_cron(args: argparse.Namespace) -> int:
    """Add (or update) the every-minute entry in the user's crontab, keeping the other entries."""
    line = cron_line(args)
    state_file(args).parent.mkdir(parents=True, exist_ok=True)
    before = read_crontab()
    after = with_entry(before, line)
    if after == before:
        print(f"already in the crontab:\n{line}")
        return cli.OK
    write_crontab(after)
    print(f"{'updated' if CRON_TAG in before else 'added'} in the crontab:\n{line}")
    return cli.OK


def uninstall_cron() -> int:
    """Remove our entry from the user's crontab, and nothing else."""
    before = read_crontab()
    after = without_entry(before)
    if after == before:
        print("no health check entry in the crontab: nothing to remove")
        return cli.OK
    write_crontab(after)
    print("removed the health check entry from the crontab")
    return cli.OK


# The command line.


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
        if not equals or not name.isidentifier():
            raise AutomationError(f"{path}:{line_number}: not a NAME=value line")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        os.environ.setdefault(name, value)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line, with defaults from the environment."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        epilog="Mail alerts go to ALERT_RECIPIENT through the SMTP settings. SMTP_PASSWORD "
               "comes from the environment only: for cron, put it in a file that only you can "
               "read and give it with --env-file.",
    )
    limits = parser.add_argument_group("checks")
    limits.add_argument("--cpu-max-percent", type=settings.percent, default=CPU_MAX_PERCENT,
                        metavar="PERCENT", help="alert when CPU usage is over this "
                        "(default %(default)g)")
    limits.add_argument("--disk-min-free-percent", type=settings.percent,
                        default=DISK_MIN_FREE_PERCENT,
                        metavar="PERCENT", help="alert when the free space on --disk-path is "
                        "less than this percentage of its size (default %(default)g)")
    limits.add_argument("--disk-path", default=DISK_PATH, metavar="PATH",
                        help="the file system whose free space is checked (default %(default)s)")
    limits.add_argument("--memory-min-mb", type=settings.non_negative_float, default=MEMORY_MIN_MB,
                        metavar="MB", help="alert when available memory is less than this, in "
                        "MB of 1024*1024 bytes (default %(default)g)")
    limits.add_argument("--url", metavar="URL", help="also check that the catalog service at "
                        "URL answers GET URL/fruits/ (default: not checked)")
    limits.add_argument("--cpu-interval", type=settings.positive_float, default=CPU_INTERVAL,
                        metavar="SECONDS", help="sample CPU usage over this long "
                        "(default %(default)g)")
    limits.add_argument("--probe-timeout", type=settings.positive_float, default=PROBE_TIMEOUT,
                        metavar="SECONDS", help="give up on name resolution, the disk and the "
                        "catalog after this long (default %(default)g)")
    alerts = parser.add_argument_group("alerts")
    alerts.add_argument("--remind-minutes", type=settings.non_negative_float,
                        default=REMIND_MINUTES,
                        metavar="MINUTES", help="while a check keeps failing, remind at most "
                        "this often; 0: never (default %(default)g)")
    settings.HEALTH_STATE_FILE.add_to(alerts, metavar="FILE")
    settings.REPORT_SENDER.add_to(alerts, metavar="ADDRESS")
    settings.ALERT_RECIPIENT.add_to(alerts, metavar="ADDRESS")
    settings.add_smtp_flags(alerts)
    alerts.add_argument("--env-file", metavar="FILE", help="read settings the environment "
                        "lacks (SMTP_PASSWORD) from NAME=value lines in FILE (default none)")
    running = parser.add_argument_group("running")
    running.add_argument("--log-file", metavar="FILE", help="also append diagnostics to FILE, "
                         "with the time (default none)")
    add_verbosity_flags(running)
    cron = running.add_mutually_exclusive_group()
    cron.add_argument("--install-cron", action="store_true", help="add a crontab entry that "
                      "runs this check every minute with the settings in force now, then exit")
    cron.add_argument("--uninstall-cron", action="store_true",
                      help="remove that crontab entry, then exit")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Check once (or install the cron entry); exit 0 healthy, 1 failing, 2 could not check."""
    args = parse_args(argv)
    setup_logging(args.verbose, args.quiet, prog=SCRIPT.name, log_file=args.log_file)

    def run() -> int:
        nonlocal args
        if args.env_file:
            load_env_file(Path(args.env_file).expanduser())
            args = parse_args(argv)  # the file's settings are now defaults
        if args.install_cron:
            return install_cron(args)
        if args.uninstall_cron:
            return uninstall_cron()
        return run_checks(args)

    return guarded(run)


if __name__ == "__main__":
    sys.exit(main())
