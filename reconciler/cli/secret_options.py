"""apply's options for secrets only the operator holds, as each installed provider
declares them (``Provider.secret_flags``): where one the API answers once goes, and
where write-only values come from, bound to hosts; in ``Options.secrets``, which
``connection_for`` puts in the connection. This module names no kind: the flags and
their words are the providers'."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from reconciler import providers
from reconciler.cli.options import options_of
from reconciler.core.secret_sink import BoundValues, SecretSink
from reconciler.providers.base import SecretFlag


def _chosen(declared: SecretFlag) -> Callable[[click.Context, click.Parameter, Any], None]:
    def chosen(ctx: click.Context, _: click.Parameter, given: Any) -> None:
        if given is None:
            return
        options = options_of(ctx)
        if declared.role == "values":
            values = BoundValues(Path(given), declared.flag)
            options.secrets = replace(options.secrets, values=values)
            return
        if options.secrets.sink is not None:
            others = [
                f.flag
                for p in providers.installed()
                for f in p.secret_flags
                if f.role != "values" and f.what == declared.what
            ]
            raise click.UsageError(f"Give {' or '.join(sorted(others))}, not both.")
        sink = (
            SecretSink(file=Path(given), what=declared.what)
            if declared.role == "sink_file"
            else SecretSink(command=str(given), what=declared.what)
        )
        options.secrets = replace(options.secrets, sink=sink)

    return chosen


def secret_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Every installed provider's secret flags on ``f`` (apply)."""
    seen: set[str] = set()
    for provider in providers.installed():
        for declared in provider.secret_flags:
            if declared.flag in seen:
                continue
            seen.add(declared.flag)
            kind: Any = (
                None
                if declared.role == "sink_command"
                else click.Path(dir_okay=False, path_type=Path)
            )
            f = click.option(
                declared.flag,
                type=kind,
                metavar=declared.metavar,
                default=None,
                expose_value=False,
                callback=_chosen(declared),
                help=declared.help,
            )(f)
    return f
