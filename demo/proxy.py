"""An HTTP proxy in front of the catalog service that delays its answers or injects faults.

The benchmark uses it to give loopback a remote server's round trip; the tests use it to make
the real service answer 503 for a while, lose the answer of a POST it stored, or never answer.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
              "proxy-authorization", "proxy-authenticate"}


class CatalogProxy:
    """Forwards every request to upstream, after `delay` seconds, unless a fault is queued."""

    def __init__(self, upstream: str, delay: float = 0.0) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.delay = delay
        self.hang = False
        # Per POST: a status to answer instead, "lose" (stored, answer dropped), or a number of
        # seconds to hold it before it goes on (a slow service: the client may give up first).
        self.post_faults: deque[str | int | float] = deque()
        self.forwarded_posts = 0
        self.posts_under_way = 0
        self._count_lock = threading.Lock()
        # What clients sent, in order: (method, path, Authorization header or None).
        self.received: list[tuple[str, str, str | None]] = []
        self._stopped = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Where clients should send their requests."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> CatalogProxy:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Wait until no POST is under way here (a held one has gone on to the service)."""
        deadline = time.monotonic() + timeout
        while self.posts_under_way and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop serving; requests left hanging are dropped."""
        self._stopped.set()
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self
        local = threading.local()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # It writes the headers and the body apart: without TCP_NODELAY (which gunicorn
            # sets), Nagle's algorithm and the client's delayed ACK hold the body back 40 ms
            # on a kept-alive connection, a cost the real service does not have.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: the service keeps its own access log."""

            def do_GET(self) -> None:
                self.note()
                self.forward()

            def do_POST(self) -> None:
                with proxy._count_lock:
                    proxy.posts_under_way += 1
                try:
                    self.post()
                finally:
                    with proxy._count_lock:
                        proxy.posts_under_way -= 1

            def post(self) -> None:
                self.note()
                fault = proxy.post_faults.popleft() if proxy.post_faults else None
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if isinstance(fault, float):
                    time.sleep(fault)
                elif isinstance(fault, int):
                    self.answer(fault, b'{"detail": "injected fault"}')
                    return
                try:
                    self.forward(body, lose=fault == "lose")
                except OSError:  # the client gave up waiting and hung up: stored all the same
                    self.close_connection = True

            def note(self) -> None:
                proxy.received.append(
                    (self.command, self.path, self.headers.get("Authorization"))
                )

            def forward(self, body: bytes = b"", lose: bool = False) -> None:
                if proxy.hang:
                    proxy._stopped.wait()
                    return
                status, headers, payload = self.upstream_request(body)
                if lose:  # stored upstream, but the client never hears of it
                    self.close_connection = True
                    return
                time.sleep(proxy.delay)
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def upstream_request(self, body: bytes) -> tuple[int, list, bytes]:
                if not hasattr(local, "connection"):
                    local.connection = http.client.HTTPConnection(*proxy.upstream, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                headers["Host"] = f"{proxy.upstream[0]}:{proxy.upstream[1]}"
                if self.command == "POST":
                    proxy.forwarded_posts += 1
                local.connection.request(self.command, self.path, body or None, headers)
                response = local.connection.getresponse()
                return response.status, response.getheaders(), response.read()

            def answer(self, status: int, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler
