"""``reconciler usage --serve``: the month's usage as a local web page.

One poller, one page. Every ``interval`` the poller reads the usage (always), the
company and the project list (with ``If-None-Match``: nothing changed is a ``304``
and no body), keeps each good reading as a sample in SQLite, and remembers the
last error sentence. The page and ``/samples.json`` only read what the poller kept:
a browser refreshing the page never makes an API request, and the key is in
neither (nor in the database: a sample is numbers and times).

The server listens on loopback only and answers only to loopback host names, so a
web page elsewhere cannot read the organization's usage through DNS rebinding.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from reconciler.core.errors import ReconcilerError
from reconciler.net.board import app as dashboard_app
from reconciler.net.board import polling
from reconciler.net.connection import Connection
from reconciler.net.serving import HEADERS, HOST, bind, run
from reconciler.providers.company.page import Board, Overview, Project, page
from reconciler.providers.company.samples import Sample, SampleStore, utc_text
from reconciler.providers.company.session import CompanySession


async def poll_once(board: Board, session: CompanySession) -> None:
    """One poll: a sample and the overview, or the error sentence the CLI would print
    (the last good data stays, and the page marks it stale)."""
    now = datetime.now(UTC).replace(microsecond=0)
    client = session.client
    try:
        usage = await client.usage()
        company = await client.get("company")
        projects = await client.projects()
    except ReconcilerError as exc:
        board.error, board.error_at = exc.message, now
        return
    finally:
        board.politeness = client.politeness
    fields = company.fields
    board.samples.add(
        Sample.from_json({**usage, "usage_limit": fields["usage_limit"], "time": now.isoformat()})
    )
    board.overview = Overview(
        name=fields["name"],
        plan=fields["plan"],
        usage_limit=fields["usage_limit"],
        projects=[Project(p["id"], p["name"], p["usage_limit"]) for p in projects],
    )
    board.last_success, board.error, board.error_at = now, None, None


def create_dashboard(board: Board, connection: Connection) -> Starlette:
    """The dashboard app; its lifespan runs the poller over one conditional session."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        session = CompanySession(connection, conditional=True)
        try:
            async with polling(board, lambda: poll_once(board, session)):
                yield
        finally:
            await session.__aexit__(None, None, None)

    async def show_page(request: Request) -> Response:
        return HTMLResponse(page(board), headers=HEADERS)

    async def samples_json(request: Request) -> Response:
        return JSONResponse(_samples_body(board), headers=HEADERS)

    return dashboard_app(
        [
            Route("/", show_page, methods=["GET"]),
            Route("/samples.json", samples_json, methods=["GET"]),
        ],
        lifespan,
    )


def _samples_body(board: Board) -> dict[str, Any]:
    return {
        "data": [s.as_json() for s in board.samples.all()],
        "last_success": _when(board.last_success),
        "error": board.error,
        "error_at": _when(board.error_at),
        "stale": board.stale(datetime.now(UTC)),
        "reads": board.politeness.reads,
        "not_modified": board.politeness.not_modified,
    }


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else utc_text(moment)


def serve_dashboard(
    connection: Connection,
    *,
    port: int,
    interval: float,
    db: Path,
    announce: Callable[[str], None],
    warn_at: float | None = None,
) -> None:
    """Serve until SIGINT or SIGTERM; the samples stay in ``db`` for the next start."""
    sock = bind(HOST, port)
    samples = SampleStore(db)
    try:
        board = Board(samples=samples, interval=interval, warn_at=warn_at)
        kept = len(samples.all())
        after = [f"Polling {connection.base_url} every {interval:g} s; {kept:,} samples in {db}."]
        run(
            create_dashboard(board, connection), sock, announce=announce, after=after, lifespan=True
        )
    finally:
        samples.close()
        sock.close()
