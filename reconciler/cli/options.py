"""What every command shares (the engine's commands in ``cli``, a provider's own in its
package): global options, output escaped for terminals and CI logs, options several
commands take, and the connection the operator allows (where the key goes, from where)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Generic, TypeVar

import click

from reconciler import providers
from reconciler.core import escape
from reconciler.core.errors import ApprovalError, ReconcilerError
from reconciler.core.files import check_writable
from reconciler.core.model import DesiredState, Plan
from reconciler.core.secret_sink import OperatorSecrets
from reconciler.net.connection import (
    Connection,
    RetryPolicy,
    check_base_url,
    endpoint_for,
    key_for,
    key_variable_for,
)
from reconciler.net.federation import AUTH_CHOICES, FederationChoice, federation_for

T = TypeVar("T")
S = TypeVar("S")
FORMATS = click.Choice(["text", "json", "markdown"])


@dataclass
class Options:
    debug: bool = False
    color: bool | None = None
    base_url: str | None = None
    insecure: bool = False
    timeout: float = RetryPolicy.timeout
    federation: FederationChoice = field(default_factory=FederationChoice)
    secrets: OperatorSecrets = field(default_factory=OperatorSecrets)  # apply's


def _set(name: str, value: Any) -> Callable[[click.Context, click.Parameter, Any], None]:
    """A callback that records a global option in ``Options`` when it was given."""

    def record(ctx: click.Context, _: click.Parameter, given: Any) -> None:
        if given not in (None, False):
            setattr(options_of(ctx), name, value if value is not None else given)

    return record


def global_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--debug``, ``--no-color``, ``--insecure`` and ``--timeout``, taken before the
    command or after it (``reconciler plan org.yaml --no-color``), as Terraform users
    write them; given twice, the later one counts."""
    for option in (
        *_NETWORK_OPTIONS,
        *_OUTPUT_OPTIONS,
    ):
        f = option(f)
    return f


def offline_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """The global options of a command that sends no request (``validate``, ``schema``,
    ``show``): ``--debug`` and ``--no-color``; their help lists nothing that does not
    apply to them."""
    for option in _OUTPUT_OPTIONS:
        f = option(f)
    return f


_NETWORK_OPTIONS = (
    click.option(
        "--timeout",
        type=click.FloatRange(min=0.1, max=600),
        default=None,
        expose_value=False,
        callback=_set("timeout", None),
        help=f"Seconds to wait for one answer before retrying (default {RetryPolicy.timeout:g}).",
    ),
    click.option(
        "--insecure",
        is_flag=True,
        expose_value=False,
        callback=_set("insecure", True),
        help="Allow plain http:// to a non-loopback host.",
    ),
)
_OUTPUT_OPTIONS = (
    click.option(
        "--no-color",
        is_flag=True,
        expose_value=False,
        callback=_set("color", False),
        help="No colours (NO_COLOR is respected too).",
    ),
    click.option(
        "--debug",
        is_flag=True,
        expose_value=False,
        callback=_set("debug", True),
        help="Show tracebacks of errors, with their causes.",
    ),
)


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def options_of(ctx: click.Context) -> Options:
    return ctx.ensure_object(Options)


def echo(ctx: click.Context, text: str, *, err: bool = False) -> None:
    """Everything reconciler prints goes through here: names and values in it were
    escaped where they were rendered, and no line may start a CI workflow command."""
    click.echo(escape.no_workflow_commands(text), nl=False, err=err, color=options_of(ctx).color)


def wants_color(ctx: click.Context, stream: Any = None) -> bool:
    options = options_of(ctx)
    if options.color is not None:
        return options.color
    return bool((stream or sys.stdout).isatty())


def base_url_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--base-url",
        "base_url",
        metavar="URL",
        default=None,
        help="API base URL (else RECONCILER_BASE_URL, else https://api.anthropic.com).",
    )(f)


targets_option = click.option(
    "--target",
    "targets",
    multiple=True,
    metavar="ADDR",
    help='Only this address of the file (company, project.<id>, user["EMAIL"], ...); '
    "repeatable. A targeted plan never prunes.",
)
api_key_env_option = click.option(
    "--api-key-env",
    metavar="NAME",
    default=None,
    help="Read the key from this variable instead of the default one.",
)


