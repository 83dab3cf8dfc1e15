#!/usr/bin/env python3
"""A local SMTP server that keeps every message it receives as an .eml file in a folder."""

from __future__ import annotations

import argparse
import contextlib
import itertools
import signal
import socket
import sys
import threading
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class MailSink:
    """An aiosmtpd handler: writes each message to folder/NNNN-<time>.eml."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._numbers = itertools.count(len(list(folder.glob("*.eml"))) + 1)
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Keep the message; the name is aiosmtpd's hook."""
        with self._lock:
            number = next(self._numbers)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        path = self.folder / f"{number:04d}-{stamp}.eml"
        temporary = path.with_suffix(".part")
        temporary.write_bytes(envelope.original_content or envelope.content)
        temporary.rename(path)
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        """Every message received so far, oldest first."""
        return [read_message(path) for path in sorted(self.folder.glob("*.eml"))]


def read_message(path: Path) -> EmailMessage:
    """Parse an .eml file."""
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


class InheritedSocketController(Controller):
    """aiosmtpd's Controller serving on a socket already listening (given by whoever started
    this process), rather than binding a port itself."""

    def __init__(self, handler: Any, sock: socket.socket, **kwargs: Any) -> None:
        host, port = sock.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, **kwargs)
        self._sock = sock

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker, sock=self._sock,
                                       ssl=self.ssl_context)


def start_sink(folder: Path, port: int, host: str = "127.0.0.1", **kwargs: Any) -> Controller:
    """Start a sink in a background thread; stop it with .stop()."""
    controller = Controller(MailSink(folder), hostname=host, port=port, **kwargs)
    controller.start()
    return controller


def main(argv: list[str] | None = None) -> int:
    """Run a sink until interrupted or terminated."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", type=Path, help="where to keep the .eml files")
    parser.add_argument("--host", default="127.0.0.1", help="address (default %(default)s)")
    parser.add_argument("--port", type=int, default=8025, help="port (default %(default)s)")
    parser.add_argument("--fd", type=int,
                        help="serve on this inherited listening socket instead of --host/--port")
    args = parser.parse_args(argv)
    if args.fd is None:
        controller = start_sink(args.folder, args.port, args.host)
    else:
        listener = socket.socket(fileno=args.fd)
        controller = InheritedSocketController(MailSink(args.folder), listener)
        controller.start()
    print(f"SMTP sink on {controller.hostname}:{controller.port}, keeping mail in {args.folder}",
          flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
