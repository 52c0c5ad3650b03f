"""What ``apply`` does around the writes, for the person (or pipeline) running it:
asking for approval, showing progress on a terminal, and turning SIGINT/SIGTERM
into "start no new writes, finish those in flight, report"."""

from __future__ import annotations

import asyncio
import signal
import sys

import click

from reconciler.core.errors import ApprovalError
from reconciler.core.model import ApplyReport, Plan, ResourceResult
from reconciler.engine import flows
from reconciler.engine.planfile import UndoRecorder
from reconciler.net.connection import Connection


def approve(auto_approve: bool) -> None:
    """Terraform's rule: without --auto-approve, only a typed 'yes' at a terminal applies."""
    if auto_approve:
        return
    if not sys.stdin.isatty():
        raise ApprovalError(
            "apply needs --auto-approve when there is no terminal to ask; nothing was written."
        )
    try:
        answer = click.prompt(
            "Apply these changes? Only 'yes' will be accepted", default="", show_default=False
        )
    except (click.Abort, KeyboardInterrupt, EOFError) as exc:
        raise ApprovalError("Apply cancelled at the prompt; nothing was started.") from exc
    if answer.strip() != "yes":
        raise ApprovalError("Apply cancelled; nothing was written.")


async def apply_until_interrupted(
    plan: Plan, connection: Connection, *, undo: UndoRecorder | None = None
) -> ApplyReport:
    """Apply; SIGINT/SIGTERM stop new writes while those in flight finish and are reported."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    done = 0
    show_progress = sys.stderr.isatty() and plan.to_change > 1

    def on_result(outcome: ResourceResult) -> None:
        nonlocal done
        done += 1
        if show_progress:
            end = "\n" if done == plan.to_change else ""
            click.echo(f"\rApplying: {done}/{plan.to_change}{end}", nl=False, err=True)
        if undo:
            undo.record(outcome)

    try:
        return await flows.apply(plan, connection, stop=stop, on_result=on_result)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
