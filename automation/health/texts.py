"""Every text the health check mails, composed here and nowhere else.

The words of a problem itself (`CPU usage is over 80%`) belong to its limit (judge.py); this
module builds the mails around them: the alert, the reminder, the recovery, and the note a mail
sent late carries.
"""

from __future__ import annotations

from datetime import datetime

BODY = "Please check your system and resolve the issue as soon as possible."


def shown_time(moment: datetime) -> str:
    """A time as people read it: 2026-11-22 05:30 UTC."""
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip()


def duration(start: datetime, end: datetime) -> str:
    """How long from start until end: `10 min`, `2 h 5 min`, `3 d 4 h`."""
    minutes = max(0, int((end - start).total_seconds() // 60))
    days, hours, minutes = minutes // 1440, minutes // 60 % 24, minutes % 60
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def alert(problem: str) -> tuple[str, str]:
    """The subject and body of the alert that a check is failing (the contract's)."""
    return f"Error - {problem}", BODY


def reminder(problem: str, detail: str, count: int, since: datetime,
             now: datetime) -> tuple[str, str]:
    """The subject and body of a reminder that a check still fails."""
    body = (f"{BODY}\n\nReminder {count}: failing since {shown_time(since)} "
            f"({duration(since, now)}). {problem} ({detail}).")
    return f"Error - {problem}", body


def recovery(words: str, detail: str, since: datetime, now: datetime) -> tuple[str, str]:
    """The subject and body of the news that a check passes again."""
    body = (f"{words} ({detail}).\n\nIt had been failing since {shown_time(since)}, "
            f"for {duration(since, now)}.")
    return f"OK - {words}", body


def late_note(raised: datetime, now: datetime) -> str:
    """What a mail sent by a later run than the one that raised it adds: when it was raised."""
    if raised == now:
        return ""
    return f"\n\nRaised at {shown_time(raised)}; the mail server could not be reached then."


def silenced_until(check: str, until: datetime, now: datetime) -> str:
    """A silence in force, as --silence and --list tell it."""
    left = (until - now).total_seconds()
    remaining = f"{left:.0f} s" if left < 60 else duration(now, until)
    return f"{check} is silenced until {shown_time(until)} ({remaining} from now)"
