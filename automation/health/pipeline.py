"""One run, wired together: readings, verdicts, what is remembered, what is told."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from automation import cli, redact
from automation.errors import AutomationError
from automation.health import alerts, metrics, nagios, texts
from automation.health.alerts import Policy, Send
from automation.health.checks import Check, cpu_usage, make_checks, take_readings
from automation.health.files import run_lock
from automation.health.judge import Verdict, worst
from automation.health.measure import CpuUsage
from automation.health.state import load_state, save_state, try_save
from automation.settings import HealthSettings

log = logging.getLogger(__name__)


def clock() -> datetime:
    """Now, in the local time zone, to the second."""
    return datetime.now().astimezone().replace(microsecond=0)


def policy_of(options: HealthSettings) -> Policy:
    """When to tell, as the settings say."""
    return Policy(fail_after=options.fail_after, remind=options.remind)


def check_health(checks: Sequence[Check], cpu: CpuUsage, state_path: Path, send: Send,
                 now: datetime, policy: Policy,
                 metrics_file: Path | None = None) -> int:
    """One run: read and judge every check, remember, mail what changed; the exit code.

    `cpu` is the CPU check's reading: it is given the CPU times the last run left.
    """
    with run_lock(state_path):
        state = load_state(state_path)
        cpu.earlier = state.cpu
        verdicts = take_readings(checks)
        after = replace(alerts.step(state, verdicts, now, policy), cpu=cpu.sample or state.cpu)
        tell_silences(after.silences, now)
        try_save(state_path, after)  # before sending: a run killed now loses no alert
        if after.outbox:
            try_save(state_path, replace(after, outbox=alerts.deliver(after.outbox, send, now)))
    code = worst(verdicts)
    if metrics_file is not None:
        code = max(code, write_metrics(metrics_file, verdicts, after.silences, now))
    return code


def write_metrics(path: Path, verdicts: Sequence[Verdict], silences: Mapping[str, datetime],
                  now: datetime) -> int:
    """Write the metrics file; a failure is one error line and exit 2, the rest was done."""
    try:
        metrics.write_metrics(path, verdicts, silences, now)
    except OSError as error:
        log.error("%s: cannot write the metrics file: %s", path, error.strerror or error)
        return cli.CANNOT_RUN
    return cli.OK


def tell_silences(silences: Mapping[str, datetime], now: datetime) -> None:
    """Say (with -v) which silences are in force."""
    for check, until in sorted(silences.items()):
        log.info("%s", texts.silenced_until(check, until, now))


def run_checks(options: HealthSettings, now: datetime | None = None) -> int:
    """Check the health as the settings say, at `now` (default: the clock's)."""
    now = now or clock()
    cpu = cpu_usage(options, now)
    send = alerts.mailer(options.sender, options.alert_recipient, options.smtp,
                         options.probe_timeout)
    return check_health(make_checks(options, cpu), cpu, options.state_file, send, now,
                        policy_of(options), options.metrics_file)


def run_nagios(options: HealthSettings, now: datetime | None = None) -> int:
    """Check as a Nagios plugin: print the plugin line, mail nothing; the plugin's exit code.

    The state gives the CPU times of the last run and the silences, and keeps the new CPU
    times; what was alerted by mail is left alone.
    """
    now = now or clock()
    path = options.state_file
    cpu = cpu_usage(options, now)
    with run_lock(path, wait=options.probe_timeout):
        state = load_state(path)
        cpu.earlier = state.cpu
        verdicts = take_readings(make_checks(options, cpu))
        if cpu.sample is not None:
            try_save(path, replace(state, cpu=cpu.sample))
    silences = alerts.silences_in_force(state.silences, now)
    line, code = nagios.status(verdicts, silences, now)
    written = options.metrics_file
    if written is not None and write_metrics(written, verdicts, silences, now):
        line, code = nagios.unknown(f"cannot write the metrics file {written}; {line}")
    print(redact.redact(line))
    return code


def silence(options: HealthSettings, now: datetime | None = None) -> int:
    """Record (or with --for 0, lift) a silence of one check; check nothing else."""
    now = now or clock()
    check, seconds = options.silence, options.silence_for
    assert check is not None
    path = options.state_file
    with run_lock(path, wait=options.probe_timeout):
        state = load_state(path)
        silences = alerts.silences_in_force(state.silences, now)
        if seconds:
            silences[check] = now + timedelta(seconds=seconds)
        else:
            silences.pop(check, None)
        after = replace(state, silences=silences)
        try:
            save_state(path, after)
        except OSError as error:
            raise AutomationError(f"{path}: cannot save the silence: "
                                      f"{error.strerror or error}") from None
    if seconds:
        print(texts.silenced_until(check, silences[check], now))
    else:
        print(f"{check} is not silenced")
    return cli.OK


def list_silences(options: HealthSettings, now: datetime | None = None) -> int:
    """Print the silences in force."""
    now = now or clock()
    silences = alerts.silences_in_force(load_state(options.state_file).silences, now)
    for check, until in sorted(silences.items()):
        print(texts.silenced_until(check, until, now))
    if not silences:
        print("no silences in force")
    return cli.OK
