"""``reconciler usage`` for the Admin API: the organization's money this month by
workspace, against its spend limits, read once, watched, or as a Markdown summary;
``--warn-at`` exits 2 naming each workspace past it, now or by projection.
``--serve`` is ``spend_dashboard``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime

import click

from reconciler.core.errors import ApiError, AuthError
from reconciler.net.connection import Connection
from reconciler.providers.anthropic_admin.money import (
    Money,
    crossings,
    money_of,
    month_around,
    report_end,
)
from reconciler.providers.anthropic_admin.money_views import money_json, money_markdown, money_text
from reconciler.providers.anthropic_admin.reports import money_reads
from reconciler.providers.base import CommandKit, UsageRequest

THRESHOLD_EXIT = 2


async def read_money(connection: Connection, now: datetime | None = None) -> Money:
    """The month's money as the Admin API reports it now."""
    # The SDK is imported with the session, when a command reaches the API.
    from reconciler.providers.anthropic_admin.session import AdminSession

    moment = now or datetime.now(UTC)
    async with AdminSession(connection) as session:
        reads = await money_reads(session, month_around(moment)[0], report_end(moment))
    return money_of(*reads, moment)


def shown(money: Money, fmt: str, warn_at: float | None) -> str:
    if fmt == "json":
        return money_json(money)
    if fmt == "markdown":
        return money_markdown(money, warn_at)
    return money_text(money)


def run_usage(kit: CommandKit, ctx: click.Context, request: UsageRequest) -> None:
    if request.log is not None:
        raise click.UsageError(
            "--log is the Company API's log of token readings; the Admin API's month is "
            "read from its cost report, so usage on an Admin file takes no --log"
        )
    connection = kit.connection_for(
        ctx,
        base_url=request.base_url,
        provider="anthropic-admin",
        api_key_env=request.api_key_env,
    )
    if request.serve:
        from reconciler.providers.anthropic_admin.spend_dashboard import serve_money

        serve_money(
            connection,
            request,
            announce=lambda line: kit.echo(ctx, line + "\n"),
        )
        return
    if request.watch is None:
        money = kit.run(read_money(connection))
        kit.echo(ctx, shown(money, request.fmt, request.warn_at))
        found = crossings(money, request.warn_at) if request.warn_at is not None else []
        for sentence in found:
            kit.echo(ctx, f"Warning: {sentence}.\n", err=True)
        if found:
            ctx.exit(THRESHOLD_EXIT)
        return
    crossed: list[str] = []
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends a watch, not in error
        kit.run(
            watch_money(
                connection,
                request,
                show=lambda m: kit.echo(ctx, shown(m, request.fmt, request.warn_at)),
                warn=lambda m: kit.echo(ctx, f"Warning: {m}.\n", err=True),
                crossed=crossed,
            )
        )
    if crossed:
        ctx.exit(THRESHOLD_EXIT)


async def watch_money(
    connection: Connection,
    request: UsageRequest,
    *,
    show: Callable[[Money], None],
    warn: Callable[[str], None],
    crossed: list[str],
) -> None:
    """A reading every ``request.watch`` seconds (``request.count`` of them, or until
    interrupted). A crossing of ``--warn-at`` is said once, when it starts; a failed
    reading is said and the watch goes on, except a refused key, which ends it."""
    assert request.watch is not None
    polls = 0
    while request.count is None or polls < request.count:
        polls += 1
        try:
            money = await read_money(connection)
        except AuthError:
            raise
        except ApiError as exc:
            warn(f"this reading failed ({exc}); the watch goes on")
        else:
            show(money)
            found = crossings(money, request.warn_at) if request.warn_at is not None else []
            for sentence in found:
                subject = sentence.split(":", 1)[0]
                if subject not in {c.split(":", 1)[0] for c in crossed}:
                    crossed.append(sentence)
                    warn(sentence)
        if request.count is None or polls < request.count:
            await asyncio.sleep(request.watch)
