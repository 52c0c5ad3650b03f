"""``reconciler usage --serve`` on an Admin file: the month's money as a local web page,
one line per workspace against its spend limit, coloured by risk.

One poller, one page, as the Company API's dashboard. The poller keeps one SDK
session open and reads the workspaces, the spend limits and the cost report once
every interval. The Admin API's reports have no conditional requests (no ETag, no
``If-None-Match``), and their data is as of the start of an hour, so the poller is
polite by its interval instead: never more often than once a minute (three
requests a poll, far under the Admin API's rate limits). The page and
``/money.json`` only read what the poller kept: a browser refreshing never makes
an API request, and the key is in neither. Loopback only, loopback host names only.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from reconciler.core.errors import ReconcilerError
from reconciler.core.escape import html_code as escape
from reconciler.net.board import PollState, polling
from reconciler.net.board import app as dashboard_app
from reconciler.net.board import page as frame
from reconciler.net.connection import Connection
from reconciler.net.serving import HEADERS, HOST, bind, run
from reconciler.providers.anthropic_admin.money import (
    Money,
    Spend,
    crossing,
    dollars,
    money_of,
    month_around,
    report_end,
)
from reconciler.providers.anthropic_admin.money_views import money_json
from reconciler.providers.anthropic_admin.reports import money_reads
from reconciler.providers.base import UsageRequest

if TYPE_CHECKING:  # the SDK is imported when the server starts, not with this module
    from reconciler.providers.anthropic_admin.session import AdminSession

MIN_INTERVAL = 60.0  # seconds between polls at least: reports change by the hour
DEFAULT_WARN_AT = 0.8  # amber from here without --warn-at, as the Company dashboard


@dataclass(kw_only=True)
class MoneyBoard(PollState):
    """What the poller learned: the month as last read, and how the polling goes."""

    warn_at: float | None = None
    money: Money | None = None


async def poll_once(board: MoneyBoard, session: AdminSession) -> None:
    """One poll: the month, or the error sentence the CLI would print (the last good
    figures stay, and the page marks them stale)."""
    now = datetime.now(UTC).replace(microsecond=0)
    try:
        reads = await money_reads(session, month_around(now)[0], report_end(now))
    except ReconcilerError as exc:
        board.error, board.error_at = exc.message, now
        return
    board.money = money_of(*reads, now)
    board.last_success, board.error, board.error_at = now, None, None


def risk(spend: Spend, warn_at: float | None, currency: str) -> tuple[str, str]:
    """A row's colour and sentence: red when the limit is reached or would be this
    month at this rate, amber past ``warn_at`` (80 % without it), else green."""
    ahead = spend.projection
    if spend.limit is None:
        return "green", "No spend limit."
    if ahead.already_over:
        return "red", "The spend limit is reached: requests are refused."
    if ahead.reaches_limit is not None:
        return "red", f"At this rate the limit is reached on {ahead.reaches_limit:%Y-%m-%d}."
    said = crossing(spend, DEFAULT_WARN_AT if warn_at is None else warn_at, currency)
    if said is not None:
        return "amber", said.split(": ", 1)[1][0].upper() + said.split(": ", 1)[1][1:] + "."
    return "green", "Within the spend limit at this rate."


def page(board: MoneyBoard) -> str:
    money = board.money
    body = _table(money, board.warn_at) if money else '<p class="empty">No spend read yet.</p>'
    title = f"Spend, {money.start:%B %Y}" if money else "Spend"
    return frame(
        title,
        board,
        [body],
        '<a href="/money.json">money.json</a> · the same figures, for other tools',
    )


def _table(money: Money, warn_at: float | None) -> str:
    rows = []
    for spend in money.rows:
        level, said = risk(spend, warn_at, money.currency)
        share = spend.share()
        rows.append(
            f'<tr class="risk-{level}" data-risk="{level}"><td><strong>'
            f"{escape(spend.name)}</strong><br>{escape(said)}</td>"
            f"<td>{dollars(spend.spent, money.currency)}</td>"
            f"<td>{dollars(spend.limit, money.currency)}</td>"
            f"<td>{f'{share:.0%}' if share is not None else '-'}</td>"
            f"<td>{dollars(spend.projection.projected, money.currency)}</td></tr>"
        )
    return (
        f'<p id="as-of">As of {money.as_of:%Y-%m-%d %H:%M} UTC ({escape(money.currency)}).</p>'
        '<table id="workspaces"><thead><tr><th>Workspace</th><th>Spent</th><th>Limit</th>'
        f"<th>Share</th><th>Projected</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def create_money_dashboard(board: MoneyBoard, connection: Connection) -> Starlette:
    """The app; its lifespan runs the poller over one SDK session."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        from reconciler.providers.anthropic_admin.session import AdminSession

        async with (
            AdminSession(connection) as session,
            polling(board, lambda: poll_once(board, session)),
        ):
            yield

    async def show_page(request: Request) -> Response:
        return HTMLResponse(page(board), headers=HEADERS)

    async def money_data(request: Request) -> Response:
        body = money_json(board.money) if board.money else '{"workspaces": []}\n'
        return Response(body, media_type="application/json", headers=HEADERS)

    return dashboard_app(
        [
            Route("/", show_page, methods=["GET"]),
            Route("/money.json", money_data, methods=["GET"]),
        ],
        lifespan,
    )


def serve_money(
    connection: Connection, request: UsageRequest, *, announce: Callable[[str], None]
) -> None:
    """Serve until SIGINT or SIGTERM."""
    interval = max(MIN_INTERVAL, request.interval)
    sock = bind(HOST, request.port)
    try:
        board = MoneyBoard(interval=interval, warn_at=request.warn_at)
        slower = "" if interval == request.interval else " (at least once a minute)"
        after = [f"Polling {connection.base_url} every {interval:g} s{slower}."]
        run(
            create_money_dashboard(board, connection),
            sock,
            announce=announce,
            after=after,
            lifespan=True,
        )
    finally:
        sock.close()
