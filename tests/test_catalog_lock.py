"""automation/catalog_lock.py alone: one sending run per catalog, and what its requests left in
doubt for the next run."""

from __future__ import annotations

import fcntl
import json

import pytest

from automation import catalog_lock
from automation.catalog_lock import CatalogLock, lock_path
from automation.errors import AutomationError

URL = "http://127.0.0.1:18765"


def note() -> dict:
    """What the lock file says."""
    return json.loads(lock_path(URL).read_text())


def test_a_second_run_waits_then_says_so_in_one_line(caplog: pytest.LogCaptureFixture) -> None:
    lock_path(URL).parent.mkdir(parents=True)
    with lock_path(URL).open("a") as held:  # another run's
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(AutomationError, match="another run is sending to the catalog at "
                                                  f"{URL}: run this again when it has ended"):
            CatalogLock(URL, URL, wait=0.2).__enter__()
    assert "waiting for it to end (up to 0.2 s)" in caplog.text


def test_the_lock_is_per_catalog_whichever_folder_runs() -> None:
    assert lock_path(URL) == lock_path(URL + "/")
    assert lock_path(URL) != lock_path("http://127.0.0.1:18766")


def test_a_run_whose_requests_were_answered_leaves_nothing_in_doubt() -> None:
    with CatalogLock(URL, URL, wait=0) as lock:
        lock.sending(30)
        assert note()["in_doubt_until"] > 0
        lock.answered()
    assert note()["in_doubt_until"] == 0


def test_a_request_left_without_an_answer_makes_the_next_run_wait_until_it_completed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = {"now": 1000.0}
    monkeypatch.setattr(catalog_lock.time, "time", lambda: clock["now"])
    slept: list[float] = []
    monkeypatch.setattr(catalog_lock.time, "sleep", slept.append)
    with pytest.raises(KeyboardInterrupt), CatalogLock(URL, URL, wait=0) as lock:
        lock.sending(60)  # then Ctrl-C, with the request on its way
        raise KeyboardInterrupt
    assert note()["in_doubt_until"] == 1060.0
    clock["now"] = 1015.0
    with CatalogLock(URL, URL, wait=0):
        pass
    assert slept == [45.0]
    assert note()["in_doubt_until"] == 0  # this run sent nothing: the doubt is settled
