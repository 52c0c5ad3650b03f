"""``reconciler apply``: make the live organization match a file or a reviewed saved
plan (or an undo plan), after the checks that keep it safe: the plan derived again
from its file and live state, ``--max-changes``, guards and ``--force``, a typed
``yes``. ``engine.flows`` does the work and ``terminal`` the prompt and interrupts;
this module is the command line and what it writes (report, undo plan)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field, replace
from pathlib import Path

import click

from reconciler.cli import terminal
from reconciler.cli.options import (
    api_key_env_option,
    base_url_option,
    check_outputs,
    connection_for,
    each_source,
    echo,
    federation_options,
    global_options,
    keys_and_host,
    run,
    targets_option,
    wants_color,
)
from reconciler.cli.policing import Policing, policing, policy_options
from reconciler.cli.secret_options import secret_options
from reconciler.core.errors import StoppedBySignal
from reconciler.core.files import write_json
from reconciler.core.model import ApplyReport, DesiredState, Plan
from reconciler.engine import flows, planfile, render
from reconciler.net.connection import Connection


@click.command(epilog=keys_and_host(), short_help="Make the changes of files or saved plans.")
@global_options
@click.argument("sources", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@base_url_option
@click.option("--auto-approve", is_flag=True, help="Apply without asking (needed without a TTY).")
@click.option(
    "--max-changes",
    type=click.IntRange(min=0),
    default=None,
    help="Refuse a plan that changes more than N resources.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=8,
    show_default=True,
    help="Writes in flight at once (the reads of a plan are not limited by it).",
)
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
@targets_option
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
    "the file the plan names). The plan is checked against it before any write.",
)
@click.option(
    "--only-ended-holds",
    is_flag=True,
    help="With FILE: apply only when every change comes from holds that have ended (a "
    "held value's then, an ended grant's removal) and --reviewed-plan lists each of those "
    "holds; otherwise write nothing and say why. What the drift workflow runs when its "
    "apply-ended-holds input allows.",
)
@click.option(
    "--reviewed-plan",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="With --only-ended-holds: a saved plan a reviewer saw (plan --out, e.g. the pull "
    "request's); only holds it lists as they are now may end by themselves.",
)
@api_key_env_option
@federation_options
@secret_options
@policy_options
@click.pass_context
def apply(
    ctx: click.Context,
    sources: tuple[Path, ...],
    base_url: str | None,
    auto_approve: bool,
    max_changes: int | None,
    concurrency: int,
    report: Path | None,
    undo_out: Path | None,
    targets: tuple[str, ...],
    force: bool,
    expect_file: Path | None,
    only_ended_holds: bool,
    reviewed_plan: Path | None,
    api_key_env: str | None,
) -> None:
    """Make the changes of SOURCES: desired-state files, or saved PLAN.json files once
    checked against theirs.

    A saved plan is a claim: apply reads the file it was made from, plans it again
    against live state, and writes only resources the plan holds that are, to the
    value, what the file asks for now. An undo plan (--undo-out) is checked by the
    signature apply gave it instead. Several sources are applied one after another,
    each asked for on its own; a failure in one does not stop the next (a declined
    approval does), and the exit code is one for all."""
    if len(sources) > 1 and (report or undo_out or expect_file):
        raise click.UsageError(
            "--report, --undo-out and --expect-file go with one source; apply the files one "
            "at a time for them"
        )
    if only_ended_holds != (reviewed_plan is not None):
        raise click.UsageError(
            "--only-ended-holds and --reviewed-plan go together: only holds a reviewed plan "
            "(plan --out) lists may end by themselves"
        )
    choices = ApplyChoices(
        base_url=base_url,
        auto_approve=auto_approve,
        max_changes=max_changes,
        concurrency=concurrency,
        report=report,
        undo_out=undo_out,
        targets=targets,
        force=force,
        expect_file=expect_file,
        api_key_env=api_key_env,
        reviewed_plan=reviewed_plan,
        judge_by=policing(ctx),  # read and compiled before any request
    )
    applied = each_source(ctx, sources, lambda s: _apply_one(ctx, s, choices), headings=True)
    applied.check("sources did not apply cleanly")


@dataclass(frozen=True)
class ApplyChoices:
    """The options of one ``apply`` run, the same for each of its sources."""

    base_url: str | None
    auto_approve: bool
    max_changes: int | None
    concurrency: int
    report: Path | None
    undo_out: Path | None
    targets: tuple[str, ...]
    force: bool
    expect_file: Path | None
    api_key_env: str | None
    # With --only-ended-holds: the saved plan whose holds may end by themselves.
    reviewed_plan: Path | None = None
    judge_by: Policing = field(default_factory=Policing)  # --policy, --approved-by, ...


def _apply_one(ctx: click.Context, source: Path, choices: ApplyChoices) -> None:
    """One source: a file planned now, or a saved or undo plan verified, then applied."""
    check_outputs(
        ("--report", choices.report),
        ("--undo-out", choices.undo_out),
        inputs=(source, choices.expect_file, choices.reviewed_plan),
    )
    prepared = run(
        flows.to_apply(
            source,
            _connector(ctx, choices),
            targets=choices.targets,
            expect_file=choices.expect_file,
            reviewed=choices.reviewed_plan,
        )
    )
    if isinstance(prepared, flows.HeldBack):
        if prepared.plan is not None:
            echo(ctx, render.plan_text(prepared.plan, color=wants_color(ctx)) + "\n")
        echo(ctx, prepared.why + "\n")
        return
    result, connection = _judged(prepared.plan, choices), prepared.connection
    if choices.undo_out:
        planfile.signing_key(connection.api_key)  # no key to sign with: said before the plan
    echo(ctx, render.plan_text(result, color=wants_color(ctx)))
    # Before any write and before asking, and with nothing to write too: a rule still
    # awaiting its owners (the policy file's own, or a hold's) is not yet in force.
    Policing.refuse_unless_allowed(result)
    if result.is_empty:
        return
    flows.check_safe(result, max_changes=choices.max_changes, force=choices.force)
    terminal.approve(choices.auto_approve)
    undo = (
        planfile.UndoRecorder(choices.undo_out, result, api_key=connection.api_key)
        if choices.undo_out
        else None
    )
    outcome, signum = run(terminal.apply_until_interrupted(result, connection, undo=undo))
    outcome = replace(outcome, policy=result.policy)  # the report says who waived what
    echo(ctx, "\n" + render.report_text(outcome, color=wants_color(ctx)))
    _say_what_was_written(ctx, outcome, choices)
    problem = flows.failure(outcome)
    if signum is not None:  # exits as the shell expects of a signal: 128 + its number
        said = problem.message if problem else "Interrupted; everything started was applied."
        raise StoppedBySignal(said, exit_code=128 + signum)
    if problem is not None:
        raise problem


def _judged(plan: Plan, choices: ApplyChoices) -> Plan:
    """The plan with the policy's verdict. With ``--only-ended-holds`` the holds still
    to end are not judged: this apply writes none of them (they were judged when the
    file that holds them was applied), and the ended ones are judged as the changes
    they make."""
    if choices.reviewed_plan is None:
        return choices.judge_by.judged(plan)
    ending = replace(plan, holds=tuple(h for h in plan.holds if h.ended))
    return replace(choices.judge_by.judged(ending), holds=plan.holds)


def _connector(ctx: click.Context, choices: ApplyChoices) -> flows.Connect:
    """How the flow connects for what a source asks (a file's provider, a saved plan's
    API): with the operator's key variable, host and concurrency, to write."""

    def writing(asked: DesiredState | Plan, asked_by: str, provider: str) -> Connection:
        return connection_for(
            ctx,
            base_url=choices.base_url,
            provider=provider,
            asked=asked,
            asked_by=asked_by,
            api_key_env=choices.api_key_env,
            write=True,
            concurrency=choices.concurrency,
        )

    return writing


def _say_what_was_written(ctx: click.Context, outcome: ApplyReport, choices: ApplyChoices) -> None:
    """The report (``--report``) written now, and where the undo plan went."""
    if choices.report:
        write_json(choices.report, outcome.data())
        echo(ctx, f"Wrote the apply report to {choices.report}.\n", err=True)
    if choices.undo_out and choices.undo_out.exists():
        echo(
            ctx,
            f"Wrote the undo plan to {choices.undo_out}; to put back what this apply "
            f"changed, run:\n    reconciler apply {shlex.quote(str(choices.undo_out))}\n",
            err=True,
        )
