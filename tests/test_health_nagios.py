"""--nagios: the plugin line and its exit codes, judged against the plugin API's format; in
process on fed readings, and once as a real process on the machine's own."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

import health_check
from automation.health import nagios, pipeline
from automation.health.judge import MB, UNKNOWN, Limit, Verdict, judge
from tests.health_helpers import NEVER, T0, Machine
from tests.helpers import run_script

STATUS = re.compile(r"(OK|WARNING|CRITICAL|UNKNOWN) - ([^|\n]+?)(?: \| ([^|\n]+))?")
# label=value[UOM];[warn];[crit];[min];[max], a label quoted when it has spaces
PERF = re.compile(r"('[^'=]+'|[^'= ]+)=(-?[0-9.]+)(%|B|s|ms|us|c|KB|MB|GB|TB)?"
                  r"(?:;([0-9.:~@-]*))?(?:;([0-9.:~@-]*))?(?:;(-?[0-9.]*))?(?:;(-?[0-9.]*))?")


def parsed(line: str) -> tuple[str, str, dict[str, tuple]]:
    """A plugin line, checked against the plugin API's format: state, text, perfdata by label."""
    assert "\n" not in line.rstrip("\n")
    match = STATUS.fullmatch(line.rstrip("\n"))
    assert match, f"not a plugin line: {line!r}"
    perf = {}
    for item in re.findall(r"'[^']*'=\S+|\S+", match[3] or ""):
        field = PERF.fullmatch(item)
        assert field, f"not performance data: {item!r}"
        perf[field[1].strip("'")] = field.groups()[1:]
    return match[1], match[2], perf


def plugin_at(tmp_path: Path, minute: float, *flags: str) -> int:
    """One --nagios run in-process at T0 + minute."""
    args = health_check.parse_args(["--nagios", "--state-file", str(tmp_path / "state.json"),
                                    *flags])
    return pipeline.run_nagios(args, now=T0 + timedelta(minutes=minute))


# The line, from verdicts.


CPU = Limit("cpu", "CPU usage", 80, upper=True, quantity="cpu_usage")
MEMORY = Limit("memory", "Available memory", 500 * MB, upper=False, unit="MB", scale=MB,
               quantity="memory_available")


def test_performance_data_in_base_units_with_the_threshold_as_a_range() -> None:
    line, code = nagios.status([judge(CPU, 12.5), judge(MEMORY, 2048 * MB)], {}, T0)
    state, text, perf = parsed(line)
    assert (state, code) == ("OK", 0)
    assert text == "CPU usage 12.5%, Available memory 2048MB"
    assert perf == {"cpu_usage": ("12.5", "%", "", "80", "0", "100"),
                    "memory_available": (str(2048 * MB), "B", "", f"{500 * MB}:", "0", None)}


@pytest.mark.parametrize(("cpu", "silenced_until", "state", "code"), [
    pytest.param(10, None, "OK", 0, id="ok"),
    pytest.param(95, None, "CRITICAL", 2, id="failing"),
    pytest.param(95, 30, "WARNING", 1, id="failing, silenced"),
    pytest.param(95, 0, "CRITICAL", 2, id="failing, the silence over"),
])
def test_each_state_and_its_exit_code(cpu: float, silenced_until: float | None, state: str,
                                      code: int) -> None:
    silences = {} if silenced_until is None else {"cpu": T0 + timedelta(minutes=silenced_until)}
    verdicts = [judge(CPU, cpu), judge(MEMORY, 2048 * MB)]
    line, got = nagios.status(verdicts, silences, T0)
    assert (parsed(line)[0], got) == (state, code)


def test_a_check_that_cannot_be_read_is_unknown_and_the_worst() -> None:
    unknown = Verdict("disk /", UNKNOWN, "", "", "cannot read it: Permission denied",
                      summary="cannot check disk /: Permission denied")
    line, code = nagios.status([judge(CPU, 95), unknown], {}, T0)
    state, text, perf = parsed(line)
    assert (state, code) == ("UNKNOWN", 3)  # as nagiosplugin's worst(): the highest code
    assert text == ("cannot check disk /: Permission denied; "
                    "CPU usage is over 80% (it is 95%)")
    assert list(perf) == ["cpu_usage"]


def test_a_bar_in_the_text_cannot_start_the_performance_data() -> None:
    odd = Limit("disk /a|b", "Available disk space", 20, upper=False, place="/a|b",
                quantity="disk_free")
    line, _ = nagios.status([judge(odd, 5)], {}, T0)
    assert line.count("|") == 1
    assert parsed(line)[1] == "Available disk space is less than 20% (it is 5% on /a/b)"


# Whole plugin runs on fed readings.


