"""automation/settings.py, alone: each setting's variable, flag and default as the contract names
them, the environment under the flag, the login name's recipient, the number types. Pure: only
the environment is set, and the command line given."""

from __future__ import annotations

import argparse
import getpass
from pathlib import Path

import pytest

from automation import settings
from automation.settings import Setting

# The contract's table (and the README's): variable, flag, default.
CONTRACT = [
    (settings.DATA_DIR, "SUPPLIER_DATA_DIR", "--data-dir", "~/supplier-data"),
    (settings.CATALOG_URL, "CATALOG_URL", "--url", "http://localhost"),
    (settings.CATALOG_TIMEOUT, "CATALOG_TIMEOUT", "--timeout", "30"),
    (settings.CATALOG_RETRIES, "CATALOG_RETRIES", "--retries", "3"),
    (settings.SMTP_HOST, "SMTP_HOST", "--smtp-host", "localhost"),
    (settings.SMTP_PORT, "SMTP_PORT", "--smtp-port", "25"),
    (settings.SMTP_SECURITY, "SMTP_SECURITY", "--smtp-security", "none"),
    (settings.SMTP_USER, "SMTP_USER", "--smtp-user", ""),
    (settings.REPORT_SENDER, "REPORT_SENDER", "--sender", "automation@example.com"),
    (settings.REPORT_PDF, "REPORT_PDF", "--pdf", "/tmp/processed.pdf"),
    (settings.HEALTH_STATE_FILE, "HEALTH_STATE_FILE", "--state-file",
     "~/.local/state/fruit-catalog/health.json"),
]


@pytest.mark.parametrize(("setting", "env", "flag", "default"), CONTRACT,
                         ids=[row[1] for row in CONTRACT])
def test_each_setting_is_the_contracts(setting: Setting, env: str, flag: str,
                                       default: str) -> None:
    assert (setting.env, setting.flag, setting.value()) == (env, flag, default)


def test_the_environment_sets_a_setting_and_an_empty_value_is_unset(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CATALOG_URL", "http://catalog.example.com:8080")
    assert settings.CATALOG_URL.value() == "http://catalog.example.com:8080"
    monkeypatch.setenv("CATALOG_URL", "")
    assert settings.CATALOG_URL.value() == "http://localhost"


def parser_with(*declared: Setting) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="script.py")
    for setting in declared:
        setting.add_to(parser)
    return parser


