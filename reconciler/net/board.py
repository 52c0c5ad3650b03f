"""What every ``usage --serve`` dashboard shares, whichever API it polls: the state of
its polling (the last good poll, the last failure, stale after two intervals) and
the sentence the page says about it, a poller that survives anything one poll
raises, the page's frame (no script, one stylesheet of its own, a refresh at the
poll interval) and the app around the poller (loopback host names only, the
headers of ``serving``, the stylesheet route).

Error sentences come from the API or the network: they reach the page only through
``escape.html_code``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reconciler.core.escape import html_code as escape
from reconciler.net.serving import HEADERS, LOOPBACK_NAMES

MIN_REFRESH = 5  # seconds: a page refreshing faster only costs the browser


@dataclass(kw_only=True)
class PollState:
    """How the poller is doing: the page's numbers are only as good as this."""

    interval: float
    last_success: datetime | None = None
    error: str | None = None
    error_at: datetime | None = None

    def stale(self, now: datetime) -> bool:
        """Whether the page's numbers cannot be trusted as current: the last poll failed,
        or the last good one is older than two intervals (a poller that stopped)."""
        if self.error is not None:
            return True
        last = self.last_success
        return last is not None and now - last > timedelta(seconds=2 * self.interval)


def state_line(state: PollState, now: datetime) -> str:
    """The page's line about its polling: fresh, or **Stale** with why and what next."""
    last = state.last_success
    good = f"Last successful poll: {moment(last)}" if last else "No successful poll yet"
    if not state.stale(now):
        return f'<p class="state fresh" id="state">{good}; polling every {state.interval:g} s.</p>'
    why = (
        f"The poll at {moment(state.error_at)} failed: {escape(state.error)}"
        if state.error is not None
        else f"No poll has succeeded for more than two intervals ({2 * state.interval:g} s)."
    )
    return (
        f'<div class="state stale" id="state" role="alert"><strong>Stale.</strong> {good}. '
        f"{why} The dashboard tries again by itself every {state.interval:g} s; what the "
        "message asks of a command applies to how the dashboard was started.</div>"
    )


async def poll_forever(state: PollState, poll_once: Callable[[], Awaitable[None]]) -> None:
    """Poll until cancelled, whatever one poll raises: a poller that died would leave
    the page showing old numbers (which turn stale after two intervals regardless)."""
    while True:
        try:
            await poll_once()
        except Exception as exc:  # the page says it; the next poll tries again
            state.error = (
                f"Unexpected error ({type(exc).__name__}); the poller goes on every "
                f"{state.interval:g} s. Run 'reconciler --debug usage' to see it."
            )
            state.error_at = datetime.now(UTC).replace(microsecond=0)
        await asyncio.sleep(state.interval)


@contextlib.asynccontextmanager
async def polling(
    state: PollState, poll_once: Callable[[], Awaitable[None]]
) -> AsyncIterator[None]:
    """The poller running for as long as the block (a dashboard's lifespan) lasts."""
    poller = asyncio.create_task(poll_forever(state, poll_once))
    try:
        yield
    finally:
        poller.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await poller


def page(title: str, state: PollState, body: Sequence[str], footer: str) -> str:
    """A whole page: the title, the polling line, ``body`` (HTML already escaped), and
    the footer, refreshing itself at the poll interval."""
    refresh = refresh_seconds(state)
    return "".join(
        [
            '<!doctype html><html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="refresh" content="{refresh}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(title)}</title>",
            '<link rel="stylesheet" href="/dashboard.css"></head><body><main>',
            f"<h1>{escape(title)}</h1>",
            state_line(state, datetime.now(UTC)),
            *body,
            f"<footer>{footer} · this page refreshes every {refresh} s</footer>",
            "</main></body></html>",
        ]
    )


def refresh_seconds(state: PollState) -> int:
    return max(MIN_REFRESH, round(state.interval))


def app(
    routes: Sequence[Route],
    lifespan: Callable[[Starlette], AbstractAsyncContextManager[None]],
) -> Starlette:
    """The dashboard's app: its routes and the stylesheet, answering only to loopback
    names, with the poller in ``lifespan``."""

    async def stylesheet(request: Request) -> Response:
        css = resources.files("reconciler").joinpath("templates/dashboard.css").read_text()
        return Response(css, media_type="text/css", headers=HEADERS)

    return Starlette(
        routes=[*routes, Route("/dashboard.css", stylesheet, methods=["GET"])],
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=LOOPBACK_NAMES)],
        lifespan=lifespan,
    )


def moment(when: datetime | None) -> str:
    return "never" if when is None else when.strftime("%Y-%m-%d %H:%M:%S UTC")
