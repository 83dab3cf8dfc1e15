"""Credentials come only from the environment and appear in nothing a script prints or runs with.

Each script runs as a process with a recognisable fake SMTP password and catalog token, at its
most verbose, in the case where it is most likely to mention them: the credential refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

import changeImage
from automation.record import DONE, FruitEvent, UploadRecord, item_digest, sha256_of
from demo.processes import free_port, start_catalog
from demo.smtp_sink import MailSink
from tests.helpers import run_script

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