def test_a_flag_wins_over_the_environment_which_wins_over_the_default(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    assert parser_with(settings.SMTP_HOST).parse_args([]).smtp_host == "localhost"
    monkeypatch.setenv("SMTP_HOST", "mail.example.com")
    parser = parser_with(settings.SMTP_HOST)
    assert parser.parse_args([]).smtp_host == "mail.example.com"
    assert parser.parse_args(["--smtp-host", "relay"]).smtp_host == "relay"


def test_the_help_names_the_variable_and_the_default() -> None:
    text = " ".join(parser_with(settings.REPORT_PDF, settings.SMTP_USER).format_help().split())
    assert "(env REPORT_PDF, default /tmp/processed.pdf)" in text
    assert "(env SMTP_USER, default none)" in text


@pytest.mark.parametrize("variable", ["LOGNAME", "USER", "LNAME", "USERNAME"])
def test_the_report_goes_to_the_login_name_at_example_com(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, "alice")
    assert settings.REPORT_RECIPIENT.value() == "alice@example.com"


def test_without_a_login_name_the_report_goes_to_root_at_example_com(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bare container: no variable names the user, and the account database has no entry."""
    def no_login() -> str:
        raise OSError("No username set in the environment")

    monkeypatch.setattr(getpass, "getuser", no_login)
    assert settings.REPORT_RECIPIENT.value() == "root@example.com"


def test_alerts_go_to_report_recipient_unless_alert_recipient_is_set(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGNAME", "alice")
    assert settings.ALERT_RECIPIENT.value() == "alice@example.com"
    monkeypatch.setenv("REPORT_RECIPIENT", "store-desk@example.com")
    assert settings.ALERT_RECIPIENT.value() == "store-desk@example.com"
    monkeypatch.setenv("ALERT_RECIPIENT", "oncall@example.com")
    assert settings.ALERT_RECIPIENT.value() == "oncall@example.com"


def test_a_credential_is_read_from_the_environment_only(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (settings.CATALOG_TOKEN_ENV, settings.SMTP_PASSWORD_ENV) == (
        "CATALOG_TOKEN", "SMTP_PASSWORD")
    assert settings.secret("SMTP_PASSWORD") is None
    monkeypatch.setenv("SMTP_PASSWORD", "")
    assert settings.secret("SMTP_PASSWORD") is None
    monkeypatch.setenv("SMTP_PASSWORD", "s3cret")
    assert settings.secret("SMTP_PASSWORD") == "s3cret"
    monkeypatch.setenv("CATALOG_TOKEN", "  the-token\n")  # the line end of a file is not in it
    assert settings.secret("CATALOG_TOKEN") == "the-token"
    monkeypatch.setenv("CATALOG_TOKEN", " \n")
    assert settings.secret("CATALOG_TOKEN") is None
    parser = argparse.ArgumentParser()
    settings.add_catalog_flags(parser)
    settings.add_smtp_flags(parser)
    options = {option for action in parser._actions for option in action.option_strings}
    assert not {option for option in options if "password" in option or "token" in option}


def test_the_catalog_flags_and_their_defaults() -> None:
    parser = argparse.ArgumentParser()
    settings.add_catalog_flags(parser)
    args = parser.parse_args([])
    assert (args.url, args.timeout, args.retries, args.jobs) == ("http://localhost", 30.0, 3, 8)
    args = parser.parse_args(["--timeout", "2.5", "--retries", "0", "--jobs", "1"])
    assert (args.timeout, args.retries, args.jobs) == (2.5, 0, 1)


@pytest.mark.parametrize(("flags", "message"), [
    (["--timeout", "0"], "--timeout: must be above 0 and at most 31536000: '0'"),
    (["--timeout", "nan"], "--timeout: must be above 0 and at most 31536000: 'nan'"),
    (["--timeout", "inf"], "--timeout: must be above 0 and at most 31536000: 'inf'"),
    (["--retries", "-1"], "--retries: must be from 0 to 100: '-1'"),
    (["--jobs", "0"], "--jobs: must be from 1 to 256: '0'"),
    (["--jobs", "two"], "--jobs: not a whole number: 'two'"),
])
def test_a_bad_number_is_refused_with_its_rule(flags: list[str], message: str,
                                               capsys: pytest.CaptureFixture) -> None:
    parser = argparse.ArgumentParser(prog="script.py")
    settings.add_catalog_flags(parser)
    with pytest.raises(SystemExit) as exited:
        parser.parse_args(flags)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(("text", "value"), [("0", 0.0), ("100", 100.0), ("42.5", 42.5)])
def test_a_percent_is_from_0_to_100(text: str, value: float) -> None:
    assert settings.percent(text) == value


@pytest.mark.parametrize("text", ["-0.1", "100.5", "nan"])
def test_a_percent_outside_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="must be from 0 to 100"):
        settings.percent(text)


def test_the_smtp_security_is_one_of_three(capsys: pytest.CaptureFixture) -> None:
    parser = argparse.ArgumentParser(prog="script.py")
    settings.add_smtp_flags(parser)
    for security in ("none", "starttls", "ssl"):
        assert parser.parse_args(["--smtp-security", security]).smtp_security == security
    with pytest.raises(SystemExit):
        parser.parse_args(["--smtp-security", "tls"])
    assert "not one of none, starttls, ssl: 'tls'" in capsys.readouterr().err


def test_the_state_folder_follows_xdg_state_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert settings.state_dir() == tmp_path / "state" / "fruit-catalog"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert settings.state_dir() == tmp_path / "home" / ".local" / "state" / "fruit-catalog"


def test_a_drop_folder_may_start_with_a_tilde(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert settings.drop_dir("~/supplier-data") == tmp_path / "supplier-data"
    assert settings.drop_dir("/srv/drop") == Path("/srv/drop")


def test_the_table_marks_the_secrets_and_gives_them_no_flag() -> None:
    """A credential is read from the environment only: no flag shows it in the process list."""
    secrets = [setting for setting in settings.SETTINGS if setting.secret]
    assert [setting.env for setting in secrets] == ["CATALOG_TOKEN", "SMTP_PASSWORD"]
    assert [setting.flag for setting in secrets] == [None, None]
    assert settings.SECRET_ENVS == ("CATALOG_TOKEN", "SMTP_PASSWORD")


def test_the_mail_flags_are_the_same_in_every_script_that_sends_mail() -> None:
    """One declaration of the SMTP flags: the mail scripts and health_check.py take the same."""
    import health_check

    smtp = {"--smtp-host", "--smtp-port", "--smtp-security", "--smtp-user", "--smtp-ca-file"}
    parser = argparse.ArgumentParser()
    settings.add_smtp_flags(parser)
    mailing = {option for action in parser._actions for option in action.option_strings}
    health = {option for action in health_check.parser()._actions
              for option in action.option_strings}
    assert mailing - {"-h", "--help"} == smtp
    assert smtp <= health