def _choose(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    """A callback that records one federation option in ``Options.federation``."""

    def record(ctx: click.Context, _: click.Parameter, given: Any) -> None:
        if given is not None:
            options = options_of(ctx)
            options.federation = replace(options.federation, **{name: given})

    return record


def federation_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--auth`` and the federation options, for the commands that reach the Admin API.
    Each falls back to the SDK's environment variable (see ``federation``); the identity
    token itself is never an option (a command line is visible to other processes)."""
    for option in (
        click.option(
            "--identity-token-file",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            expose_value=False,
            callback=_choose("token_file"),
            help="Federation: read the CI job's OIDC token from this file, afresh at each "
            "exchange (else ANTHROPIC_IDENTITY_TOKEN_FILE, else ANTHROPIC_IDENTITY_TOKEN).",
        ),
        click.option(
            "--identity-token-audience",
            metavar="AUD",
            default=None,
            expose_value=False,
            callback=_choose("audience"),
            help="Federation in GitHub Actions: the audience to ask the job's OIDC token for "
            "(else RECONCILER_IDENTITY_TOKEN_AUDIENCE, else https://api.anthropic.com); the "
            "rule's audience must be the same.",
        ),
        click.option(
            "--service-account",
            metavar="ID",
            default=None,
            expose_value=False,
            callback=_choose("service_account_id"),
            help="Federation: the service account (svac_...) to act as (else "
            "ANTHROPIC_SERVICE_ACCOUNT_ID; optional, the rule names it).",
        ),
        click.option(
            "--organization-id",
            metavar="UUID",
            default=None,
            expose_value=False,
            callback=_choose("organization_id"),
            help="Federation: the organization's id (else ANTHROPIC_ORGANIZATION_ID).",
        ),
        click.option(
            "--federation-rule",
            metavar="ID",
            default=None,
            expose_value=False,
            callback=_choose("rule_id"),
            help="Federation: the rule (fdrl_...) to exchange the identity token under (else "
            "ANTHROPIC_FEDERATION_RULE_ID).",
        ),
        click.option(
            "--auth",
            type=click.Choice(AUTH_CHOICES),
            default=None,
            expose_value=False,
            callback=_choose("auth"),
            help="Sign in with a key, or by workload identity federation (Admin API; no key "
            "stored). Default: federation when a rule is configured, else a key.",
        ),
    ):
        f = option(f)
    return f


def connection_for(
    ctx: click.Context,
    *,
    base_url: str | None,
    provider: str,
    asked: DesiredState | Plan | None = None,
    asked_by: str = "the file",
    api_key_env: str | None = None,
    write: bool = False,
    concurrency: int = 8,
) -> Connection:
    """Where the key goes and which variable holds it, as the operator allows: flags and
    environment decide; a file (or an undo plan) may only ask, within the rules of
    ``connection``. Checked before the key is even read."""
    options = options_of(ctx)
    if isinstance(asked, Plan):
        asked_url, asked_key = asked.api.get("base_url"), asked.api.get("key_variable")
    else:
        asked_url = asked.base_url if asked else None
        asked_key = asked.api_key_env if asked else None
    endpoint = endpoint_for(base_url or options.base_url, asked_url, source=asked_by)
    check_base_url(endpoint.url, insecure=options.insecure)
    chosen = providers.get(provider)
    names = key_variable_for(api_key_env, asked_key, defaults=chosen.key_variables, source=asked_by)
    federation = federation_for(options.federation, provider=provider, key_variables=names)
    if federation is not None:
        # The exchange carries the identity token: https or loopback, --insecure or not.
        check_base_url(endpoint.url, insecure=False, carrying="the identity token")
        key, source = "", "federation"
    else:
        key, source = key_for(
            names,
            scope=chosen.write_scope if write else chosen.read_scope,
            from_file=bool(asked_key) and not api_key_env and names == (asked_key,),
        )
    return Connection(
        endpoint.url,
        key,
        source,
        federation=federation,
        secrets=options.secrets if write else OperatorSecrets(),
        insecure=options.insecure,
        concurrency=concurrency,
        retry=RetryPolicy.of_operator(options.timeout),
        provider=provider,
        base_url_origin=endpoint.origin,
        progress=_progress_on_terminal(ctx),
    )


def _progress_on_terminal(ctx: click.Context) -> Callable[[str], None] | None:
    """Waits, retries and what a sign-in checked, told on a terminal (never in a CI log or
    a pipe), or anywhere with ``--debug``."""
    if not sys.stderr.isatty() and not options_of(ctx).debug:
        return None
    color = options_of(ctx).color

    def tell(message: str) -> None:
        click.echo(click.style(escape.visible(message), dim=True), err=True, color=color)

    return tell


def reading_for(
    ctx: click.Context, desired: DesiredState, *, base_url: str | None, api_key_env: str | None
) -> Connection:
    """The connection to read a file's live organization with (as ``connection_for``
    allows the file to ask), said on the terminal before the first request."""
    connection = connection_for(
        ctx,
        base_url=base_url,
        provider=desired.provider,
        asked=desired,
        asked_by=desired.source,
        api_key_env=api_key_env,
    )
    progress(ctx, f"Reading the live organization at {connection.base_url}...")
    return connection


def check_outputs(*outputs: tuple[str, Path | None], inputs: tuple[Path | None, ...]) -> None:
    """Every output path, checked before the first request (see ``files.check_writable``)."""
    given = tuple(p for p in inputs if p is not None)
    for option, path in outputs:
        if path is not None:
            # A log and a database are written in place, never replaced: never through a link.
            check_writable(path, option=option, inputs=given, append=option in ("--log", "--db"))


def keys_and_host() -> str:
    """Help for commands that read a file: where the key and the API come from, with
    each installed provider's default variables."""
    defaults = "; ".join(
        f"{' or '.join(p.key_variables)} ({p.display_name})" for p in providers.installed()
    )
    return (
        "The key is read from --api-key-env, else from the variable the file's "
        "api.api_key_env names (a provider default, a name ending in _ADMIN_KEY, "
        "ANTHROPIC_*KEY or CLAUDE_*KEY, or one listed in RECONCILER_KEY_VARIABLES), else "
        f"from the provider's default: {defaults}. The API is --base-url, else "
        "RECONCILER_BASE_URL, else https://api.anthropic.com; the file's api.base_url is "
        "used only if it is that default or the operator named it (loopback is no exception)."
    )


