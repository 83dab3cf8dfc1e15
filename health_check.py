#!/usr/bin/env python3
"""Check CPU, disk, memory and name resolution; mail an alert when one fails, once.

Every check runs in every run. A check that starts failing is announced (after --fail-after
failing runs in a row), reminded at most once per --remind-minutes while it keeps failing, and
its recovery is announced too; --silence holds one check's alerts for a while. CPU usage is
measured over the whole interval since the previous run. What is failing, the silences, the CPU
times and the mail not sent yet are kept in a small JSON state file (HEALTH_STATE_FILE).
Meant to run every minute from cron: `--install-cron` adds the entry. Quiet when all is well.
Exit 0 healthy, 1 a check is failing, 2 a check (or the run) could not be made. With --nagios
it is a Nagios plugin instead (exit 0/1/2/3, no mail); --metrics-file also writes Prometheus text.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from automation import cli, redact
from automation.cli import guarded, setup_logging
from automation.errors import AutomationError
from automation.health import cron, nagios, pipeline
from automation.health.checks import CHECK_NAMES
from automation.health.flags import BadFlags, Parser, build_parser, load_env_file, parse

log = logging.getLogger("health_check")

SCRIPT = Path(__file__).resolve()
EPILOG = ("Mail alerts go to ALERT_RECIPIENT through the SMTP settings. SMTP_PASSWORD comes from "
          "the environment only: for cron, put it in a file that only you can read and give it "
          f"with --env-file. CHECK names for --silence: {', '.join(CHECK_NAMES)}.")


def parser() -> Parser:
    """The command line's parser."""
    return build_parser(__doc__.split("\n")[0], EPILOG)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line, with defaults from the environment; BadFlags when it cannot be used."""
    return parse(parser(), argv)


def run(args: argparse.Namespace) -> int:
    """Do what the command line asks."""
    if args.install_cron:
        return cron.install_cron(args, SCRIPT)
    if args.uninstall_cron:
        return cron.uninstall_cron()
    if args.silence:
        return pipeline.silence(args)
    if args.list:
        return pipeline.list_silences(args)
    if args.nagios:
        return pipeline.run_nagios(args)
    return pipeline.run_checks(args)


def with_env_file(args: argparse.Namespace, argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line again, with the env file's settings as defaults, when one is given."""
    if not args.env_file:
        return args
    load_env_file(Path(args.env_file).expanduser())
    return parse_args(argv)


def as_plugin(work: Callable[[], int]) -> int:
    """Run as a Nagios plugin: whatever goes wrong is still one UNKNOWN line and exit 3."""
    try:
        return work()
    except AutomationError as error:
        line, code = nagios.unknown(str(error))
    except Exception as error:  # a bug: the monitor still gets its line, stderr the traceback
        log.exception("a bug stopped the check")
        line, code = nagios.unknown(f"internal error: {type(error).__name__}: {error}")
    print(redact.redact(line))
    return code


def bad_flags(error: BadFlags, plugin: bool) -> int:
    """A command line that cannot be used: argparse's usage and one line, exit 2 (or, for a
    plugin, the UNKNOWN line and exit 3)."""
    if plugin:
        line, code = nagios.unknown(f"bad flags: {error}")
        print(redact.redact(line))
        return code
    parser().print_usage(sys.stderr)
    print(f"{SCRIPT.name}: error: {redact.redact(str(error))}", file=sys.stderr)
    return cli.CANNOT_RUN


def main(argv: Sequence[str] | None = None) -> int:
    """Check once (or do one of the actions); exit 0 healthy, 1 failing, 2 could not check."""
    plugin = "--nagios" in (sys.argv[1:] if argv is None else argv)
    try:
        args = parse_args(argv)
    except BadFlags as error:
        return bad_flags(error, plugin)
    # A plugin's stdout is its line; its stderr stays quiet unless -v is asked for.
    setup_logging(args.verbose, args.quiet or (plugin and not args.verbose), prog=SCRIPT.name,
                  log_file=args.log_file)
    if plugin:
        return as_plugin(lambda: run(with_env_file(args, argv)))
    return guarded(lambda: run(with_env_file(args, argv)))


if __name__ == "__main__":
    sys.exit(main())