def test_a_healthy_machine_is_ok(tmp_path: Path, machine: Machine, mailbox,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert plugin_at(tmp_path, 0) == 0
    state, text, perf = parsed(capsys.readouterr().out)
    assert state == "OK"
    assert text == ("CPU usage 5%, Available disk space 60% on /, Available memory 8192MB, "
                    "localhost resolves to 127.0.0.1")
    assert set(perf) == {"cpu_usage", "disk_free /", "memory_available"}
    assert perf["disk_free /"][:4] == ("60", "%", "", "20:")


def test_a_failing_check_is_critical_and_no_mail_goes_out(
    tmp_path: Path, machine: Machine, mailbox, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.memory, machine.localhost = 100 * MB, ()
    flags = ("--load-max-per-cpu", "2", "--disk-path", "/", "--disk-path", "/srv")
    machine.disks["/srv"] = 70.0
    assert plugin_at(tmp_path, 0, *flags) == 2
    state, text, perf = parsed(capsys.readouterr().out)
    assert state == "CRITICAL"
    assert text == ("Available memory is less than 500MB (it is 100MB); "
                    "localhost cannot be resolved to 127.0.0.1 (it resolves to nothing)")
    assert set(perf) == {"cpu_usage", "disk_free /", "disk_free /srv", "memory_available",
                         "load_per_cpu"}
    assert mailbox.messages() == []
    state_file = json.loads((tmp_path / "state.json").read_text())
    assert (state_file["failing"], state_file["outbox"]) == ({}, [])  # the mail's, untouched


def test_the_plugin_takes_cpu_over_the_interval_too(
    tmp_path: Path, machine: Machine, mailbox, capsys: pytest.CaptureFixture[str]
) -> None:
    plugin_at(tmp_path, 0)
    machine.cpu = 91.0
    assert plugin_at(tmp_path, 5) == 2
    assert machine.samples == [1.0]
    assert "CPU usage is over 80% (it is 91%)" in capsys.readouterr().out


def test_a_silenced_check_is_a_warning(tmp_path: Path, machine: Machine, mailbox,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    pipeline.silence(health_check.parse_args(
        ["--silence", "memory", "--for", "1h", "--state-file", str(tmp_path / "state.json")]),
        now=T0)
    capsys.readouterr()
    machine.memory = 100 * MB
    assert plugin_at(tmp_path, 10) == 1
    state, text, _ = parsed(capsys.readouterr().out)
    assert (state, text) == ("WARNING", "Available memory is less than 500MB (it is 100MB), "
                                        "silenced until 2026-11-22 10:00 UTC")


def test_an_unreadable_disk_is_unknown(tmp_path: Path, machine: Machine, mailbox,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert plugin_at(tmp_path, 0, "--disk-path", "/no/such/disk") == 3
    assert parsed(capsys.readouterr().out)[:2] == (
        "UNKNOWN", "cannot check disk /no/such/disk: No such file or directory")


# The plugin as a monitor runs it: a real process, the machine's own readings.


def test_a_bad_url_is_unknown_and_the_other_checks_are_still_read(
    tmp_path: Path, machine: Machine, mailbox, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.memory = 100 * MB
    assert plugin_at(tmp_path, 0, "--url", "http://[::1") == 3
    state, text, perf = parsed(capsys.readouterr().out)
    assert state == "UNKNOWN"
    assert text == ("cannot check catalog http://[::1: --url: not a URL like http://host/: "
                    "'http://[::1' (an IPv6 address without its ]); "
                    "Available memory is less than 500MB (it is 100MB)")
    assert {"cpu_usage", "disk_free /", "memory_available"} <= set(perf)


def test_the_plugin_as_a_process(tmp_path: Path, mailbox) -> None:
    done = run_script("health_check.py", "--nagios", *NEVER, "--cpu-interval", "0.1",
                      "--swap-max-percent", "100", "--inodes-min-free-percent", "0",
                      "--state-file", str(tmp_path / "state.json"))
    assert (done.returncode, done.stderr) == (0, "")
    state, _, perf = parsed(done.stdout)
    assert state == "OK"
    assert set(perf) == {"cpu_usage", "disk_free /", "inodes_free /", "memory_available",
                         "swap_used"}
    failing = run_script("health_check.py", "--nagios", "--memory-min-mb", "100000000",
                         "--state-file", str(tmp_path / "state.json"))
    assert failing.returncode == 2
    assert parsed(failing.stdout)[0] == "CRITICAL"
    assert "Available memory is less than 100000000MB (it is " in failing.stdout
    assert mailbox.messages() == []


@pytest.mark.parametrize("flags", [
    pytest.param(["--cpu-max-percent", "120"], id="a bad value"),
    pytest.param(["--no-such-flag"], id="an unknown flag"),
    pytest.param(["--silence", "cpu", "--for", "1h"], id="with an action"),
    pytest.param(["--smtp-host", "a" * 64 + ".example.com"], id="a host with a label over 63"),
    pytest.param(["--recipient", "oncall@example.com\rBcc: x@example.com"], id="a recipient"),
])
def test_bad_flags_are_unknown_exit_3(flags: list[str]) -> None:
    done = run_script("health_check.py", "--nagios", *flags)
    assert done.returncode == 3
    assert re.fullmatch(r"UNKNOWN - bad flags: [^\n|]+\n", done.stdout)
    assert done.stderr == ""


def test_a_run_that_cannot_start_is_unknown_exit_3(tmp_path: Path) -> None:
    blocked = tmp_path / "a file"
    blocked.write_text("")
    done = run_script("health_check.py", "--nagios", "--state-file", str(blocked / "s.json"))
    assert done.returncode == 3
    assert re.fullmatch(r"UNKNOWN - \S+/a file/s.json.lock: cannot open the lock: [^\n|]+\n",
                        done.stdout)


@pytest.mark.parametrize("flags", [
    pytest.param(["--cpu-max-percent", "120", "--nagios"], id="a bad value before --nagios"),
    pytest.param(["--smtp-port", "0", "--nagios"], id="a bad setting before --nagios"),
])
def test_nagios_after_a_bad_value_is_still_unknown_exit_3(
    flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The line is read whole before a refused value is told, so --nagios is known wherever it
    stands."""
    assert health_check.main(flags) == 3
    out, err = capsys.readouterr()
    assert re.fullmatch(r"UNKNOWN - bad flags: argument --\S+: [^\n|]+\n", out)
    assert err == ""
