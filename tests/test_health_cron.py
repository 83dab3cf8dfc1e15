"""The flags, declared once, and the crontab entry built from them; the crontab edits, and a
real cron daemon.

The crontab tests edit root's crontab and run a cron daemon in a mount namespace of their own,
where the crontabs are empty and private: the machine's own crontabs are never read or touched.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import health_check
from automation import settings
from automation.errors import AutomationError
from automation.health import flags
from automation.health.cron import CRON_TAG, cron_command, cron_line, with_entry, without_entry
from automation.health.flags import FLAGS, Cron, duration
from automation.health.texts import BODY
from demo.processes import PROJECT, start_smtp_sink
from demo.smtp_sink import read_message
from tests.health_helpers import NEVER
from tests.helpers import run_script

SCRIPT = Path(health_check.__file__).resolve()


def cron_args(*flags: str):
    """A command line as given with --install-cron."""
    return health_check.parse_args(["--install-cron", *flags])


def command_of(line: str) -> list[str]:
    """The command of a crontab line, as the shell splits it."""
    return shlex.split(line[len("* * * * * "):-len(CRON_TAG)].replace("\\%", "%"))


def test_the_cron_line_runs_every_minute_with_absolute_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", "s3cret-pw")
    monkeypatch.setenv("SMTP_HOST", "mail.example.com")
    line = cron_line(cron_args(
        "--state-file", str(tmp_path / "100% state.json"), "--memory-min-mb", "10000000",
        "--cpu-max-percent", "90", "--smtp-user", "ops",
    ), SCRIPT)
    assert line.startswith("* * * * * ")
    assert line.endswith(f" {CRON_TAG}")
    assert "s3cret-pw" not in line
    assert "\\%" in line  # cron reads a bare % as a newline
    command = command_of(line)
    assert command[:2] == [sys.executable, str(SCRIPT)]
    assert "--quiet" in command
    options = " ".join(command)
    for expected in ("--memory-min-mb 10000000", "--cpu-max-percent 90",
                     "--smtp-host mail.example.com", "--smtp-user ops", "--smtp-port 25",
                     f"--state-file {tmp_path / '100% state.json'}",
                     f"--log-file {tmp_path / 'health.log'}"):
        assert expected in options
    assert "--disk-path" not in command  # a default is left out


def test_a_cron_line_that_would_show_a_password_is_refused(tmp_path: Path) -> None:
    """The crontab is readable by whoever reads the user's files: a password in --url stays
    out of it, and the entry with it."""
    with pytest.raises(AutomationError, match="would show a secret") as refused:
        cron_line(cron_args("--state-file", str(tmp_path / "s.json"),
                            "--url", "http://ops:Cat-Pa55-7c1e@127.0.0.1:8000/"), SCRIPT)
    assert "Cat-Pa55-7c1e" not in str(refused.value)


def test_a_url_that_cannot_be_used_is_refused_at_install(tmp_path: Path) -> None:
    with pytest.raises(AutomationError, match=r"--url: not a URL like http://host/: 'http://\[::1'"):
        cron_line(cron_args("--state-file", str(tmp_path / "s.json"), "--url", "http://[::1"),
                  SCRIPT)


# Every flag declared once, and the cron line built from the declarations.

EXAMPLES = {  # a value other than the default, by the check of the flag's value
    settings.percent: "42.5", settings.positive_float: "7.25", settings.non_negative_float: "9",
    settings.positive_int: "3", duration: "2h", None: "/srv/some where",
    flags.seconds: "7.25", flags.minutes: "7.25", flags.minutes_or_never: "9",
    flags.megabytes: "9", flags.load: "7.25", settings.port: "2525",
    settings.host_name: "mail.example.com", settings.email_address: "ops@example.com",
    settings.smtp_user: "ops", settings.smtp_security: "ssl",
}


def check_of(flag):
    """What a flag's value goes through: its own type, or its setting's check."""
    return flag.type or (flag.setting.check if flag.setting else None)


def example(flag) -> list[str]:
    """The flag given with a value other than its default."""
    if flag.action == "store_true":
        return [flag.name]
    if flag.choices:
        return [flag.name, flag.choices[-1]]
    return [flag.name, EXAMPLES[check_of(flag)]]


def test_the_parser_has_exactly_the_declared_flags() -> None:
    parser = health_check.parser()
    options = {option for action in parser._actions for option in action.option_strings}
    declared = {flag.name for flag in FLAGS}
    assert options - declared == {"-h", "--help", "-v", "--verbose", "-q", "--quiet"}
    assert declared <= options
    assert len(declared) == len(FLAGS)


@pytest.mark.parametrize("flag", [flag for flag in FLAGS if flag.cron is not Cron.NEVER],
                         ids=lambda flag: flag.name)
def test_each_setting_given_reaches_the_cron_line(flag, tmp_path: Path) -> None:
    """A new flag is in the crontab entry as soon as it is declared, unless it says NEVER."""
    given = example(flag)
    state = ["--state-file", str(tmp_path / "state.json")] if flag.name != "--state-file" else []
    command = cron_command(cron_args(*state, *given), SCRIPT)
    spot = command.index(flag.name)
    if flag.action != "store_true":
        value = given[1]
        if flag.path:
            value = str(Path(value).absolute())
        assert command[spot + 1] == value
    assert health_check.parse_args(command[2:]) is not None  # cron's command line is valid


@pytest.mark.parametrize("flag", [flag for flag in FLAGS if flag.cron is Cron.NEVER],
                         ids=lambda flag: flag.name)
def test_actions_and_modes_stay_out_of_the_cron_line(flag) -> None:
    partner = {"--for": ["--silence", "cpu"], "--silence": ["--for", "1h"]}
    args = health_check.parse_args([*example(flag), *partner.get(flag.name, [])])
    assert flag.name not in cron_command(args, SCRIPT)


def test_several_disk_paths_are_all_carried(tmp_path: Path) -> None:
    command = cron_command(cron_args("--disk-path", "/", "--disk-path", "srv"), SCRIPT)
    spots = [index for index, word in enumerate(command) if word == "--disk-path"]
    assert [command[index + 1] for index in spots] == ["/", str(Path("srv").absolute())]


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


# The real crontab, and a real cron daemon, in a namespace of the test's own.

# Run in a new mount namespace: empty, private cron spool, /etc/crontab, /etc/cron.d and /run
# (where a cron daemon of the machine keeps its pid file), then wait there to be entered.
OWN_CRON = r"""
spool=/var/spool/cron/crontabs
mount -t tmpfs -o mode=1730 own-crontabs "$spool" || exit 125
chgrp crontab "$spool" 2>/dev/null
mount -t tmpfs -o mode=755 own-cron.d /etc/cron.d || exit 125
mount --bind "$1" /etc/crontab || exit 125
mount -t tmpfs -o mode=755 own-run /run || exit 125
echo ready
exec sleep infinity
"""


def needs(program: str, package: str) -> str:
    """The path of a program, or skip."""
    path = shutil.which(program) or shutil.which(program, path="/usr/sbin:/sbin")
    if path is None:
        pytest.skip(f"needs the {program} program (Debian: apt-get install {package})")
    return path


@pytest.fixture
def own_crontabs(tmp_path: Path) -> Iterator[tuple[str, ...]]:
    """A mount namespace of the test's own whose crontabs are empty: the words that run a
    command in it (crontab edits there never reach the machine's)."""
    needs("crontab", "cron")
    if os.geteuid() != 0:
        pytest.skip("needs root: it edits root's crontab and runs a cron daemon")
    empty = tmp_path / "crontab"
    empty.touch(mode=0o644)
    holder = subprocess.Popen(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", OWN_CRON, "own-cron",
         str(empty)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None
        if holder.stdout.readline() != "ready\n":
            holder.wait()
            pytest.skip(f"needs a mount namespace of its own: {holder.stderr.read().strip()}")
        # Entering a mount namespace goes to its root folder: back to the project's.
        yield ("nsenter", f"--target={holder.pid}", "--mount", f"--wd={PROJECT}", "--")
    finally:
        holder.kill()
        holder.wait()


def crontab_in(namespace: tuple[str, ...], *args: str, text: str | None = None) -> tuple[int, str]:
    """crontab ARGS in the namespace: its exit code and output."""
    done = subprocess.run([*namespace, "crontab", *args], input=text, capture_output=True,
                          text=True, check=False)
    return done.returncode, done.stdout


def test_install_twice_and_uninstall_keep_the_other_entries(
    tmp_path: Path, own_crontabs: tuple[str, ...]
) -> None:
    others = "# someone else's\n0 3 * * 0 /bin/true\n"
    assert crontab_in(own_crontabs, "-", text=others)[0] == 0
    flags = ("--install-cron", "--state-file", str(tmp_path / "state.json"))
    first = run_script("health_check.py", *flags, "--memory-min-mb", "10000000",
                       wrapper=own_crontabs)
    again = run_script("health_check.py", *flags, "--memory-min-mb", "10000000",
                       wrapper=own_crontabs)
    assert (first.returncode, again.returncode) == (0, 0), first.stderr
    assert first.stdout.startswith("added in the crontab:")
    assert again.stdout.startswith("already in the crontab:")
    _, content = crontab_in(own_crontabs, "-l")
    ours = [line for line in content.splitlines() if line.endswith(CRON_TAG)]
    assert content.startswith(others)
    assert len(ours) == 1
    assert ours[0].startswith("* * * * * ")
    assert "--memory-min-mb 10000000" in ours[0]

    gone = run_script("health_check.py", "--uninstall-cron", wrapper=own_crontabs)
    assert (gone.returncode, crontab_in(own_crontabs, "-l")) == (0, (0, others))
    again = run_script("health_check.py", "--uninstall-cron", wrapper=own_crontabs)
    assert "nothing to remove" in again.stdout


@pytest.mark.slow
def test_the_installed_entry_alerts_from_a_real_cron(
    tmp_path: Path, own_crontabs: tuple[str, ...]
) -> None:
    """Installed with a forced failing threshold, cron runs it within a minute; the alert
    arrives in a separate SMTP sink process, and the metrics file is written beside;
    uninstalling leaves the crontab as it was."""
    cron = needs("cron", "cron")
    mail = tmp_path / "mail"
    metrics = tmp_path / "textfile" / "fruit_health.prom"
    metrics.parent.mkdir()
    sink = start_smtp_sink(mail)
    daemon = None
    try:
        installed = run_script(
            "health_check.py", "--install-cron", "--state-file", str(tmp_path / "state.json"),
            "--smtp-host", "127.0.0.1", "--smtp-port", str(sink.port), *NEVER,
            "--memory-min-mb", "10000000", "--metrics-file", str(metrics),
            wrapper=own_crontabs,
        )
        assert installed.returncode == 0, installed.stderr
        # Started after the crontab is written, it reads it at once and runs it at the next
        # minute (in the foreground, so that it is this test's to stop).
        daemon = subprocess.Popen([*own_crontabs, cron, "-f"], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 75
        while not list(mail.glob("*.eml")) and time.monotonic() < deadline:
            time.sleep(0.5)
        removed = run_script("health_check.py", "--uninstall-cron", wrapper=own_crontabs)
        received = sorted(mail.glob("*.eml"))
    finally:
        if daemon is not None:
            daemon.kill()
            daemon.wait()
        sink.stop()
    assert received, f"no alert within 75 s; the job's log: {tmp_path / 'health.log'}"
    alert = read_message(received[0])
    assert alert["Subject"] == "Error - Available memory is less than 10000000MB"
    assert alert.get_content().strip() == BODY
    assert 'fruit_health_check_ok{check="memory"} 0' in metrics.read_text().splitlines()
    assert removed.returncode == 0
    assert crontab_in(own_crontabs, "-l")[0] != 0  # no crontab, as before
