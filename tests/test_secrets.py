"""Credentials come only from the environment and appear in nothing a script prints or runs with.

Each script runs as a process with a recognisable fake SMTP password and catalog token, at its
most verbose, in the case where it is most likely to mention them: the credential refused.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

import changeImage
import run
import supplier_image_upload
from automation import redact
from automation.cli import setup_logging
from automation.record import DONE, FruitEvent, UploadRecord, item_digest, sha256_of
from demo.processes import PROJECT, free_port, start_catalog
from demo.smtp_sink import MailSink
from tests.helpers import catalog_fruits, run_script

PASSWORD = "Fake-SMTP-Pa55word-7f3e9c"
TOKEN = "Fake-Catalog-Token-51ab0d"
SCRIPTS = ("changeImage.py", "supplier_image_upload.py", "run.py", "report_email.py",
           "health_check.py", "emails.py")


def refuse_every_login(server: Any, session: Any, envelope: Any, mechanism: str,
                       auth_data: Any) -> AuthResult:
    """aiosmtpd's login check: nobody gets in."""
    return AuthResult(success=False, handled=False)


@pytest.fixture
def strict_smtp(tmp_path: Path) -> Iterator[int]:
    """A real SMTP server that asks for a login and refuses every one; its port."""
    port = free_port()
    controller = Controller(MailSink(tmp_path / "mail"), hostname="127.0.0.1", port=port,
                            authenticator=refuse_every_login, auth_required=True,
                            auth_require_tls=False)
    controller.start()
    yield port
    controller.stop()


@pytest.fixture
def guarded_catalog(tmp_path: Path):
    """The bundled service, wanting another token than the one the scripts are given."""
    server = start_catalog(tmp_path / "catalog", token="the-real-token")
    yield server
    server.stop()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_no_script_prints_a_credential(drop: Path, strict_smtp: int, guarded_catalog,
                                       tmp_path: Path) -> None:
    assert changeImage.main(["--data-dir", str(drop), "--jobs", "1", "-q"]) == 0
    env = {
        "SUPPLIER_DATA_DIR": str(drop), "CATALOG_URL": guarded_catalog.url,
        "CATALOG_TOKEN": TOKEN, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(strict_smtp),
        "SMTP_USER": "alerts", "SMTP_PASSWORD": PASSWORD,
        "REPORT_PDF": str(tmp_path / "processed.pdf"),
        "HEALTH_STATE_FILE": str(tmp_path / "health.json"),
    }
    with UploadRecord(drop / "catalog-record.jsonl", guarded_catalog.url) as record:
        record.add(FruitEvent(  # an imported fruit, for the report
            key="descriptions/001.txt", state=DONE, name="Apple", weight=500, id=1,
            image_name="001.jpeg", item=item_digest(
                (drop / "descriptions" / "001.txt").read_bytes(),
                sha256_of((drop / "images" / "001.jpeg").read_bytes()))))
    runs = {
        "changeImage.py": ["--force", "-vv"],
        "supplier_image_upload.py": ["-vv"],
        "run.py": ["-vv"],
        "report_email.py": ["-vv"],
        "health_check.py": ["-vv", "--memory-min-mb", "100000000", "--cpu-interval", "0.1"],
        "emails.py": ["-vv"],
    }
    for script, flags in runs.items():
        result = run_script(script, *flags, env=env)
        printed = result.stdout + result.stderr
        assert PASSWORD not in printed, script
        assert TOKEN not in printed, script
        if script != "changeImage.py":
            assert result.returncode != 0, (script, printed)  # the credential was refused
        assert "Traceback" not in printed, (script, printed)
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".log", ".jsonl", ".txt", ".eml"):
            assert PASSWORD not in path.read_text(errors="replace"), path


@pytest.mark.parametrize("script", SCRIPTS)
def test_no_flag_takes_a_credential(script: str) -> None:
    help_text = run_script(script, "--help").stdout.lower()
    assert "--smtp-password" not in help_text
    assert "--password" not in help_text
    assert "--token" not in help_text


# Issue 17: whatever fails, a secret never leaves the process.

SECRET = "Tok-5ecret-9d2f1a"


@pytest.fixture
def forget_secrets() -> Iterator[None]:
    """No secret known before the test, none left for the next one."""
    redact.forget()
    yield
    redact.forget()


def test_every_handler_hides_a_secret_in_messages_and_exception_texts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, forget_secrets
) -> None:
    """The filter runs only where it is attached: as cron runs it (--quiet, a log file), a
    warning reaches the log file alone, an error both handlers; each carries the token."""
    monkeypatch.setenv("CATALOG_TOKEN", SECRET)
    log_file = tmp_path / "run.log"
    setup_logging(quiet=True, prog="test.py", log_file=str(log_file))
    log = logging.getLogger("tests.secrets")
    log.warning("the token is %s", SECRET)
    try:
        raise ValueError(f"header value 'Token {SECRET}'")
    except ValueError:
        log.exception("a library failed")
    stderr, logged = capsys.readouterr().err, log_file.read_text()
    assert "the token is" not in stderr  # --quiet: errors only
    assert "test.py: WARNING: the token is ***" in logged
    for where, text in {"stderr": stderr, "log file": logged}.items():
        assert SECRET not in text, where
        assert "test.py: ERROR: a library failed" in text, where
        assert "ValueError: header value 'Token ***'" in text, where  # the traceback's last line


