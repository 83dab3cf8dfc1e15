"""The client of the catalog web service: one keep-alive session, timeouts and retries.

GET requests are retried by urllib3 (connection errors, 5xx) with backoff. A POST is only
retried by urllib3 when the connection could not be made, so it was never sent; any other
failure of a POST is retried by `deliver`, which first asks whether the POST landed after all,
once the request has surely completed: the service stores duplicates, and may store a request
after the client stopped waiting, so a POST is never replayed blindly. Redirects are not
followed, and every answer is checked against the contract (CONTRACT.md section 3).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote, urljoin

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.util.retry import Retry

from automation import settings
from automation.catalog_lock import CatalogLock
from automation.errors import AutomationError, ItemError
from automation.redact import mask_url

log = logging.getLogger(__name__)

T = TypeVar("T")

BACKOFF_SECONDS = 0.5
USER_AGENT = "fruit-catalog-automation/1.0"

# What the store's service keeps (CONTRACT.md section 3): longer values are refused or cut.
MAX_NAME = 100
MAX_DESCRIPTION = 5000
MAX_IMAGE_NAME = 100 - len("images/")

FRUIT_FIELDS: dict[str, type] = {
    "id": int, "name": str, "weight": int, "description": str, "image_name": str,
}


class CatalogError(AutomationError):
    """The service cannot be used at all: unreachable, wrong URL, refused credentials."""


class Rejected(ItemError):
    """The service refused one item (a 4xx answer), with its reason."""


class Transient(Exception):
    """A request that failed for now: a 5xx answer, or no answer at all (unanswered), after
    which the service may still store it."""

    def __init__(self, message: str, unanswered: bool = False) -> None:
        super().__init__(message)
        self.unanswered = unanswered


def make_session(url: str, token: str | None, retries: int, pool_size: int) -> requests.Session:
    """A keep-alive session to url that retries GETs and unsent requests with backoff."""
    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=0,
        backoff_factor=BACKOFF_SECONDS,
        status_forcelist=(500, 502, 503, 504),
        allowed_methods=frozenset({"GET", "HEAD"}),
        raise_on_status=False,
    )
    adapter = HTTPAdapter(max_retries=retry, pool_connections=1, pool_maxsize=pool_size)
    session = requests.Session()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    # With trust_env, requests reads the proxy and CA settings of the environment again for
    # every request (a third of a millisecond each here): read them once, for the one host.
    session.trust_env = False
    session.proxies = requests.utils.get_environ_proxies(url)
    session.verify = (os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
                      or True)
    if token:
        session.headers["Authorization"] = f"Token {token}"
    return session


def reason_of(response: requests.Response) -> str:
    """The service's reason for refusing a request, as one line."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        if "detail" in body:
            return str(body["detail"])
        parts = []
        for field, problems in body.items():
            text = " ".join(problems) if isinstance(problems, list) else str(problems)
            parts.append(f"{field}: {text}")
        return "; ".join(parts)
    text = " ".join(response.text.split())[:200]
    return f"HTTP {response.status_code} {response.reason}" + (f": {text}" if text else "")


class InDoubt(ItemError):
    """A request whose outcome is still unknown when the run gives up on the item."""


def deliver(
    send: Callable[[], T],
    landed: Callable[[], T | None],
    attempts: int,
    what: str,
    catalog: Catalog | None = None,
) -> T:
    """Send a POST; after a failure with an unknown outcome, send again only once the catalog,
    asked after the request has surely completed (catalog.window after it went), lacks it."""
    window = catalog.window if catalog is not None else 0.0
    for attempt in range(1, attempts + 1):
        started = time.monotonic()
        try:
            return send()
        except Transient as error:
            unanswered = error.unanswered
            if attempt == attempts:
                if unanswered:
                    raise InDoubt(f"{error}; it may have landed: run this again in "
                                  f"{window:.0f} s, once that is known") from None
                raise ItemError(f"gave up after {attempts} tries: {error}") from None
            delay = BACKOFF_SECONDS * 2 ** (attempt - 1)
            if unanswered:
                delay = max(delay, started + window - time.monotonic())
            then = "asking whether it landed, then trying again" if unanswered else "trying again"
            log.warning("%s: %s; %s in %.1f s", what, error, then, delay)
            time.sleep(delay)
            found = landed()
            if unanswered and catalog is not None:
                catalog.settled()
            if found is not None:
                log.info("%s: it had landed after all: not sent again", what)
                return found
    raise AssertionError("unreachable")


