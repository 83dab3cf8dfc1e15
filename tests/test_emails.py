"""emails.py: messages built and read back, and sent through real aiosmtpd servers.

The servers are real: plain, STARTTLS and SSL with a certificate made here (trustme), one
that asks for a login, and ones that answer 4xx/5xx. Only the backoff between tries is shortened.
"""

from __future__ import annotations

import base64
import logging
import re
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from demo.processes import free_port
from demo.smtp_sink import MailSink, start_sink
from emails import (
    HeaderError,
    MailError,
    SmtpSettings,
    generate_email,
    generate_error_report,
    send_email,
)
from emails import main as emails_main

pytestmark = pytest.mark.usefixtures("quick_backoff")

SENDER = "automation@example.com"
RECIPIENT = "supplier@example.com"
USER = "automation"
PASSWORD = "s3cret-Pa55word"


@pytest.fixture(autouse=True)
def quiet_server_log() -> Iterator[None]:
    """Keep aiosmtpd's own debug log (the server's, not ours) out of what the tests read."""
    server_log = logging.getLogger("mail.log")
    level = server_log.level
    server_log.setLevel(logging.WARNING)
    yield
    server_log.setLevel(level)


def a_message(subject: str = "Upload Completed - Online Fruit Store") -> Any:
    """A plain message from SENDER to RECIPIENT."""
    return generate_error_report(SENDER, RECIPIENT, subject, "Body text.")


@dataclass
class Certificate:
    """A certificate for 127.0.0.1 and localhost, its key, and the authority that signed it."""

    cert: Path
    key: Path
    authority: Path

    def server_context(self) -> ssl.SSLContext:
        """The TLS context of a server presenting this certificate."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A fresh certificate from a throwaway authority that no system trusts (made by trustme)."""
    authority = trustme.CA()
    issued = authority.issue_cert("localhost", "127.0.0.1")
    folder = tmp_path_factory.mktemp("tls")
    made = Certificate(folder / "cert.pem", folder / "key.pem", folder / "authority.pem")
    issued.cert_chain_pems[0].write_to_path(str(made.cert))
    issued.private_key_pem.write_to_path(str(made.key))
    authority.cert_pem.write_to_path(str(made.authority))
    return made


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[Callable[..., tuple[int, MailSink]]]:
    """Start real SMTP servers with given options on free ports; all stopped at the end."""
    started: list[Controller] = []

    def start(handler: MailSink | None = None, **options: Any) -> tuple[int, MailSink]:
        port = free_port()
        handler = handler or MailSink(tmp_path / f"mail-{port}")
        controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
        controller.start()
        started.append(controller)
        return port, handler

    yield start
    for controller in started:
        controller.stop()


def use_server(monkeypatch: pytest.MonkeyPatch, port: int, security: str = "none") -> None:
    """Point the SMTP settings of the environment at a server."""
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(port))
    monkeypatch.setenv("SMTP_SECURITY", security)


class Refusing(MailSink):
    """A server that answers the first `refusals` messages with a given reply, then takes them."""

    def __init__(self, folder: Path, reply: str, refusals: int) -> None:
        super().__init__(folder)
        self.reply = reply
        self.refusals = refusals
        self.tries = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Refuse, or keep the message."""
        self.tries += 1
        if self.refusals:
            self.refusals -= 1
            return self.reply
        return await super().handle_DATA(server, session, envelope)


class HangsUpAtQuit(MailSink):
    """A server that takes the message, then drops the connection at QUIT without an answer.

    (An error answer to QUIT would prove nothing: smtplib's quit() returns it, never raises.)
    """

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.tries = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Count the message, and keep it."""
        self.tries += 1
        return await super().handle_DATA(server, session, envelope)

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        """Hang up: the client reads the end of the connection instead of '221'."""
        server.transport.abort()
        return "221 Bye (never sent: the connection is gone)"


class Authenticator:
    """aiosmtpd's login check: USER / PASSWORD only."""

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str,
                 auth_data: Any) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode()
              and auth_data.password == PASSWORD.encode())
        return AuthResult(success=ok, handled=False)


