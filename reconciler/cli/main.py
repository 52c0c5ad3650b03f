"""The command line: parse, delegate to ``operations``, turn errors into one clear
sentence and an exit code. Exit codes: 0 success / no changes, 1 error,
2 changes present (``plan --detailed-exitcode``)."""

from __future__ import annotations

import json
import os
import shlex
import sys
import traceback
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from reconciler import __version__, providers
from reconciler.cli import starter
from reconciler.cli.adopt import adopt as adopt_command
from reconciler.cli.apply import apply as apply_command
from reconciler.cli.demo import run_demo
from reconciler.cli.options import (
    FORMATS,
    Options,
    api_key_env_option,
    base_url_option,
    check_outputs,
    connection_for,
    echo,
    federation_options,
    global_options,
    keys_and_host,
    options_of,
    provider_option,
    reading_for,
    run,
    targets_option,
    wants_color,
)
from reconciler.core.errors import (
    ConfigError,
    OutputPathError,
    Problem,
    ReconcilerError,
)
from reconciler.core.escape import lines, no_workflow_commands
from reconciler.core.files import write_text
from reconciler.core.model import Plan
from reconciler.desired import document, holds
from reconciler.engine import flows, planfile, render
from reconciler.net.connection import key_variable_for
from reconciler.sandbox.command import sandbox as sandbox_command


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
    shown = no_workflow_commands(lines(message))
    click.echo(click.style("Error: ", fg="red", bold=True) + shown, err=True, color=options.color)
    ctx.exit(exit_code)


@click.group(cls=ReconcilerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reconciler")
@global_options
@base_url_option
@click.pass_context
def cli(ctx: click.Context, base_url: str | None) -> None:
    """Keep a Claude API organization's settings as code: validate, plan, apply.

    Global options (--debug, --no-color, --insecure, --timeout, --base-url) go
    before or after the command."""
    options = options_of(ctx)
    options.base_url = base_url
    if os.environ.get("NO_COLOR"):
        options.color = False


@cli.command()
@global_options
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.pass_context
def validate(ctx: click.Context, files: tuple[str, ...]) -> None:
    """Check desired-state FILES offline (schema and YAML traps); exit 0 when all are valid."""
    problems: list[Problem] = []
    for name in files:
        try:
            document.load(name)
            echo(ctx, f"{name}: valid\n")
        except ConfigError as exc:
            problems += exc.problems
    if problems:
        raise ConfigError(problems)


@cli.command(epilog=keys_and_host())
@global_options
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@base_url_option
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the plan (JSON) for 'reconciler apply PLAN.json' (one FILE only).",
)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 no changes, 2 changes, 1 error.")
@targets_option
@api_key_env_option
@federation_options
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
    "changes apart from drift that was already there. A missing file counts as empty "
    "(one FILE only).",
)
@click.option(
    "--as-of",
    "as_of",
    default=None,
    metavar="TIME",
    help="Show the plan as it will be at TIME (a date, or a timestamp with a zone): holds "
    "are resolved then. For review only: apply always uses the time it runs, so this "
    "cannot go with --out.",
)
@click.pass_context
def plan(
    ctx: click.Context,
    files: tuple[str, ...],
    base_url: str | None,
    fmt: str,
    out: Path | None,
    detailed_exitcode: bool,
    targets: tuple[str, ...],
    api_key_env: str | None,
    max_chars: int | None,
    compare_to: Path | None,
    as_of: str | None,
) -> None:
    """Show the changes that would make the live organizations match FILES.

    Each file is planned with its own provider, API and key variable, under its own
    heading; the exit code is one for all (1 if any file failed, else 2 with
    --detailed-exitcode if any has changes)."""
    if len(files) > 1 and (out or compare_to):
        raise click.UsageError(
            "--out and --compare-to go with one FILE; plan the files one at a time for them"
        )
    if as_of is not None and out is not None:
        raise click.UsageError(
            "--as-of is for review and --out saves a plan to apply, which always uses the time "
            "it runs; plan without --as-of to save one"
        )
    moment = _moment(as_of)
    shown: list[str] = []
    failed: list[str] = []
    changed = False
    for file in files:
        try:
            has_changes, text = _plan_one(
                ctx,
                file,
                base_url=base_url,
                fmt=fmt,
                out=out,
                targets=targets,
                api_key_env=api_key_env,
                max_chars=max_chars,
                compare_to=compare_to,
                as_of=moment,
            )
        except ReconcilerError as exc:
            if len(files) == 1:
                raise
            failed.append(file)
            echo(ctx, f"Error: {file}: {lines(exc.message)}\n", err=True)
            continue
        changed = changed or has_changes
        shown.append(text if len(files) == 1 or fmt != "text" else f"== {file} ==\n\n{text}")
    if fmt == "json" and len(files) > 1:
        echo(ctx, json.dumps([json.loads(t) for t in shown], indent=2, ensure_ascii=False) + "\n")
    else:
        echo(ctx, "\n".join(shown))
    if failed:
        raise ReconcilerError(
            f"{len(failed)} of {len(files)} files could not be planned ({', '.join(failed)}); "
            "see the errors above."
        )
    if detailed_exitcode and changed:
        ctx.exit(2)


