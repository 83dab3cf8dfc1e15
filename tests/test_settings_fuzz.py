"""Every script's settings, fuzzed (issue 17): whatever the environment and the flags say, no
traceback, an exit code the contract allows, and no secret anywhere it could land.

Each script's main(argv) runs in-process, as many times as Hypothesis draws, against the real
bundled catalog (which wants the token) and a real SMTP sink, on a copy of a small drop that
the steps already took in. The values drawn hold control characters, letters outside ASCII
and Latin-1, labels over 63 characters, huge numbers and URLs that are not; three known
secrets go in the token, the catalog URL's password and SMTP_PASSWORD. After every run: no
`Traceback`, an exit code in 0-2 (0-3 for health_check.py --nagios), and none of the secrets
in stdout, stderr or any file the run left (log file, record, state file, metrics, PDF aside),
nor in the crontab line the health check's command line would install. Bounded to about a
minute in all; hosts are only ever loopback ones or ones no resolver takes, so nothing leaves
the machine.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import changeImage
import emails
import health_check
import report_email
import run
import supplier_image_upload
from automation import redact
from automation.errors import AutomationError
from automation.health import cron
from automation.health.flags import BadFlags
from demo.processes import Server, free_port, start_catalog, start_smtp_sink
from demo.sample_drop import write_drop
from tests.helpers import CONTRACT_ENV

TOKEN = "Fuzz-Token-3b9f0e"
URL_PASSWORD = "Fuzz-UrlPw-71c2ad"
SMTP_PASSWORD = "Fuzz-SmtpPw-5e8d41"
SECRETS = (TOKEN, URL_PASSWORD, SMTP_PASSWORD)
NOT_TEXT = {".tiff", ".jpeg", ".pdf"}  # the photos, the JPEGs and the report: no setting in them
GIVEN = {"health.env"}  # the test's own env file, which holds them on purpose
EXAMPLES = 50  # per script: about half a minute in all here (0.1 s a run on 2 busy CPUs)

# --- The values drawn ---------------------------------------------------------------------

CONTROL = st.sampled_from(["\r", "\n", "\r\n", "\t", "\x01", "\x1b[31m", "\x7f", "\x85"])
NON_ASCII = st.sampled_from(["é", "€", "ß", "☃", "日本", "\u200b", "\ufeff", "\U0001d518"])
LONG_LABEL = "a" * 64
HUGE = st.sampled_from(["9" * 400, "1e308", "1e309", "-1", "0", "nan", "inf", "-inf",
                        "2147483648", "99999", "1_000", "0x10", "１２", ""])
# Any text an environment or a command line can hold: no NUL, no lone surrogate.
ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"),
                   max_size=20)
# What no resolver takes: a host drawn from it never makes a request leave the machine.
NO_HOST = st.one_of(
    st.sampled_from([f"{LONG_LABEL}.example.com", "☃..x", "mail .example.com", "[::1",
                     f"{'b' * 63}." * 5 + "com"]),
    st.tuples(ANY_TEXT, CONTROL).map("".join),
)


def spoiled(value: str) -> st.SearchStrategy[str]:
    """value as it is, or with a control character or a letter outside ASCII before or after
    it, or whitespace around it."""
    extra = st.one_of(CONTROL, NON_ASCII, st.sampled_from([" ", "\r\n", " \t"]))
    return st.one_of(
        st.just(value),
        st.tuples(extra, st.booleans()).map(
            lambda pair: pair[0] + value if pair[1] else value + pair[0]),
    )


def number(*valid: str) -> st.SearchStrategy[str]:
    """A number setting: a valid value, or one too big, not finite, not a number."""
    return st.one_of(st.sampled_from(valid), HUGE, ANY_TEXT)


@dataclass(frozen=True)
class Services:
    """The real servers every run may use, and the drop the steps already took in."""

    catalog: Server
    smtp_port: int
    closed_port: int
    drop: Path


def catalog_urls(services: Services) -> st.SearchStrategy[str]:
    """Catalog URLs: the service's (with its password or none), one where nothing listens,
    and ones that are not URLs at all."""
    port = services.catalog.port
    userinfo = st.sampled_from(["", f"ops:{URL_PASSWORD}@", f"ops:{quote(URL_PASSWORD + '@/')}@",
                                f"ops:{URL_PASSWORD}\r@"])
    scheme = st.sampled_from(["http://", "https://", "ftp://", "", "http:/", "HTTP://"])
    host = st.one_of(st.sampled_from(["127.0.0.1", "[::1]"]), NO_HOST)
    port_text = st.sampled_from([f":{port}", f":{services.closed_port}", ":99999", ":x", ":0"])
    path = st.sampled_from(["", "/", "/api/", "/\x01", "/ é"])
    built = st.tuples(scheme, userinfo, host, port_text, path).map("".join)
    return st.one_of(built, built.flatmap(spoiled), ANY_TEXT)


def smtp_hosts() -> st.SearchStrategy[str]:
    return st.one_of(st.just("127.0.0.1"), st.just("127.0.0.1").flatmap(spoiled), NO_HOST)


def addresses() -> st.SearchStrategy[str]:
    good = "ops@example.com"
    return st.one_of(
        st.sampled_from([good, "Ops <ops@example.com>", "a@b.com, c@d.com",
                         f"ops@{LONG_LABEL}.com", "pêche@example.com", "ops@", "@example.com",
                         f"{good}\r\nBcc: victim@example.com"]),
        spoiled(good), ANY_TEXT)


# --- Running a script ---------------------------------------------------------------------


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """The contract's settings exactly as values says, the rest of the environment kept."""
    saved = dict(os.environ)
    for name in CONTRACT_ENV:
        os.environ.pop(name, None)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def working_folder(folder: Path) -> Iterator[None]:
    """Run in folder: a relative path drawn stays inside the example's own folder."""
    before = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


