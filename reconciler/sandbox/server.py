"""Run the sandbox app on uvicorn and say where, once it accepts connections."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from reconciler.sandbox.app import create_app
from reconciler.sandbox.conditions import Conditions, Settings
from reconciler.sandbox.seed import seed_store
from reconciler.sandbox.store import Store


class _QuietDrops(logging.Filter):
    """Injected dropped connections are on purpose; don't log them as app errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "returned without completing response" not in record.getMessage()


def serve(
    *,
    db: Path,
    seed_file: Path | None,
    host: str,
    port: int,
    settings: Settings,
    generate_projects: int = 0,
    announce: Callable[[str], None] = print,
) -> None:
    """Serve until SIGINT or SIGTERM; uvicorn handles both as a clean shutdown."""
    store = Store(db)
    try:
        seed_store(store, seed_file=seed_file, generate_projects=generate_projects)
        app = create_app(store, Conditions(settings))
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
        asyncio.run(_AnnouncingServer(config, announce).serve())
    finally:
        store.close()


class _AnnouncingServer(uvicorn.Server):
    """Says ``Listening on http://HOST:PORT`` the moment its socket accepts connections."""

    def __init__(self, config: uvicorn.Config, announce: Callable[[str], None]) -> None:
        super().__init__(config)
        self._announce = announce

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