# Building messages


def test_generate_email_has_headers_body_and_attachment(tmp_path: Path) -> None:
    """From, To, Subject, Date, Message-ID, the body as text, the file attached by its name."""
    pdf = tmp_path / "processed.pdf"
    pdf.write_bytes(b"%PDF-1.4 test")
    message = generate_email(SENDER, RECIPIENT, "Upload Completed - Online Fruit Store",
                             "All fruits were uploaded.", pdf)
    assert message["From"] == SENDER
    assert message["To"] == RECIPIENT
    assert message["Subject"] == "Upload Completed - Online Fruit Store"
    assert message["Date"]
    assert message["Message-ID"].endswith("@example.com>")
    assert message.get_body(("plain",)).get_content() == "All fruits were uploaded.\n"
    [attachment] = message.iter_attachments()
    assert attachment.get_filename() == "processed.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == b"%PDF-1.4 test"


@pytest.mark.parametrize(
    ("file", "filename", "attached_as", "mime_type"),
    [
        pytest.param("report.pdf", None, "report.pdf", "application/pdf", id="pdf"),
        pytest.param("chart.png", None, "chart.png", "image/png", id="png"),
        pytest.param("data.unknownext", None, "data.unknownext", "application/octet-stream",
                     id="unknown"),
        pytest.param("weekly-2026-11-22.pdf", "processed.pdf", "processed.pdf",
                     "application/pdf", id="renamed"),
    ],
)
def test_attachment_is_named_and_typed_by_its_file_name(
    tmp_path: Path, file: str, filename: str | None, attached_as: str, mime_type: str
) -> None:
    """The attachment keeps the file's name (or the one given), the type guessed from it."""
    path = tmp_path / file
    path.write_bytes(b"data")
    message = generate_email(SENDER, RECIPIENT, "Files", "See attached.", path, filename=filename)
    [attachment] = message.iter_attachments()
    assert (attachment.get_filename(), attachment.get_content_type()) == (attached_as, mime_type)


def test_generate_error_report_has_no_attachment() -> None:
    """A health alert is a plain text message."""
    message = generate_error_report(SENDER, RECIPIENT, "Error - CPU usage is over 80%",
                                    "Please check your system.")
    assert not message.is_multipart()
    assert message.get_content_type() == "text/plain"
    assert message["Subject"] == "Error - CPU usage is over 80%"


@pytest.mark.parametrize(
    ("sender", "recipient", "subject"),
    [
        pytest.param(SENDER, RECIPIENT, "Hello\r\nBcc: victim@example.com", id="subject"),
        pytest.param(SENDER, f"{RECIPIENT}\nBcc: victim@example.com", "Hello", id="recipient"),
        pytest.param(f"{SENDER}\rX-Evil: 1", RECIPIENT, "Hello", id="sender"),
        pytest.param(SENDER, RECIPIENT, "\x85Test", id="next-line"),  # found by the fuzz test
        pytest.param(SENDER, RECIPIENT, "Hello\u2028there", id="line-separator"),
    ],
)
def test_a_header_with_a_line_break_is_refused(sender: str, recipient: str, subject: str) -> None:
    """A line break in a header value could add headers: refused, as a one-line error."""
    with pytest.raises(HeaderError, match="may not contain a line break"):
        generate_email(sender, recipient, subject, "body", None)
    assert issubclass(HeaderError, ValueError)  # what callers of the store's code expect


def test_message_id_of_a_sender_with_a_display_name() -> None:
    """'Name <address>' gives a Message-ID on the address's domain, well formed."""
    message = generate_error_report("Fruit Store <automation@fruit.example>", RECIPIENT, "Hi", "b")
    assert parseaddr(message["From"])[1] == "automation@fruit.example"
    assert message["Message-ID"].endswith("@fruit.example>")
    assert message["Message-ID"].count(">") == 1