@dataclass
class Outcome:
    """What a run gave: its exit code and what it printed."""

    code: object
    out: str
    err: str


def run_main(main: Callable[[list[str]], int], argv: list[str], env: dict[str, str],
             folder: Path) -> Outcome:
    """main(argv) in-process, as `python3 SCRIPT.py ARGV` would run it with env."""
    out, err = io.StringIO(), io.StringIO()
    redact.forget()  # each run knows only the secrets it registers itself
    with environment(env), working_folder(folder), contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(err):
        try:
            code: object = main(argv)
        except SystemExit as exit_:  # argparse's exit
            code = exit_.code
    return Outcome(code, out.getvalue(), err.getvalue())


def assert_kept_to_the_contract(outcome: Outcome, folder: Path, codes: set[int]) -> None:
    """No traceback, an allowed exit code, no secret in what was printed or written."""
    printed = outcome.out + outcome.err
    assert "Traceback" not in printed, printed
    assert outcome.code in codes, (outcome.code, printed)
    for secret in SECRETS:
        assert secret not in printed, (secret, printed)
    for path in folder.rglob("*"):
        if (path.is_file() and not path.is_symlink() and path.suffix.lower() not in NOT_TEXT
                and path.name not in GIVEN):
            data = path.read_bytes()
            for secret in SECRETS:
                assert secret.encode() not in data, (secret, path)


# --- The servers and the drop -------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def quick_mail_backoff() -> Iterator[None]:
    """A mail server that does not answer is tried four times: without the waits between."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("automation.mail.BACKOFF_SECONDS", 0.01)
        yield


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """The catalog (wanting TOKEN), the SMTP sink, and a drop of three items already taken in,
    so that the report has something to say."""
    root = tmp_path_factory.mktemp("fuzz")
    catalog = start_catalog(root / "catalog", token=TOKEN)
    sink = start_smtp_sink(root / "mail")
    drop = root / "drop"
    write_drop(drop, count=3, size=(150, 100))
    steps = ["--data-dir", str(drop), "--url", catalog.url, "-q"]
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    with environment({"CATALOG_TOKEN": TOKEN}):
        assert changeImage.main(["--data-dir", str(drop), "--jobs", "1", "-q"]) == 0
        assert supplier_image_upload.main(steps) == 0
        assert run.main(steps) == 0
    # The mains set the root logger up (-q: errors only); the tests after this module's must
    # find it as it was (conftest's restore_logging does it for each test, not for this).
    root.setLevel(level)
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    try:
        yield Services(catalog, sink.port, free_port(), drop)
    finally:
        catalog.stop()
        sink.stop()
        redact.forget()


def copy_drop(source: Path, target: Path) -> None:
    """A copy of a converted drop: its TIFFs are new files, so its JPEGs are made again (the
    same bytes), as an operator who copies a drop must."""
    shutil.copytree(source, target, symlinks=True)
    assert changeImage.main(["--data-dir", str(target), "--jobs", "1", "-q"]) == 0


def example_folder(tmp_path: Path, services: Services) -> tuple[Path, Path]:
    """A folder of this example's own, holding a copy of the drop; both paths."""
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    drop = folder / "drop"
    copy_drop(services.drop, drop)
    return folder, drop


