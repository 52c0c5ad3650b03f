"""What ``apply`` does around the writes, for the person (or pipeline) running it:
asking for approval, showing progress on a terminal, and turning SIGINT/SIGTERM
into "start no new writes, finish those in flight, report"."""

from __future__ import annotations

import asyncio
import signal
import sys

import click

from reconciler.core.errors import ApprovalError, CancelledAtPrompt
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
    except EOFError as exc:
        raise ApprovalError("Apply cancelled at the prompt; nothing was started.") from exc
    except (click.Abort, KeyboardInterrupt) as exc:  # Ctrl-C: exits as an interrupt does
        raise CancelledAtPrompt("Apply cancelled at the prompt; nothing was started.") from exc
    if answer.strip() != "yes":
        raise ApprovalError("Apply cancelled; nothing was written.")


async def apply_until_interrupted(
    plan: Plan, connection: Connection, *, undo: UndoRecorder | None = None
) -> tuple[ApplyReport, int | None]:
    """Apply; SIGINT/SIGTERM stop new writes while those in flight finish and are reported.
    The report, and the signal that stopped it (None when it ran to its end)."""
    stop = asyncio.Event()
    received: list[int] = []
    loop = asyncio.get_running_loop()

    def stopped_by(signum: int) -> None:
        received.append(signum)
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped_by, signum)
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
        report = await flows.apply(plan, connection, stop=stop, on_result=on_result)
        return report, received[0] if received else None
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
