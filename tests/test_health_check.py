"""health_check.py: whole runs on fed readings with a real SMTP server, and the script as a
process.

Alerts are received by a real SMTP server; readings are fed through psutil (tests/
health_helpers.py); the clock is passed in. The package's parts have their own files
(test_health_judge, _measure, _alerts, _state, _nagios, _metrics, _cron).
"""

from __future__ import annotations

import fcntl
import json
import logging
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import psutil
import pytest

import health_check
from automation import redact
from automation.health import pipeline
from automation.health.judge import MB
from automation.health.texts import BODY
from demo.processes import free_port, start_catalog
from tests.health_helpers import (
    BOOT,
    CPU_ALERT,
    DISK_ALERT,
    LOCALHOST_ALERT,
    MEMORY_ALERT,
    MEMORY_OK,
    NEVER,
    T0,
    Machine,
)
from tests.helpers import run_script


def args_of(tmp_path: Path, *flags: str):
    """The command line, with the state in tmp_path."""
    return health_check.parse_args(["--state-file", str(tmp_path / "state.json"), *flags])


def check_at(tmp_path: Path, minute: float, *flags: str) -> int:
    """One run of the checks, in-process, at T0 + minute, with the state in tmp_path."""
    return pipeline.run_checks(args_of(tmp_path, *flags), now=T0 + timedelta(minutes=minute))


def subjects(mailbox) -> list[str]:
    """The subjects received so far, oldest first."""
    return [message["Subject"] for message in mailbox.messages()]


def saved_state(tmp_path: Path) -> dict:
    """The state file as JSON."""
    return json.loads((tmp_path / "state.json").read_text())


# The contract's four checks.


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


# The checks asked for: each its own flag and its own subject.


@pytest.mark.parametrize(("flags", "reading", "value", "subject"), [
    pytest.param(("--swap-max-percent", "50"), "swap_used", 1100 * MB,
                 "Error - Swap in use is over 50%", id="swap"),
    pytest.param(("--load-max-per-cpu", "1.5"), "load5", 3.2,
                 "Error - Load average per CPU is over 1.5", id="load per cpu"),
    pytest.param(("--inodes-min-free-percent", "10"), "inodes", {"/": 4.0},
                 "Error - Free inodes are less than 10%", id="inodes"),
])
def test_each_new_check_sends_its_own_alert(
    tmp_path: Path, machine: Machine, mailbox, flags: tuple[str, ...], reading: str, value,
    subject: str,
) -> None:
    assert check_at(tmp_path, 0, *flags) == 0  # asked for, and passing
    setattr(machine, reading, value)
    assert check_at(tmp_path, 1) == 0  # not asked for: not checked
    assert check_at(tmp_path, 2, *flags) == 1
    [alert] = mailbox.messages()
    assert alert["Subject"] == subject
    assert alert.get_content().strip() == BODY


def test_the_new_checks_are_off_unless_asked_for(
    tmp_path: Path, machine: Machine, mailbox
) -> None:
    machine.swap_used, machine.load5, machine.inodes = machine.swap_total, 50.0, {"/": 0.0}
    assert check_at(tmp_path, 0) == 0
    assert mailbox.messages() == []


def test_disk_path_reaches_psutil(tmp_path: Path, machine: Machine, mailbox,
                                  caplog: pytest.LogCaptureFixture) -> None:
    """The file system psutil is asked about is the one given, and / is not asked about."""
    machine.disks = {"/": 60.0, "/srv/data": 12.0}
    assert check_at(tmp_path, 0, "--disk-path", "/srv/data") == 1
    assert machine.disks_asked == ["/srv/data"]
    assert subjects(mailbox) == [DISK_ALERT]  # one path: the contract's subject
    assert "Available disk space is less than 20% (it is 12% on /srv/data)" in caplog.messages


