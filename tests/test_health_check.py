"""health_check.py: the judge from a table, the pipeline on fed readings, the script as a process.

Alerts are received by a real SMTP server; readings are fed by replacing psutil's functions (and
the resolver's answer for localhost); the clock is passed in. The crontab tests edit the real
crontab of root, one test at a time on this machine, and restore it whatever happens.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest

import health_check
from demo.processes import free_port, start_catalog, start_smtp_sink
from demo.smtp_sink import read_message
from health_check import (
    BODY,
    CRON_TAG,
    FAILING,
    MB,
    OK,
    UNKNOWN,
    Answers,
    Limit,
    Resolves,
    State,
    Verdict,
    judge,
    step,
    with_entry,
    without_entry,
    worst,
)
from tests.helpers import run_script

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=timezone.utc)
CPU = Limit("cpu", "CPU usage", 80, upper=True)
DISK = Limit("disk /", "Available disk space", 20, upper=False)
MEMORY = Limit("memory", "Available memory", 500 * MB, upper=False, unit="MB", scale=MB)
LOCALHOST = Resolves("localhost", "127.0.0.1")
CPU_ALERT = "Error - CPU usage is over 80%"
DISK_ALERT = "Error - Available disk space is less than 20%"
MEMORY_ALERT = "Error - Available memory is less than 500MB"
LOCALHOST_ALERT = "Error - localhost cannot be resolved to 127.0.0.1"
MEMORY_OK = "OK - Available memory is back above 500MB"
# Thresholds no machine crosses, so that a real reading fails only where a test forces it.
NEVER = ("--cpu-max-percent", "100", "--disk-min-free-percent", "0", "--memory-min-mb", "0")


# The judge: a pure function of a reading and the limit in force.


@pytest.mark.parametrize(("limit", "value", "state"), [
    pytest.param(CPU, 0.0, OK, id="cpu idle"),
    pytest.param(CPU, 80.0, OK, id="cpu at the limit"),
    pytest.param(CPU, 80.1, FAILING, id="cpu over"),
    pytest.param(CPU, 100.0, FAILING, id="cpu full"),
    pytest.param(DISK, 20.0, OK, id="disk at the limit"),
    pytest.param(DISK, 19.9, FAILING, id="disk under"),
    pytest.param(DISK, 95.0, OK, id="disk empty"),
    pytest.param(MEMORY, 500 * MB, OK, id="memory at the limit"),
    pytest.param(MEMORY, 500 * MB - 1, FAILING, id="memory a byte under"),
    pytest.param(MEMORY, 24 * 1024 * MB, OK, id="memory plenty"),
    pytest.param(LOCALHOST, ("127.0.0.1",), OK, id="localhost"),
    pytest.param(LOCALHOST, ("10.0.0.7", "127.0.0.1"), OK, id="localhost among others"),
    pytest.param(LOCALHOST, ("127.0.1.1",), FAILING, id="localhost elsewhere"),
    pytest.param(LOCALHOST, (), FAILING, id="localhost unresolved"),
    pytest.param(Answers("http://shop"), True, OK, id="catalog answers"),
    pytest.param(Answers("http://shop"), False, FAILING, id="catalog silent"),
])
def test_judge(limit, value, state: str) -> None:
    assert judge(limit, value).state == state


@pytest.mark.parametrize(("limit", "problem", "recovery"), [
    (CPU, "CPU usage is over 80%", "CPU usage is back under 80%"),
    (Limit("cpu", "CPU usage", 90, upper=True), "CPU usage is over 90%",
     "CPU usage is back under 90%"),
    (DISK, "Available disk space is less than 20%", "Available disk space is back above 20%"),
    (Limit("disk /", "Available disk space", 12.5, upper=False),
     "Available disk space is less than 12.5%", "Available disk space is back above 12.5%"),
    (MEMORY, "Available memory is less than 500MB", "Available memory is back above 500MB"),
    (Limit("memory", "Available memory", 10_000_000 * MB, upper=False, unit="MB", scale=MB),
     "Available memory is less than 10000000MB", "Available memory is back above 10000000MB"),
    (LOCALHOST, "localhost cannot be resolved to 127.0.0.1",
     "localhost resolves to 127.0.0.1 again"),
    (Answers("http://shop"), "the catalog at http://shop does not answer",
     "the catalog at http://shop answers again"),
])
def test_the_limit_owns_its_words(limit, problem: str, recovery: str) -> None:
    assert (limit.problem(), limit.recovery()) == (problem, recovery)


def test_memory_is_read_in_bytes_and_told_in_mb() -> None:
    assert judge(MEMORY, 300 * MB + MB // 2).detail == "it is 300.5MB"


@pytest.mark.parametrize(("states", "code"), [
    ([], 0), ([OK, OK], 0), ([OK, FAILING], 1), ([FAILING, UNKNOWN, OK], 2), ([UNKNOWN], 2),
])
def test_the_exit_code_is_the_worst_state(states: list[str], code: int) -> None:
    verdicts = [Verdict(f"check{n}", state, "", "", "") for n, state in enumerate(states)]
    assert worst(verdicts) == code


# Alert once, remind, recover: the pure step from one state to the next.


def verdict(limit, value) -> Verdict:
    """The verdict on one reading."""
    return judge(limit, value)


def subjects_of(state: State) -> list[str]:
    """The subjects in a state's outbox."""
    return [entry["subject"] for entry in state.outbox]