# Sending


def test_send_email_delivers_through_the_environment_settings(mailbox: Any, tmp_path: Path) -> None:
    """SMTP_HOST/SMTP_PORT from the environment: the message arrives whole."""
    pdf = tmp_path / "processed.pdf"
    pdf.write_bytes(b"%PDF-1.4 test")
    send_email(generate_email(SENDER, RECIPIENT, "Subject here", "Body here.", pdf))
    [received] = mailbox.messages()
    assert received["Subject"] == "Subject here"
    assert received["From"] == SENDER and received["To"] == RECIPIENT
    assert received.get_body(("plain",)).get_content().splitlines() == ["Body here."]
    [attachment] = received.iter_attachments()
    assert attachment.get_filename() == "processed.pdf"
    assert attachment.get_content() == b"%PDF-1.4 test"


def test_smtp_down_gives_up_after_retries_then_sends_once_it_is_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing listens: three tries, then one clear error; started again: exactly one email."""
    port = free_port()
    use_server(monkeypatch, port)
    with pytest.raises(MailError) as refused:
        send_email(a_message(), attempts=3)
    assert str(refused.value) == (
        f"cannot send mail through 127.0.0.1:{port} (none) after 3 tries: connection refused"
    )
    assert len([r for r in caplog.records if "trying again" in r.getMessage()]) == 2

    controller = start_sink(tmp_path / "mail", port)
    try:
        send_email(a_message(), attempts=3)
        assert len(controller.handler.messages()) == 1
    finally:
        controller.stop()


def test_a_4xx_answer_is_retried_until_the_server_takes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp_server: Callable,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """'451 try later' twice: sent on the third try, exactly once."""
    port, server = smtp_server(Refusing(tmp_path / "mail", "451 4.3.0 Try again later", 2))
    use_server(monkeypatch, port)
    send_email(a_message(), attempts=4)
    assert server.tries == 3
    assert len(server.messages()) == 1
    assert "the server answered 451 4.3.0 Try again later" in caplog.text


def test_a_5xx_answer_is_not_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp_server: Callable
) -> None:
    """'554 rejected' is final: one try, and the server's answer in the error."""
    port, server = smtp_server(Refusing(tmp_path / "mail", "554 5.7.1 Message rejected", 9))
    use_server(monkeypatch, port)
    with pytest.raises(MailError, match=r"the server answered 554 5\.7\.1 Message rejected$"):
        send_email(a_message(), attempts=4)
    assert server.tries == 1


def test_an_error_after_the_message_was_taken_does_not_send_it_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp_server: Callable
) -> None:
    """The server takes the message, then hangs up at QUIT: sent, once, no error, no retry."""
    port, server = smtp_server(HangsUpAtQuit(tmp_path / "mail"))
    use_server(monkeypatch, port)
    send_email(a_message(), attempts=4)
    assert server.tries == 1
    assert len(server.messages()) == 1


def test_starttls_with_a_trusted_certificate(
    certificate: Certificate, monkeypatch: pytest.MonkeyPatch, smtp_server: Callable
) -> None:
    """STARTTLS to a server that requires it, its certificate trusted through SMTP_CA_FILE."""
    port, server = smtp_server(tls_context=certificate.server_context(), require_starttls=True)
    use_server(monkeypatch, port, "starttls")
    monkeypatch.setenv("SMTP_CA_FILE", str(certificate.authority))
    send_email(a_message())
    assert [m["Subject"] for m in server.messages()] == ["Upload Completed - Online Fruit Store"]


