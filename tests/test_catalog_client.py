"""The catalog client: reasons in one line, retries that never duplicate, clear run failures."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

import changeImage
import run
import supplier_image_upload
from automation.catalog import Catalog, CatalogError, Rejected, Transient, deliver, reason_of
from automation.errors import ItemError
from demo.processes import free_port, start_catalog
from demo.proxy import CatalogProxy

APPLE = {"name": "Apple", "weight": 1, "description": "x", "image_name": "001.jpeg"}


def response(status: int, body: bytes, content_type: str = "application/json") -> requests.Response:
    """A response as requests builds it from the wire."""
    made = requests.Response()
    made.status_code = status
    made._content = body
    made.headers["Content-Type"] = content_type
    made.reason = "Bad Request"
    return made


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param(b'{"weight": ["A valid integer is required."]}',
                     "weight: A valid integer is required.", id="field-errors"),
        pytest.param(b'{"detail": "Empty content"}', "Empty content", id="detail"),
        pytest.param(b"<html><h1>Server Error</h1></html>",
                     "HTTP 400 Bad Request: <html><h1>Server Error</h1></html>", id="html"),
    ],
)
def test_the_services_reason_is_one_line(body: bytes, reason: str) -> None:
    assert reason_of(response(400, body)) == reason


def test_deliver_sends_once_when_all_goes_well() -> None:
    sent = []
    assert deliver(lambda: sent.append(1) or "stored", lambda: None, 3, "x") == "stored"
    assert sent == [1]


def test_deliver_does_not_send_again_what_landed_after_all(monkeypatch) -> None:
    monkeypatch.setattr("automation.catalog.BACKOFF_SECONDS", 0)
    sent = []

    def send() -> str:
        sent.append(1)
        raise Transient("no answer within 30 s")

    assert deliver(send, lambda: "found in the catalog", 3, "x") == "found in the catalog"
    assert sent == [1]


def test_deliver_sends_again_what_did_not_land_then_gives_up(monkeypatch) -> None:
    monkeypatch.setattr("automation.catalog.BACKOFF_SECONDS", 0)
    sent = []

    def send() -> str:
        sent.append(1)
        raise Transient("the service failed (503 Service Unavailable)")

    with pytest.raises(ItemError, match="gave up after 3 tries: the service failed"):
        deliver(send, lambda: None, 3, "x")
    assert len(sent) == 3


def test_an_unreachable_service_is_a_run_failure_in_one_line(monkeypatch) -> None:
    monkeypatch.setattr("automation.catalog.BACKOFF_SECONDS", 0)
    unreachable = r"unreachable after 2 tries: connection refused"
    with Catalog(f"http://127.0.0.1:{free_port()}", retries=1) as catalog, pytest.raises(
        CatalogError, match=unreachable
    ):
        catalog.fruits()


@pytest.fixture(scope="module")
def guarded_catalog(tmp_path_factory: pytest.TempPathFactory):
    """The bundled service, configured to require a token for writes."""
    server = start_catalog(tmp_path_factory.mktemp("guarded"), token="right-token")
    yield server
    server.stop()


def test_a_wrong_token_stops_the_run_and_says_which_setting(guarded_catalog) -> None:
    refused = r"refused \(401: Invalid token.\).*CATALOG_TOKEN"
    with Catalog(guarded_catalog.url, token="wrong") as catalog, pytest.raises(
        CatalogError, match=refused
    ):
        catalog.post_fruit(APPLE)


def test_the_right_token_is_sent_with_every_request(
    drop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A whole import through a proxy that notes what the service received: every GET and
    every POST of both upload steps carried the token (the service checks only the POSTs)."""
    # Converted first: changeImage forks its workers, which no thread (the proxy's) may see.
    assert changeImage.main(["--data-dir", str(drop), "-q"]) == 0
    server = start_catalog(tmp_path / "catalog", token="right-token")
    proxy = CatalogProxy(server.url).start()
    try:
        monkeypatch.setenv("CATALOG_TOKEN", "right-token")
        argv = ["--data-dir", str(drop), "--url", proxy.url, "-q"]
        assert supplier_image_upload.main(argv) == 0
        assert run.main(argv) == 0
    finally:
        proxy.stop()
        server.stop()
    methods = {method for method, _, _ in proxy.received}
    assert methods == {"GET", "POST"}
    assert ("POST", "/upload/") in {(method, path) for method, path, _ in proxy.received}
    assert ("POST", "/fruits/") in {(method, path) for method, path, _ in proxy.received}
    unsigned = [(method, path, auth) for method, path, auth in proxy.received
                if auth != "Token right-token"]
    assert unsigned == []


def test_a_refused_item_carries_the_services_reason(guarded_catalog) -> None:
    with Catalog(guarded_catalog.url, token="right-token") as catalog, pytest.raises(
        Rejected, match=r"refused it \(400\): weight: A valid integer"
    ):
        catalog.post_fruit({**APPLE, "weight": "heavy"})


def test_a_wrong_url_is_named(guarded_catalog) -> None:
    with Catalog(guarded_catalog.url + "/store", token="right-token") as catalog, pytest.raises(
        CatalogError, match="answered 404: is CATALOG_URL"
    ):
        catalog.upload_image("001.jpeg", b"data")