def test_several_disk_paths_each_alert_under_their_own_subject(
    tmp_path: Path, machine: Machine, mailbox
) -> None:
    machine.disks = {"/": 10.0, "/srv/data": 60.0, "/var": 5.0}
    flags = ("--disk-path", "/", "--disk-path", "/srv/data", "--disk-path", "/var",
             "--inodes-min-free-percent", "10")
    machine.inodes = {"/": 90.0, "/srv/data": 3.0, "/var": 90.0}
    assert check_at(tmp_path, 0, *flags) == 1
    assert machine.disks_asked == ["/", "/srv/data", "/var"]
    assert subjects(mailbox) == [
        DISK_ALERT,  # / keeps the contract's subject
        "Error - Available disk space on /var is less than 20%",
        "Error - Free inodes on /srv/data are less than 10%",
    ]
    assert set(saved_state(tmp_path)["failing"]) == {"disk /", "disk /var", "inodes /srv/data"}


def test_a_check_that_cannot_be_read_exits_2_and_the_others_still_alert(
    tmp_path: Path, machine: Machine, mailbox, caplog: pytest.LogCaptureFixture,
) -> None:
    machine.memory = 10 * MB
    assert check_at(tmp_path, 0, "--disk-path", "/no/such/disk") == 2
    assert machine.disks_asked == ["/no/such/disk"]
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


# CPU over the interval since the previous run.


def test_cpu_is_measured_over_the_interval_since_the_previous_run(
    tmp_path: Path, machine: Machine, mailbox
) -> None:
    assert check_at(tmp_path, 0) == 0
    assert machine.samples == [1.0]  # the first run has no earlier reading: it samples
    machine.cpu = 93.0
    assert check_at(tmp_path, 1) == 1
    assert check_at(tmp_path, 2, "--cpu-max-percent", "95") == 0
    assert machine.samples == [1.0]  # the next runs take the interval: no sampling
    assert subjects(mailbox) == [CPU_ALERT, "OK - CPU usage is back under 95%"]
    assert "it is 93%" in mailbox.messages()[1].get_content()
    kept = saved_state(tmp_path)["cpu"]
    assert (kept["taken"], kept["boot"]) == ("2026-11-22T09:02:00+00:00", BOOT)