class Catalog:
    """The catalog service at a base URL."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        timeout: float = 30.0,
        retries: int = 3,
        pool_size: int = 4,
        settle: float | None = None,
        lock: CatalogLock | None = None,
    ) -> None:
        self.url = url.rstrip("/") + "/"
        self.shown_url = mask_url(self.url)
        self.timeout = (min(timeout, 10.0), timeout)
        self.retries = retries
        # A request left without an answer has surely completed, stored or not, this long
        # after it went: the client's timeout, and the time the service may go on after that.
        self.window = timeout + (timeout if settle is None else settle)
        self.lock = lock
        self.session = make_session(self.url, token, retries, pool_size)

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.session.close()

    def endpoint(self, path: str) -> str:
        """The absolute URL of a path of the API (which keeps its trailing slash)."""
        return urljoin(self.url, path)

    def shown(self, path: str) -> str:
        """The URL of a path of the API as it may be printed."""
        return urljoin(self.shown_url, path)

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = self.endpoint(path)
        shown = self.shown(path)
        try:
            response = self.session.request(method, url, timeout=self.timeout,
                                            allow_redirects=False, **kwargs)
        except requests.exceptions.ConnectionError as error:
            if _never_sent(error):
                raise CatalogError(
                    f"the catalog service at {self.shown_url} is unreachable after "
                    f"{self.retries + 1} tries: {_cause(error)}"
                ) from None
            raise Transient(f"{method} {shown}: {_cause(error, self.timeout[1])}",
                            unanswered=True) from None
        except requests.exceptions.Timeout as error:
            raise Transient(f"{method} {shown}: {_cause(error, self.timeout[1])}",
                            unanswered=True) from None
        except requests.exceptions.RequestException as error:
            raise CatalogError(f"{method} {shown}: {_cause(error)}") from None
        self._check(method, shown, response)
        return response

    def _post(self, path: str, **kwargs: Any) -> requests.Response:
        """A POST, noted beforehand as in doubt until its outcome is known (see catalog_lock)."""
        if self.lock is None:
            return self._request("POST", path, **kwargs)
        self.lock.sending(self.window)
        try:
            response = self._request("POST", path, **kwargs)
        except Transient as error:
            if not error.unanswered:
                self.lock.answered()
            raise
        except CatalogError:  # never sent, or answered with a refusal
            self.lock.answered()
            raise
        self.lock.answered()
        return response

    def settled(self) -> None:
        """Take in that the catalog was asked about an unanswered request after it completed."""
        if self.lock is not None:
            self.lock.answered()

    def _check(self, method: str, url: str, response: requests.Response) -> None:
        status = response.status_code
        if status in (401, 403):
            raise CatalogError(
                f"{method} {url} was refused ({status}: {reason_of(response)}): "
                "set CATALOG_TOKEN to the service's token"
            )
        if 300 <= status < 400:
            where = mask_url(response.headers.get("Location", "nowhere"))
            raise CatalogError(
                f"{method} {url} answered a redirect ({status}) to {where}, which is not "
                "followed: set CATALOG_URL to the address the catalog service answers at"
            )
        if status in (404, 405) and method == "POST":
            raise CatalogError(
                f"{method} {url} answered {status}: "
                f"is CATALOG_URL ({self.shown_url}) the catalog service?"
            )
        if status >= 500:
            raise Transient(f"{method} {url}: the service failed ({status} {response.reason})")

    def fruits(self) -> list[dict[str, Any]]:
        """Every fruit in the catalog, oldest first (GET /fruits/), each checked against the
        contract's fields."""
        response = self._get("fruits/")
        try:
            fruits = response.json()
        except ValueError:
            fruits = None
        if not isinstance(fruits, list):
            raise CatalogError(f"GET {self.shown('fruits/')} did not answer a JSON list of fruits")
        for number, fruit in enumerate(fruits, start=1):
            problem = contract_problem(fruit)
            if problem:
                raise CatalogError(
                    f"GET {self.shown('fruits/')} answered a list that is not the contract's: "
                    f"entry {number} {problem}; nothing is sent on such an answer"
                )
        return fruits

    def image(self, name: str) -> bytes | None:
        """The bytes the service serves for an uploaded image, or None when it has none."""
        response = self._get(f"media/images/{quote(name)}", allow_missing=True)
        return None if response.status_code == 404 else response.content

    def _get(self, path: str, allow_missing: bool = False) -> requests.Response:
        try:
            response = self._request("GET", path)
        except Transient as error:
            raise CatalogError(f"{error} (after {self.retries + 1} tries)") from None
        if response.status_code == 404 and allow_missing:
            return response
        if response.status_code != 200:
            raise CatalogError(
                f"GET {self.shown(path)} answered {response.status_code}: {reason_of(response)}"
            )
        return response

    def upload_image(self, name: str, data: bytes) -> None:
        """Upload one image under a name (POST /upload/, multipart field `file`): once, no
        retry. The service may store it under another name when that one is taken."""
        files = {"file": (name, data, "image/jpeg")}
        response = self._post("upload/", files=files)
        if response.status_code != 201:
            raise Rejected(
                f"the service refused it ({response.status_code}): {reason_of(response)}"
            )

    def post_fruit(self, fruit: dict[str, Any]) -> dict[str, Any]:
        """Store one fruit (POST /fruits/): once, no retry; returns the stored object."""
        response = self._post("fruits/", json=fruit)
        if response.status_code != 201:
            raise Rejected(
                f"the service refused it ({response.status_code}): {reason_of(response)}"
            )
        try:
            stored = response.json()
        except ValueError:
            stored = None
        problem = contract_problem(stored)
        if problem:
            raise CatalogError(
                f"POST {self.shown('fruits/')} answered 201, but the stored fruit {problem}: "
                "is CATALOG_URL the catalog service?"
            )
        return stored