# --- What each script is given ------------------------------------------------------------


def put(data: st.DataObject, env: dict[str, str], argv: list[str], name: str, flag: str,
        values: st.SearchStrategy[str]) -> None:
    """A setting drawn: in the environment, as a flag, both, or neither."""
    where = data.draw(st.sampled_from(["env", "flag", "both", "none"]), label=f"{name} where")
    if where in ("env", "both"):
        env[name] = data.draw(values, label=name)
    if where in ("flag", "both"):
        argv += [flag, data.draw(values, label=flag)]


def common(data: st.DataObject, services: Services, drop: Path) -> tuple[dict[str, str],
                                                                        list[str]]:
    """The drop and the secrets every script is run with."""
    env = {
        "CATALOG_TOKEN": data.draw(spoiled(TOKEN), label="CATALOG_TOKEN"),
        "SMTP_PASSWORD": data.draw(spoiled(SMTP_PASSWORD), label="SMTP_PASSWORD"),
    }
    argv: list[str] = []
    put(data, env, argv, "SUPPLIER_DATA_DIR", "--data-dir",
        st.one_of(st.just(str(drop)), st.just("no/such/drop"), ANY_TEXT))
    return env, argv


def catalog_settings(data: st.DataObject, services: Services, env: dict[str, str],
                     argv: list[str]) -> None:
    env.setdefault("CATALOG_URL", services.catalog.url)  # not the default: port 80 of this host
    put(data, env, argv, "CATALOG_URL", "--url", catalog_urls(services))
    put(data, env, argv, "CATALOG_TIMEOUT", "--timeout", number("10", "0.5", "31536000"))
    # More than one retry of an unreachable URL waits seconds: those drawn are 0 or 1.
    env.setdefault("CATALOG_RETRIES", "0")
    put(data, env, argv, "CATALOG_RETRIES", "--retries", number("0", "1", "101"))


def smtp_settings(data: st.DataObject, services: Services, env: dict[str, str],
                  argv: list[str]) -> None:
    env.setdefault("SMTP_HOST", "127.0.0.1")
    env.setdefault("SMTP_PORT", str(services.smtp_port))
    put(data, env, argv, "SMTP_HOST", "--smtp-host", smtp_hosts())
    put(data, env, argv, "SMTP_PORT", "--smtp-port",
        number(str(services.smtp_port), str(services.closed_port), "70000"))
    put(data, env, argv, "SMTP_SECURITY", "--smtp-security",
        st.one_of(st.sampled_from(["none", "starttls", "ssl", "TLS"]), ANY_TEXT))
    put(data, env, argv, "SMTP_USER", "--smtp-user",
        st.one_of(st.sampled_from(["", "ops", "bjørn"]), spoiled("ops")))
    put(data, env, argv, "REPORT_SENDER", "--sender", addresses())
    put(data, env, argv, "REPORT_RECIPIENT", "--recipient", addresses())


def change_image_run(data: st.DataObject, services: Services, drop: Path, folder: Path
                     ) -> tuple[dict[str, str], list[str]]:
    env, argv = common(data, services, drop)
    argv += ["--jobs", data.draw(number("1"), label="--jobs")]
    argv += ["--max-pixels", data.draw(number("40000000", "10"), label="--max-pixels")]
    argv += data.draw(st.sampled_from([[], ["--force"], ["--fit", "crop"], ["--fit", "é"]]))
    return env, argv


def upload_run(data: st.DataObject, services: Services, drop: Path, folder: Path
               ) -> tuple[dict[str, str], list[str]]:
    env, argv = common(data, services, drop)
    catalog_settings(data, services, env, argv)
    argv += ["--jobs", data.draw(number("1", "4", "256", "257"), label="--jobs")]
    argv += data.draw(st.sampled_from([[], ["--dry-run"], ["-vv"]]), label="mode")
    return env, argv


