"""Serve a Starlette app on uvicorn and say where, once it accepts connections: the
sandbox and the usage dashboard both start this way, and scripts (and tests) wait
for the one ``Listening on http://HOST:PORT`` line."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import uvicorn

HOST = "127.0.0.1"
LOOPBACK_NAMES = ["127.0.0.1", "localhost", "::1", "[::1]"]
# A page that can show nothing but its own stylesheet and inline SVG, and cannot be
# framed, send a form, or load anything from elsewhere: every dashboard's headers.
POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "content-security-policy": POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


class PortInUse(Exception):
    """The port asked for is taken: one sentence, and the way out."""


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before uvicorn starts, so a port in use is a
    sentence and not uvicorn's traceback."""
    try:
        sock = socket.create_server((host, port))
    except OSError as exc:
        raise PortInUse(
            f"cannot listen on {host}:{port} ({os.strerror(exc.errno or 0)}); pick another "
            "--port, or --port 0 for any free one"
        ) from exc
    # Accepted connections inherit it. asyncio turns Nagle's algorithm off only for
    # sockets whose protocol number says TCP, and create_server's says 0: without this,
    # every answer whose body uvicorn writes after its headers waited out the client's
    # delayed ACK (44 ms a request on Linux).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def run(
    app: Any,
    sock: socket.socket,
    *,
    announce: Callable[[str], None],
    after: Sequence[str] = (),
    lifespan: bool = False,
    log_filter: logging.Filter | None = None,
) -> None:
    """Serve ``app`` on ``sock`` until SIGINT or SIGTERM (a clean stop, exit 0)."""
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on" if lifespan else "off",
        timeout_graceful_shutdown=5,
    )
    if log_filter is not None:
        logging.getLogger("uvicorn.error").addFilter(log_filter)
    asyncio.run(_AnnouncingServer(config, announce, list(after)).serve(sockets=[sock]))


class _AnnouncingServer(uvicorn.Server):
    """Says ``Listening on http://HOST:PORT`` the moment its socket accepts connections."""

    def __init__(
        self, config: uvicorn.Config, announce: Callable[[str], None], after: list[str]
    ) -> None:
        super().__init__(config)
        self._announce = announce
        self._after = after

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Ctrl-C and SIGTERM end the server cleanly (exit 0); uvicorn's own version
        re-raises the signal afterwards, which would make a clean stop look like a crash."""
        handled = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            shown = f"[{host}]" if ":" in host else host
            self._announce(f"Listening on http://{shown}:{port}")
            for line in self._after:
                self._announce(line)