def _moment(as_of: str | None) -> datetime | None:
    if as_of is None:
        return None
    try:
        return holds.moment(as_of)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--as-of") from exc


def _plan_one(
    ctx: click.Context,
    file: str,
    *,
    base_url: str | None,
    fmt: str,
    out: Path | None,
    targets: tuple[str, ...],
    api_key_env: str | None,
    max_chars: int | None,
    compare_to: Path | None,
    as_of: datetime | None = None,
) -> tuple[bool, str]:
    """Whether one file's plan has changes (with --compare-to, an edit of a hold is one:
    it changes the organization later, unreviewed otherwise), and its rendering (saved
    with --out)."""
    check_outputs(("--out", out), inputs=(Path(file), compare_to))
    desired = document.load(file, as_of)
    base = document.load_or_empty(compare_to, desired.provider) if compare_to else None
    connection = reading_for(ctx, desired, base_url=base_url, api_key_env=api_key_env)
    planned = run(flows.plan_edit(desired, connection, targets, base=base, ahead=as_of is not None))
    result, sections = planned.plan, planned.sections
    text = _rendered_plan(
        ctx,
        result,
        sections,
        fmt,
        title=render.heading("reconciler plan", str(file)),
        max_chars=max_chars,
    )
    if out:
        planfile.save(result, out, sections=sections)
        echo(
            ctx,
            f"\nSaved the plan to {out}. To apply exactly this plan, run:\n"
            f"    reconciler apply {shlex.quote(str(out))}\n",
            err=True,
        )
    return planned.has_changes, text


def _rendered_plan(
    ctx: click.Context,
    result: Plan,
    sections: planfile.Sections | None,
    fmt: str,
    *,
    title: str,
    max_chars: int | None,
) -> str:
    color = wants_color(ctx)
    # Where the whole of a cut plan is: a workflow run's artifacts only inside one.
    in_ci = os.environ.get("GITHUB_ACTIONS") == "true"
    full_plan = render.FULL_PLAN_GITHUB if in_ci else render.FULL_PLAN_LOCAL
    if sections is None:
        text = render.plan_as(
            result, fmt, title=title, color=color, max_chars=max_chars, full_plan=full_plan
        )
    else:
        change, drift = sections
        text = render.sections_as(
            result,
            change,
            drift,
            fmt,
            title=title,
            color=color,
            max_chars=max_chars,
            full_plan=full_plan,
        )
    return text


@cli.command()
@global_options
@click.argument("saved", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True)
@click.option(
    "--max-chars",
    type=click.IntRange(min=1000),
    default=None,
    help="Markdown only: cut whole resources from the end, with a note, to fit N characters.",
)
@click.option(
    "--title",
    default="reconciler",
    show_default=True,
    help="Markdown heading, as plain text (escaped).",
)
@click.option(
    "--subject",
    default=None,
    help="Shown after the title as code, escaped so no name can break out of it "
    "(default: the saved file's name; '' for none).",
)
@click.pass_context
def show(
    ctx: click.Context,
    saved: Path,
    fmt: str,
    max_chars: int | None,
    title: str,
    subject: str | None,
) -> None:
    """Render a saved PLAN.json or an apply REPORT.json again, offline (like terraform show)."""
    subject = saved.name if subject is None else subject
    heading = render.heading(title, subject or None)
    report = planfile.load_report_if_report(saved)
    if report is not None:
        echo(ctx, render.report_as(report, fmt, title=heading, color=wants_color(ctx)))
        return
    loaded = planfile.load_saved(saved)
    echo(
        ctx,
        _rendered_plan(ctx, loaded.plan, loaded.sections, fmt, title=heading, max_chars=max_chars),
    )