def test_a_new_problem_is_announced_at_once() -> None:
    after = step(State(), [verdict(MEMORY, 100 * MB), verdict(CPU, 5)], T0, timedelta(hours=1))
    assert subjects_of(after) == [MEMORY_ALERT]
    assert after.outbox[0]["body"] == BODY
    assert after.failing["memory"]["since"] == "2026-11-22T09:00:00+00:00"


def test_a_lasting_problem_is_reminded_once_per_window() -> None:
    state = State()
    sent: list[tuple[int, str]] = []
    for minute in range(0, 131):
        state = step(state, [verdict(MEMORY, 100 * MB)], T0 + timedelta(minutes=minute),
                     timedelta(hours=1))
        sent += [(minute, entry["subject"]) for entry in state.outbox]
        state = State(state.failing, [])  # as if delivered
    assert sent == [(0, MEMORY_ALERT), (60, MEMORY_ALERT), (120, MEMORY_ALERT)]


def test_a_reminder_says_since_when() -> None:
    state = step(State(), [verdict(MEMORY, 100 * MB)], T0, timedelta(hours=1))
    state = step(State(state.failing, []), [verdict(MEMORY, 100 * MB)],
                 T0 + timedelta(minutes=75), timedelta(hours=1))
    body = state.outbox[0]["body"]
    assert body.startswith(BODY)
    assert "failing since 2026-11-22 09:00 UTC (1 h 15 min)" in body
    assert "it is 100MB" in body


def test_no_reminders_with_remind_zero() -> None:
    state = step(State(), [verdict(CPU, 99)], T0, None)
    state = step(State(state.failing, []), [verdict(CPU, 99)], T0 + timedelta(days=3), None)
    assert state.outbox == []


def test_the_end_of_a_problem_is_announced() -> None:
    state = step(State(), [verdict(CPU, 99)], T0, timedelta(hours=1))
    state = step(State(state.failing, []), [verdict(CPU, 10)], T0 + timedelta(minutes=7),
                 timedelta(hours=1))
    assert subjects_of(state) == ["OK - CPU usage is back under 80%"]
    assert "failing since 2026-11-22 09:00 UTC, for 7 min" in state.outbox[0]["body"]
    assert state.failing == {}


def test_a_check_that_cannot_be_read_changes_nothing() -> None:
    state = step(State(), [verdict(CPU, 99)], T0, timedelta(hours=1))
    unknown = Verdict("cpu", UNKNOWN, CPU.problem(), CPU.recovery(), "cannot read it")
    after = step(State(state.failing, []), [unknown], T0 + timedelta(hours=5), timedelta(hours=1))
    assert after == State(state.failing, [])


def test_a_queued_alert_is_not_doubled_by_a_reminder() -> None:
    state = step(State(), [verdict(CPU, 99)], T0, timedelta(hours=1))
    state = step(state, [verdict(CPU, 99)], T0 + timedelta(hours=1), timedelta(hours=1))
    assert subjects_of(state) == [CPU_ALERT]
    assert state.failing["cpu"]["reminders"] == 1


# The pipeline: readings fed through psutil and the resolver, a real SMTP server, a fake clock.


