"""The mail library: build emails (with or without an attachment) and send them through the
SMTP settings. emails.py keeps the store's interface to it (CONTRACT.md section 5)."""

from __future__ import annotations

import argparse
import logging
import mimetypes
import smtplib
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path

from automation import settings
from automation.errors import AutomationError

log = logging.getLogger(__name__)

SEND_ATTEMPTS = 4
BACKOFF_SECONDS = 1.0
TIMEOUT_SECONDS = 15.0


class MailError(AutomationError):
    """Mail could not be sent: the server is unreachable, or refused the login or the message."""


class HeaderError(MailError, ValueError):
    """A header value that would break the message: it carries a line break."""


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send mail. The password is only ever read from the environment."""

    host: str = "localhost"
    port: int = 25
    security: str = "none"
    user: str = ""
    ca_file: str = ""

    @classmethod
    def from_env(cls) -> SmtpSettings:
        """The settings of the environment (SMTP_HOST, SMTP_PORT, ...), defaults elsewhere;
        MailError naming the one that cannot be used."""
        try:
            return cls(
                host=settings.SMTP_HOST.checked(),
                port=settings.SMTP_PORT.checked(),
                security=settings.SMTP_SECURITY.checked(),
                user=settings.SMTP_USER.checked(),
                ca_file=settings.SMTP_CA_FILE.value(),
            )
        except settings.SettingError as error:
            raise MailError(str(error)) from None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> SmtpSettings:
        """The settings of a command line made with settings.add_smtp_flags."""
        return cls(args.smtp_host, args.smtp_port, args.smtp_security, args.smtp_user,
                   args.smtp_ca_file)

    def __str__(self) -> str:
        return f"{self.host}:{self.port} ({self.security})"

    def password(self) -> str | None:
        """SMTP_PASSWORD when a login is asked for; MailError naming the setting that cannot be
        used, for settings made in code (a command line's were checked as it was read)."""
        values = ((settings.SMTP_HOST, settings.host_name, self.host),
                  (settings.SMTP_PORT, settings.port, str(self.port)),
                  (settings.SMTP_SECURITY, settings.smtp_security, self.security),
                  (settings.SMTP_USER, settings.smtp_user, self.user))
        for setting, check, value in values:
            try:
                check(value)
            except argparse.ArgumentTypeError as error:
                raise MailError(f"{setting.env}: {error}") from None
        if not self.user:
            return None
        try:
            password = settings.smtp_password()
        except settings.SettingError as error:
            raise MailError(str(error)) from None
        if not password:
            raise MailError(f"SMTP_USER is {self.user!r} but SMTP_PASSWORD is not in the "
                            "environment")
        return password


def _checked_header(name: str, value: str) -> str:
    """A header value, refused when it carries a line break (header injection)."""
    if "\r" in value or "\n" in value:
        raise HeaderError(f"the {name} of an email may not contain a line break: {value!r}")
    return value


def generate_email(
    sender: str,
    recipient: str,
    subject: str,
    body: str,
    attachment_path: str | Path | None,
    filename: str | None = None,
) -> EmailMessage:
    """An email with a plain text body and, when attachment_path is given, that file attached.

    The attachment is named filename (default: the file's own name), its type guessed from it.
    """
    message = EmailMessage()
    message["From"] = _checked_header("sender", sender)
    message["To"] = _checked_header("recipient", recipient)
    message["Subject"] = _checked_header("subject", subject)
    message["Date"] = formatdate(localtime=True)
    # parseaddr: a sender written "Name <address>" must not leak its ">" into the Message-ID.
    message["Message-ID"] = make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2] or None)
    message.set_content(body)
    if attachment_path:
        path = Path(attachment_path)
        name = _checked_header("attachment name", filename or path.name)
        mime_type, _ = mimetypes.guess_type(name)
        maintype, subtype = (mime_type or "application/octet-stream").split("/", 1)
        message.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=name)
    return message


