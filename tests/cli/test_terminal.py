"""Around apply: Terraform's approval rule, and the undo plan recorded as each
resource is applied (so an interrupted apply still leaves a complete undo)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from reconciler.cli import terminal
from reconciler.core.errors import ApprovalError
from reconciler.core.model import DesiredState
from reconciler.engine import flows, planfile
from reconciler.net.connection import Connection
from tests.support.sandbox import ADMIN_KEY


def test_without_a_terminal_apply_needs_auto_approve(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(ApprovalError, match="needs --auto-approve"):
        terminal.approve(auto_approve=False)
    terminal.approve(auto_approve=True)


def test_only_yes_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("click.prompt", lambda *a, **k: "y")
    with pytest.raises(ApprovalError, match="cancelled; nothing was written"):
        terminal.approve(auto_approve=False)
    monkeypatch.setattr("click.prompt", lambda *a, **k: " yes ")
    terminal.approve(auto_approve=False)


def test_the_undo_plan_is_written_as_the_apply_goes(
    asgi_transport: httpx.ASGITransport, tmp_path: Path
) -> None:
    connection = Connection(
        "http://127.0.0.1:9", ADMIN_KEY, "CLAUDE_API_KEY", transport=asgi_transport
    )
    wanted = DesiredState("org.yaml", "0" * 64, {"project.proj_2": {"name": "R"}})

    async def run() -> None:
        plan = await flows.plan_file(wanted, connection)
        undo = planfile.UndoRecorder(tmp_path / "undo.json", plan, api_key=ADMIN_KEY)
        report, stopped_by = await terminal.apply_until_interrupted(plan, connection, undo=undo)
        assert report.ok
        assert stopped_by is None

    asyncio.run(run())
    undo = json.loads((tmp_path / "undo.json").read_text())
    assert undo["kind"] == "undo"
    (back,) = undo["resources"]
    assert back["changes"]["name"] == {"before": "R", "after": "Research Lab"}


def test_ctrl_c_at_the_prompt_says_nothing_was_started(monkeypatch: pytest.MonkeyPatch) -> None:
    import click

    def interrupted(*_: object, **__: object) -> str:
        raise click.Abort

    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("click.prompt", interrupted)
    with pytest.raises(ApprovalError, match="cancelled at the prompt; nothing was started"):
        terminal.approve(auto_approve=False)
