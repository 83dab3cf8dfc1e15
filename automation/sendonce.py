"""Sending each item of a drop to the catalog exactly once: plan, then carry out.

A step first plans every item from the drop and from what the catalog holds (the truth; the
record only remembers): send it, hold it (the catalog has it already), or fail it with a reason.
A dry run stops there and prints what would be sent. Carrying a plan out, the record gets
`pending` before a request goes (a record that cannot be written stops the run before anything
is sent), `done` once the catalog confirmed it, `failed` when it refused it. Just before
sending, the catalog view is asked once more (it knows what this run posted); after a request
whose answer was lost, the catalog is asked whether it landed, once the request has surely
completed, before it goes again.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from automation.batch import Outcome, Status
from automation.catalog import Catalog, InDoubt, Rejected, deliver
from automation.errors import ItemError
from automation.record import DONE, FAILED, PENDING, Event, UploadRecord

SEND = "send"
HOLD = "hold"
FAIL = "fail"

log = logging.getLogger(__name__)

Location = dict[str, Any]  # what the record keeps of where an item landed: its id, its image name


@dataclass(frozen=True)
class Plan:
    """What a step will do with one item of the drop, and how."""

    item: str  # the drop file, as the operator knows it
    action: str  # SEND, HOLD or FAIL
    event: Event  # what the record will keep of it
    why: str = ""  # a failure's reason, or a warning for the operator
    note: str = ""  # what -v tells of an item that goes at a number an earlier drop used
    preview: str = ""  # what a dry run prints for an item it would send
    send: Callable[[], Location] | None = None  # sends it once; says where it landed
    find: Callable[[bool], Location | None] | None = None  # where it landed, if it did (fresh?)


def fail(event: Event, why: str) -> Plan:
    """A plan for an item that cannot be sent, and why."""
    return Plan(event.key, FAIL, event, why)


def hold(event: Event, why: str = "") -> Plan:
    """A plan for an item the catalog holds already."""
    return Plan(event.key, HOLD, event, why)


def note_on_sending(record: UploadRecord, event: Event, consequence: str) -> str:
    """What -v tells when an item at a number that landed before goes: its file changed since
    (the next drop unpacked over the last; the store's service can replace nothing), or the
    catalog no longer holds it."""
    earlier = next((e for e in reversed(record.history(event.kind, event.key))
                    if e.state == DONE), None)
    if earlier is None:
        return ""
    when = earlier.at[:10]
    if earlier.content and earlier.content == event.content:
        return (f"the record says it landed as {earlier.landed_as} ({when}), but the catalog "
                "does not hold it now: it goes again")
    return f"changed since it landed as {earlier.landed_as} ({when}): {consequence}"


def record_once(record: UploadRecord, event: Event) -> None:
    """Record an event, unless the item's latest event says exactly that already."""
    latest = record.latest(event.kind, event.key)
    if latest is None or dataclasses.replace(latest, at="", catalog="") != event:
        record.add(event)


def ours_before(record: UploadRecord, event: Event) -> bool:
    """Whether this drop's own request put an item in the catalog: it did, or an earlier run's
    request for this very content was left pending (its answer lost) and then landed."""
    return any(earlier.content == event.content and (earlier.sent or earlier.state == PENDING)
               for earlier in record.history(event.kind, event.key) if earlier.content)


def carry_out(
    plan: Plan, record: UploadRecord, attempts: int, catalog: Catalog | None = None
) -> Outcome:
    """Carry out one plan, keeping the record; never raises for the item's own failure."""
    event = plan.event
    if plan.action == FAIL:
        record_once(record, dataclasses.replace(event, state=FAILED, reason=plan.why))
        return Outcome(plan.item, Status.FAILED, plan.why)
    if plan.action == SEND and plan.find is not None:
        found = plan.find(False)
        if found is not None:
            plan = hold(dataclasses.replace(event, **found))
    if plan.action == HOLD:
        held = dataclasses.replace(plan.event, state=DONE,
                                   sent=ours_before(record, plan.event))
        record_once(record, held)
        return Outcome(plan.item, Status.SKIPPED, plan.why)

    assert plan.send is not None and plan.find is not None
    find = plan.find
    record.add(dataclasses.replace(event, state=PENDING))
    renewed = bool(plan.note)
    try:
        landed = deliver(plan.send, lambda: find(True), attempts, plan.item, catalog)
    except Rejected as error:
        record.add(dataclasses.replace(event, state=FAILED, reason=str(error)))
        return Outcome(plan.item, Status.FAILED, str(error))
    except InDoubt as error:
        # The pending line stays the item's latest: its outcome is not known yet.
        return Outcome(plan.item, Status.FAILED, str(error))
    except ItemError as error:
        record.add(dataclasses.replace(event, state=FAILED, reason=str(error)))
        return Outcome(plan.item, Status.FAILED, str(error))
    record.add(dataclasses.replace(event, state=DONE, sent=True, **landed))
    if plan.note:
        log.info("%s: %s", plan.item, plan.note)
    return Outcome(plan.item, Status.DONE, plan.why, renewed=renewed)


def preview(plan: Plan) -> Outcome:
    """What carrying out a plan would do, printed for an item it would send; sends nothing."""
    if plan.action == FAIL:
        return Outcome(plan.item, Status.FAILED, plan.why)
    if plan.action == HOLD:
        return Outcome(plan.item, Status.SKIPPED, plan.why)
    print(plan.preview, flush=True)
    if plan.note:
        log.info("%s: %s", plan.item, plan.note)
    return Outcome(plan.item, Status.DONE, plan.why, renewed=bool(plan.note))
