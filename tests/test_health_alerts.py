"""automation.health.alerts: the pure step from one state to the next (alert once, after
--fail-after runs, remind, recover, hold during a silence), and the outbox's delivery."""

from __future__ import annotations

from datetime import timedelta

import pytest

from automation.health.alerts import Policy, deliver, step
from automation.health.judge import MB, UNKNOWN, Limit, Verdict, judge
from automation.health.state import ALERT, RECOVERY, Message, State
from automation.health.texts import BODY
from emails import MailError
from tests.health_helpers import CPU_ALERT, MEMORY_ALERT, T0

CPU = Limit("cpu", "CPU usage", 80, upper=True)
MEMORY = Limit("memory", "Available memory", 500 * MB, upper=False, unit="MB", scale=MB)
HOURLY = Policy(fail_after=1, remind=timedelta(hours=1))


def verdict(limit: Limit, value: float) -> Verdict:
    """The verdict on one reading, named as the checks name it."""
    return judge(limit, value)


def at(minute: float):
    """T0 + minute."""
    return T0 + timedelta(minutes=minute)


def subjects_of(state: State) -> list[str]:
    """The subjects in a state's outbox."""
    return [message.subject for message in state.outbox]


def delivered(state: State) -> State:
    """The state as if its outbox had gone out."""
    return State(state.failing, (), state.silences, state.cpu)


def test_a_new_problem_is_announced_at_once() -> None:
    after = step(State(), [verdict(MEMORY, 100 * MB), verdict(CPU, 5)], T0, HOURLY)
    assert subjects_of(after) == [MEMORY_ALERT]
    assert after.outbox[0].body == BODY
    assert after.failing["memory"].since == T0


def test_a_lasting_problem_is_reminded_once_per_window() -> None:
    state = State()
    sent: list[tuple[int, str]] = []
    for minute in range(0, 131):
        state = step(state, [verdict(MEMORY, 100 * MB)], at(minute), HOURLY)
        sent += [(minute, message.subject) for message in state.outbox]
        state = delivered(state)
    assert sent == [(0, MEMORY_ALERT), (60, MEMORY_ALERT), (120, MEMORY_ALERT)]


def test_a_reminder_says_since_when() -> None:
    state = step(State(), [verdict(MEMORY, 100 * MB)], T0, HOURLY)
    state = step(delivered(state), [verdict(MEMORY, 100 * MB)], at(75), HOURLY)
    body = state.outbox[0].body
    assert body.startswith(BODY)
    assert "failing since 2026-11-22 09:00 UTC (1 h 15 min)" in body
    assert "it is 100MB" in body


def test_no_reminders_with_remind_zero() -> None:
    never = Policy(remind=None)
    state = step(State(), [verdict(CPU, 99)], T0, never)
    state = step(delivered(state), [verdict(CPU, 99)], T0 + timedelta(days=3), never)
    assert state.outbox == ()


def test_the_end_of_a_problem_is_announced() -> None:
    state = step(State(), [verdict(CPU, 99)], T0, HOURLY)
    state = step(delivered(state), [verdict(CPU, 10)], at(7), HOURLY)
    assert subjects_of(state) == ["OK - CPU usage is back under 80%"]
    assert "failing since 2026-11-22 09:00 UTC, for 7 min" in state.outbox[0].body
    assert state.failing == {}


def test_a_check_that_cannot_be_read_changes_nothing() -> None:
    state = delivered(step(State(), [verdict(CPU, 99)], T0, HOURLY))
    unknown = Verdict("cpu", UNKNOWN, CPU.problem(), CPU.recovery(), "cannot read it")
    assert step(state, [unknown], at(300), HOURLY) == state


def test_a_queued_alert_is_not_doubled_by_a_reminder() -> None:
    state = step(State(), [verdict(CPU, 99)], T0, HOURLY)
    state = step(state, [verdict(CPU, 99)], at(60), HOURLY)
    assert subjects_of(state) == [CPU_ALERT]
    assert state.failing["cpu"].reminders == 1


def test_the_clock_going_back_counts_the_reminder_from_now() -> None:
    state = delivered(step(State(), [verdict(CPU, 99)], at(60), HOURLY))
    state = step(state, [verdict(CPU, 99)], at(0), HOURLY)
    assert state.outbox == ()
    assert state.failing["cpu"].announced == at(0)


