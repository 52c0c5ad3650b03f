"""``reconciler plan`` and ``reconciler show``: a plan of each file against live state
(with ``--compare-to``, the edit apart from drift; ``--as-of``, the holds as they
will be), rendered as text, JSON or markdown and saved with ``--out``; and a saved
plan or apply report rendered again, offline. The flow is ``flows.plan_edit``."""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import click

from reconciler.cli.options import (
    FORMATS,
    api_key_env_option,
    base_url_option,
    check_outputs,
    each_source,
    echo,
    federation_options,
    global_options,
    keys_and_host,
    offline_options,
    reading_for,
    run,
    targets_option,
    wants_color,
)
from reconciler.cli.policing import Policing, policing, policy_options
from reconciler.core.errors import PolicyError, UnsafePlanError
from reconciler.core.model import Plan
from reconciler.desired import document, holds
from reconciler.engine import flows, planfile, render


@click.command(epilog=keys_and_host(), short_help="Show what would change, file by file.")
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
@policy_options
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
    judge_by = policing(ctx)  # read and compiled before any request
    planned = each_source(
        ctx,
        files,
        lambda file: _plan_one(
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
            judge_by=judge_by,
        ),
    )
    shown = [(file, one.text) for file, one in planned.results]
    _show_plans(ctx, shown, fmt, several=len(files) > 1)
    planned.check("files could not be planned")
    _refuse_guarded([(file, one.guards) for file, one in planned.results])
    denials = [one.denial for _, one in planned.results if one.denial]
    if denials:
        raise PolicyError(" ".join(denials))
    if detailed_exitcode and any(one.changed for _, one in planned.results):
        ctx.exit(2)


@dataclass(frozen=True)
class _Planned:
    changed: bool  # changes now, or (with --compare-to) a hold the edit changes
    text: str
    guards: tuple[str, ...]  # why apply would refuse it without --force
    denial: str | None = None  # why the policy denies it


def _refuse_guarded(guarded: list[tuple[str, tuple[str, ...]]]) -> None:
    """A plan apply will refuse without --force fails the command once it is shown (and
    saved), as Terraform fails a plan that breaks a prevent_destroy: a green check must
    not stand for a plan that cannot be applied as it is."""
    found = [(file, guards) for file, guards in guarded if guards]
    if found:
        said = "; ".join(f"{file}: {'; '.join(guards)}" for file, guards in found)
        raise UnsafePlanError(
            f"Apply refuses this plan without --force ({said}). Review the removals above, "
            "then apply with --force if they are meant."
        )


def _show_plans(
    ctx: click.Context, shown: list[tuple[str, str]], fmt: str, *, several: bool
) -> None:
    """The plans of the files that could be planned, each under its heading. JSON is
    one shape however many files: a plan object per file, with its ``file``, one per
    line (JSON Lines), so a script reads one file's output as it reads ten's."""
    if fmt == "json":
        for file, text in shown:
            plan = {"file": file, **json.loads(text)}
            echo(ctx, json.dumps(plan, ensure_ascii=False) + "\n")
    elif several and fmt == "text":
        echo(ctx, "\n".join(f"== {file} ==\n\n{text}" for file, text in shown))
    else:
        echo(ctx, "\n".join(text for _, text in shown))


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
    judge_by: Policing | None = None,
) -> _Planned:
    """Whether one file's plan has changes (with --compare-to, an edit of a hold is one:
    it changes the organization later, unreviewed otherwise), its rendering (saved
    with --out), and why apply would refuse it without --force."""
    check_outputs(("--out", out), inputs=(Path(file), compare_to))
    desired = document.load(file, as_of)
    base = document.load_or_empty(compare_to, desired.provider) if compare_to else None
    connection = reading_for(ctx, desired, base_url=base_url, api_key_env=api_key_env)
    planned = run(flows.plan_edit(desired, connection, targets, base=base, ahead=as_of is not None))
    result, sections = (judge_by or Policing()).judged(planned.plan), planned.sections
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
    return _Planned(planned.has_changes, text, tuple(result.guards), Policing.denial(result))


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


@click.command(short_help="Render a saved plan or apply report again, offline.")
@offline_options
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
    "(default: the file a saved plan was made from, else the saved file's name; '' for "
    "none).",
)
@click.option(
    "--adoption",
    is_flag=True,
    help="Markdown only: the body of a pull request adopting this drift plan, its "
    'security-relevant changes first ("merge only if your organization made these '
    'changes on purpose").',
)
@policy_options
@click.pass_context
def show(
    ctx: click.Context,
    saved: Path,
    fmt: str,
    max_chars: int | None,
    title: str,
    subject: str | None,
    adoption: bool,
) -> None:
    """Render a saved PLAN.json or an apply REPORT.json again, offline (like terraform show)."""
    report = planfile.load_report_if_report(saved)
    if report is not None:
        heading = render.heading(title, (saved.name if subject is None else subject) or None)
        echo(ctx, render.report_as(report, fmt, title=heading, color=wants_color(ctx)))
        return
    judge_by = policing(ctx)
    loaded = planfile.load_saved(saved)
    loaded = replace(loaded, plan=judge_by.judged(loaded.plan))  # a saved verdict is not read
    # The file the plan was made from names it better than the artifact it travels in.
    named = loaded.plan.source.get("file") or saved.name
    heading = render.heading(title, (named if subject is None else subject) or None)
    if adoption:
        if fmt != "markdown":
            raise click.UsageError("--adoption goes with --format markdown.")
        shown = (named if subject is None else subject) or None
        echo(ctx, render.adoption_markdown(loaded.plan, subject=shown, max_chars=max_chars))
        return
    echo(
        ctx,
        _rendered_plan(ctx, loaded.plan, loaded.sections, fmt, title=heading, max_chars=max_chars),
    )