def contract_problem(fruit: object) -> str:
    """What is wrong with a fruit the service answered, for the contract, or ""."""
    if not isinstance(fruit, dict):
        return "is not an object"
    for name, kind in FRUIT_FIELDS.items():
        value = fruit.get(name)
        if name not in fruit:
            return f"has no {name!r}"
        if not isinstance(value, kind) or isinstance(value, bool):
            return f"has a {name!r} that is not {'a whole number' if kind is int else 'text'}"
    return ""


def _root_cause(error: requests.exceptions.RequestException) -> BaseException | None:
    """The urllib3 error behind a requests error (unwrapping MaxRetryError)."""
    cause = error.args[0] if error.args else None
    if isinstance(cause, MaxRetryError):
        cause = cause.reason
    return cause if isinstance(cause, BaseException) else None


def _never_sent(error: requests.exceptions.ConnectionError) -> bool:
    """Whether a connection error happened before the request was sent (refused, no route, DNS)."""
    return isinstance(error, requests.exceptions.ConnectTimeout) or isinstance(
        _root_cause(error), (NewConnectionError, ConnectTimeoutError)
    )


def _cause(error: requests.exceptions.RequestException, timeout: float = 0) -> str:
    """The innermost reason of a requests error, in words, without urllib3's object reprs."""
    cause = _root_cause(error)
    if isinstance(cause, ReadTimeoutError) or isinstance(error, requests.exceptions.ReadTimeout):
        return f"no answer within {timeout:g} s"
    if isinstance(cause, NewConnectionError) and isinstance(cause.__cause__, OSError):
        return str(cause.__cause__.strerror or cause.__cause__).lower()
    if isinstance(cause, ProtocolError) and len(cause.args) > 1:
        return f"the connection was lost ({cause.args[1]})"
    return str(cause or error)[:200]


def open_catalog(where: settings.CatalogSettings, lock: CatalogLock | None = None) -> Catalog:
    """The catalog of the settings, with the token; with the lock of a sending run, which notes
    each POST before it goes."""
    return Catalog(
        where.url,
        token=settings.catalog_token(),
        timeout=where.timeout,
        retries=where.retries,
        pool_size=where.jobs,
        settle=where.settle,
        lock=lock,
    )


def sending_lock(where: settings.CatalogSettings) -> CatalogLock:
    """The lock of a run that sends to the catalog of the settings."""
    return CatalogLock(where.url, mask_url(where.url), wait=where.lock_wait)
