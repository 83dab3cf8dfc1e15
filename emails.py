#!/usr/bin/env python3
"""Send a test email through the SMTP settings; the store's tooling imports its functions
(generate_email, generate_error_report, send_email: CONTRACT.md section 5) from here."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from automation import settings
from automation.cli import add_verbosity_flags, guarded, setup_logging
from automation.errors import AutomationError
from automation.mail import (
    BACKOFF_SECONDS,
    SEND_ATTEMPTS,
    TIMEOUT_SECONDS,
    HeaderError,
    MailError,
    SmtpSettings,
    generate_email,
    generate_error_report,
    send_email,
)

__all__ = [
    "BACKOFF_SECONDS", "SEND_ATTEMPTS", "TIMEOUT_SECONDS", "HeaderError", "MailError",
    "SmtpSettings", "generate_email", "generate_error_report", "main", "send_email",
    "send_test_email",
]


TEST_BODY = "This is a test of the catalog automation's mail settings."


def send_test_email(
    smtp: SmtpSettings, sender: str, recipient: str, subject: str, attach: Path | None = None
) -> None:
    """Send one email through smtp, a file attached when given: a check of the mail settings."""
    if attach and not attach.is_file():
        raise AutomationError(f"{attach}: no such file to attach")
    send_email(generate_email(sender, recipient, subject, TEST_BODY, attach), smtp)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line, with defaults from the environment."""
    parser = argparse.ArgumentParser(description="Send a test email through the SMTP settings.")
    settings.add_smtp_flags(parser)
    settings.REPORT_SENDER.add_to(parser, metavar="ADDRESS")
    settings.REPORT_RECIPIENT.add_to(parser, metavar="ADDRESS")
    parser.add_argument("--subject", default="Test - Online Fruit Store", help="the subject")
    parser.add_argument("--attach", type=Path, metavar="FILE", help="a file to attach")
    add_verbosity_flags(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Send one email from the command line: a way to check the SMTP settings."""
    args = parse_args(argv)
    setup_logging(args.verbose, args.quiet)

    def run() -> int:
        send_test_email(SmtpSettings.from_argparse(args), args.sender, args.recipient,
                        args.subject, args.attach)
        if not args.quiet:
            print(f"sent {args.subject!r} to {args.recipient}")
        return 0

    return guarded(run)


if __name__ == "__main__":
    sys.exit(main())
