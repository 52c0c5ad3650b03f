"""``validate --claims``: who a file's federation rules admit. A sample identity
token's claims (a JSON object: a CI job's token decoded, or written by hand) are
checked against each rule as the token exchange checks them, the rule's CEL
``condition`` included, offline. The claims are the operator's file, but what they
hold is shown escaped: a token's values are anyone's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from reconciler import providers
from reconciler.cli.options import echo
from reconciler.core.errors import ConfigError, Problem
from reconciler.core.escape import visible
from reconciler.core.files import read_input
from reconciler.desired import document

NOT_ADMITTED = 2


def claims_of(path: Path) -> dict[str, Any]:
    """The claims file: a JSON object, or one sentence saying why not."""
    try:
        loaded = json.loads(read_input(path, what="the claims file"))
    except (OSError, ValueError) as exc:
        raise ConfigError(
            [Problem(str(path), 1, 1, "", f"not a JSON object of claims ({type(exc).__name__})")]
        ) from None
    if not isinstance(loaded, dict):
        raise ConfigError([Problem(str(path), 1, 1, "", "not a JSON object of claims")])
    return loaded


def check(ctx: click.Context, files: tuple[str, ...], claims: dict[str, Any]) -> None:
    """Each rule of each file: admits the token or not, and why; exit 2 when none does."""
    admitted = checked = 0
    for name in files:
        desired = document.load(name)
        for address, effect, refusal in providers.get(desired.provider).admits(desired, claims):
            checked += 1
            if refusal is None:
                admitted += 1
                echo(ctx, f"{address} admits this token: {visible(effect)}\n")
            else:
                echo(ctx, f"{address} does not admit it: {visible(refusal)}\n")
    if not checked:
        raise ConfigError(
            [
                Problem(
                    files[0] if files else "",
                    1,
                    1,
                    "",
                    "no federation rules to check the claims against",
                )
            ]
        )
    if not admitted:
        echo(ctx, "No rule admits this token: the exchange would refuse it.\n", err=True)
        ctx.exit(NOT_ADMITTED)