@dataclass
class Machine:
    """The readings the checks get: set them in a test."""

    cpu: float = 5.0
    disk_free_percent: float = 60.0
    memory: int = 8 * 1024 * MB
    localhost: tuple[str, ...] = ("127.0.0.1",)
    resolver_hangs: bool = False


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch) -> Iterator[Machine]:
    """A healthy machine whose readings the test sets."""
    fed = Machine()
    real_getaddrinfo = socket.getaddrinfo
    released = threading.Event()

    def disk_usage(path: str) -> SimpleNamespace:
        total = 1000 * MB
        free = int(total * fed.disk_free_percent / 100)
        return SimpleNamespace(total=total, used=total - free, free=free)

    def getaddrinfo(host, *args, **kwargs):  # only localhost is fed: SMTP still resolves
        if host != "localhost":
            return real_getaddrinfo(host, *args, **kwargs)
        if fed.resolver_hangs:
            released.wait()
        if not fed.localhost:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, 0))
                for address in fed.localhost]

    monkeypatch.setattr(psutil, "cpu_percent", lambda interval=None: fed.cpu)
    monkeypatch.setattr(psutil, "disk_usage", disk_usage)
    monkeypatch.setattr(psutil, "virtual_memory", lambda: SimpleNamespace(available=fed.memory))
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield fed
    released.set()


def check_at(tmp_path: Path, minute: float, *flags: str) -> int:
    """One run of the checks, in-process, at T0 + minute, with the state in tmp_path."""
    args = health_check.parse_args(["--state-file", str(tmp_path / "state.json"), *flags])
    return health_check.run_checks(args, now=T0 + timedelta(minutes=minute))


def subjects(mailbox) -> list[str]:
    """The subjects received so far, oldest first."""
    return [message["Subject"] for message in mailbox.messages()]


def saved_state(tmp_path: Path) -> dict:
    """The state file as JSON."""
    return json.loads((tmp_path / "state.json").read_text())


def test_a_healthy_machine_sends_nothing(tmp_path: Path, machine: Machine, mailbox) -> None:
    assert check_at(tmp_path, 0) == 0
    assert mailbox.messages() == []


@pytest.mark.parametrize(("reading", "value", "subject"), [
    pytest.param("cpu", 80.5, CPU_ALERT, id="cpu"),
    pytest.param("disk_free_percent", 19.5, DISK_ALERT, id="disk"),
    pytest.param("memory", 499 * MB, MEMORY_ALERT, id="memory"),
    pytest.param("localhost", ("127.0.1.1",), LOCALHOST_ALERT, id="localhost"),
])
def test_each_threshold_crossed_sends_its_alert(
    tmp_path: Path, machine: Machine, mailbox, reading: str, value, subject: str
) -> None:
    setattr(machine, reading, value)
    assert check_at(tmp_path, 0) == 1
    [alert] = mailbox.messages()
    assert alert["Subject"] == subject
    assert alert.get_content().strip() == BODY


def test_a_threshold_in_force_names_itself(tmp_path: Path, machine: Machine, mailbox) -> None:
    machine.cpu = 95
    machine.memory = 900 * MB
    assert check_at(tmp_path, 0, "--cpu-max-percent", "90", "--memory-min-mb", "1024") == 1
    assert sorted(subjects(mailbox)) == [
        "Error - Available memory is less than 1024MB", "Error - CPU usage is over 90%",
    ]


def test_all_four_failing_send_four_alerts(tmp_path: Path, machine: Machine, mailbox) -> None:
    machine.cpu, machine.disk_free_percent, machine.memory = 99.0, 3.0, 120 * MB
    machine.localhost = ()
    assert check_at(tmp_path, 0) == 1
    assert subjects(mailbox) == [CPU_ALERT, DISK_ALERT, MEMORY_ALERT, LOCALHOST_ALERT]
    assert set(saved_state(tmp_path)["failing"]) == {"cpu", "disk /", "memory", "localhost"}


def test_a_hung_resolver_fails_the_check_in_bounded_time(
    tmp_path: Path, machine: Machine, mailbox
) -> None:
    machine.resolver_hangs = True
    assert check_at(tmp_path, 0, "--probe-timeout", "0.2") == 1
    assert subjects(mailbox) == [LOCALHOST_ALERT]


