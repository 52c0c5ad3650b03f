"""The command line: parse, delegate to ``manager``, turn errors into one clear
sentence and an exit code. Exit codes: 0 success / no changes, 1 error,
2 changes present (``plan --detailed-exitcode``)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import traceback
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import click

from reconciler import __version__, config, escape, manager, planfile, providers, render, terminal
from reconciler import plan as planning
from reconciler.connection import (
    Connection,
    RetryPolicy,
    check_base_url,
    endpoint_for,
    key_for,
    key_variable_for,
)
from reconciler.errors import ConfigError, Problem, ReconcilerError
from reconciler.files import check_writable, write_json, write_text
from reconciler.model import DesiredState, Outcome, Plan
from reconciler.providers.company import usage as company_usage
from reconciler.sandbox.command import sandbox as sandbox_command

T = TypeVar("T")
FORMATS = click.Choice(["text", "json", "markdown"])


@dataclass
class Options:
    debug: bool = False
    color: bool | None = None
    base_url: str | None = None
    insecure: bool = False
    timeout: float = RetryPolicy.timeout


class ReconcilerGroup(click.Group):
    """The one place errors become output: a sentence on stderr, exit 1, a
    traceback only with ``--debug``."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ReconcilerError as exc:
            _fail(ctx, exc.message, exc, exit_code=exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt as exc:
            _fail(ctx, "Interrupted; nothing more was started.", exc)
        except Exception as exc:  # the last line of defence: no traceback without --debug
            _fail(
                ctx,
                f"Unexpected error ({type(exc).__name__}); run again with --debug for "
                "details and report it.",
                exc,
            )


def _fail(ctx: click.Context, message: str, exc: BaseException, exit_code: int = 1) -> None:
    options = ctx.find_object(Options) or Options()
    if options.debug:
        traceback.print_exception(exc, file=sys.stderr)
    if isinstance(exc, ConfigError) and os.environ.get("GITHUB_ACTIONS") == "true":
        click.echo(render.github_annotations(exc.problems), nl=False)
    shown = escape.no_workflow_commands(escape.lines(message))
    click.echo(click.style("Error: ", fg="red", bold=True) + shown, err=True, color=options.color)
    ctx.exit(exit_code)


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def _options(ctx: click.Context) -> Options:
    return ctx.ensure_object(Options)


def _echo(ctx: click.Context, text: str, *, err: bool = False) -> None:
    """Everything reconciler prints goes through here: names and values in it were
    escaped where they were rendered, and no line may start a CI workflow command."""
    click.echo(escape.no_workflow_commands(text), nl=False, err=err, color=_options(ctx).color)


def _wants_color(ctx: click.Context, stream: Any = None) -> bool:
    options = _options(ctx)
    if options.color is not None:
        return options.color
    return bool((stream or sys.stdout).isatty())


def _base_url_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--base-url",
        "base_url",
        metavar="URL",
        default=None,
        help="API base URL (else RECONCILER_BASE_URL, else https://api.anthropic.com; a "
        "file's api.base_url is used only when it is loopback, the default or this URL).",
    )(f)


_targets_option = click.option(
    "--target",
    "targets",
    multiple=True,
    metavar="ADDR",
    help='Only this address of the file (company, project.<id>, user["EMAIL"], ...); '
    "repeatable. A targeted plan never prunes.",
)
_api_key_env_option = click.option(
    "--api-key-env",
    metavar="NAME",
    default=None,
    help="Read the key from this variable instead of the file's api.api_key_env or the "
    "provider's default (CLAUDE_API_KEY; ANTHROPIC_ADMIN_KEY for anthropic-admin).",
)


