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

import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from automation import cli, redact
from automation.cli import guarded, setup_logging
from automation.errors import AutomationError
from automation.health import cron, nagios, pipeline
from automation.health.checks import CHECK_NAMES
from automation.health.flags import BadFlags, Parser, build_parser, read, settings_of
from automation.settings import HealthSettings

log = logging.getLogger("health_check")

SCRIPT = Path(__file__).resolve()
EPILOG = ("Mail alerts go to ALERT_RECIPIENT through the SMTP settings. SMTP_PASSWORD comes from "
          "the environment only: for cron, put it in a file that only you can read and give it "
          f"with --env-file. CHECK names for --silence: {', '.join(CHECK_NAMES)}.")


def parser() -> Parser:
    """The command line's parser."""
    return build_parser(__doc__.split("\n")[0], EPILOG)


def parse_args(argv: Sequence[str] | None) -> HealthSettings:
    """The settings of a command line and the environment (its --env-file not read);
    BadFlags when they cannot be used."""
    return settings_of(read(parser(), argv), env_file=False)


def settings_in_force(argv: Sequence[str] | None) -> HealthSettings:
    """The settings a run of this command line uses: with its --env-file read."""
    return settings_of(read(parser(), argv))


def run(options: HealthSettings) -> int:
    """Do what the settings ask."""
    if options.install_cron:
        return cron.install_cron(options, SCRIPT)
    if options.uninstall_cron:
        return cron.uninstall_cron()
    if options.silence:
        return pipeline.silence(options)
    if options.list_silences:
        return pipeline.list_silences(options)
    if options.nagios:
        return pipeline.run_nagios(options)
    return pipeline.run_checks(options)


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


def bad_flags(error: BadFlags) -> int:
    """A command line that cannot be used: argparse's usage and one line, exit 2 (or, for a
    plugin, the UNKNOWN line and exit 3)."""
    if error.plugin:
        line, code = nagios.unknown(f"bad flags: {error}")
        print(redact.redact(line))
        return code
    parser().print_usage(sys.stderr)
    print(f"{SCRIPT.name}: error: {redact.redact(str(error))}", file=sys.stderr)
    return cli.CANNOT_RUN


def main(argv: Sequence[str] | None = None) -> int:
    """Check once (or do one of the actions); exit 0 healthy, 1 failing, 2 could not check."""
    try:
        line = read(parser(), argv)
    except BadFlags as error:
        return bad_flags(error)
    # A plugin's stdout is its line; its stderr stays quiet unless -v is asked for.
    setup_logging(line.verbose, line.quiet or (line.plugin and not line.verbose),
                  prog=SCRIPT.name, log_file=line.log_file)
    try:
        options = settings_of(line)  # the env file's warnings go to the log set up above
    except BadFlags as error:
        return bad_flags(error)
    if line.plugin:
        return as_plugin(lambda: run(options))
    return guarded(lambda: run(options))


if __name__ == "__main__":
    sys.exit(main())