# --fail-after: debounce.


@pytest.mark.parametrize("fail_after", [1, 2, 5])
def test_the_alert_comes_on_the_nth_failing_run(fail_after: int) -> None:
    policy = Policy(fail_after=fail_after, remind=timedelta(hours=1))
    state, alerted_at = State(), []
    for minute in range(10):
        state = step(state, [verdict(CPU, 99)], at(minute), policy)
        alerted_at += [minute for _ in state.outbox]
        state = delivered(state)
    assert alerted_at == [fail_after - 1]
    assert state.failing["cpu"].since == T0
    assert state.failing["cpu"].runs == 10


def test_a_passing_run_starts_the_count_again() -> None:
    policy = Policy(fail_after=3)
    state = State()
    for minute, cpu in enumerate([99, 99, 10, 99, 99]):
        state = step(state, [verdict(CPU, cpu)], at(minute), policy)
    assert state.outbox == ()
    assert (state.failing["cpu"].runs, state.failing["cpu"].since) == (2, at(3))
    assert state.failing["cpu"].announced is None


def test_a_problem_never_announced_ends_quietly() -> None:
    state = step(State(), [verdict(CPU, 99)], T0, Policy(fail_after=2))
    state = step(state, [verdict(CPU, 10)], at(1), Policy(fail_after=2))
    assert (state.outbox, state.failing) == ((), {})


# Silences.


def silenced(check: str, until_minute: float) -> State:
    """A state with one silence in force."""
    return State(silences={check: at(until_minute)})


def test_a_silence_holds_the_alert_and_it_comes_when_the_silence_runs_out() -> None:
    state = silenced("cpu", 30)
    for minute in range(0, 30):
        state = step(state, [verdict(CPU, 99), verdict(MEMORY, 100 * MB)], at(minute), HOURLY)
        assert [message.check for message in state.outbox] == ["memory"]
    state = step(state, [verdict(CPU, 99), verdict(MEMORY, 100 * MB)], at(30), HOURLY)
    assert subjects_of(state) == [MEMORY_ALERT, CPU_ALERT]
    assert state.outbox[-1].raised == at(30)
    assert state.silences == {}
    assert state.failing["cpu"].since == T0  # the alert says how long it had been failing


def test_a_silence_holds_reminders_but_not_the_all_clear() -> None:
    state = delivered(step(State(), [verdict(CPU, 99)], T0, HOURLY))
    state = State(state.failing, (), {"cpu": at(180)})
    state = step(state, [verdict(CPU, 99)], at(120), HOURLY)
    assert state.outbox == ()  # a reminder was due
    state = step(state, [verdict(CPU, 10)], at(150), HOURLY)
    assert [message.kind for message in state.outbox] == [RECOVERY]


def test_silence_and_fail_after_together() -> None:
    policy = Policy(fail_after=3)
    state = silenced("cpu", 2)
    kinds = []
    for minute in range(5):
        state = step(state, [verdict(CPU, 99)], at(minute), policy)
        kinds += [(minute, message.kind) for message in state.outbox]
        state = delivered(state)
    assert kinds == [(2, ALERT)]  # the third failing run, the silence over


# Delivery.


def test_delivery_stops_at_the_first_failure_and_keeps_the_rest() -> None:
    outbox = tuple(Message(check, ALERT, f"Error - {check}", BODY, T0)
                   for check in ("cpu", "memory", "localhost"))
    sent: list[str] = []

    def send(subject: str, body: str) -> None:
        if len(sent) == 1:
            raise MailError("the server went away")
        sent.append(subject)

    assert deliver(outbox, send, at(5)) == outbox[1:]
    assert sent == ["Error - cpu"]


def test_a_late_mail_says_when_it_was_raised() -> None:
    bodies: list[str] = []
    outbox = (Message("cpu", ALERT, CPU_ALERT, BODY, T0), Message("memory", ALERT, MEMORY_ALERT,
                                                                  BODY, at(5)))
    assert deliver(outbox, lambda subject, body: bodies.append(body), at(5)) == ()
    assert bodies == [f"{BODY}\n\nRaised at 2026-11-22 09:00 UTC; the mail server could not be "
                      "reached then.", BODY]