def _connection(
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
    options = _options(ctx)
    if isinstance(asked, Plan):
        asked_url, asked_key = asked.api.get("base_url"), asked.api.get("key_variable")
    else:
        asked_url = asked.base_url if asked else None
        asked_key = asked.api_key_env if asked else None
    endpoint = endpoint_for(base_url or options.base_url, asked_url, source=asked_by)
    check_base_url(endpoint.url, insecure=options.insecure)
    chosen = providers.get(provider)
    names = key_variable_for(api_key_env, asked_key, defaults=chosen.key_variables, source=asked_by)
    key, source = key_for(
        names,
        scope=chosen.write_scope if write else chosen.read_scope,
        from_file=bool(asked_key) and not api_key_env and names == (asked_key,),
    )
    return Connection(
        endpoint.url,
        key,
        source,
        insecure=options.insecure,
        concurrency=concurrency,
        retry=RetryPolicy(timeout=options.timeout),
        provider=provider,
        base_url_origin=endpoint.origin,
    )


def _check_outputs(*outputs: tuple[str, Path | None], inputs: tuple[Path | None, ...]) -> None:
    """Every output path, checked before the first request (see ``files.check_writable``)."""
    given = tuple(p for p in inputs if p is not None)
    for option, path in outputs:
        if path is not None:
            check_writable(path, option=option, inputs=given, append=option == "--log")


_provider_option = click.option(
    "--provider",
    type=click.Choice(providers.names()),
    default=providers.DEFAULT_PROVIDER,
    show_default=True,
    help="Which API: the Company API, or Anthropic's Admin API.",
)


def _progress(ctx: click.Context, message: str) -> None:
    if sys.stderr.isatty():
        click.echo(click.style(message, dim=True), err=True, color=_options(ctx).color)


@click.group(cls=ReconcilerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reconciler")
@click.option("--debug", is_flag=True, help="Show tracebacks of errors.")
@click.option("--no-color", is_flag=True, help="No colours (NO_COLOR is respected too).")
@click.option("--insecure", is_flag=True, help="Allow plain http:// to a non-loopback host.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1, max=600),
    default=RetryPolicy.timeout,
    show_default=True,
    help="Seconds to wait for one answer before retrying.",
)
@_base_url_option
@click.pass_context
def cli(
    ctx: click.Context,
    debug: bool,
    no_color: bool,
    insecure: bool,
    timeout: float,
    base_url: str | None,
) -> None:
    """Keep a Claude API organization's settings as code: validate, plan, apply."""
    no_color = no_color or bool(os.environ.get("NO_COLOR"))
    ctx.obj = Options(
        debug=debug,
        color=False if no_color else None,
        base_url=base_url,
        insecure=insecure,
        timeout=timeout,
    )


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.pass_context
def validate(ctx: click.Context, files: tuple[str, ...]) -> None:
    """Check desired-state FILES offline (schema and YAML traps); exit 0 when all are valid."""
    problems: list[Problem] = []
    for name in files:
        try:
            config.load(name)
            _echo(ctx, f"{name}: valid\n")
        except ConfigError as exc:
            problems += exc.problems
    if problems:
        raise ConfigError(problems)


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@_base_url_option
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the plan (JSON) for 'reconciler apply PLAN.json'.",
)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 no changes, 2 changes, 1 error.")
@_targets_option
@_api_key_env_option
@click.option(
    "--max-chars",
    type=click.IntRange(min=1000),
    default=None,
    help="Markdown only: cut whole resources from the end, with a note, to fit N characters "
    "(GitHub comments hold 65,536).",
)
@click.option(
    "--compare-to",
    "compare_to",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The file as it was before this edit (e.g. on the base branch): show what the edit "
    "changes apart from drift that was already there. A missing file counts as empty.",
)
@click.pass_context
def plan(
    ctx: click.Context,
    file: str,
    base_url: str | None,
    fmt: str,
    out: Path | None,
    detailed_exitcode: bool,
    targets: tuple[str, ...],
    api_key_env: str | None,
    max_chars: int | None,
    compare_to: Path | None,
) -> None:
    """Show the changes that would make the live organization match FILE."""
    _check_outputs(("--out", out), inputs=(Path(file), compare_to))
    desired = config.load(file)
    base = None
    if compare_to is not None:
        base = (
            config.load(compare_to)
            if compare_to.exists()
            else config.empty(str(compare_to), desired.provider)
        )
    connection = _connection(
        ctx,
        base_url=base_url,
        provider=desired.provider,
        asked=desired,
        asked_by=desired.source,
        api_key_env=api_key_env,
    )
    _progress(ctx, f"Reading the live organization at {connection.base_url}...")
    result = _run(manager.plan_file(desired, connection, targets))
    sections = None
    if base is not None:
        result = replace(result, warnings=planning.api_changes(base, desired) + result.warnings)
        sections = planning.split_by_origin(result, base)
    _show_plan(ctx, result, sections, fmt, title=f"reconciler plan: `{file}`", max_chars=max_chars)
    if out:
        planfile.save(result, out, sections=sections)
    if detailed_exitcode and not result.is_empty:
        ctx.exit(2)


def _show_plan(
    ctx: click.Context,
    result: Plan,
    sections: planfile.Sections | None,
    fmt: str,
    *,
    title: str,
    max_chars: int | None,
) -> None:
    color = _wants_color(ctx)
    if sections is None:
        _echo(ctx, render.plan(result, fmt, title=title, color=color, max_chars=max_chars))
    else:
        change, drift = sections
        _echo(
            ctx,
            render.sections(
                result, change, drift, fmt, title=title, color=color, max_chars=max_chars
            ),
        )


@cli.command()
@click.argument("saved", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True)
@click.option(
    "--max-chars",
    type=click.IntRange(min=1000),
    default=None,
    help="Markdown only: cut whole resources from the end, with a note, to fit N characters.",
)
@click.option("--title", default=None, help="Markdown heading (default: the file's name).")
@click.pass_context
def show(
    ctx: click.Context, saved: Path, fmt: str, max_chars: int | None, title: str | None
) -> None:
    """Render a saved PLAN.json or an apply REPORT.json again, offline (like terraform show)."""
    heading = title or f"reconciler: `{saved.name}`"
    report = planfile.load_report_if_report(saved)
    if report is not None:
        _echo(ctx, render.report(report, fmt, title=heading, color=_wants_color(ctx)))
        return
    loaded = planfile.load_saved(saved)
    _show_plan(ctx, loaded.plan, loaded.sections, fmt, title=heading, max_chars=max_chars)


@cli.command()
@_provider_option
def schema(provider: str) -> None:
    """Print the desired-state file's JSON Schema, to save beside your files for editors."""
    click.echo(json.dumps(config.schema(provider), indent=2))


@cli.command()
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@_base_url_option
@click.option("--auto-approve", is_flag=True, help="Apply without asking (needed without a TTY).")
@click.option(
    "--max-changes",
    type=click.IntRange(min=0),
    default=None,
    help="Refuse a plan that changes more than N resources.",
)
@click.option("--concurrency", type=click.IntRange(1, 64), default=8, show_default=True)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the apply report (JSON) here.",
)
@click.option(
    "--undo-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write, as it applies, a saved plan that puts back every value changed.",
)
@_targets_option
@click.option(
    "--force",
    is_flag=True,
    help="Apply a plan whose removals exceed the provider's guard (over 25% of a section, "
    "or an organization admin).",
)
@click.option(
    "--expect-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="With a saved plan: the desired-state file it was made from, as it is now (default: "
    "the file the plan names, when it lies below this directory). The plan is checked "
    "against it before any write.",
)
@_api_key_env_option
@click.pass_context
def apply(
    ctx: click.Context,
    source: Path,
    base_url: str | None,
    auto_approve: bool,
    max_changes: int | None,
    concurrency: int,
    report: Path | None,
    undo_out: Path | None,
    targets: tuple[str, ...],
    force: bool,
    expect_file: Path | None,
    api_key_env: str | None,
) -> None:
    """Make the changes of FILE, or of a saved PLAN.json once checked against its file.

    A saved plan is a claim: apply reads the file it was made from, plans it again
    against live state, and writes only resources the plan holds that are, to the
    value, what the file asks for now. An undo plan (--undo-out) is checked by the
    signature apply gave it instead."""
    _check_outputs(("--report", report), ("--undo-out", undo_out), inputs=(source, expect_file))

    def writing(asked: DesiredState | Plan, asked_by: str, provider: str) -> Connection:
        return _connection(
            ctx,
            base_url=base_url,
            provider=provider,
            asked=asked,
            asked_by=asked_by,
            api_key_env=api_key_env,
            write=True,
            concurrency=concurrency,
        )

    if planfile.is_saved_plan(source):
        loaded = planfile.load_saved(source)
        if loaded.is_undo:
            if expect_file is not None:
                raise click.UsageError(
                    "--expect-file goes with a plan from 'plan --out'; an undo plan is checked "
                    "by the signature apply gave it."
                )
            connection = writing(loaded.plan, str(source), loaded.plan.provider)
            result = _run(manager.verified_undo(loaded, connection, targets))
        else:
            desired = config.load(planfile.source_of(loaded, expect_file))
            connection = writing(desired, desired.source, desired.provider)
            result = _run(manager.verified_saved(loaded.plan, desired, connection, targets))
    else:
        if expect_file is not None:
            raise click.UsageError("--expect-file goes with a saved plan, not a file.")
        desired = config.load(source)
        connection = writing(desired, desired.source, desired.provider)
        result = _run(manager.plan_file(desired, connection, targets))
    _echo(ctx, render.plan_text(result, color=_wants_color(ctx)))
    if result.is_empty:
        return
    manager.check_safe(result, max_changes=max_changes, force=force)
    terminal.approve(auto_approve)
    undo = planfile.UndoRecorder(undo_out, result, api_key=connection.api_key) if undo_out else None
    outcome = _run(terminal.apply_until_interrupted(result, connection, undo=undo))
    if report:
        write_json(report, outcome.data())
    _echo(ctx, "\n" + render.report_text(outcome, color=_wants_color(ctx)))
    if not outcome.ok:
        raise ReconcilerError(
            f"{outcome.count(Outcome.FAILED)} failed and {outcome.count(Outcome.SKIPPED)} "
            "skipped (see above); what was applied stays applied: run plan again to see "
            "what is left."
        )


@cli.command()
@_base_url_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the file here instead of stdout.",
)
@_api_key_env_option
@_provider_option
@click.pass_context
def export(
    ctx: click.Context,
    base_url: str | None,
    out: Path | None,
    api_key_env: str | None,
    provider: str,
) -> None:
    """Write the live organization as a desired-state file that plans to no changes."""
    _check_outputs(("--out", out), inputs=())
    connection = _connection(ctx, base_url=base_url, provider=provider, api_key_env=api_key_env)
    data = _run(manager.export(connection))
    if api_key_env:
        head = {k: v for k, v in data.items() if k in ("version", "provider")}
        data = {
            **head,
            "api": {"api_key_env": api_key_env},
            **{k: v for k, v in data.items() if k not in head},
        }
    text = render.desired_state_yaml(data, origin=connection.base_url)
    if out:
        write_text(out, text)
        _echo(ctx, f"Wrote {out}.\n", err=True)
    else:
        _echo(ctx, text)


