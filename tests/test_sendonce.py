"""automation/sendonce.py and catalog.deliver alone: what the record gets, and when a request
goes again, with stand-in requests and a real record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from automation import catalog as catalog_module
from automation.batch import Status
from automation.catalog import InDoubt, Rejected, Transient, deliver
from automation.record import FruitEvent, UploadRecord
from automation.sendonce import SEND, Plan, carry_out, fail, hold

DONE, SKIPPED, FAILED = Status.DONE, Status.SKIPPED, Status.FAILED


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog_module, "BACKOFF_SECONDS", 0.0)


def states(path: Path) -> list[tuple[str, bool]]:
    """Each line of the record: its state, and whether it says sent."""
    return [(entry["state"], entry.get("sent", False))
            for entry in map(json.loads, path.read_text().splitlines())]


EVENT = FruitEvent(key="descriptions/001.txt", state=FAILED, item="abc")


class Requests:
    """A stand-in for a POST and the catalog's answer to "did it land?"."""

    def __init__(self, *answers: object) -> None:
        self.answers = list(answers)  # per try: a result, or an exception to raise
        self.sent = 0
        self.landed: dict | None = None

    def send(self) -> dict:
        self.sent += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def find(self, fresh: bool) -> dict | None:
        return self.landed if fresh else None


def plan_of(requests: Requests) -> Plan:
    return Plan(EVENT.key, SEND, EVENT, send=requests.send, find=requests.find)


def test_a_sent_item_is_pending_then_done_and_sent(tmp_path: Path) -> None:
    path = tmp_path / "record.jsonl"
    with UploadRecord(path, "http://c") as record:
        outcome = carry_out(plan_of(Requests({"id": 5})), record, attempts=3)
    assert outcome.status == DONE
    assert states(path) == [("pending", False), ("done", True)]


def test_a_held_item_is_done_not_sent(tmp_path: Path) -> None:
    path = tmp_path / "record.jsonl"
    with UploadRecord(path, "http://c") as record:
        assert carry_out(hold(EVENT), record, attempts=3).status == SKIPPED
    assert states(path) == [("done", False)]


def test_a_held_item_an_earlier_pending_request_put_there_counts_as_sent(tmp_path: Path) -> None:
    """Killed while the post was on its way; the next run finds it: this drop's request."""
    path = tmp_path / "record.jsonl"
    with UploadRecord(path, "http://c") as record:
        record.add(FruitEvent(key=EVENT.key, state="pending", item="abc"))
        carry_out(hold(EVENT), record, attempts=3)
    assert states(path)[-1] == ("done", True)


def test_a_failed_item_is_recorded_once(tmp_path: Path) -> None:
    path = tmp_path / "record.jsonl"
    with UploadRecord(path, "http://c") as record:
        carry_out(fail(EVENT, "bad weight"), record, attempts=3)
        carry_out(fail(EVENT, "bad weight"), record, attempts=3)
    assert states(path) == [("failed", False)]


def test_an_unanswered_request_that_landed_is_not_sent_again(tmp_path: Path) -> None:
    requests = Requests(Transient("no answer", unanswered=True))
    requests.landed = {"id": 5}
    with UploadRecord(tmp_path / "r.jsonl", "http://c") as record:
        outcome = carry_out(plan_of(requests), record, attempts=3)
    assert (outcome.status, requests.sent) == (DONE, 1)


def test_an_unanswered_request_that_did_not_land_goes_again(tmp_path: Path) -> None:
    requests = Requests(Transient("no answer", unanswered=True), {"id": 5})
    with UploadRecord(tmp_path / "r.jsonl", "http://c") as record:
        assert carry_out(plan_of(requests), record, attempts=3).status == DONE
    assert requests.sent == 2


def test_an_item_left_in_doubt_keeps_its_pending_line(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    requests = Requests(*[Transient("no answer", unanswered=True)] * 2)
    with UploadRecord(path, "http://c") as record:
        outcome = carry_out(plan_of(requests), record, attempts=2)
    assert outcome.status == FAILED and "it may have landed: run this again" in outcome.reason
    assert states(path) == [("pending", False)]


def test_a_refused_item_is_failed_and_never_sent_again(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    requests = Requests(Rejected("the service refused it (400): weight: bad"))
    with UploadRecord(path, "http://c") as record:
        assert carry_out(plan_of(requests), record, attempts=3).status == FAILED
    assert (requests.sent, states(path)) == (1, [("pending", False), ("failed", False)])


class Window:
    """What deliver needs of a catalog: its window, and being told a doubt was settled."""

    window = 0.3

    def __init__(self) -> None:
        self.settled_count = 0

    def settled(self) -> None:
        self.settled_count += 1


def test_the_catalog_is_asked_only_once_the_request_surely_completed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A request that went at t=0 and got no answer is asked after at t=window, not before."""
    clock = {"now": 0.0}
    slept: list[float] = []
    monkeypatch.setattr(catalog_module.time, "monotonic", lambda: clock["now"])

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock["now"] += seconds

    monkeypatch.setattr(catalog_module.time, "sleep", sleep)
    asked_at: list[float] = []

    def send() -> dict:
        clock["now"] += 0.1  # the timeout came after 0.1 s
        raise Transient("no answer", unanswered=True)

    def landed() -> dict:
        asked_at.append(clock["now"])
        return {"id": 1}

    window = Window()
    assert deliver(send, landed, 3, "x", window) == {"id": 1}  # type: ignore[arg-type]
    assert asked_at == [pytest.approx(0.3)]
    assert window.settled_count == 1


def test_a_5xx_is_an_answer_asked_about_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(catalog_module.time, "sleep", slept.append)
    tries = iter([Transient("the service failed (503)"), {"id": 1}])

    def send() -> dict:
        answer = next(tries)
        if isinstance(answer, Exception):
            raise answer
        return answer

    window = Window()
    assert deliver(send, lambda: None, 3, "x", window) == {"id": 1}  # type: ignore[arg-type]
    assert slept == [0.0] and window.settled_count == 0


def test_giving_up_on_an_unanswered_request_says_it_is_in_doubt() -> None:
    def send() -> dict:
        raise Transient("no answer", unanswered=True)

    with pytest.raises(InDoubt, match="it may have landed"):
        deliver(send, lambda: None, 1, "x")
