"""What every script shares at its edge: exit codes, the base error, logging and progress."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from automation import redact, settings
from automation.errors import AutomationError

OK = 0
ITEMS_FAILED = 1
CANNOT_RUN = 2

T = TypeVar("T")

log = logging.getLogger(__name__)

_HANDLER_NAME = "automation-stderr"
_FILE_HANDLER_NAME = "automation-log-file"
REDACT = redact.RedactFilter()


def add_verbosity_flags(parser: argparse.ArgumentParser) -> None:
    """Add -v/--verbose and -q/--quiet."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "-v", "--verbose", action="count", default=0,
        help="say more: every item (-v), and debugging detail (-vv)",
    )
    group.add_argument(
        "-q", "--quiet", action="store_true",
        help="print only errors (no summary, no progress bar)",
    )


def setup_logging(
    verbose: int = 0, quiet: bool = False, prog: str | None = None, log_file: str | None = None
) -> None:
    """Send diagnostics to stderr, one line each, prefixed with the script's name.

    With log_file, they also go there with the time: warnings and errors always (even with
    --quiet, which is how cron runs), everything with -v. Every handler removes the secrets in
    force (automation.redact) from each line, exception and traceback it writes; so does the
    hook that reports an uncaught exception.
    """
    settings.register_secrets()
    if quiet:
        level = logging.ERROR
    else:
        level = [logging.WARNING, logging.INFO][min(verbose, 1)] if verbose < 2 else logging.DEBUG
    prog = prog or sys.argv[0].rsplit("/", 1)[-1]
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() in (_HANDLER_NAME, _FILE_HANDLER_NAME)]:
        root.removeHandler(old)  # a second main() in one process (the tests) replaces ours only
        old.close()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{prog}: %(levelname)s: %(message)s"))
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(REDACT)
    handler.setLevel(level)
    root.addHandler(handler)
    root.setLevel(level)
    if log_file:
        file_level = logging.INFO if verbose else logging.WARNING
        try:
            path = Path(log_file).expanduser()
            path.parent.mkdir(parents=True, exist_ok=True)
            # backslashreplace: a file name that is not UTF-8 is still logged, not a traceback
            to_file = logging.FileHandler(path, encoding="utf-8", errors="backslashreplace")
        except OSError as error:
            log.error("%s: cannot open the log file: %s", log_file, error.strerror)
        else:
            to_file.setFormatter(
                logging.Formatter(f"%(asctime)s {prog}: %(levelname)s: %(message)s")
            )
            to_file.set_name(_FILE_HANDLER_NAME)
            to_file.addFilter(REDACT)
            to_file.setLevel(file_level)
            root.addHandler(to_file)
            root.setLevel(min(level, file_level))
    # urllib3 logs every retry at WARNING with a repr of the exception: ours say it better.
    logging.getLogger("urllib3").setLevel(logging.ERROR if verbose < 2 else logging.DEBUG)
    sys.excepthook = report_uncaught


def report_uncaught(kind: type[BaseException], error: BaseException, trace: Any) -> None:
    """Report a bug's traceback through logging, so that it shows no secret either."""
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, error, trace)
        return
    logging.getLogger().critical("a bug stopped the run", exc_info=(kind, error, trace))


def guarded(run: Callable[[], int]) -> int:
    """Run a script's body: an expected failure is one line and exit 2; a bug stays loud."""
    try:
        return run()
    except AutomationError as error:
        log.error("%s", error)
        return CANNOT_RUN
    except KeyboardInterrupt:
        log.error("interrupted: what finished is recorded; run the same command again to go on")
        return CANNOT_RUN


def progress(items: Iterable[T], total: int, what: str, quiet: bool = False) -> Iterator[T]:
    """Show a progress bar on a terminal (stderr), nothing under cron or when quiet."""
    show = not quiet and sys.stderr.isatty() and total > 1
    if not show:
        yield from items
        return
    from tqdm import tqdm

    yield from tqdm(items, total=total, desc=what, unit="file", leave=False, file=sys.stderr)