@cli.command()
@_base_url_option
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--watch",
    type=click.FloatRange(min=0.01),
    default=None,
    metavar="SECONDS",
    help="Poll every SECONDS until interrupted.",
)
@click.option(
    "--log",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --watch: append one JSON line per poll to this file.",
)
@click.option(
    "--count", type=click.IntRange(min=1), default=None, help="With --watch: stop after N polls."
)
@_api_key_env_option
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
    """Company API: token usage this month (used, remaining, API calls)."""
    _check_outputs(("--log", log), inputs=())
    connection = _connection(ctx, base_url=base_url, provider="company", api_key_env=api_key_env)
    if watch is None:
        _echo(ctx, company_usage.usage_text(_run(company_usage.read_usage(connection)), fmt))
        return
    try:
        _run(
            company_usage.watch_usage(
                connection,
                interval=watch,
                count=count,
                log=log,
                show=lambda u: _echo(ctx, company_usage.usage_text(u, fmt)),
                warn=lambda m: _echo(ctx, f"Warning: {m}\n", err=True),
            )
        )
    except KeyboardInterrupt:
        return


@cli.command()
@click.option("--keep", is_flag=True, help="Leave the sandbox database in place.")
@_provider_option
@click.pass_context
def demo(ctx: click.Context, keep: bool, provider: str) -> None:
    """Start a sandbox on a free port and run plan → apply → plan on the shipped example."""
    from reconciler.demo import run_demo

    run_demo(
        show=lambda text: _echo(ctx, text), color=_wants_color(ctx), keep=keep, provider=provider
    )


cli.add_command(sandbox_command, name="sandbox")


def main() -> None:
    """Run the group, keeping exit code 2 for "changes present": click's own usage
    errors (which it would exit with 2) exit 1 like every other error."""
    try:
        code = cli.main(prog_name="reconciler", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        sys.exit(1)
    except click.Abort:
        click.echo("Aborted; nothing more was started.", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
