"""The Company API's own command, ``reconciler usage``: tokens used and remaining this
month, once, polled, as a Markdown summary, or served as a local dashboard. The CLI
adds it because this provider lists it in ``commands``; the engine knows nothing of
usage."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import click

from reconciler.core.errors import ReconcilerError
from reconciler.net.connection import Connection
from reconciler.providers.base import CommandKit
from reconciler.providers.company.samples import read_log
from reconciler.providers.company.usage import (
    read_usage,
    usage_markdown,
    usage_text,
    warning_for,
    watch_usage,
)

DEFAULT_PORT = 8780
THRESHOLD_EXIT = 2


class Share(click.ParamType):  # type: ignore[type-arg]  # click 8.1's is not generic
    """``80%`` (or ``80``): a share of the usage limit, as 0.8. A bare number of 1 or
    less is refused: ``0.8`` could mean 80 % (a share) or 0.8 %, and the wrong reading
    warns at almost nothing or never."""

    name = "PERCENT"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        text = str(value).strip()
        marked = text.endswith("%")
        try:
            number = float(text.removesuffix("%"))
        except ValueError:
            number = -1.0
        if not marked and 0 < number <= 1:
            self.fail(
                f"{value!r} could be a share or a percentage; write {number * 100:g}% for "
                f"{number * 100:g} percent of the limit, or {number:g}% for {number:g} percent",
                param,
                ctx,
            )
        if not 0 < number <= 1000:
            self.fail(
                f"{value!r} is not a percentage above 0% and up to 1000% (say 80%)", param, ctx
            )
        return number / 100


def usage_command(kit: CommandKit) -> click.Command:
    """``reconciler usage``, built with the CLI's shared options and plumbing (``kit``),
    which the CLI lends through the seam: this package never imports the CLI."""

    @click.command(short_help="Company API: this month's token use, watched or served.")
    @kit.global_options
    @kit.base_url_option
    @click.option(
        "--format",
        "fmt",
        type=click.Choice(["text", "json", "markdown"]),
        default="text",
        show_default=True,
        help="markdown: a summary with a Mermaid chart of the month, for a CI job's summary.",
    )
    @click.option(
        "--watch",
        type=click.FloatRange(min=0.01),
        default=None,
        is_flag=False,
        flag_value=60.0,
        metavar="[SECONDS]",
        help="Poll every SECONDS (60 when no value is given) until interrupted.",
    )
    @click.option(
        "--log",
        type=click.Path(dir_okay=False, path_type=Path),
        help="The JSON-lines log of polls: --watch appends one line per poll to it; "
        "--format markdown reads the month's earlier samples from it.",
    )
    @click.option(
        "--count",
        type=click.IntRange(min=1),
        default=None,
        help="With --watch: stop after N polls.",
    )
    @click.option(
        "--warn-at",
        type=Share(),
        default=None,
        help="Warn, and exit 2, when the use or the projection to the period's end reaches "
        "this percentage of the usage limit: 80% (or 80). A number of 1 or less needs its "
        "% sign (0.5%), as 0.8 alone could be read as a share.",
    )
    @click.option(
        "--serve",
        is_flag=True,
        help="Serve a dashboard of the month on http://127.0.0.1:PORT, polling every "
        "--interval seconds and keeping the samples in --db; with --warn-at, its threshold "
        "is drawn and the page turns amber past it.",
    )
    @click.option(
        "--port",
        type=click.IntRange(0, 65535),
        default=DEFAULT_PORT,
        show_default=True,
        help="With --serve; 0 picks a free port.",
    )
    @click.option(
        "--interval",
        type=click.FloatRange(min=1),
        default=60.0,
        show_default=True,
        help="With --serve: seconds between polls.",
    )
    @click.option(
        "--db",
        type=click.Path(dir_okay=False, path_type=Path),
        default=Path("reconciler-usage.db"),
        show_default=True,
        help="With --serve: the SQLite file of samples (kept across restarts).",
    )
    @kit.api_key_env_option
    @click.pass_context
    def usage(
        ctx: click.Context,
        base_url: str | None,
        fmt: str,
        watch: float | None,
        log: Path | None,
        count: int | None,
        warn_at: float | None,
        serve: bool,
        port: int,
        interval: float,
        db: Path,
        api_key_env: str | None,
    ) -> None:
        """Company API: token usage this month (used, remaining, API calls, where the month
        is heading), once, watched, or served as a dashboard.

        Reads the key from --api-key-env, else CLAUDE_API_KEY, else ANTHROPIC_ADMIN_KEY.
        Exits 2 when --warn-at is crossed."""
        _check_combination(ctx, fmt=fmt, watch=watch, log=log, count=count, serve=serve)
        if watch is not None:
            kit.check_outputs(("--log", log), inputs=())
        if serve:
            kit.check_outputs(("--db", db), inputs=())
        connection = kit.connection_for(
            ctx, base_url=base_url, provider="company", api_key_env=api_key_env
        )
        if serve:
            _serve(ctx, kit, connection, port=port, interval=interval, db=db, warn_at=warn_at)
            return
        if watch is None:
            history, skipped = read_log(log) if log else ([], 0)  # before any request
            found = kit.run(read_usage(connection))
            if fmt == "markdown":
                kit.echo(ctx, usage_markdown(found, history, skipped))
            else:
                kit.echo(ctx, usage_text(found, fmt))
            _exit_if_crossed(ctx, kit, [w] if (w := warning_for(found, warn_at)) else [])
            return
        crossings: list[str] = []

        def alert(message: str) -> None:
            crossings.append(message)
            kit.echo(ctx, f"Warning: {message}\n", err=True)

        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends a watch, not in error
            kit.run(
                watch_usage(
                    connection,
                    interval=watch,
                    count=count,
                    log=log,
                    show=lambda u: kit.echo(ctx, usage_text(u, fmt)),
                    warn=lambda m: kit.echo(ctx, f"Warning: {m}\n", err=True),
                    warn_at=warn_at,
                    alert=alert,
                )
            )
        _exit_if_crossed(ctx, kit, crossings, said=True)

    return usage


def _check_combination(
    ctx: click.Context,
    *,
    fmt: str,
    watch: float | None,
    log: Path | None,
    count: int | None,
    serve: bool,
) -> None:
    given = {p.name: ctx.get_parameter_source(p.name) for p in ctx.command.params if p.name}
    chosen = {n for n, src in given.items() if src is click.core.ParameterSource.COMMANDLINE}
    if serve and chosen & {"watch", "log", "count", "format"}:
        raise click.UsageError(
            "--serve is the dashboard; it goes with --port, --interval, --db and --warn-at, "
            "not with --watch, --log, --count or --format"
        )
    if not serve and chosen & {"port", "interval", "db"}:
        raise click.UsageError(
            "--port, --interval and --db go with --serve (reconciler usage --serve --port 8780)"
        )
    if fmt == "markdown" and watch is not None:
        raise click.UsageError(
            "--format markdown summarises one reading (with the month from --log); it does "
            "not go with --watch"
        )
    if watch is None and count is not None:
        raise click.UsageError("--count goes with --watch (reconciler usage --watch --count 10)")
    if watch is None and log is not None and fmt != "markdown":
        raise click.UsageError(
            "--log goes with --watch (reconciler usage --watch --log usage.jsonl), which "
            "appends to it, or with --format markdown, which reads it; without either, "
            "usage reads once"
        )


def _exit_if_crossed(
    ctx: click.Context, kit: CommandKit, crossings: list[str], said: bool = False
) -> None:
    if not crossings:
        return
    if not said:
        kit.echo(ctx, f"Warning: {crossings[0]}.\n", err=True)
    ctx.exit(THRESHOLD_EXIT)


def _serve(
    ctx: click.Context,
    kit: CommandKit,
    connection: Connection,
    *,
    port: int,
    interval: float,
    db: Path,
    warn_at: float | None,
) -> None:
    # uvicorn and starlette only when serving: every other command starts faster.
    from reconciler.net.serving import PortInUse
    from reconciler.providers.company.dashboard import serve_dashboard

    try:
        serve_dashboard(
            connection,
            port=port,
            interval=interval,
            db=db,
            announce=lambda line: kit.echo(ctx, line + "\n"),
            warn_at=warn_at,
        )
    except PortInUse as exc:
        raise ReconcilerError(f"{exc}.") from exc
