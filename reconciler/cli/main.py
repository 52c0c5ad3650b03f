"""The command line's group: parse, delegate to the engine's flows, turn errors into
one clear sentence and an exit code; the short commands (validate, schema, export,
init, demo) live here, the longer ones beside it (``plan``, ``apply``, ``adopt``).
Exit codes: 0 success / no changes, 1 error, 2 changes present (``plan
--detailed-exitcode``), 128 + the signal's number when stopped by one (130 for Ctrl-C)."""

from __future__ import annotations

import json
import os
import shlex
import sys
import traceback
from pathlib import Path
from typing import Any

import click

from reconciler import __version__, providers
from reconciler.cli import options, starter
from reconciler.cli.adopt import adopt as adopt_command
from reconciler.cli.apply import apply as apply_command
from reconciler.cli.claims import check as check_claims
from reconciler.cli.claims import claims_of
from reconciler.cli.demo import run_demo
from reconciler.cli.options import (
    Options,
    api_key_env_option,
    base_url_option,
    check_outputs,
    connection_for,
    echo,
    federation_options,
    global_options,
    offline_options,
    options_of,
    provider_option,
    run,
    wants_color,
)
from reconciler.cli.plan import plan as plan_command
from reconciler.cli.plan import show as show_command
from reconciler.cli.usage import usage as usage_command
from reconciler.core.errors import (
    INTERRUPTED_EXIT,
    ConfigError,
    OutputPathError,
    Problem,
    ReconcilerError,
)
from reconciler.core.escape import lines, no_workflow_commands
from reconciler.core.files import write_text
from reconciler.desired import document
from reconciler.engine import flows, render
from reconciler.net.connection import key_variable_for
from reconciler.sandbox.command import sandbox as sandbox_command

# The commands a reader meets first, in the order of their use; the rest follow, by name.
MAIN_COMMANDS = ("init", "validate", "plan", "apply", "show")


class ReconcilerGroup(click.Group):
    """The one place errors become output: a sentence on stderr, exit 1, a
    traceback only with ``--debug``; and the help that lists the main commands first,
    as Terraform's does."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        listed = {name: self.get_command(ctx, name) for name in self.list_commands(ctx)}
        rows = {
            name: command.get_short_help_str(limit=formatter.width)
            for name, command in listed.items()
            if command is not None and not command.hidden
        }
        main = [(name, rows[name]) for name in MAIN_COMMANDS if name in rows]
        other = [(name, text) for name, text in rows.items() if name not in MAIN_COMMANDS]
        for title, section in (("Main commands", main), ("Other commands", other)):
            if section:
                with formatter.section(title):
                    formatter.write_dl(section)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ReconcilerError as exc:
            _fail(ctx, exc.message, exc, exit_code=exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt as exc:
            _fail(ctx, "Interrupted; nothing more was started.", exc, exit_code=INTERRUPTED_EXIT)
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


@cli.command(short_help="Check files offline: schema and YAML traps.")
@offline_options
@click.argument("files", nargs=-1, required=False, type=click.Path(dir_okay=False))
@click.option(
    "--policy",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Check this policy file too: its schema, and each rule's CEL condition compiled.",
)
@click.option(
    "--claims",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A sample identity token's claims (JSON): say which federation rules of FILES "
    "admit it, and why the others do not; exit 2 when none does.",
)
@click.pass_context
def validate(
    ctx: click.Context, files: tuple[str, ...], policy: Path | None, claims: Path | None
) -> None:
    """Check desired-state FILES (and a --policy file) offline (schema and YAML traps,
    CEL conditions); exit 0 when all are valid. With --claims, which rules admit a token."""
    if not files and policy is None:
        raise click.UsageError("name the FILES to check, or a --policy file, or both")
    problems: list[Problem] = []
    if policy is not None:
        from reconciler.policy import rules as policy_rules  # CEL only when asked for

        try:
            loaded = policy_rules.load(policy)
            count = len(loaded.rules)
            echo(ctx, f"{policy}: valid policy ({count} rule{'' if count == 1 else 's'})\n")
        except ConfigError as exc:
            problems += exc.problems
    for name in files:
        try:
            document.load(name)
            echo(ctx, f"{name}: valid\n")
        except ConfigError as exc:
            problems += exc.problems
    if problems:
        raise ConfigError(problems)
    if claims is not None:
        check_claims(ctx, files, claims_of(claims))


@cli.command(short_help="Print the file's JSON Schema, for editors.")
@offline_options
@provider_option
@click.option("--policy", is_flag=True, help="The policy file's schema instead.")
def schema(provider: str, policy: bool) -> None:
    """Print the desired-state file's JSON Schema (or with --policy, the policy file's),
    to save beside your files for editors."""
    if policy:
        from reconciler.policy import rules as policy_rules  # CEL only when asked for

        click.echo(json.dumps(policy_rules.schema(), indent=2))
        return
    click.echo(json.dumps(document.published_schema(provider), indent=2))


@cli.command(short_help="Write the live organization as a file.")
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


@cli.command(short_help="Start a file (and its schema): from live, or a template.")
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
    starter.refuse_existing(target, schema_path, provider, force=force)
    target.parent.mkdir(parents=True, exist_ok=True)  # orgs/acme.yaml: the layout ci.md shows
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


@cli.command(short_help="Run plan, apply, plan against a throwaway sandbox.")
@global_options
@click.option("--keep", is_flag=True, help="Leave the sandbox database in place.")
@provider_option
@click.pass_context
def demo(ctx: click.Context, keep: bool, provider: str) -> None:
    """Start a sandbox on a free port and run plan → apply → plan on the shipped example."""
    run_demo(
        show=lambda text: echo(ctx, text), color=wants_color(ctx), keep=keep, provider=provider
    )


cli.add_command(plan_command, name="plan")
cli.add_command(show_command, name="show")
cli.add_command(apply_command, name="apply")
cli.add_command(adopt_command, name="adopt")
cli.add_command(sandbox_command, name="sandbox")
cli.add_command(usage_command, name="usage")
for _provider in providers.installed():  # each API's own commands, lent our options
    for _command in _provider.commands(options):
        cli.add_command(_command)


def main(args: list[str] | None = None) -> None:
    """Run the group on ``args`` (the command line's when None), keeping exit code 2
    for "changes present": click's own usage errors (which it would exit with 2) exit 1
    like every other error."""
    try:
        code = cli.main(args=args, prog_name="reconciler", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:  # bare "reconciler": the help itself
        click.echo(exc.ctx.get_help() if exc.ctx else cli.get_help(click.Context(cli)))
        sys.exit(0)
    except click.UsageError as exc:  # one sentence, like every other error
        where = exc.ctx.command_path if exc.ctx else "reconciler"
        message = exc.format_message().rstrip(".")
        end = "" if message.endswith("?") else "."
        click.echo(f"Error: {message} (see '{where} --help'){end}", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(1)
    except click.Abort:  # Ctrl-C where click was reading
        click.echo("Aborted; nothing more was started.", err=True)
        sys.exit(INTERRUPTED_EXIT)
    sys.exit(code if isinstance(code, int) else 0)