def report_run(data: st.DataObject, services: Services, drop: Path, folder: Path
               ) -> tuple[dict[str, str], list[str]]:
    env, argv = common(data, services, drop)
    env.setdefault("CATALOG_URL", services.catalog.url)
    put(data, env, argv, "CATALOG_URL", "--url", catalog_urls(services))
    smtp_settings(data, services, env, argv)
    env["REPORT_PDF"] = str(folder / "processed.pdf")
    argv += data.draw(st.sampled_from([[], ["--resend"], ["-vv"]]), label="mode")
    return env, argv


def emails_run(data: st.DataObject, services: Services, drop: Path, folder: Path
               ) -> tuple[dict[str, str], list[str]]:
    env, argv = common(data, services, drop)
    argv = []  # emails.py has no drop
    smtp_settings(data, services, env, argv)
    argv += ["--subject", data.draw(st.one_of(st.just("Test"), spoiled("Test")), label="subj")]
    return env, argv


def health_run(data: st.DataObject, services: Services, drop: Path, folder: Path
               ) -> tuple[dict[str, str], list[str]]:
    env, _ = common(data, services, drop)
    argv = ["--state-file", str(folder / "state.json"), "--log-file", str(folder / "h.log"),
            "--metrics-file", str(folder / "h.prom")]
    smtp_settings(data, services, env, argv)
    put(data, env, argv, "ALERT_RECIPIENT", "--recipient", addresses())
    if data.draw(st.booleans(), label="--url"):
        argv += ["--url", data.draw(catalog_urls(services), label="--url value")]
    for flag, values in (("--memory-min-mb", number("0", "100000000", "1e12")),
                         ("--cpu-max-percent", number("80", "100")),
                         ("--remind-minutes", number("60", "0", "525601")),
                         ("--probe-timeout", number("5", "0.001")),
                         ("--fail-after", number("1", "3"))):
        if data.draw(st.booleans(), label=flag):
            argv += [flag, data.draw(values, label=f"{flag} value")]
    if data.draw(st.booleans(), label="env file"):
        env_file = folder / "health.env"
        env_file.write_text(f"SMTP_PASSWORD={data.draw(spoiled(SMTP_PASSWORD))}\r\n"
                            f"CATALOG_TOKEN='{data.draw(spoiled(TOKEN))}'\n", encoding="utf-8")
        env_file.chmod(0o600)
        env.pop("SMTP_PASSWORD")
        env.pop("CATALOG_TOKEN")
        argv += ["--env-file", str(env_file)]
    mode = data.draw(st.sampled_from(["check", "nagios", "silence", "list"]), label="mode")
    if mode == "nagios":
        argv.append("--nagios")
    elif mode == "silence":
        argv += ["--silence", data.draw(st.sampled_from(["cpu", "catalog", "nope"])), "--for",
                 data.draw(st.one_of(st.sampled_from(
                     ["30s", "15m", "365d", "366d", "3000000d", "99999d", "0", "1e9s"]),
                     HUGE, ANY_TEXT), label="--for")]
    elif mode == "list":
        argv.append("--list")
    # No --cpu-interval is drawn: a long one would sample for that long.
    return env, [*argv, "--cpu-interval", "0.01"]


def assert_cron_line_keeps_secrets(argv: list[str], env: dict[str, str], folder: Path) -> None:
    """The crontab entry that --install-cron would write for this command line (built, not
    installed: the real crontab is not the test's)."""
    redact.forget()
    with environment(env), working_folder(folder):
        try:
            args = health_check.settings_in_force(argv)
            line = cron.cron_line(args, health_check.SCRIPT)
        except (BadFlags, AutomationError) as refused:
            line = str(refused)
    for secret in SECRETS:
        assert secret not in line, (secret, line)


SCRIPTS: dict[str, tuple[ModuleType, Callable[..., tuple[dict[str, str], list[str]]]]] = {
    "changeImage.py": (changeImage, change_image_run),
    "supplier_image_upload.py": (supplier_image_upload, upload_run),
    "run.py": (run, upload_run),
    "report_email.py": (report_email, report_run),
    "emails.py": (emails, emails_run),
    "health_check.py": (health_check, health_run),
}