def test_cpu_is_sampled_again_after_a_reboot_or_a_long_pause(
    tmp_path: Path, machine: Machine, mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    check_at(tmp_path, 0)
    check_at(tmp_path, 1)
    assert machine.samples == [1.0]
    machine.boot = BOOT + 3600
    caplog.set_level(logging.INFO)
    check_at(tmp_path, 2)
    assert machine.samples == [1.0, 1.0]
    assert "CPU: the earlier reading is from before a reboot: sampling for 1 s" in caplog.messages
    check_at(tmp_path, 3)
    assert machine.samples == [1.0, 1.0]
    check_at(tmp_path, 60, "--cpu-interval", "0.5")
    assert machine.samples == [1.0, 1.0, 0.5]  # 57 minutes is older than --cpu-window-minutes


# Alert once, after --fail-after runs, remind, recover.


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
    state = saved_state(tmp_path)
    assert (state["version"], state["failing"], state["outbox"]) == (2, {}, [])


def test_fail_after_alerts_on_the_nth_failing_run_in_a_row(
    tmp_path: Path, machine: Machine, mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    machine.memory = 300 * MB
    codes = []
    caplog.set_level(logging.INFO)
    for minute in range(0, 4):
        codes.append(check_at(tmp_path, minute, "--fail-after", "3"))
        if minute == 1:
            assert mailbox.messages() == []  # failing, logged, but not mailed yet
    assert codes == [1, 1, 1, 1]
    assert subjects(mailbox) == [MEMORY_ALERT]
    assert "memory: failing run 2 of the 3 before it alerts" in caplog.messages
    assert saved_state(tmp_path)["failing"]["memory"]["since"] == "2026-11-22T09:00:00+00:00"
    machine.memory = 4096 * MB
    assert check_at(tmp_path, 4, "--fail-after", "3") == 0
    assert subjects(mailbox) == [MEMORY_ALERT, MEMORY_OK]
    assert "failing since 2026-11-22 09:00 UTC, for 4 min" in mailbox.messages()[1].get_content()


def test_a_streak_broken_before_fail_after_sends_nothing(
    tmp_path: Path, machine: Machine, mailbox
) -> None:
    for minute, cpu in enumerate([95, 95, 10, 95, 95, 10]):
        machine.cpu = cpu
        check_at(tmp_path, minute, "--fail-after", "3")
    assert mailbox.messages() == []  # no alert, and so no all-clear either
    assert saved_state(tmp_path)["failing"] == {}


def test_reminders_follow_remind_minutes(tmp_path: Path, machine: Machine, mailbox) -> None:
    machine.cpu = 97
    for minute in (0, 1, 29, 30, 31, 59, 60):
        check_at(tmp_path, minute, "--remind-minutes", "30")
    assert subjects(mailbox) == [CPU_ALERT] * 3
    reminder = mailbox.messages()[1].get_content()
    assert "Reminder 1: failing since 2026-11-22 09:00 UTC (30 min)" in reminder


# Silences.


def silence_at(tmp_path: Path, minute: float, check: str, duration: str) -> int:
    """Record a silence in-process at T0 + minute."""
    args = args_of(tmp_path, "--silence", check, "--for", duration)
    return pipeline.silence(args, now=T0 + timedelta(minutes=minute))


def test_a_silence_holds_the_alert_until_it_runs_out(
    tmp_path: Path, machine: Machine, mailbox, capsys: pytest.CaptureFixture[str]
) -> None:
    assert silence_at(tmp_path, 0, "cpu", "15m") == 0
    assert capsys.readouterr().out == (
        "cpu is silenced until 2026-11-22 09:15 UTC (15 min from now)\n")
    machine.cpu, machine.memory = 99, 100 * MB
    for minute in range(1, 15):
        assert check_at(tmp_path, minute) == 1  # still failing, and said so
    assert subjects(mailbox) == [MEMORY_ALERT]  # a silence holds only its own check
    assert check_at(tmp_path, 15) == 1
    assert subjects(mailbox) == [MEMORY_ALERT, CPU_ALERT]  # still failing when it ran out
    assert saved_state(tmp_path)["silences"] == {}


def test_a_check_that_recovers_during_its_silence_sends_nothing(
    tmp_path: Path, machine: Machine, mailbox
) -> None:
    silence_at(tmp_path, 0, "disk", "1h")
    machine.disk_free_percent = 5
    check_at(tmp_path, 10)
    machine.disk_free_percent = 50
    check_at(tmp_path, 20)
    check_at(tmp_path, 61)
    assert mailbox.messages() == []


def test_list_and_verbose_runs_show_the_silences_in_force(
    tmp_path: Path, machine: Machine, mailbox, capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    silence_at(tmp_path, 0, "memory", "2h")
    silence_at(tmp_path, 0, "cpu", "30s")
    capsys.readouterr()
    assert pipeline.list_silences(args_of(tmp_path, "--list"), now=T0) == 0
    assert capsys.readouterr().out.splitlines() == [
        "cpu is silenced until 2026-11-22 09:00 UTC (30 s from now)",
        "memory is silenced until 2026-11-22 11:00 UTC (2 h 0 min from now)",
    ]
    caplog.set_level(logging.INFO)
    check_at(tmp_path, 30)
    assert "memory is silenced until 2026-11-22 11:00 UTC (1 h 30 min from now)" in (
        caplog.messages)
    assert "the silence of cpu has run out" in caplog.messages
    pipeline.list_silences(args_of(tmp_path, "--list"), now=T0 + timedelta(hours=3))
    assert capsys.readouterr().out == "no silences in force\n"


def test_a_silence_for_0_lifts_it(tmp_path: Path, machine: Machine, mailbox,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    silence_at(tmp_path, 0, "cpu", "1d")
    assert silence_at(tmp_path, 5, "cpu", "0") == 0
    assert capsys.readouterr().out.splitlines()[-1] == "cpu is not silenced"
    machine.cpu = 99
    check_at(tmp_path, 6)
    assert subjects(mailbox) == [CPU_ALERT]


def test_silence_list_and_verbose_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], machine: Machine, mailbox
) -> None:
    state = str(tmp_path / "state.json")
    assert health_check.main(["--silence", "disk", "--for", "2h", "--state-file", state]) == 0
    assert re.fullmatch(r"disk is silenced until \d{4}-\d\d-\d\d \d\d:\d\d \S+ "
                        r"\(\d h \d+ min from now\)\n", capsys.readouterr().out)
    assert health_check.main(["--list", "--state-file", state]) == 0
    assert capsys.readouterr().out.startswith("disk is silenced until ")
    assert health_check.main(["-v", *NEVER, "--state-file", state]) == 0
    printed = capsys.readouterr()
    assert printed.out == ""
    assert "health_check.py: INFO: disk is silenced until " in printed.err
    assert mailbox.messages() == []


@pytest.mark.parametrize(("flags", "message"), [
    pytest.param(["--silence", "nope", "--for", "1h"], "argument --silence: invalid choice",
                 id="unknown check"),
    pytest.param(["--silence", "cpu"], "--silence needs --for DURATION", id="no duration"),
    pytest.param(["--silence", "cpu", "--for", "soon"], "not a duration like 30s",
                 id="bad duration"),
    pytest.param(["--for", "1h"], "--for goes with --silence CHECK", id="for alone"),
    pytest.param(["--silence", "cpu", "--for", "3000000d"], "'3000000d' is more than a year",
                 id="overflows a date"),
    pytest.param(["--silence", "cpu", "--for", "99999d"], "'99999d' is more than a year",
                 id="until the year 2300"),
    pytest.param(["--silence", "cpu", "--for", "366d"], "'366d' is more than a year",
                 id="a day over a year"),
])
def test_a_bad_silence_is_one_line_and_exit_2(
    tmp_path: Path, flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert health_check.main([*flags, "--state-file", str(tmp_path / "state.json")]) == 2
    printed = capsys.readouterr()
    assert printed.out == ""
    assert message in printed.err.splitlines()[-1]
    assert not (tmp_path / "state.json").exists()


# Mail that cannot be sent, and the state file.


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
    corrupt = '{"version": 2, "failing": {"cpu": '
    (tmp_path / "state.json").write_text(corrupt)
    machine.cpu = 99
    assert check_at(tmp_path, 0) == 1
    assert "not a state this script wrote" in caplog.text
    assert subjects(mailbox) == [CPU_ALERT]
    assert list(saved_state(tmp_path)["failing"]) == ["cpu"]
    assert (tmp_path / "state.json.corrupt").read_text() == corrupt


@pytest.mark.parametrize("content", [
    pytest.param('{"version": 1, "failing": {"cpu": {"since": "yesterday"}}}', id="bad time"),
    pytest.param('{"version": 2, "cpu": {"taken": "2026-11-22T09:00:00+00:00", "boot": 1, '
                 '"times": {"idle": "lots"}}}', id="bad cpu times"),
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
    assert pipeline.run_checks(health_check.parse_args(args), now=T0) == 1
    state = json.loads((tmp_path / "deep" / "er" / "health.json").read_text())
    assert state["failing"] == {"localhost": {
        "problem": "localhost cannot be resolved to 127.0.0.1",
        "since": "2026-11-22T09:00:00+00:00",
        "runs": 1,
        "announced": "2026-11-22T09:00:00+00:00",
        "reminders": 0,
    }}
    assert sorted(path.name for path in (tmp_path / "deep" / "er").iterdir()) == [
        "health.json", "health.json.lock"]


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


def test_a_run_after_an_earlier_one_takes_the_real_cpu_times_without_sampling(
    tmp_path: Path, mailbox
) -> None:
    """The CPU times the last run left (here: the real ones, a minute's worth of idle time
    ago) are compared with the real ones now: no second of sampling."""
    times = psutil.cpu_times()._asdict()
    times["idle"] -= 60.0
    taken = (datetime.now().astimezone() - timedelta(minutes=1)).replace(microsecond=0)
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"version": 2, "cpu": {
        "taken": taken.isoformat(), "boot": psutil.boot_time(), "times": times}}))
    done = run_script("health_check.py", *NEVER, "-v", "--state-file", str(state),
                      "--smtp-host", "127.0.0.1", "--smtp-port", str(mailbox.port))
    assert (done.returncode, done.stdout) == (0, "")
    assert "ok: cpu: it is " in done.stderr
    assert "sampling" not in done.stderr
    assert json.loads(state.read_text())["cpu"]["taken"] > taken.isoformat()


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
    assert done.stderr.startswith("usage: health_check.py")
    assert "Traceback" not in done.stderr


def test_help_shows_every_flag_and_exits_0() -> None:
    done = run_script("health_check.py", "--help")
    assert done.returncode == 0
    assert done.stdout.startswith("usage: health_check.py")
    for flag in ("--fail-after", "--silence", "--for", "--list", "--nagios", "--metrics-file",
                 "--load-max-per-cpu", "--swap-max-percent", "--inodes-min-free-percent",
                 "--disk-path", "--install-cron"):
        assert f"{flag} " in done.stdout


def test_a_silence_of_a_year_is_taken(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert silence_at(tmp_path, 0, "cpu", "365d") == 0
    assert "cpu is silenced until 2027-11-22 09:00 UTC" in capsys.readouterr().out


# Settings that cannot be used, and secrets (issue 17).

URL_PASSWORD = "Cat-Pa55-7c1e"


@pytest.fixture
def forget_secrets() -> Iterator[None]:
    """No secret known before the test, none left for the next one."""
    redact.forget()
    yield
    redact.forget()


@pytest.mark.parametrize("url", [
    pytest.param("http://[::1", id="bad IPv6"),
    pytest.param("http://" + "a" * 64 + ".example.com/", id="label over 63"),
    pytest.param("ftp://127.0.0.1/", id="not http"),
    pytest.param("http://127.0.0.1:99999/", id="port over 65535"),
])
def test_a_bad_url_fails_the_catalog_check_alone_and_the_others_still_alert(
    tmp_path: Path, machine: Machine, mailbox, caplog: pytest.LogCaptureFixture, url: str
) -> None:
    machine.memory = 10 * MB
    assert check_at(tmp_path, 0, "--url", url) == 2
    assert subjects(mailbox) == [MEMORY_ALERT]
    [line] = [message for message in caplog.messages if message.startswith("cannot check catalog")]
    assert ": cannot read it: --url: not a" in line
    assert list(saved_state(tmp_path)["failing"]) == ["memory"]


def test_a_token_no_header_can_carry_fails_the_catalog_check_alone(
    tmp_path: Path, machine: Machine, mailbox, caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch, forget_secrets,
) -> None:
    monkeypatch.setenv("CATALOG_TOKEN", f"{URL_PASSWORD}\u20ac")
    machine.memory = 10 * MB
    assert check_at(tmp_path, 0, "--url", f"http://127.0.0.1:{free_port()}") == 2
    assert subjects(mailbox) == [MEMORY_ALERT]
    assert any("CATALOG_TOKEN holds a character outside Latin-1" in message
               for message in caplog.messages)
    assert URL_PASSWORD not in caplog.text


def test_a_password_in_the_url_is_in_no_alert_state_metrics_or_log(
    tmp_path: Path, machine: Machine, mailbox, capsys: pytest.CaptureFixture[str],
    forget_secrets,
) -> None:
    port = free_port()  # nothing answers: the catalog check fails, and its alert names the URL
    state, log_file, metrics = (tmp_path / name for name in ("state.json", "h.log", "h.prom"))
    assert health_check.main([
        "--url", f"http://ops:{URL_PASSWORD}@127.0.0.1:{port}/", "--state-file", str(state),
        "--log-file", str(log_file), "--metrics-file", str(metrics), "--probe-timeout", "5",
    ]) == 1
    masked = f"http://***:***@127.0.0.1:{port}"
    assert subjects(mailbox) == [f"Error - the catalog at {masked} does not answer"]
    printed = capsys.readouterr()
    written = {"stdout": printed.out, "stderr": printed.err, "log file": log_file.read_text(),
               "state file": state.read_text(), "metrics file": metrics.read_text(),
               "mail": mailbox.messages()[0].as_string()}
    for where, text in written.items():
        assert URL_PASSWORD not in text, where
    assert f'fruit_health_check_ok{{check="catalog",url="{masked}"}} 0' in written["metrics file"]
    assert f"catalog {masked}" in saved_state(tmp_path)["failing"]


@pytest.mark.parametrize("flag", ["--alert-recipient", "--recipient"])
def test_alerts_go_to_the_alert_recipient_by_either_name(
    flag: str, tmp_path: Path, machine: Machine, mailbox
) -> None:
    """--recipient, which crontab entries installed before --alert-recipient carry, still works."""
    machine.cpu = 95.0
    assert check_at(tmp_path, 0, flag, "oncall@example.com") == 1
    assert [message["To"] for message in mailbox.messages()] == ["oncall@example.com"]
