"""automation.health.judge and the checks of the command line: the judge from a table, the
words each limit owns. Pure: no reading is made."""

from __future__ import annotations

import pytest

import health_check
from automation.health.checks import CHECK_NAMES, Check, make_checks, read_and_judge
from automation.health.judge import (
    FAILING,
    MB,
    OK,
    UNKNOWN,
    Answers,
    Limit,
    Resolves,
    Verdict,
    judge,
    worst,
)

CPU = Limit("cpu", "CPU usage", 80, upper=True)
DISK = Limit("disk /", "Available disk space", 20, upper=False)
MEMORY = Limit("memory", "Available memory", 500 * MB, upper=False, unit="MB", scale=MB)
LOCALHOST = Resolves("localhost", "127.0.0.1")


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
    verdict = judge(MEMORY, 300 * MB + MB // 2)
    assert verdict.detail == "it is 300.5MB"
    assert verdict.reading is not None
    assert (verdict.reading.value, verdict.reading.unit) == (300 * MB + MB // 2, "B")


@pytest.mark.parametrize(("states", "code"), [
    ([], 0), ([OK, OK], 0), ([OK, FAILING], 1), ([FAILING, UNKNOWN, OK], 2), ([UNKNOWN], 2),
])
def test_the_exit_code_is_the_worst_state(states: list[str], code: int) -> None:
    verdicts = [Verdict(f"check{n}", state, "", "", "") for n, state in enumerate(states)]
    assert worst(verdicts) == code


# The checks of a command line: each its flag, its words and the reading it gets.


def checks_of(*flags: str) -> dict[str, Check]:
    """The checks a command line makes, by key (the CPU's reading is not taken here)."""
    return {check.limit.key: check
            for check in make_checks(health_check.parse_args(list(flags)), cpu=None)}


def test_the_contracts_four_checks_run_by_default() -> None:
    checks = checks_of()
    assert list(checks) == ["cpu", "disk /", "memory", "localhost"]
    assert [checks[key].limit.problem() for key in checks] == [
        "CPU usage is over 80%", "Available disk space is less than 20%",
        "Available memory is less than 500MB", "localhost cannot be resolved to 127.0.0.1"]


@pytest.mark.parametrize(("flags", "key", "problem", "recovery", "failing", "passing"), [
    pytest.param(("--swap-max-percent", "25"), "swap", "Swap in use is over 25%",
                 "Swap in use is back under 25%", 25.5, 25.0, id="swap"),
    pytest.param(("--load-max-per-cpu", "1.5"), "load", "Load average per CPU is over 1.5",
                 "Load average per CPU is back under 1.5", 1.51, 1.5, id="load"),
    pytest.param(("--inodes-min-free-percent", "10"), "inodes /",
                 "Free inodes are less than 10%", "Free inodes are back above 10%", 9.9, 10.0,
                 id="inodes"),
    pytest.param(("--inodes-min-free-percent", "10", "--disk-path", "/", "--disk-path", "/var"),
                 "inodes /var", "Free inodes on /var are less than 10%",
                 "Free inodes on /var are back above 10%", 2.0, 50.0, id="inodes of a 2nd path"),
    pytest.param(("--disk-path", "/", "--disk-path", "/var"), "disk /var",
                 "Available disk space on /var is less than 20%",
                 "Available disk space on /var is back above 20%", 19.0, 21.0,
                 id="disk of a 2nd path"),
    pytest.param(("--disk-path", "/var", "--disk-path", "/"), "disk /",
                 "Available disk space is less than 20%",
                 "Available disk space is back above 20%", 19.0, 21.0,
                 id="/ keeps the contract's words"),
    pytest.param(("--disk-path", "/srv/data"), "disk /srv/data",
                 "Available disk space is less than 20%",
                 "Available disk space is back above 20%", 19.0, 21.0, id="the only path"),
])
def test_each_check_asked_for_has_its_flag_and_words(
    flags: tuple[str, ...], key: str, problem: str, recovery: str, failing: float,
    passing: float,
) -> None:
    limit = checks_of(*flags)[key].limit
    assert (limit.problem(), limit.recovery()) == (problem, recovery)
    assert (judge(limit, failing).state, judge(limit, passing).state) == (FAILING, OK)


def test_the_reading_of_a_path_not_named_in_its_subject_says_where() -> None:
    limit = checks_of("--disk-path", "/srv/data", "--inodes-min-free-percent", "5")
    assert judge(limit["disk /srv/data"].limit, 12).detail == "it is 12% on /srv/data"
    assert judge(limit["inodes /srv/data"].limit, 3).detail == "they are 3% on /srv/data"


def test_every_check_is_known_by_a_name_silence_accepts() -> None:
    checks = make_checks(health_check.parse_args([
        "--swap-max-percent", "1", "--load-max-per-cpu", "1", "--inodes-min-free-percent", "1",
        "--url", "http://shop/"]), cpu=None)
    assert sorted({check.name for check in checks}) == sorted(CHECK_NAMES)


def test_a_reading_that_fails_with_an_os_error_is_unknown() -> None:
    def unreadable() -> float:
        raise PermissionError(13, "Permission denied")

    verdict = read_and_judge(Check("disk", DISK, unreadable, (("path", "/"),)))
    assert (verdict.state, verdict.detail) == (UNKNOWN, "cannot read it: Permission denied")
    assert (verdict.check, verdict.labels) == ("disk", (("path", "/"),))


def test_a_status_line_names_every_path_after_its_reading() -> None:
    limits = checks_of("--disk-path", "/", "--disk-path", "/var")
    assert limits["disk /"].limit.summary(60) == "Available disk space 60% on /"
    assert limits["disk /var"].limit.summary(12.5) == "Available disk space 12.5% on /var"
    assert judge(limits["disk /var"].limit, 12.5).detail == "it is 12.5%"  # the subject says


def test_the_help_and_silence_name_every_check() -> None:
    """--help lists each check's name for --silence, and --silence takes each of them."""
    names = ["cpu", "disk", "inodes", "memory", "swap", "load", "localhost", "catalog"]
    assert f"CHECK names for --silence: {', '.join(names)}." in health_check.EPILOG
    silence = next(action for action in health_check.parser()._actions
                   if "--silence" in action.option_strings)
    assert list(silence.choices) == names