def test_low_memory_for_ten_minutes_then_recovery(
    tmp_path: Path, machine: Machine, mailbox
) -> None:
    """Cron runs it every minute: the operator gets one alert, then one all-clear."""
    codes = []
    for minute in range(0, 12):
        machine.memory = 300 * MB if minute < 10 else 2048 * MB
        codes.append(check_at(tmp_path, minute))
    assert codes == [1] * 10 + [0] * 2
    assert subjects(mailbox) == [MEMORY_ALERT, MEMORY_OK]
    assert "failing since 2026-11-22 09:00 UTC, for 10 min" in mailbox.messages()[1].get_content()
    assert saved_state(tmp_path) == {"version": 1, "failing": {}, "outbox": []}


def test_reminders_follow_remind_minutes(tmp_path: Path, machine: Machine, mailbox) -> None:
    machine.cpu = 97
    for minute in (0, 1, 29, 30, 31, 59, 60):
        check_at(tmp_path, minute, "--remind-minutes", "30")
    assert subjects(mailbox) == [CPU_ALERT] * 3
    reminder = mailbox.messages()[1].get_content()
    assert "Reminder 1: failing since 2026-11-22 09:00 UTC (30 min)" in reminder


def test_an_alert_is_kept_while_smtp_is_down_and_sent_once_after(
    tmp_path: Path, machine: Machine, mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    machine.memory = 100 * MB
    dead_port = str(free_port())
    assert check_at(tmp_path, 0, "--smtp-port", dead_port) == 1
    assert "1 message kept for the next run" in caplog.text
    assert [entry["subject"] for entry in saved_state(tmp_path)["outbox"]] == [MEMORY_ALERT]
    assert check_at(tmp_path, 1, "--smtp-port", dead_port) == 1
    assert mailbox.messages() == []

    assert check_at(tmp_path, 5) == 1
    assert check_at(tmp_path, 6) == 1
    [alert] = mailbox.messages()
    assert alert["Subject"] == MEMORY_ALERT
    body = alert.get_content()
    assert body.startswith(BODY)
    assert "Raised at 2026-11-22 09:00 UTC" in body
    assert saved_state(tmp_path)["outbox"] == []


def test_a_recovery_during_the_outage_arrives_after_its_alert(
    tmp_path: Path, machine: Machine, mailbox
) -> None:
    dead_port = str(free_port())
    machine.memory = 100 * MB
    check_at(tmp_path, 0, "--smtp-port", dead_port)
    machine.memory = 4096 * MB
    assert check_at(tmp_path, 3, "--smtp-port", dead_port) == 0
    assert check_at(tmp_path, 4) == 0
    assert subjects(mailbox) == [MEMORY_ALERT, MEMORY_OK]


def test_a_corrupt_state_file_is_a_warning_and_a_fresh_start(
    tmp_path: Path, machine: Machine, mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    corrupt = '{"version": 1, "failing": {"cpu": '
    (tmp_path / "state.json").write_text(corrupt)
    machine.cpu = 99
    assert check_at(tmp_path, 0) == 1
    assert "not a state this script wrote" in caplog.text
    assert subjects(mailbox) == [CPU_ALERT]
    assert list(saved_state(tmp_path)["failing"]) == ["cpu"]
    assert (tmp_path / "state.json.corrupt").read_text() == corrupt


@pytest.mark.parametrize("content", [
    pytest.param('{"version": 1, "failing": {"cpu": {"since": "yesterday"}}}', id="bad time"),
    pytest.param("[]", id="a list"),
    pytest.param("\x00\xff", id="binary"),
])
def test_a_state_of_the_wrong_shape_is_a_fresh_start(
    tmp_path: Path, machine: Machine, mailbox, content: str, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "state.json").write_text(content, encoding="latin-1")
    assert check_at(tmp_path, 0) == 0
    assert "starting afresh" in caplog.text
    caplog.clear()
    assert check_at(tmp_path, 1) == 0
    assert caplog.messages == []  # set aside: the warning is not repeated every minute
    assert (tmp_path / "state.json.corrupt").read_bytes() == content.encode("latin-1")


def test_the_state_file_is_plain_json_in_a_new_folder(
    tmp_path: Path, machine: Machine, mailbox
) -> None:
    machine.localhost = ()
    args = ["--state-file", str(tmp_path / "deep" / "er" / "health.json")]
    assert health_check.run_checks(health_check.parse_args(args), now=T0) == 1
    state = json.loads((tmp_path / "deep" / "er" / "health.json").read_text())
    assert state["failing"] == {"localhost": {
        "problem": "localhost cannot be resolved to 127.0.0.1",
        "since": "2026-11-22T09:00:00+00:00",
        "announced": "2026-11-22T09:00:00+00:00",
        "reminders": 0,
    }}
    assert sorted(path.name for path in (tmp_path / "deep" / "er").iterdir()) == [
        "health.json", "health.json.lock"]


def test_a_check_that_cannot_be_read_exits_2_and_the_others_still_alert(
    tmp_path: Path, machine: Machine, mailbox, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def no_such_path(path: str):
        raise FileNotFoundError(2, "No such file or directory", path)

    monkeypatch.setattr(psutil, "disk_usage", no_such_path)
    machine.memory = 10 * MB
    assert check_at(tmp_path, 0, "--disk-path", "/no/such/disk") == 2
    assert subjects(mailbox) == [MEMORY_ALERT]
    assert "cannot check disk /no/such/disk: cannot read it: No such file or directory" in (
        caplog.messages)


def test_the_catalog_check_alerts_and_recovers(
    tmp_path: Path, machine: Machine, mailbox
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    assert check_at(tmp_path, 0, "--url", url) == 1
    server = start_catalog(tmp_path / "catalog-service", port=port)
    try:
        assert check_at(tmp_path, 1, "--url", url) == 0
    finally:
        server.stop()
    assert subjects(mailbox) == [f"Error - the catalog at {url} does not answer",
                                 f"OK - the catalog at {url} answers again"]


def test_settings_come_from_an_env_file(tmp_path: Path, machine: Machine, mailbox,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / "health.env"
    env_file.write_text(f"# for cron\nexport SMTP_PORT={mailbox.port}\n"
                        "ALERT_RECIPIENT='oncall@example.com'\n")
    env_file.chmod(0o600)
    monkeypatch.delenv("SMTP_PORT")
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    machine.cpu = 99
    state = str(tmp_path / "state.json")
    assert health_check.main(["--env-file", str(env_file), "--state-file", state, "-q"]) == 1
    [alert] = mailbox.messages()
    assert (alert["Subject"], alert["To"]) == (CPU_ALERT, "oncall@example.com")


# The script as the operator and cron run it: a real process.


def test_a_real_reading_over_a_forced_threshold_alerts(tmp_path: Path, mailbox) -> None:
    state = tmp_path / "state.json"
    env = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(mailbox.port),
           "ALERT_RECIPIENT": "oncall@example.com", "HEALTH_STATE_FILE": str(state)}
    done = run_script("health_check.py", *NEVER, "--memory-min-mb", "10000000", env=env)
    assert (done.returncode, done.stdout) == (1, "")
    assert "Available memory is less than 10000000MB (it is " in done.stderr
    [alert] = mailbox.messages()
    assert alert["Subject"] == "Error - Available memory is less than 10000000MB"
    assert alert.get_content().strip() == BODY
    assert (alert["From"], alert["To"]) == ("automation@example.com", "oncall@example.com")
    assert not alert.is_multipart()
    assert list(alert.iter_attachments()) == []
    assert list(json.loads(state.read_text())["failing"]) == ["memory"]


def test_a_healthy_run_prints_nothing(tmp_path: Path, mailbox) -> None:
    done = run_script("health_check.py", *NEVER, "--cpu-interval", "0.1",
                      "--state-file", str(tmp_path / "state.json"),
                      "--smtp-host", "127.0.0.1", "--smtp-port", str(mailbox.port))
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert mailbox.messages() == []


def test_a_second_run_stops_at_once_while_one_holds_the_lock(tmp_path: Path, mailbox) -> None:
    state = tmp_path / "state.json"
    with (tmp_path / "state.json.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = run_script("health_check.py", "--state-file", str(state), "--memory-min-mb",
                          "10000000", "--smtp-host", "127.0.0.1", "--smtp-port",
                          str(mailbox.port), timeout=30)
    assert (done.returncode, done.stdout) == (2, "")
    assert "another health check is running" in done.stderr
    assert len(done.stderr.splitlines()) == 1
    assert not state.exists()
    assert mailbox.messages() == []


def test_a_log_file_gets_the_problems_and_stderr_only_errors(tmp_path: Path, mailbox) -> None:
    log_file = tmp_path / "logs" / "health.log"
    done = run_script("health_check.py", *NEVER, "--memory-min-mb", "10000000", "--quiet",
                      "--state-file", str(tmp_path / "state.json"), "--log-file", str(log_file),
                      "--smtp-port", str(free_port()))
    assert (done.returncode, done.stdout, done.stderr) == (1, "", "")
    logged = log_file.read_text()
    assert "WARNING: Available memory is less than 10000000MB" in logged
    assert "1 message kept for the next run" in logged


def test_bad_flags_exit_2() -> None:
    done = run_script("health_check.py", "--cpu-max-percent", "120")
    assert done.returncode == 2
    assert "must be from 0 to 100" in done.stderr


# Cron: the entry, the crontab edits, and a real daemon.


def cron_args(*flags: str):
    """A command line as given with --install-cron."""
    return health_check.parse_args(["--install-cron", *flags])


def test_the_cron_line_runs_every_minute_with_absolute_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", "s3cret-pw")
    monkeypatch.setenv("SMTP_HOST", "mail.example.com")
    line = health_check.cron_line(cron_args(
        "--state-file", str(tmp_path / "100% state.json"), "--memory-min-mb", "10000000",
        "--cpu-max-percent", "90", "--smtp-user", "ops",
    ))
    assert line.startswith("* * * * * ")
    assert line.endswith(f" {CRON_TAG}")
    assert "s3cret-pw" not in line
    assert "\\%" in line  # cron reads a bare % as a newline
    command = shlex.split(line[len("* * * * * "):-len(CRON_TAG)].replace("\\%", "%"))
    assert command[:2] == [sys.executable, str(Path(health_check.__file__).resolve())]
    assert "--quiet" in command
    options = " ".join(command)
    for expected in ("--memory-min-mb 10000000", "--cpu-max-percent 90",
                     "--smtp-host mail.example.com", "--smtp-user ops", "--smtp-port 25",
                     f"--state-file {tmp_path / '100% state.json'}",
                     f"--log-file {tmp_path / 'health.log'}"):
        assert expected in options
    assert "--disk-path" not in command  # a default is left out


@pytest.mark.parametrize(("before", "after"), [
    pytest.param("", "NEW\n", id="empty crontab"),
    pytest.param("MAILTO=ops\n0 3 * * * backup\n", "MAILTO=ops\n0 3 * * * backup\nNEW\n",
                 id="others kept"),
    pytest.param(f"0 3 * * * backup\n* * * * * old {CRON_TAG}\n# note\n",
                 "0 3 * * * backup\nNEW\n# note\n", id="older entry replaced in place"),
    pytest.param("0 3 * * * backup", "0 3 * * * backup\nNEW\n", id="no final newline"),
])
def test_with_entry(before: str, after: str) -> None:
    line = f"NEW {CRON_TAG}"
    assert with_entry(before, line) == after.replace("NEW", line)
    assert with_entry(with_entry(before, line), line) == with_entry(before, line)


@pytest.mark.parametrize(("before", "after"), [
    pytest.param(f"* * * * * x {CRON_TAG}\n", "", id="only ours"),
    pytest.param(f"0 3 * * * backup\n* * * * * x {CRON_TAG}\n", "0 3 * * * backup\n",
                 id="others kept"),
    pytest.param("0 3 * * * backup # fruit-catalog\n", "0 3 * * * backup # fruit-catalog\n",
                 id="a lookalike kept"),
])
def test_without_entry(before: str, after: str) -> None:
    assert without_entry(before) == after


CRONTAB_TESTS_LOCK = Path(tempfile.gettempdir()) / "fruit-catalog-crontab-tests.lock"


def crontab_now() -> tuple[int, str]:
    """The exit code and output of `crontab -l`."""
    done = subprocess.run(["crontab", "-l"], capture_output=True, text=True, check=False)
    return done.returncode, done.stdout


@pytest.fixture
def real_crontab() -> Iterator[tuple[int, str]]:
    """root's own crontab, edited by one test at a time on this machine, restored afterwards."""
    if shutil.which("crontab") is None:
        pytest.skip("needs the crontab program (Debian: apt-get install cron)")
    if os.geteuid() != 0:
        pytest.skip("needs root: it edits the crontab of the user running the tests")
    with CRONTAB_TESTS_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test run on this machine waits its turn
        code, content = crontab_now()
        if code != 0 and content:
            pytest.skip(f"crontab -l fails: {content.strip()}")
        try:
            yield code, content
        finally:
            if code == 0:
                subprocess.run(["crontab", "-"], input=content, text=True, check=True)
            else:
                subprocess.run(["crontab", "-r"], capture_output=True, check=False)
            assert crontab_now() == (code, content)


def test_install_twice_and_uninstall_keep_the_other_entries(
    tmp_path: Path, real_crontab: tuple[int, str]
) -> None:
    others = "# someone else's\n0 3 * * 0 /bin/true\n"
    subprocess.run(["crontab", "-"], input=others, text=True, check=True)
    flags = ("--install-cron", "--state-file", str(tmp_path / "state.json"))
    first = run_script("health_check.py", *flags, "--memory-min-mb", "10000000")
    again = run_script("health_check.py", *flags, "--memory-min-mb", "10000000")
    assert (first.returncode, again.returncode) == (0, 0)
    assert first.stdout.startswith("added in the crontab:")
    assert again.stdout.startswith("already in the crontab:")
    _, content = crontab_now()
    ours = [line for line in content.splitlines() if line.endswith(CRON_TAG)]
    assert content.startswith(others)
    assert len(ours) == 1
    assert ours[0].startswith("* * * * * ")
    assert "--memory-min-mb 10000000" in ours[0]

    gone = run_script("health_check.py", "--uninstall-cron")
    assert (gone.returncode, crontab_now()) == (0, (0, others))
    assert "nothing to remove" in run_script("health_check.py", "--uninstall-cron").stdout


def cron_program() -> str:
    """The cron daemon's program, or skip."""
    program = shutil.which("cron") or shutil.which("cron", path="/usr/sbin:/sbin")
    if program is None:
        pytest.skip("needs the cron daemon (Debian: apt-get install cron)")
    return program


def cron_daemons() -> set[int]:
    """The ids of the cron daemons running now."""
    return {process.pid for process in psutil.process_iter(["name", "status"])
            if process.info["name"] == "cron" and process.info["status"] != psutil.STATUS_ZOMBIE}


@contextlib.contextmanager
def cron_running(program: str) -> Iterator[None]:
    """A running cron daemon: started here (and stopped after) when none runs yet.

    Call it after changing the crontab: cron notices a change by the spool's mtime, in whole
    seconds, so a change in the very second it loaded the crontabs would go unseen.
    """
    if cron_daemons():
        yield
        return
    subprocess.run([program], check=True)  # Debian's cron forks and runs in the background
    deadline = time.monotonic() + 10
    while not cron_daemons() and time.monotonic() < deadline:
        time.sleep(0.1)
    started = cron_daemons()
    assert started, "cron did not start"
    try:
        yield
    finally:
        for pid in started:
            os.kill(pid, signal.SIGTERM)


def clear_of_the_minute() -> None:
    """Wait out the first seconds of a minute, when a running cron reloads changed crontabs."""
    while datetime.now().second < 2:
        time.sleep(0.2)


@pytest.mark.slow
def test_the_installed_entry_alerts_from_a_real_cron(
    tmp_path: Path, real_crontab: tuple[int, str]
) -> None:
    """Installed with a forced failing threshold, cron runs it within a minute; the alert
    arrives in a separate SMTP sink process; uninstalling leaves the crontab as it was."""
    program = cron_program()
    mail = tmp_path / "mail"
    sink = start_smtp_sink(mail)
    try:
        clear_of_the_minute()
        installed = run_script(
            "health_check.py", "--install-cron", "--state-file", str(tmp_path / "state.json"),
            "--smtp-host", "127.0.0.1", "--smtp-port", str(sink.port), *NEVER,
            "--memory-min-mb", "10000000",
        )
        assert installed.returncode == 0, installed.stderr
        with cron_running(program):
            deadline = time.monotonic() + 75
            while not list(mail.glob("*.eml")) and time.monotonic() < deadline:
                time.sleep(1)
        removed = run_script("health_check.py", "--uninstall-cron")
        received = sorted(mail.glob("*.eml"))
    finally:
        sink.stop()
    assert received, f"no alert within 75 s; the job's log: {tmp_path / 'health.log'}"
    alert = read_message(received[0])
    assert alert["Subject"] == "Error - Available memory is less than 10000000MB"
    assert alert.get_content().strip() == BODY
    assert removed.returncode == 0
    assert crontab_now() == real_crontab