def provider_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--provider``, its choices the installed providers. Built when a command is
    defined, not when this module loads: a provider's own command module imports this
    one while the registry may still be loading that provider."""
    return click.option(
        "--provider",
        type=click.Choice(providers.names()),
        default=providers.DEFAULT_PROVIDER,
        show_default=True,
        help="Which API ("
        + ", ".join(f"{p.name}: {p.display_name}" for p in providers.installed())
        + ").",
    )(f)


def progress(ctx: click.Context, message: str) -> None:
    if sys.stderr.isatty():
        click.echo(click.style(message, dim=True), err=True, color=options_of(ctx).color)


@dataclass(frozen=True)
class EachSource(Generic[T]):
    """What a command did with each of its sources: each that worked with its result,
    and the names of those that failed (each already reported)."""

    results: list[tuple[str, T]]
    failed: list[str]
    total: int

    def check(self, failure: str) -> None:
        """One error for all the failures: ``failure`` says what did not happen, as in
        "files could not be planned"."""
        if self.failed:
            raise ReconcilerError(
                f"{len(self.failed)} of {self.total} {failure} ({', '.join(self.failed)}); "
                "see the errors above."
            )


def each_source(
    ctx: click.Context, sources: Sequence[S], work: Callable[[S], T], *, headings: bool = False
) -> EachSource[T]:
    """``work`` on each source in turn, as ``plan`` and ``apply`` take several: a
    failure is reported and the next source goes on (a declined approval stops all);
    with one source its error is the command's own."""
    results: list[tuple[str, T]] = []
    failed: list[str] = []
    for source in sources:
        if headings and len(sources) > 1:
            echo(ctx, f"== {source} ==\n\n")
        try:
            results.append((str(source), work(source)))
        except ApprovalError:
            raise
        except ReconcilerError as exc:
            if len(sources) == 1:
                raise
            failed.append(str(source))
            echo(ctx, f"Error: {source}: {escape.lines(exc.message)}\n\n", err=True)
    return EachSource(results, failed, len(sources))
