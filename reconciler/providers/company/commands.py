"""``reconciler usage`` for the Company API: tokens used and remaining this month,
once, polled, as a Markdown summary, or served as a local dashboard. The CLI's
command parses and checks the options and calls this provider's ``usage``; the
engine knows nothing of usage."""

from __future__ import annotations

import contextlib

import click

from reconciler.core.errors import ReconcilerError
from reconciler.net.connection import Connection
from reconciler.providers.base import CommandKit, UsageRequest
from reconciler.providers.company.samples import read_log
from reconciler.providers.company.usage import (
    read_usage,
    usage_markdown,
    usage_text,
    warning_for,
    watch_usage,
)

THRESHOLD_EXIT = 2


def run_usage(kit: CommandKit, ctx: click.Context, request: UsageRequest) -> None:
    """``reconciler usage`` for the Company API: token usage this month (used,
    remaining, API calls, where the month is heading), once, watched, or served."""
    if request.watch is not None:
        kit.check_outputs(("--log", request.log), inputs=())
    if request.serve:
        kit.check_outputs(("--db", request.db), inputs=())
    connection = kit.connection_for(
        ctx, base_url=request.base_url, provider="company", api_key_env=request.api_key_env
    )
    if request.serve:
        _serve(ctx, kit, connection, request)
        return
    if request.watch is None:
        history, skipped = read_log(request.log) if request.log else ([], 0)  # before any request
        found = kit.run(read_usage(connection))
        if request.fmt == "markdown":
            kit.echo(ctx, usage_markdown(found, history, skipped))
        else:
            kit.echo(ctx, usage_text(found, request.fmt))
        _exit_if_crossed(ctx, kit, [w] if (w := warning_for(found, request.warn_at)) else [])
        return
    crossings: list[str] = []

    def alert(message: str) -> None:
        crossings.append(message)
        kit.echo(ctx, f"Warning: {message}\n", err=True)

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends a watch, not in error
        kit.run(
            watch_usage(
                connection,
                interval=request.watch,
                count=request.count,
                log=request.log,
                show=lambda u: kit.echo(ctx, usage_text(u, request.fmt)),
                warn=lambda m: kit.echo(ctx, f"Warning: {m}\n", err=True),
                warn_at=request.warn_at,
                alert=alert,
            )
        )
    _exit_if_crossed(ctx, kit, crossings, said=True)


def _exit_if_crossed(
    ctx: click.Context, kit: CommandKit, crossings: list[str], said: bool = False
) -> None:
    if not crossings:
        return
    if not said:
        kit.echo(ctx, f"Warning: {crossings[0]}.\n", err=True)
    ctx.exit(THRESHOLD_EXIT)


def _serve(
    ctx: click.Context, kit: CommandKit, connection: Connection, request: UsageRequest
) -> None:
    # uvicorn and starlette only when serving: every other command starts faster.
    from reconciler.net.serving import PortInUse
    from reconciler.providers.company.dashboard import serve_dashboard

    try:
        serve_dashboard(
            connection,
            port=request.port,
            interval=request.interval,
            db=request.db,
            announce=lambda line: kit.echo(ctx, line + "\n"),
            warn_at=request.warn_at,
        )
    except PortInUse as exc:
        raise ReconcilerError(f"{exc}.") from exc