def test_requests_own_error_is_logged_without_the_token(
    monkeypatch: pytest.MonkeyPatch, capsys, forget_secrets
) -> None:
    """requests quotes a header it refuses, token and all: the text as requests wrote it
    goes through the filter."""
    monkeypatch.setenv("CATALOG_TOKEN", f"{SECRET}\r")
    setup_logging(prog="test.py")
    with requests.Session() as session, pytest.raises(requests.RequestException) as refused:
        session.get(f"http://127.0.0.1:{free_port()}/",
                    headers={"Authorization": f"Token {SECRET}\r"})
    assert SECRET in str(refused.value)  # what would have been printed
    logging.getLogger("tests.secrets").error("GET failed: %s", refused.value)
    printed = capsys.readouterr().err
    assert SECRET not in printed
    assert "in header value: 'Token ***" in printed


def test_a_token_with_a_line_end_is_sent_without_it(
    drop: Path, guarded_catalog, monkeypatch: pytest.MonkeyPatch, forget_secrets
) -> None:
    """A token read from a CRLF file: the service, which wants it exactly, takes it."""
    assert changeImage.main(["--data-dir", str(drop), "--jobs", "1", "-q"]) == 0
    monkeypatch.setenv("CATALOG_TOKEN", " the-real-token\r\n")
    upload = ["--data-dir", str(drop), "--url", guarded_catalog.url, "-q"]
    assert supplier_image_upload.main(upload) == 0
    assert run.main(upload) == 0
    assert len(catalog_fruits(guarded_catalog)) == 10


@pytest.mark.parametrize(("token", "said"), [
    pytest.param(f"{SECRET}\r\nX-Evil: 1", "holds a control character (a line end, a tab)",
                 id="line end inside"),
    pytest.param(f"{SECRET}\x01", "holds a control character (a line end, a tab)",
                 id="control character"),
    pytest.param(f"{SECRET}\u20ac", "holds a character outside Latin-1", id="euro sign"),
])
def test_a_token_a_header_cannot_carry_is_one_line_without_it(
    drop: Path, monkeypatch: pytest.MonkeyPatch, capsys, token: str, said: str, forget_secrets
) -> None:
    monkeypatch.setenv("CATALOG_TOKEN", token)
    code = run.main(["--data-dir", str(drop), "--url", f"http://127.0.0.1:{free_port()}"])
    printed = capsys.readouterr()
    assert code == 2
    assert SECRET not in printed.out + printed.err
    assert "Traceback" not in printed.err
    errors = [line for line in printed.err.splitlines() if ": ERROR: " in line]
    assert errors == [f"run.py: ERROR: CATALOG_TOKEN {said}, which an HTTP header cannot carry "
                      "(the token is not shown)"]


def test_a_password_in_the_catalog_url_is_masked_in_every_line(
    drop: Path, capsys, forget_secrets
) -> None:
    port = free_port()  # nothing listens: the error line names the URL
    code = run.main(["--data-dir", str(drop), "--url", f"http://ops:{SECRET}@127.0.0.1:{port}/",
                     "--retries", "0"])
    printed = capsys.readouterr()
    assert code == 2
    assert SECRET not in printed.out + printed.err
    assert f"the catalog service at http://***:***@127.0.0.1:{port}/ is unreachable" in (
        printed.err)


def test_a_bugs_traceback_is_shown_without_the_secret(tmp_path: Path) -> None:
    """A bug stays loud, traceback and all, but through the same filter."""
    bug = tmp_path / "bug.py"
    bug.write_text(
        "import os, sys\n"
        f"sys.path.insert(0, {str(PROJECT)!r})\n"
        "from automation.cli import setup_logging\n"
        "setup_logging(prog='bug.py')\n"
        "raise RuntimeError('token ' + os.environ['CATALOG_TOKEN'])\n"
    )
    done = subprocess.run([sys.executable, str(bug)], env={**os.environ, "CATALOG_TOKEN": SECRET},
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert SECRET not in done.stderr
    assert "Traceback (most recent call last)" in done.stderr
    assert "RuntimeError: token ***" in done.stderr


@pytest.mark.parametrize("url", [
    pytest.param(f"http://ops:{SECRET}@127.0.0.1:1/", id="password"),
    pytest.param(f"http://ops:{quote(SECRET + '@/', safe='')}@127.0.0.1:1/", id="percent-encoded"),
    pytest.param(f"http://ops:{SECRET}@/\r@127.0.0.1:1/", id="not encoded"),
])
def test_mask_url_hides_user_and_password(url: str, forget_secrets) -> None:
    assert redact.mask_url(url) == "http://***:***@127.0.0.1:1/"
    assert redact.mask_url(url.removeprefix("http://")) == "***:***@127.0.0.1:1/"  # no scheme
    assert redact.mask_url("http://127.0.0.1:1/") == "http://127.0.0.1:1/"
    assert redact.url_password(url) in {SECRET, quote(SECRET + "@/", safe=""), f"{SECRET}@/\r"}


def test_mask_urls_hides_each_user_and_password_in_a_text() -> None:
    text = f"see http://ops:{SECRET}@127.0.0.1:1/ and http://ops@host/x, not ops@example.com"
    assert redact.mask_urls(text) == (
        "see http://***:***@127.0.0.1:1/ and http://***@host/x, not ops@example.com")
