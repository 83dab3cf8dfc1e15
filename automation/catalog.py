"""The client of the catalog web service: one keep-alive session, timeouts and retries.

GET requests are retried by urllib3 (connection errors, 5xx) with backoff. A POST is only
retried by urllib3 when the connection could not be made, so it was never sent; any other
failure of a POST is retried by `deliver`, which first asks whether the POST landed after all:
the service stores duplicates, so a POST is never replayed blindly.
"""

from __future__ import annotations

import argparse
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
from automation.errors import AutomationError, ItemError

log = logging.getLogger(__name__)

T = TypeVar("T")

BACKOFF_SECONDS = 0.5
USER_AGENT = "fruit-catalog-automation/1.0"


class CatalogError(AutomationError):
    """The service cannot be used at all: unreachable, wrong URL, refused credentials."""


class Rejected(ItemError):
    """The service refused one item (a 4xx answer), with its reason."""


class Transient(Exception):
    """A request whose outcome is unknown: a timeout, a dropped connection, a 5xx answer."""


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


def deliver(
    send: Callable[[], T],
    landed: Callable[[], T | None],
    attempts: int,
    what: str,
) -> T:
    """Send a POST; after a failure with an unknown outcome, send again only if it did not land."""
    for attempt in range(1, attempts + 1):
        try:
            return send()
        except Transient as error:
            if attempt == attempts:
                raise ItemError(f"gave up after {attempts} tries: {error}") from None
            delay = BACKOFF_SECONDS * 2 ** (attempt - 1)
            log.warning("%s: %s; trying again in %.1f s", what, error, delay)
            time.sleep(delay)
            found = landed()
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
    ) -> None:
        self.url = url.rstrip("/") + "/"
        self.timeout = (min(timeout, 10.0), timeout)
        self.retries = retries
        self.session = make_session(self.url, token, retries, pool_size)

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.session.close()

    def endpoint(self, path: str) -> str:
        """The absolute URL of a path of the API (which keeps its trailing slash)."""
        return urljoin(self.url, path)

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = self.endpoint(path)
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.exceptions.ConnectionError as error:
            if _never_sent(error):
                raise CatalogError(
                    f"the catalog service at {self.url} is unreachable after "
                    f"{self.retries + 1} tries: {_cause(error)}"
                ) from None
            raise Transient(f"{method} {url}: {_cause(error, self.timeout[1])}") from None
        except requests.exceptions.Timeout as error:
            raise Transient(f"{method} {url}: {_cause(error, self.timeout[1])}") from None
        except requests.exceptions.RequestException as error:
            raise CatalogError(f"{method} {url}: {_cause(error)}") from None
        self._check(method, url, response)
        return response

    def _check(self, method: str, url: str, response: requests.Response) -> None:
        status = response.status_code
        if status in (401, 403):
            raise CatalogError(
                f"{method} {url} was refused ({status}: {reason_of(response)}): "
                "set CATALOG_TOKEN to the service's token"
            )
        if status in (404, 405) and method == "POST":
            raise CatalogError(
                f"{method} {url} answered {status}: "
                f"is CATALOG_URL ({self.url}) the catalog service?"
            )
        if status >= 500:
            raise Transient(f"{method} {url}: the service failed ({status} {response.reason})")

    def fruits(self) -> list[dict[str, Any]]:
        """Every fruit in the catalog, oldest first (GET /fruits/)."""
        response = self._get("fruits/")
        try:
            fruits = response.json()
        except ValueError:
            fruits = None
        if not isinstance(fruits, list):
            raise CatalogError(f"{self.endpoint('fruits/')} did not answer a JSON list of fruits")
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
                f"GET {self.endpoint(path)} answered {response.status_code}: {reason_of(response)}"
            )
        return response

    def upload_image(self, name: str, data: bytes) -> None:
        """Upload one image under a name (POST /upload/, multipart field `file`): once, no
        retry. The service may store it under another name when that one is taken."""
        files = {"file": (name, data, "image/jpeg")}
        response = self._request("POST", "upload/", files=files)
        if response.status_code != 201:
            raise Rejected(
                f"the service refused it ({response.status_code}): {reason_of(response)}"
            )

    def post_fruit(self, fruit: dict[str, Any]) -> dict[str, Any]:
        """Store one fruit (POST /fruits/): once, no retry; returns the stored object."""
        response = self._request("POST", "fruits/", json=fruit)
        if response.status_code != 201:
            raise Rejected(
                f"the service refused it ({response.status_code}): {reason_of(response)}"
            )
        try:
            stored = response.json()
        except ValueError:
            stored = None
        if not isinstance(stored, dict) or "id" not in stored:
            raise Transient(f"POST {self.endpoint('fruits/')}: 201 without the stored fruit")
        return stored


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


def open_catalog(args: argparse.Namespace) -> Catalog:
    """The catalog named by the command line (see settings.add_catalog_flags) and the token."""
    return Catalog(
        args.url,
        token=settings.secret(settings.CATALOG_TOKEN_ENV),
        timeout=args.timeout,
        retries=args.retries,
        pool_size=args.jobs,
    )
