"""The mail library: build emails (with or without an attachment) and send them through the
SMTP settings. emails.py keeps the store's interface to it (CONTRACT.md section 5)."""

from __future__ import annotations

import logging
import mimetypes
import smtplib
import ssl
import time
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path

from automation.errors import AutomationError
from automation.settings import SettingError, SmtpSettings

log = logging.getLogger(__name__)

SEND_ATTEMPTS = 4
BACKOFF_SECONDS = 1.0
TIMEOUT_SECONDS = 15.0


class MailError(AutomationError):
    """Mail could not be sent: the server is unreachable, or refused the login or the message."""


class HeaderError(MailError, ValueError):
    """A header value that would break the message: it carries a line break."""


# Every character Python's str.splitlines() (and so the email package) takes for a line end.
LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


def _checked_header(name: str, value: str) -> str:
    """A header value, refused when it carries a line break (header injection)."""
    if LINE_BREAKS.intersection(value):
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
    try:
        smtp = smtp or SmtpSettings.from_env()
        password = smtp.password()
    except SettingError as error:
        raise MailError(str(error)) from None
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
