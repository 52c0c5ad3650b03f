"""Run the sandbox app on uvicorn and say where, once it accepts connections."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from reconciler.sandbox.app import create_app
from reconciler.sandbox.conditions import Conditions, Settings
from reconciler.sandbox.seed import seed_store
from reconciler.sandbox.store import Store


class _QuietDrops(logging.Filter):
    """Injected dropped connections are on purpose; don't log them as app errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "returned without completing response" not in record.getMessage()


class PortInUse(Exception):
    """The port asked for is taken: one sentence, and the way out."""


def serve(
    *,
    db: Path,
    seed_file: Path | None,
    host: str,
    port: int,
    settings: Settings,
    generate_projects: int = 0,
    announce: Callable[[str], None] = print,
    log_requests: bool = False,
) -> None:
    """Serve until SIGINT or SIGTERM; uvicorn handles both as a clean shutdown. The
    socket is bound here first, so a port in use is a sentence, not uvicorn's trace."""
    try:
        sock = socket.create_server((host, port))
    except OSError as exc:
        raise PortInUse(
            f"cannot listen on {host}:{port} ({os.strerror(exc.errno or 0)}); pick another "
            "--port, or --port 0 for any free one"
        ) from exc
    store = Store(db)
    try:
        keys = seed_store(store, seed_file=seed_file, generate_projects=generate_projects)
        printer = _request_printer(announce) if log_requests else None
        app = create_app(store, Conditions(settings), on_request=printer)
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=5,
        )
        logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
        after = _keys_text(keys, db)
        asyncio.run(_AnnouncingServer(config, announce, after).serve(sockets=[sock]))
    finally:
        store.close()
        sock.close()


def _keys_text(keys: list[tuple[str, list[str]]] | None, db: Path) -> list[str]:
    """What to say after ``Listening on``: the keys the seed gave, to copy."""
    if keys is None:
        return [f"Kept the database {db}: its keys are those of the seed it was made from."]
    shown = [f"  {key}  ({', '.join(scopes)})" for key, scopes in keys]
    return ["Keys (from the seed; sandbox keys only, never real ones):", *shown]


def _request_printer(announce: Callable[[str], None]) -> Callable[[dict[str, Any]], None]:
    def show(entry: dict[str, Any]) -> None:
        fault = f" [{entry['fault']}]" if entry.get("fault") else ""
        # A client chose the path: shown with anything unprintable escaped.
        path = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in entry["path"])
        announce(f"{entry['method']} {path} -> {entry['status']}{fault}")

    return show


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
