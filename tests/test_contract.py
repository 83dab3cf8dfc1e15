"""Promises of the contract that every script keeps: --help, and the settings' defaults.

Each default is checked on what a real run does (the mail a real SMTP server received, the file
left on disk), against a value worked out here, never against the helper that computes it.
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from demo.processes import PROJECT, start_catalog
from demo.sample_drop import write_drop
from tests.helpers import NotOursToTouch, run_script

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
    result = run_script(script, "--help")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith(f"usage: {script} ")
    assert "-h, --help" in result.stdout


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


@pytest.fixture
def default_pdf() -> Iterator[Path]:
    """/tmp/processed.pdf, made empty by this test (never someone else's) and removed after."""
    try:
        os.close(os.open(DEFAULT_PDF, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    except FileExistsError:
        raise NotOursToTouch(f"{DEFAULT_PDF} is there already, not made by this test: "
                             "left alone") from None
    try:
        yield DEFAULT_PDF
    finally:
        DEFAULT_PDF.unlink(missing_ok=True)


def test_the_report_pdf_is_kept_at_tmp_processed_pdf(
    imported: dict[str, str], mailbox: Any, default_pdf: Path
) -> None:
    message = send_report(imported, mailbox, REPORT_RECIPIENT="supplier@example.com")
    [attachment] = message.iter_attachments()
    assert default_pdf.read_bytes() == attachment.get_content()
    assert default_pdf.read_bytes().startswith(b"%PDF-")


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