def generate_error_report(sender: str, recipient: str, subject: str, body: str) -> EmailMessage:
    """An email with no attachment, as the health alerts are."""
    return generate_email(sender, recipient, subject, body, None)


def _tls_context(smtp: SmtpSettings) -> ssl.SSLContext:
    """A context that verifies the server's certificate (and trusts ca_file too, when given)."""
    context = ssl.create_default_context()
    if smtp.ca_file:
        context.load_verify_locations(cafile=smtp.ca_file)
    return context


def _connect(smtp: SmtpSettings, timeout: float, password: str | None) -> smtplib.SMTP:
    """An open, secured and logged-in SMTP connection."""
    if smtp.security == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            smtp.host, smtp.port, timeout=timeout, context=_tls_context(smtp)
        )
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=timeout)
    try:
        if smtp.security == "starttls":
            client.starttls(context=_tls_context(smtp))
        if smtp.user:
            client.login(smtp.user, password or "")
    except BaseException:
        client.close()
        raise
    return client


def _is_transient(error: Exception) -> bool:
    """Whether a failure may pass: no connection, or a 4xx answer."""
    # SMTPException is an OSError too: a server without STARTTLS or AUTH, or a TLS mismatch,
    # is a setting to fix, not a failure that passes.
    if isinstance(error, (smtplib.SMTPNotSupportedError, ssl.SSLError)):
        return False
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in error.recipients.values())
    return isinstance(error, (OSError, smtplib.SMTPServerDisconnected))


def _describe(error: Exception) -> str:
    """A failure in one line, never with a credential in it."""
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error.decode(errors="replace") if isinstance(
            error.smtp_error, bytes) else str(error.smtp_error)
        return f"the server answered {error.smtp_code} {' '.join(text.split())}"
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return f"the server refused the recipients {', '.join(error.recipients)}"
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"its certificate is not trusted ({error.verify_message})"
    if isinstance(error, ssl.SSLError):
        return f"the TLS handshake failed ({error.reason or error}): is SMTP_SECURITY right?"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return str(error) or type(error).__name__


def _hang_up(client: smtplib.SMTP) -> None:
    """Say QUIT and close; once the message is accepted, a failing QUIT must not resend it."""
    try:
        client.quit()
    except (OSError, smtplib.SMTPException) as error:
        log.debug("QUIT failed (%s): closed the connection", _describe(error))
        client.close()


def send_email(
    message: EmailMessage,
    smtp: SmtpSettings | None = None,
    attempts: int = SEND_ATTEMPTS,
    timeout: float = TIMEOUT_SECONDS,
) -> None:
    """Send a message; retry a passing failure with backoff, then raise MailError."""
    smtp = smtp or SmtpSettings.from_env()
    password = smtp.password()
    for attempt in range(1, attempts + 1):
        try:
            client = _connect(smtp, timeout, password)
            try:
                client.send_message(message)
            finally:
                _hang_up(client)
            log.info("sent %r to %s through %s", message["Subject"], message["To"], smtp)
            return
        except smtplib.SMTPAuthenticationError as error:
            raise MailError(f"{smtp}: the login of {smtp.user!r} was refused: "
                            f"{_describe(error)}") from None
        except UnicodeError as error:  # a host or an address the checks above let through
            raise MailError(f"cannot send mail through {smtp}: {_describe(error)}") from None
        except (OSError, smtplib.SMTPException) as error:
            if not _is_transient(error) or attempt == attempts:
                tries = f" after {attempt} tries" if attempt > 1 else ""
                raise MailError(f"cannot send mail through {smtp}{tries}: "
                                f"{_describe(error)}") from None
            delay = BACKOFF_SECONDS * 2 ** (attempt - 1)
            log.warning("mail through %s failed (%s); trying again in %g s",
                        smtp, _describe(error), delay)
            time.sleep(delay)