@cli.command()
@global_options
@provider_option
def schema(provider: str) -> None:
    """Print the desired-state file's JSON Schema, to save beside your files for editors."""
    click.echo(json.dumps(document.published_schema(provider), indent=2))


@cli.command()
@global_options
@base_url_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the file here instead of stdout (an existing file only with --force).",
)
@click.option("--force", is_flag=True, help="Replace an existing --out file.")
@api_key_env_option
@federation_options
@provider_option
@click.pass_context
def export(
    ctx: click.Context,
    base_url: str | None,
    out: Path | None,
    force: bool,
    api_key_env: str | None,
    provider: str,
) -> None:
    """Write the live organization as a desired-state file that plans to no changes.

    Reads the key from --api-key-env, else the provider's default variable
    (CLAUDE_API_KEY or ANTHROPIC_ADMIN_KEY; ANTHROPIC_ADMIN_KEY for anthropic-admin)."""
    if out is not None and out.exists() and not force:
        raise OutputPathError(
            f"{out} exists and may be a file written by hand; nothing was sent. Pass --force "
            "to replace it, or choose another --out."
        )
    check_outputs(("--out", out), inputs=())
    connection = connection_for(ctx, base_url=base_url, provider=provider, api_key_env=api_key_env)
    data = run(flows.export(connection))
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
        echo(ctx, f"Wrote {out}.\n", err=True)
    else:
        echo(ctx, text)


@cli.command()
@global_options
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), required=False)
@base_url_option
@provider_option
@click.option("--template", is_flag=True, help="Write the commented template even with a key.")
@click.option("--force", is_flag=True, help="Replace FILE and its schema if they exist.")
@api_key_env_option
@click.pass_context
def init(
    ctx: click.Context,
    file: Path | None,
    base_url: str | None,
    provider: str,
    template: bool,
    force: bool,
    api_key_env: str | None,
) -> None:
    """Write a starter desired-state FILE (default org.yaml) and its JSON Schema beside it.

    With a key in the environment, FILE holds the live organization (as export
    writes it), so its first plan is empty; without one, a commented template.
    Either way it starts with the yaml-language-server line, so editors check it."""
    target, schema_path = starter.paths_for(file, provider)
    starter.refuse_existing(target, schema_path, force=force)
    check_outputs(("FILE", target), ("the schema", schema_path), inputs=())
    defaults = providers.get(provider).key_variables
    variables = key_variable_for(api_key_env, None, defaults=defaults, source="init")
    if template or not any(os.environ.get(name, "").strip() for name in variables):
        body = starter.template(provider)
        what = "a commented template; with a key set, init --force starts from live instead"
    else:
        connection = connection_for(
            ctx, base_url=base_url, provider=provider, api_key_env=api_key_env
        )
        data = run(flows.export(connection))
        body = render.desired_state_yaml(data, origin=connection.base_url)
        what = f"the live organization at {connection.base_url}"
    starter.write(target, schema_path, body, provider)
    echo(
        ctx,
        f"Wrote {target} ({what}) and {schema_path}. Next: reconciler plan "
        f"{shlex.quote(str(target))}\n",
        err=True,
    )


@cli.command()
@global_options
@click.option("--keep", is_flag=True, help="Leave the sandbox database in place.")
@provider_option
@click.pass_context
def demo(ctx: click.Context, keep: bool, provider: str) -> None:
    """Start a sandbox on a free port and run plan → apply → plan on the shipped example."""
    run_demo(
        show=lambda text: echo(ctx, text), color=wants_color(ctx), keep=keep, provider=provider
    )


cli.add_command(apply_command, name="apply")
cli.add_command(adopt_command, name="adopt")
cli.add_command(sandbox_command, name="sandbox")
for _provider in providers.installed():  # each API's own commands, from its package
    for _command in _provider.commands():
        cli.add_command(_command)


def main() -> None:
    """Run the group, keeping exit code 2 for "changes present": click's own usage
    errors (which it would exit with 2) exit 1 like every other error."""
    try:
        code = cli.main(prog_name="reconciler", standalone_mode=False)
    except click.UsageError as exc:  # one sentence, like every other error
        where = exc.ctx.command_path if exc.ctx else "reconciler"
        message = exc.format_message().rstrip(".")
        end = "" if message.endswith("?") else "."
        click.echo(f"Error: {message} (see '{where} --help'){end}", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(1)
    except click.Abort:
        click.echo("Aborted; nothing more was started.", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
