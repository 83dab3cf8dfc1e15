"""The crontab entry: every minute, this interpreter and script, the settings in force now
(built from the flag declarations), marked with our tag so that it can be found again."""

from __future__ import annotations

import argparse
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from automation import cli, redact, settings
from automation.errors import AutomationError
from automation.health.flags import FLAGS
from automation.settings import HealthSettings

CRON_TAG = "# fruit-catalog-health-check"
LOG_NAME = "health.log"


def cron_command(options: HealthSettings, script: Path) -> list[str]:
    """The command cron runs: quiet, logging to a file (beside the state unless one is given),
    and every flag that its declaration says the entry carries."""
    values = {**options.values,
              "log_file": options.log_file or str(options.state_file.with_name(LOG_NAME))}
    words = [word for flag in FLAGS for word in flag.cron_words(values)]
    return [sys.executable, str(script), "--quiet", *words]


def cron_line(options: HealthSettings, script: Path) -> str:
    """The crontab entry: every minute, the command, our tag. AutomationError when --url
    cannot be used, or the entry would show a secret to whoever may read the crontab."""
    url = options.thresholds.get("catalog")
    if url:
        try:
            settings.catalog_url(url)
        except argparse.ArgumentTypeError as error:
            raise AutomationError(f"--url: {error}") from None
    command = shlex.join(cron_command(options, script)).replace("%", "\\%")  # cron: % is a newline
    line = f"* * * * * {command} {CRON_TAG}"
    settings.register_secrets()
    if redact.shows_secret(line):
        raise AutomationError(
            "the crontab entry would show a secret to whoever may read the crontab (a password "
            "in --url?): give the catalog service a token instead, as CATALOG_TOKEN in the "
            "--env-file")
    return line


def is_ours(line: str) -> bool:
    """Whether a crontab line is the health check's entry."""
    return line.rstrip().endswith(CRON_TAG)


def with_entry(crontab: str, line: str) -> str:
    """The crontab with our entry in place of any earlier one (or at its end), the rest kept."""
    lines = crontab.splitlines()
    spots = [index for index, text in enumerate(lines) if is_ours(text)]
    kept = [text for text in lines if not is_ours(text)]
    kept.insert(spots[0] if spots else len(kept), line)
    return "\n".join(kept) + "\n"


def without_entry(crontab: str) -> str:
    """The crontab without our entry, the rest kept."""
    kept = [line for line in crontab.splitlines() if not is_ours(line)]
    return "\n".join(kept) + "\n" if kept else ""


def crontab(*args: str, text: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the crontab program."""
    if not shutil.which("crontab"):
        raise AutomationError("there is no crontab program: install cron (apt-get install cron)")
    return subprocess.run(["crontab", *args], input=text, capture_output=True, text=True,
                          check=False, timeout=30)


def read_crontab() -> str:
    """The user's crontab; none at all is an empty one."""
    done = crontab("-l")
    if done.returncode == 0:
        return done.stdout
    if "no crontab for" in done.stderr:
        return ""
    raise AutomationError(f"crontab -l failed: {done.stderr.strip()}")


def write_crontab(content: str) -> None:
    """Replace the user's crontab (remove it when nothing is left)."""
    done = crontab("-r") if not content.strip() else crontab("-", text=content)
    if done.returncode != 0 and "no crontab for" not in done.stderr:
        raise AutomationError(f"crontab failed: {done.stderr.strip()}")


def install_cron(options: HealthSettings, script: Path) -> int:
    """Add (or update) the every-minute entry in the user's crontab, keeping the other entries."""
    line = cron_line(options, script)
    options.state_file.parent.mkdir(parents=True, exist_ok=True)
    before = read_crontab()
    after = with_entry(before, line)
    if after == before:
        print(f"already in the crontab:\n{line}")
        return cli.OK
    write_crontab(after)
    print(f"{'updated' if CRON_TAG in before else 'added'} in the crontab:\n{line}")
    return cli.OK


def uninstall_cron() -> int:
    """Remove our entry from the user's crontab, and nothing else."""
    before = read_crontab()
    after = without_entry(before)
    if after == before:
        print("no health check entry in the crontab: nothing to remove")
        return cli.OK
    write_crontab(after)
    print("removed the health check entry from the crontab")
    return cli.OK
