"""Running one step over every item of a drop: outcomes, one line per failure, the summary."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TypeVar

from automation.cli import ITEMS_FAILED, OK, progress

T = TypeVar("T")
R = TypeVar("R")

log = logging.getLogger(__name__)

class Status(str, Enum):
    """What became of an item in one run (the record's states are another thing: record.py)."""

    DONE = "done"
    SKIPPED = "skipped"  # nothing to do: the catalog has it, the JPEG is up to date
    FAILED = "failed"



@dataclass(frozen=True)
class Outcome:
    """What became of one item: done, skipped (nothing to do) or failed, and why."""

    item: str
    status: Status
    reason: str = ""  # why it failed, or what the operator must know (a warning)
    renewed: bool = False  # new content at a number that held an earlier drop's item


def display_name(path: Path, root: Path) -> str:
    """A file's name as the operator knows it: relative to the drop when inside it."""
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def tell(outcome: Outcome) -> Outcome:
    """Log one outcome as it happens: a failure in one line naming the file and the reason."""
    if outcome.status == Status.FAILED:
        log.error("%s: %s", outcome.item, outcome.reason)
    elif outcome.reason:
        log.warning("%s: %s", outcome.item, outcome.reason)
    else:
        log.info("%s: %s", outcome.item, outcome.status.value)
    return outcome


def told(result: R) -> R:
    """Tell a result that is an Outcome (a plan, say, passes as it is)."""
    if isinstance(result, Outcome):
        tell(result)
    return result


def run_each(
    work: Callable[[T], R],
    items: Sequence[T],
    jobs: int,
    what: str,
    quiet: bool = False,
    processes: bool = False,
) -> list[R]:
    """Do work on every item, `jobs` at a time (threads, or processes for CPU-bound work), and
    return the results in the items' order, telling each Outcome as it comes.

    An exception other than the item's own failure (the service unreachable, Ctrl-C) stops
    the run: items not started are dropped, those under way finish.
    """
    if jobs == 1 or len(items) <= 1:
        return [told(result) for result in progress(map(work, items), len(items), what, quiet)]
    pool: Executor = (ProcessPoolExecutor if processes else ThreadPoolExecutor)(
        max_workers=min(jobs, len(items))
    )
    try:
        futures = [pool.submit(work, item) for item in items]
        done = (future.result() for future in futures)
        return [told(result) for result in progress(done, len(items), what, quiet)]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def ahead(work: Callable[[T], R], items: Sequence[T], jobs: int) -> Iterator[R]:
    """The results of work on items in the items' order, `jobs` of them worked on at once ahead
    of the one taken: for a step that must act in order, but may look ahead."""
    pool = ThreadPoolExecutor(max_workers=jobs)
    try:
        yield from pool.map(work, items)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def summarize(
    outcomes: Iterable[Outcome], done: str, skipped: str, quiet: bool = False,
    failed: str = "failed", renewed: str = "",
) -> int:
    """Print the run's summary on stdout and return the exit code (1 when any item failed).

    With renewed, the line also counts the items done at numbers that held an earlier drop's
    items: a normal weekly drop unpacked over the last, said once rather than item by item.
    """
    outcomes = list(outcomes)
    counts = Counter(outcome.status for outcome in outcomes)
    again = sum(1 for outcome in outcomes if outcome.renewed and outcome.status == Status.DONE)
    if not quiet:
        line = (f"{counts[Status.DONE]} {done}, {counts[Status.SKIPPED]} {skipped}, "
                f"{counts[Status.FAILED]} {failed}")
        print(f"{line}; {again} {renewed}" if renewed and again else line)
    return ITEMS_FAILED if counts[Status.FAILED] else OK
