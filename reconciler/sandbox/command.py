"""``reconciler sandbox``: the command line of the local Company API and Admin API.

It lives with the sandbox, not in ``reconciler.cli``: the sandbox stands in for
a server someone else wrote and shares nothing with the reconciler's internals;
the main command group only mounts it.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import click

from reconciler.sandbox.conditions import FAULT_KINDS, Settings


class FiniteRange(click.FloatRange):
    """A float range that refuses ``nan`` and ``inf`` (which every range check lets by)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


@click.command(short_help="Run the local Company and Admin API sandbox.")
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("reconciler-sandbox.db"),
    show_default=True,
    help="SQLite file; a restart on the same file keeps every change.",
)
@click.option(
    "--seed",
    "seed_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="YAML/JSON organization for an empty database "
    "(default: the shipped examples/sandbox-seed.yaml).",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8080,
    show_default=True,
    help="0 picks a free port.",
)
@click.option(
    "--generate-projects",
    type=click.IntRange(min=0),
    default=0,
    help="Add N synthetic projects (proj_00001...) to a new database.",
)
@click.option(
    "--latency-ms",
    type=FiniteRange(0, 60000),
    default=0.0,
    help="Added to every API request before it is answered, as a far API would.",
)
@click.option(
    "--latency-jitter-ms",
    type=FiniteRange(0, 60000),
    default=0.0,
    help="Up to this much more latency, drawn per request.",
)
@click.option(
    "--fault-rate",
    type=FiniteRange(0, 1),
    default=0.0,
    help="Fraction of API requests answered 500/529/429 or dropped.",
)
@click.option("--fault-seed", type=int, default=None, help="Same seed, same faults.")
@click.option(
    "--fault-kinds",
    default="500,529,429,drop",
    show_default=True,
    help="Comma-separated from 500, 529, 429, drop, drop-after-write.",
)
@click.option(
    "--log-requests", is_flag=True, help="Print each API request and its answer's status."
)
@click.option(
    "--rate-limit",
    type=FiniteRange(min=0),
    default=0.0,
    help="Requests per second (token bucket, burst = rate); 0 is off.",
)
def sandbox(
    log_requests: bool,
    db: Path,
    seed_file: Path | None,
    host: str,
    port: int,
    generate_projects: int,
    latency_ms: float,
    latency_jitter_ms: float,
    fault_rate: float,
    fault_seed: int | None,
    fault_kinds: str,
    rate_limit: float,
) -> None:
    """Run the local Company API and Admin API (Starlette on uvicorn, state in SQLite)
    until interrupted."""
    # The server's imports (uvicorn, starlette, jsonschema) only when serving: every
    # other command starts faster.
    from reconciler.sandbox.seed import SeedError
    from reconciler.sandbox.server import PortInUse, serve

    kinds = [k.strip() for k in fault_kinds.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in FAULT_KINDS]
    if unknown or not kinds:
        raise click.BadParameter(
            f"unknown fault kinds {unknown}; choose from {', '.join(FAULT_KINDS)}",
            param_hint="--fault-kinds",
        )
    settings = Settings(
        latency_ms=latency_ms,
        latency_jitter_ms=latency_jitter_ms,
        fault_rate=fault_rate,
        fault_seed=fault_seed,
        fault_kinds=kinds,
        rate_limit=rate_limit,
    )
    try:
        serve(
            db=db,
            seed_file=seed_file,
            host=host,
            port=port,
            settings=settings,
            generate_projects=generate_projects,
            announce=_announce,
            log_requests=log_requests,
        )
    except PortInUse as exc:
        raise click.ClickException(str(exc)) from exc
    except SeedError as exc:
        raise click.ClickException(f"{exc}; fix the seed file, or use a fresh --db.") from exc


def _announce(line: str) -> None:
    """The ``Listening on`` line goes out at once: scripts wait for it."""
    click.echo(line)
    sys.stdout.flush()