@pytest.mark.parametrize("script", SCRIPTS)
@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_no_setting_gives_a_traceback_a_bad_exit_or_a_secret(
    script: str, services: Services, tmp_path: Path, data: st.DataObject
) -> None:
    module, draw = SCRIPTS[script]
    folder, drop = example_folder(tmp_path, services)
    env, argv = draw(data, services, drop, folder)
    outcome = run_main(module.main, argv, env, folder)
    event(f"exit {outcome.code}")  # --hypothesis-show-statistics: how far the runs got
    nagios = script == "health_check.py" and "--nagios" in argv
    assert_kept_to_the_contract(outcome, folder, {0, 1, 2, 3} if nagios else {0, 1, 2})
    if script == "health_check.py":
        assert_cron_line_keeps_secrets(argv, env, folder)


# The issue's own cases, each run once as the fuzz runs them.

LONG_HOST = f"{LONG_LABEL}.example.com"


def issue_cases() -> list:
    """(script, env, argv, exit code) of each case the issue lists; CLOSED is a port where
    nothing listens, LOG a log file in the test's folder."""
    return [
        pytest.param("run.py", {"CATALOG_TOKEN": f"{TOKEN}\r"}, [], 0, id="token with CR"),
        pytest.param("run.py", {"CATALOG_TOKEN": f"{TOKEN}€"}, [], 2,
                     id="token outside latin-1"),
        pytest.param("run.py", {}, ["--url", f"http://ops:{URL_PASSWORD}@127.0.0.1:CLOSED/"], 2,
                     id="password in the url"),
        pytest.param("run.py", {}, ["--url", f"http://{LONG_HOST}/"], 2, id="long catalog label"),
        pytest.param("run.py", {}, ["--url", "http://[::1"], 2, id="bad IPv6 url"),
        pytest.param("emails.py", {"SMTP_HOST": LONG_HOST}, [], 2, id="long smtp label"),
        pytest.param("emails.py", {"SMTP_USER": "ops", "SMTP_PASSWORD": f"{SMTP_PASSWORD}é"},
                     [], 2, id="non-ascii smtp password"),
        pytest.param("health_check.py", {"CATALOG_TOKEN": f"{TOKEN}\r"},
                     ["--url", "http://[::1", "--log-file", "LOG"], 2, id="health bad url"),
        pytest.param("health_check.py", {}, ["--silence", "cpu", "--for", "3000000d"], 2,
                     id="silence overflow"),
        pytest.param("health_check.py", {}, ["--silence", "cpu", "--for", "99999d"], 2,
                     id="silence until 2300"),
    ]


@pytest.mark.parametrize(("script", "env", "argv", "code"), issue_cases())
def test_the_issues_cases(script: str, env: dict[str, str], argv: list[str], code: int,
                          services: Services, tmp_path: Path) -> None:
    module, _ = SCRIPTS[script]
    drop = tmp_path / "drop"
    copy_drop(services.drop, drop)
    log_file = str(tmp_path / "h.log")
    argv = [word.replace("CLOSED", str(services.closed_port)).replace("LOG", log_file)
            for word in argv]
    if script == "health_check.py":
        argv += ["--cpu-interval", "0.01"]
    base = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(services.smtp_port),
            "CATALOG_URL": services.catalog.url, "CATALOG_RETRIES": "0",
            "SUPPLIER_DATA_DIR": str(drop), "HEALTH_STATE_FILE": str(tmp_path / "state.json")}
    outcome = run_main(module.main, argv, {**base, **env}, tmp_path)
    assert_kept_to_the_contract(outcome, tmp_path, {code})


def test_a_password_in_the_url_stays_out_of_the_record(services: Services, tmp_path: Path
                                                       ) -> None:
    """Upload with the password in the URL: the service refuses its Basic login, after the
    record noted the attempt."""
    drop = tmp_path / "drop"
    copy_drop(services.drop, drop)
    url = f"http://ops:{URL_PASSWORD}@127.0.0.1:{services.catalog.port}"
    (drop / "images" / "001.jpeg").unlink()  # something new to send
    assert changeImage.main(["--data-dir", str(drop), "--jobs", "1", "-q"]) == 0
    outcome = run_main(supplier_image_upload.main, ["--data-dir", str(drop), "--url", url],
                       {"CATALOG_TOKEN": TOKEN, "CATALOG_RETRIES": "0"}, tmp_path)
    assert (drop / "catalog-record.jsonl").read_text()  # the attempt was noted
    assert_kept_to_the_contract(outcome, tmp_path, {0, 1, 2})
