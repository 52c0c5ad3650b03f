"""apply's options for secrets only the operator holds: where one the API answers once
goes (a webhook's signing secret), and where write-only values come from (telemetry
header values), in ``Options.secrets``; ``connection_for`` puts them in the connection."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from reconciler.cli.options import options_of
from reconciler.core.secret_sink import HeaderValues, SecretSink


def secret_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """apply's ``--webhook-secrets-file`` and ``--webhook-secret-command``: where the
    signing secret of a webhook it creates goes (answered once, kept nowhere else)."""

    def record(kind: str) -> Callable[[click.Context, click.Parameter, Any], None]:
        def chosen(ctx: click.Context, _: click.Parameter, given: Any) -> None:
            if given is None:
                return
            options = options_of(ctx)
            if options.secrets.sink is not None:
                raise click.UsageError(
                    "Give --webhook-secrets-file or --webhook-secret-command, not both."
                )
            options.secrets = replace(options.secrets, sink=SecretSink(**{kind: given}))

        return chosen

    def headers(ctx: click.Context, _: click.Parameter, given: Path | None) -> None:
        if given is not None:
            options = options_of(ctx)
            options.secrets = replace(options.secrets, header_values=HeaderValues(given))

    for option in (
        click.option(
            "--telemetry-headers-file",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            expose_value=False,
            callback=headers,
            help="Read telemetry destinations' header values (write-only: the file names "
            "only the headers) from this JSON file: {destination: {header: value}}.",
        ),
        click.option(
            "--webhook-secret-command",
            metavar="COMMAND",
            default=None,
            expose_value=False,
            callback=record("command"),
            help="Give each new webhook's signing secret to COMMAND on standard input (its "
            "name in RECONCILER_SECRET_NAME); run without a shell.",
        ),
        click.option(
            "--webhook-secrets-file",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            expose_value=False,
            callback=record("file"),
            help="Write each new webhook's signing secret into this JSON file (mode 0600), "
            "by the webhook's name. Creating a webhook needs this or --webhook-secret-command.",
        ),
    ):
        f = option(f)
    return f
