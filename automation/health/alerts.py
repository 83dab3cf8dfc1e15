"""Telling by mail: what a run changes in the state, and the mail that goes out.

A check is announced once it has failed --fail-after runs in a row and no silence holds it,
reminded at most once per --remind-minutes while it keeps failing, and its end is announced
when it had been. Mail that cannot be sent waits in the outbox for a later run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from automation.health import texts
from automation.health.judge import FAILING, OK, Verdict
from automation.health.state import (
    ALERT,
    RECOVERY,
    REMINDER,
    Message,
    Problem,
    State,
    silenced,
)
from automation.settings import SmtpSettings

log = logging.getLogger(__name__)

OUTBOX_LIMIT = 100

Send = Callable[[str, str], None]


@dataclass(frozen=True)
class Policy:
    """When to tell: after how many failing runs, and how often to remind (None: never)."""

    fail_after: int = 1
    remind: timedelta | None = timedelta(hours=1)


def silences_in_force(silences: Mapping[str, datetime], now: datetime) -> dict[str, datetime]:
    """The silences that have not run out by now."""
    return {check: until for check, until in silences.items() if silenced(check, silences, now)}


def step(state: State, verdicts: Sequence[Verdict], now: datetime,
         policy: Policy = Policy()) -> State:
    """The next state and the mail it adds to the outbox: alert, remind, recover.

    A check that could not be read leaves its entry as it was.
    """
    silences = silences_in_force(state.silences, now)
    for check in sorted(set(state.silences) - set(silences)):
        log.info("the silence of %s has run out", check)
    failing = dict(state.failing)
    outbox = list(state.outbox)
    for verdict in verdicts:
        known = failing.get(verdict.key)
        if verdict.state == OK and known is not None:
            del failing[verdict.key]
            if known.announced is not None:
                subject, body = texts.recovery(verdict.recovery, verdict.detail, known.since, now)
                outbox.append(Message(verdict.key, RECOVERY, subject, body, now))
        elif verdict.state == FAILING:
            failing[verdict.key] = still_failing(verdict, known, now, policy,
                                                 silenced(verdict.check, silences, now), outbox)
    if len(outbox) > OUTBOX_LIMIT:
        log.warning("the outbox holds over %d messages: the oldest %d are dropped",
                    OUTBOX_LIMIT, len(outbox) - OUTBOX_LIMIT)
        outbox = outbox[-OUTBOX_LIMIT:]
    return replace(state, failing=failing, outbox=tuple(outbox), silences=silences)


def still_failing(verdict: Verdict, known: Problem | None, now: datetime, policy: Policy,
                  hushed: bool, outbox: list[Message]) -> Problem:
    """A failing check's entry after this run; the alert or reminder it is due joins outbox."""
    entry = Problem(verdict.problem, since=now, runs=0) if known is None else known
    entry = replace(entry, problem=verdict.problem, runs=entry.runs + 1)
    if entry.announced is None:
        if hushed:
            log.info("%s: silenced, no alert", verdict.key)
        elif entry.runs < policy.fail_after:
            log.info("%s: failing run %d of the %d before it alerts", verdict.key, entry.runs,
                     policy.fail_after)
        else:
            subject, body = texts.alert(verdict.problem)
            outbox.append(Message(verdict.key, ALERT, subject, body, now))
            entry = replace(entry, announced=now)
    elif entry.announced > now:  # the clock went back: count from now
        entry = replace(entry, announced=now)
    elif policy.remind and now - entry.announced >= policy.remind and not hushed:
        count = entry.reminders + 1
        if not queued(outbox, verdict.key):
            subject, body = texts.reminder(verdict.problem, verdict.detail, count, entry.since,
                                           now)
            outbox.append(Message(verdict.key, REMINDER, subject, body, now))
        entry = replace(entry, announced=now, reminders=count)
    return entry


def queued(outbox: Sequence[Message], check: str) -> bool:
    """Whether the outbox already tells that a check is failing (its last word is not OK)."""
    kinds = [message.kind for message in outbox if message.check == check]
    return bool(kinds) and kinds[-1] != RECOVERY


def deliver(outbox: Sequence[Message], send: Send, now: datetime) -> tuple[Message, ...]:
    """Send the outbox oldest first; at the first failure keep the rest for the next run."""
    from automation.mail import MailError  # smtplib and ssl: only when there is mail to send

    for index, message in enumerate(outbox):
        try:
            send(message.subject, message.body + texts.late_note(message.raised, now))
        except MailError as error:
            left = len(outbox) - index
            log.warning("%s; %d message%s kept for the next run", error, left,
                        "" if left == 1 else "s")
            return tuple(outbox[index:])
    return ()


def mailer(sender: str, recipient: str, smtp: SmtpSettings, timeout: float) -> Send:
    """Send one alert to the recipient, one try (a dead server must not hold a cron run)."""

    def send(subject: str, body: str) -> None:
        from automation.mail import generate_error_report, send_email

        send_email(generate_error_report(sender, recipient, subject, body), smtp, attempts=1,
                   timeout=timeout)

    return send
