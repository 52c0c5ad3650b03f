"""``reconciler usage``: where the month stands against its limits, for either API
(the Company API's tokens; the Admin API's money by workspace), read once, watched,
summarised for a CI job or served as a dashboard. This module is the command line:
the options, which API a file or ``--provider`` names, and the checks of what goes
together; each provider's ``usage`` does the reading and the showing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from reconciler import providers
from reconciler.cli import options
from reconciler.cli.options import (
    api_key_env_option,
    base_url_option,
    federation_options,
    global_options,
)
from reconciler.desired import document
from reconciler.providers.base import UsageRequest

DEFAULT_PORT = 8780


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


@click.command(short_help="This month's use or money against its limits, watched or served.")
@global_options
@base_url_option
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
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--provider",
    type=click.Choice(providers.names()),
    default=None,
    help="Which API, when no FILE names it (company, the default; anthropic-admin: the "
    "organization's money by workspace against its spend limits).",
)
@api_key_env_option
@federation_options
@click.pass_context
def usage(ctx: click.Context, /, file: Path | None, provider: str | None, **given: Any) -> None:
    """Where this month stands against its limits, once, watched, or served as a
    dashboard. The Company API: tokens used and remaining, API calls, where the month
    is heading. The Admin API (an Admin file, or --provider anthropic-admin): each
    workspace's cost so far against its spend limit and the organization's, with the
    projection to the month's end and the day a limit would be reached.

    Reads the key from --api-key-env, else CLAUDE_API_KEY, else ANTHROPIC_ADMIN_KEY
    (the Company API), or from ANTHROPIC_ADMIN_KEY or by federation (the Admin API).
    Exits 2 when --warn-at is crossed, now or by projection."""
    request = UsageRequest(**given)
    check_combination(
        ctx,
        fmt=request.fmt,
        watch=request.watch,
        log=request.log,
        count=request.count,
        serve=request.serve,
    )
    chosen = providers.get(provider or _provider_of(file))
    chosen.usage(options, ctx, request)


def _provider_of(file: Path | None) -> str:
    """The API a file names (read before any request; a broken file is its own error)."""
    if file is None:
        return providers.DEFAULT_PROVIDER
    return document.load(file).provider


def check_combination(
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