def test_starttls_refuses_an_untrusted_certificate_at_once(
    certificate: Certificate, monkeypatch: pytest.MonkeyPatch, smtp_server: Callable,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A certificate from an authority nobody said to trust: a clear error, no retry, no mail."""
    port, server = smtp_server(tls_context=certificate.server_context(), require_starttls=True)
    use_server(monkeypatch, port, "starttls")
    untrusted = r"its certificate is not trusted \(unable to get local issuer certificate\)"
    with pytest.raises(MailError, match=untrusted):
        send_email(a_message(), attempts=3)
    assert "trying again" not in caplog.text
    assert server.messages() == []


def test_ssl_with_a_trusted_certificate(
    certificate: Certificate, monkeypatch: pytest.MonkeyPatch, smtp_server: Callable
) -> None:
    """SMTP over TLS from the first byte (SMTP_SECURITY=ssl)."""
    port, server = smtp_server(ssl_context=certificate.server_context())
    use_server(monkeypatch, port, "ssl")
    monkeypatch.setenv("SMTP_CA_FILE", str(certificate.authority))
    send_email(a_message())
    assert len(server.messages()) == 1


def test_starttls_to_a_server_without_it_is_a_setting_to_fix(
    mailbox: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The server offers no STARTTLS: told at once, not retried as if it might pass."""
    monkeypatch.setenv("SMTP_SECURITY", "starttls")
    with pytest.raises(MailError, match="STARTTLS extension not supported"):
        send_email(a_message(), attempts=3)
    assert "trying again" not in caplog.text
    assert mailbox.messages() == []


def our_output(capsys: pytest.CaptureFixture, caplog: pytest.LogCaptureFixture) -> str:
    """Everything this process printed or logged, leaving out the test server's own log."""
    captured = capsys.readouterr()
    ours = [record.getMessage() for record in caplog.records if record.name != "mail.log"]
    return "\n".join([captured.out, captured.err, *ours])


def assert_secret_absent(text: str) -> None:
    """Neither the password nor its base64 (as AUTH PLAIN/LOGIN send it) is in text."""
    assert PASSWORD not in text
    assert base64.b64encode(PASSWORD.encode()).decode() not in text
    assert base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode() not in text


@pytest.fixture
def login_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp_server: Callable
) -> MailSink:
    """A server that requires a login (plain auth allowed without TLS, as tests only may)."""
    port, server = smtp_server(authenticator=Authenticator(), auth_required=True,
                               auth_require_tls=False)
    use_server(monkeypatch, port)
    monkeypatch.setenv("SMTP_USER", USER)
    return server


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_login_with_the_password_from_the_environment_never_shows_it(
    login_server: MailSink, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture, caplog: pytest.LogCaptureFixture,
) -> None:
    """SMTP_USER and SMTP_PASSWORD log in; nothing printed or logged, even at -vv, shows it."""
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    caplog.set_level(logging.DEBUG)
    assert emails_main(["-vv", "--recipient", RECIPIENT]) == 0
    assert len(login_server.messages()) == 1
    output = our_output(capsys, caplog)
    assert f"sent 'Test - Online Fruit Store' to {RECIPIENT}" in output
    assert_secret_absent(output)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_refused_login_is_one_line_without_the_password(
    login_server: MailSink, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture, caplog: pytest.LogCaptureFixture,
) -> None:
    """A wrong password: exit 2, a line naming the user, never the password tried."""
    wrong = PASSWORD + "-wrong"
    monkeypatch.setenv("SMTP_PASSWORD", wrong)
    assert emails_main(["-vv"]) == 2
    output = our_output(capsys, caplog)
    assert f"the login of '{USER}' was refused: the server answered 535" in output
    assert "Traceback" not in output
    assert wrong not in output
    assert base64.b64encode(f"\0{USER}\0{wrong}".encode()).decode() not in output
    assert login_server.messages() == []


