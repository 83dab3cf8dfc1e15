"""Promises of the contract that every script keeps: --help, and the settings' defaults.

Each default is checked on what a real run does (the mail a real SMTP server received, the file
left on disk), against a value worked out here, never against the helper that computes it.
"""

from __future__ import annotations

import functools
import os
import pwd
import subprocess
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from demo.processes import PROJECT, start_catalog
from demo.sample_drop import write_drop
from tests.helpers import IMPORT_STEPS, run_script

# Every script of the project: the files at the top that run as `python3 SCRIPT.py`.
SCRIPTS = sorted(
    path.name for path in PROJECT.glob("*.py")
    if 'if __name__ == "__main__":' in path.read_text(encoding="utf-8")
)
# What the login name is read from, before the account database.
LOGIN_VARIABLES = ("LOGNAME", "USER", "LNAME", "USERNAME")
DEFAULT_PDF = Path("/tmp/processed.pdf")


def test_the_scripts_are_the_contracts() -> None:
    assert SCRIPTS == ["changeImage.py", "emails.py", "health_check.py", "report_email.py",
                       "run.py", "supplier_image_upload.py"]


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_exits_0_and_prints_the_usage(script: str) -> None:
    """The usage, with the drop's setting for the import steps, and no flag for a credential
    (they come from the environment only)."""
    result = run_script(script, "--help")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith(f"usage: {script} ")
    assert "-h, --help" in result.stdout
    if script in IMPORT_STEPS:
        assert "SUPPLIER_DATA_DIR" in result.stdout
    for credential in ("--smtp-password", "--password", "--token"):
        assert credential not in result.stdout.lower()


# The defaults of the supplier report, on a drop really imported into the bundled service.


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The sample drop, converted, uploaded and posted by the three scripts as processes;
    the environment that points report_email.py at it."""
    folder = tmp_path_factory.mktemp("contract")
    drop = folder / "supplier-data"
    write_drop(drop, count=3, size=(300, 200))
    catalog = start_catalog(folder / "catalog")
    try:
        env = {"SUPPLIER_DATA_DIR": str(drop), "CATALOG_URL": catalog.url}
        for script in ("changeImage.py", "supplier_image_upload.py", "run.py"):
            done = run_script(script, "-q", env=env)
            assert done.returncode == 0, done.stderr
        yield env
    finally:
        catalog.stop()


def send_report(env: dict[str, str], mailbox: Any, **more: str) -> EmailMessage:
    """Run report_email.py as a process with env and more settings; the one mail it sent."""
    settings = {**env, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(mailbox.port), **more}
    done = run_script("report_email.py", "--resend", env=settings, unset=LOGIN_VARIABLES)
    assert done.returncode == 0, done.stderr
    [message] = mailbox.messages()
    return message


# A /tmp of its own for one command, whatever the machine's /tmp holds: a fresh tmpfs in a
# private mount namespace, where each entry of the machine's /tmp is a symbolic link to it (so
# that the project, a venv and the tests' files there are still found), except processed.pdf.
# What the command leaves at /tmp/processed.pdf is copied to the path given first.
PRIVATE_TMP = r"""
keep=$1; shift
exec 3</tmp
mount -t tmpfs -o mode=1777 private-tmp /tmp || exit 125
mkdir /tmp/.machine && mount --no-canonicalize --bind /proc/self/fd/3 /tmp/.machine || exit 125
exec 3<&-
for entry in /tmp/.machine/* /tmp/.machine/.[!.]*; do
    [ -e "$entry" ] || [ -L "$entry" ] || continue
    [ "${entry##*/}" = processed.pdf ] || ln -s "$entry" "/tmp/${entry##*/}"
done
"$@"
code=$?
[ ! -e /tmp/processed.pdf ] || cp /tmp/processed.pdf "$keep"
exit $code
"""


@functools.cache
def private_namespace() -> tuple[str, ...]:
    """unshare's words for a mount namespace of our own (root's, else a user namespace's), or
    why there is none."""
    tried = []
    for flags in (["--mount"], ["--map-root-user", "--mount"])[0 if os.geteuid() == 0 else 1:]:
        done = subprocess.run(["unshare", *flags, "true"], capture_output=True, text=True,
                              check=False)
        if done.returncode == 0:
            return ("unshare", *flags)
        tried.append(f"unshare {' '.join(flags)}: {done.stderr.strip()}")
    return ("", "; ".join(tried))


def in_a_tmp_of_its_own(keep: Path) -> tuple[str, ...]:
    """A wrapper for run_script: the script runs with a /tmp of its own, and what it writes at
    /tmp/processed.pdf is copied to keep; or skip, saying why it cannot."""
    command = private_namespace()
    if not command[0]:
        pytest.skip("needs a mount namespace of its own, to run the script in a /tmp without "
                    f"anyone else's processed.pdf; {command[1]}")
    return (*command, "sh", "-c", PRIVATE_TMP, "private-tmp", str(keep))


def test_the_report_pdf_is_kept_at_tmp_processed_pdf(
    imported: dict[str, str], mailbox: Any, tmp_path: Path
) -> None:
    """Whatever the machine's /tmp holds: the script runs in a /tmp of its own."""
    machines = DEFAULT_PDF.read_bytes() if DEFAULT_PDF.exists() else None
    kept = tmp_path / "kept.pdf"
    settings = {**imported, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(mailbox.port),
                "REPORT_RECIPIENT": "supplier@example.com"}
    done = run_script("report_email.py", "--resend", env=settings, unset=LOGIN_VARIABLES,
                      wrapper=in_a_tmp_of_its_own(kept))
    assert done.returncode == 0, done.stderr
    [message] = mailbox.messages()
    [attachment] = message.iter_attachments()
    assert kept.read_bytes() == attachment.get_content()
    assert kept.read_bytes().startswith(b"%PDF-")
    assert (DEFAULT_PDF.read_bytes() if DEFAULT_PDF.exists() else None) == machines


def test_the_report_goes_to_the_login_name_at_example_com(
    imported: dict[str, str], mailbox: Any, tmp_path: Path
) -> None:
    try:
        login = pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        pytest.skip(f"user {os.getuid()} has no name in the account database")
    message = send_report(imported, mailbox, REPORT_PDF=str(tmp_path / "processed.pdf"))
    assert message["To"] == f"{login}@example.com"
    assert message["From"] == "automation@example.com"


def test_the_report_comes_from_report_sender(
    imported: dict[str, str], mailbox: Any, tmp_path: Path
) -> None:
    message = send_report(imported, mailbox, REPORT_PDF=str(tmp_path / "processed.pdf"),
                          REPORT_SENDER="fruit-desk@example.com",
                          REPORT_RECIPIENT="supplier@example.com")
    assert (message["From"], message["To"]) == ("fruit-desk@example.com", "supplier@example.com")


def test_health_alerts_go_to_report_recipient_when_alert_recipient_is_unset(
    mailbox: Any, tmp_path: Path
) -> None:
    env = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(mailbox.port),
           "REPORT_RECIPIENT": "store-desk@example.com", "REPORT_SENDER": "alerts@example.com",
           "HEALTH_STATE_FILE": str(tmp_path / "state.json")}
    done = run_script("health_check.py", "--cpu-max-percent", "100", "--cpu-interval", "0.1",
                      "--disk-min-free-percent", "0", "--memory-min-mb", "10000000", env=env)
    assert done.returncode == 1, done.stderr
    [alert] = mailbox.messages()
    assert alert["Subject"] == "Error - Available memory is less than 10000000MB"
    assert (alert["From"], alert["To"]) == ("alerts@example.com", "store-desk@example.com")
