"""Secrets out of every line: the secrets in force, one logging filter that removes them, and
URLs shown without their user and password.

Settings code registers each secret as it reads it (settings.secret, settings.catalog_url);
setup_logging attaches RedactFilter to every handler it installs, so no diagnostic, exception
text or traceback that goes through logging shows one, whichever library wrote the text.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from urllib.parse import quote, quote_plus, unquote

MASK = "***"

# scheme://userinfo@ : the userinfo ends at the last @ before the query, whitespace or the
# end. A password may hold an @ or a / of its own when it was not percent-encoded; a path with
# an @ in it is masked too, which hides more than needed, never less.
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^?#\s]*)@")
# A whole URL setting: everything before its last @ is taken for the userinfo, whatever it
# holds (a line end, a # or a / the user did not encode), with its scheme or without.
_URL_VALUE = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)?(?P<userinfo>.*)@", re.DOTALL)

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None


def forms(secret: str) -> set[str]:
    """The ways a secret may show in a text: as it is, without the whitespace around it, as
    repr() or ascii() quote it (a line end as \\r), and percent-encoded or decoded, as a URL
    carries it."""
    found: set[str] = set()
    for value in {secret, secret.strip()}:
        found.update({value, repr(value)[1:-1], ascii(value)[1:-1], quote(value, safe=""),
                      quote(value), quote_plus(value), unquote(value)})
        found.add(repr(value.encode("utf-8", "surrogateescape"))[2:-1])
    # A blank form would mask every space of a line, a short one (a password "%41" decoded)
    # every such letter: only the secret itself is masked however short it is.
    return {form for form in found if form.strip() and len(form) >= 3} | {secret.strip()}


def register(secret: str | None) -> None:
    """Know a secret from now on: it is replaced by *** in every line logged."""
    global _pattern
    if not secret or not secret.strip():
        return
    with _lock:
        new = forms(secret) - _secrets
        if not new:
            return
        _secrets.update(new)
        # Longest first, so that a secret that holds another one goes whole.
        alternatives = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(form) for form in alternatives))


def url_password(url: str) -> str | None:
    """The password in a URL's user:password@ (with its scheme or without), or None."""
    match = _URL_VALUE.match(url)
    if not match or ":" not in match["userinfo"]:
        return None
    return match["userinfo"].partition(":")[2] or None


def register_url(url: str | None) -> None:
    """Know the password of a URL (user:password@host) as a secret."""
    if url:
        register(url_password(url))


def forget() -> None:
    """Forget every secret (for the tests)."""
    global _pattern
    with _lock:
        _secrets.clear()
        _pattern = None


def _masked(match: re.Match[str], scheme: str | None = None) -> str:
    userinfo = f"{MASK}:{MASK}" if ":" in match["userinfo"] else MASK
    return f"{match['scheme'] if scheme is None else scheme}{userinfo}@"


def mask_urls(text: str) -> str:
    """A text with the user:password@ of each URL in it shown as ***:***@ (a user alone as
    ***@), and nothing else changed."""
    return _USERINFO.sub(_masked, text)


def mask_url(url: str) -> str:
    """A URL as it may be shown, logged or recorded: its user:password@ as ***:***@, also when
    it was written without its scheme (user:password@host)."""
    return _URL_VALUE.sub(lambda match: _masked(match, match["scheme"] or ""), url, count=1)


def redact(text: str) -> str:
    """A text without any secret in force, and its URLs without their user and password."""
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    return mask_urls(text)


def shows_secret(text: str) -> bool:
    """Whether a text holds a secret in force, or a URL with a password."""
    pattern = _pattern
    return bool(pattern is not None and pattern.search(text)) or any(
        ":" in match["userinfo"] for match in _USERINFO.finditer(text))


class RedactFilter(logging.Filter):
    """A handler's filter that removes every secret from the message, the exception text and
    the stack of each record before it is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format: logging would print a traceback; say so instead
            message = f"(unprintable log message {record.msg!r})"
        record.msg, record.args = redact(message), None
        if record.exc_info and record.exc_info[1] is not None:
            text = record.exc_text or "".join(traceback.format_exception(*record.exc_info))
            record.exc_text = redact(text.rstrip("\n"))
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
