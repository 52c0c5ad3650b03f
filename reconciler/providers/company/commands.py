"""The Company API's own command, ``reconciler usage``: tokens used and remaining this
month, once or polled. The CLI adds it because this provider lists it in
``commands``; the engine knows nothing of usage."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.commandline import (
    api_key_env_option,
    base_url_option,
    check_outputs,
    connection_for,
    echo,
    global_options,
    run,
)
from reconciler.providers.company.usage import read_usage, usage_text, watch_usage


@click.command()
@global_options
@base_url_option
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
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
    help="With --watch: append one JSON line per poll to this file.",
)
@click.option(
    "--count", type=click.IntRange(min=1), default=None, help="With --watch: stop after N polls."
)
@api_key_env_option
@click.pass_context
def usage(
    ctx: click.Context,
    base_url: str | None,
    fmt: str,
    watch: float | None,
    log: Path | None,
    count: int | None,
    api_key_env: str | None,
) -> None:
    """Company API: token usage this month (used, remaining, API calls).

    Reads the key from --api-key-env, else CLAUDE_API_KEY, else ANTHROPIC_ADMIN_KEY."""
    if watch is None and (log is not None or count is not None):
        raise click.UsageError(
            "--log and --count go with --watch (reconciler usage --watch --log usage.jsonl); "
            "without it, usage reads once"
        )
    check_outputs(("--log", log), inputs=())
    connection = connection_for(ctx, base_url=base_url, provider="company", api_key_env=api_key_env)
    if watch is None:
        echo(ctx, usage_text(run(read_usage(connection)), fmt))
        return
    try:
        run(
            watch_usage(
                connection,
                interval=watch,
                count=count,
                log=log,
                show=lambda u: echo(ctx, usage_text(u, fmt)),
                warn=lambda m: echo(ctx, f"Warning: {m}\n", err=True),
            )
        )
    except KeyboardInterrupt:
        return
