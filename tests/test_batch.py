"""automation/batch.py, alone: every item's result in the items' order however many at once, one
line per outcome, a run stopped by what is not an item's own failure, the summary and its exit
code. Pure: the work is a plain function of the test's."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import pytest

from automation.batch import (
    Outcome,
    Status,
    ahead,
    display_name,
    run_each,
    summarize,
    tell,
)

DONE, SKIPPED, FAILED = Status.DONE, Status.SKIPPED, Status.FAILED


def square(number: int) -> int:
    """Work a process pool can run (a module-level function)."""
    return number * number


def pid_of(_: int) -> int:
    """The process that did the work."""
    return os.getpid()


def last_first(count: int):
    """Work on 0..count-1 that finishes in reverse order: each item waits until the next one
    is done (with `count` workers, all are under way at once)."""
    finished = [threading.Event() for _ in range(count)]

    def work(number: int) -> int:
        if number + 1 < count:
            assert finished[number + 1].wait(timeout=30), "the items did not run at once"
        finished[number].set()
        return number

    return work


@pytest.mark.parametrize("jobs", [1, 4])
def test_run_each_gives_every_result_in_the_items_order(jobs: int) -> None:
    assert run_each(square, list(range(10)), jobs, "squaring", quiet=True) == [
        0, 1, 4, 9, 16, 25, 36, 49, 64, 81]


def test_run_each_keeps_the_order_when_the_items_finish_in_another() -> None:
    assert run_each(last_first(4), [0, 1, 2, 3], 4, "waiting", quiet=True) == [0, 1, 2, 3]


def test_run_each_in_processes_works_elsewhere_and_keeps_the_order() -> None:
    assert run_each(square, [3, 1, 2], 2, "squaring", quiet=True, processes=True) == [9, 1, 4]
    assert os.getpid() not in run_each(pid_of, [0, 1], 2, "working", quiet=True,
                                       processes=True)


@pytest.mark.parametrize("jobs", [1, 3])
def test_an_error_that_is_no_outcome_stops_the_run_and_leaves_nothing_under_way(
    jobs: int
) -> None:
    started: list[int] = []
    finished: list[int] = []

    def work(number: int) -> int:
        started.append(number)
        if number == 2:
            raise KeyboardInterrupt
        finished.append(number)
        return number

    with pytest.raises(KeyboardInterrupt):
        run_each(work, list(range(50)), jobs, "working", quiet=True)
    assert sorted(finished) == sorted(set(started) - {2})  # none left half-way
    if jobs == 1:
        assert started == [0, 1, 2]  # nothing after it was begun


def test_each_outcome_is_told_once_in_one_line(caplog: pytest.LogCaptureFixture) -> None:
    outcomes = [Outcome("images/001.jpeg", DONE), Outcome("images/002.jpeg", SKIPPED),
                Outcome("images/003.jpeg", FAILED, "not a JPEG image"),
                Outcome("images/004.jpeg", DONE, "changed since it landed")]
    caplog.set_level(logging.INFO, logger="automation.batch")
    assert run_each(lambda outcome: outcome, outcomes, 2, "telling", quiet=True) == outcomes
    assert [(record.levelname, record.getMessage()) for record in caplog.records] == [
        ("INFO", "images/001.jpeg: done"),
        ("INFO", "images/002.jpeg: skipped"),
        ("ERROR", "images/003.jpeg: not a JPEG image"),
        ("WARNING", "images/004.jpeg: changed since it landed"),
    ]


def test_a_result_that_is_no_outcome_is_passed_on_untold(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    assert run_each(str, [1, 2], 2, "planning", quiet=True) == ["1", "2"]
    assert caplog.records == []


def test_tell_gives_the_outcome_back(caplog: pytest.LogCaptureFixture) -> None:
    outcome = Outcome("descriptions/007.txt", FAILED, "weight '5 kg' is not in lbs (unit 'kg')")
    assert tell(outcome) is outcome
    assert caplog.messages == ["descriptions/007.txt: weight '5 kg' is not in lbs (unit 'kg')"]


def test_ahead_gives_the_results_in_the_items_order() -> None:
    assert list(ahead(last_first(3), [0, 1, 2], 3)) == [0, 1, 2]
    assert list(ahead(square, [], 2)) == []


@pytest.mark.parametrize(("statuses", "code", "line"), [
    pytest.param([], 0, "0 converted, 0 already up to date, 0 failed", id="nothing"),
    pytest.param([DONE, DONE, SKIPPED], 0, "2 converted, 1 already up to date, 0 failed",
                 id="all well"),
    pytest.param([DONE, FAILED, SKIPPED, FAILED], 1,
                 "1 converted, 1 already up to date, 2 failed", id="some failed"),
])
def test_the_summary_counts_each_status_and_some_failed_is_exit_1(
    statuses: list[str], code: int, line: str, capsys: pytest.CaptureFixture
) -> None:
    outcomes = [Outcome(f"images/{n:03d}.tiff", status) for n, status in enumerate(statuses)]
    assert summarize(outcomes, "converted", "already up to date") == code
    assert capsys.readouterr().out == line + "\n"
    assert summarize(outcomes, "converted", "already up to date", quiet=True) == code
    assert capsys.readouterr().out == ""


def test_the_summary_may_name_failures_otherwise(capsys: pytest.CaptureFixture) -> None:
    outcomes = [Outcome("images/001.jpeg", FAILED, "x")]
    assert summarize(outcomes, "to upload", "already in the catalog", failed="would fail") == 1
    assert capsys.readouterr().out == "0 to upload, 0 already in the catalog, 1 would fail\n"


def test_a_file_is_named_from_the_drop_when_inside_it(tmp_path: Path) -> None:
    drop = tmp_path / "supplier-data"
    assert display_name(drop / "images" / "001.tiff", drop) == "images/001.tiff"
    assert display_name(tmp_path / "elsewhere.tiff", drop) == str(tmp_path / "elsewhere.tiff")