def test_a_user_without_a_password_is_told_before_connecting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SMTP_USER set, SMTP_PASSWORD not: say which is missing (nothing listens: never asked)."""
    use_server(monkeypatch, free_port())
    monkeypatch.setenv("SMTP_USER", USER)
    with pytest.raises(MailError, match="SMTP_USER is 'automation' but SMTP_PASSWORD is not"):
        send_email(a_message())


def test_password_is_no_flag() -> None:
    """The password is read from the environment only: there is no flag for it."""
    with pytest.raises(SystemExit) as exited:
        emails_main(["--smtp-password", PASSWORD])
    assert exited.value.code == 2


def test_settings_from_the_command_line_win_over_the_environment(
    mailbox: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """--smtp-port overrides SMTP_PORT (set here to a port where nothing listens)."""
    monkeypatch.setenv("SMTP_PORT", str(free_port()))
    attachment = tmp_path / "note.txt"
    attachment.write_text("hello")
    assert emails_main(["--smtp-port", str(mailbox.port), "--attach", str(attachment), "-q"]) == 0
    [received] = mailbox.messages()
    assert [a.get_filename() for a in received.iter_attachments()] == ["note.txt"]
    assert SmtpSettings.from_env().port != mailbox.port


# Settings that SMTP cannot use (issue 17): one line naming the setting, never a traceback.

LONG_LABEL_HOST = "a" * 64 + ".example.com"  # a label of 64: no resolver takes it


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_password_smtp_cannot_carry_is_one_line_without_it(
    login_server: MailSink, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture, caplog: pytest.LogCaptureFixture,
) -> None:
    """smtplib sends the login as ASCII: it would fail with a UnicodeEncodeError."""
    monkeypatch.setenv("SMTP_PASSWORD", f"{PASSWORD}-pässwörd")
    assert emails_main(["-vv"]) == 2
    output = our_output(capsys, caplog)
    assert ("SMTP_PASSWORD holds a character outside ASCII, which SMTP's login cannot carry (the "
            "password is not shown)") in output
    assert "Traceback" not in output
    assert PASSWORD not in output
    assert login_server.messages() == []


@pytest.mark.parametrize(("flags", "said"), [
    pytest.param(["--smtp-host", LONG_LABEL_HOST], "argument --smtp-host: not a host name",
                 id="label over 63"),
    pytest.param(["--smtp-host", "mail .example.com"], "argument --smtp-host: not a host name",
                 id="space"),
    pytest.param(["--smtp-port", "70000"], "argument --smtp-port: must be from 1 to 65535",
                 id="port over 65535"),
    pytest.param(["--recipient", f"{RECIPIENT}\r\nBcc: victim@example.com"],
                 "argument --recipient: not an e-mail address", id="recipient with a line"),
    pytest.param(["--sender", "a@b.com, c@d.com"], "argument --sender: not one e-mail address",
                 id="two senders"),
    pytest.param(["--sender", "pêche@example.com"], "argument --sender: not an e-mail address",
                 id="non-ascii local part"),
    pytest.param(["--smtp-user", "bjørn"], "argument --smtp-user: 'bjørn' holds", id="user"),
])
def test_a_bad_setting_on_the_command_line_is_one_line_and_exit_2(
    flags: list[str], said: str, capsys: pytest.CaptureFixture
) -> None:
    with pytest.raises(SystemExit) as exited:
        emails_main(flags)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert said in err.splitlines()[-1]


@pytest.mark.parametrize(("env", "value", "said"), [
    pytest.param("SMTP_HOST", LONG_LABEL_HOST, "SMTP_HOST: not a host name", id="host"),
    pytest.param("SMTP_PORT", "99999", "SMTP_PORT: must be from 1 to 65535", id="port"),
    pytest.param("SMTP_SECURITY", "tls", "SMTP_SECURITY: not one of none, starttls, ssl",
                 id="security"),
])
def test_a_bad_setting_of_the_environment_is_a_mail_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, said: str
) -> None:
    """send_email(message) as the store's tooling calls it: the settings of the environment."""
    monkeypatch.setenv(env, value)
    with pytest.raises(MailError, match=re.escape(said)):
        send_email(a_message())


def test_settings_made_in_code_are_checked_before_connecting() -> None:
    """A host the resolver cannot encode raised UnicodeError from inside socket."""
    with pytest.raises(MailError, match="SMTP_HOST: not a host name"):
        send_email(a_message(), SmtpSettings(host=LONG_LABEL_HOST, port=25))
