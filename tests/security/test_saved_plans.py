"""A saved plan is a claim checked before anything is sent: edits of its host, its
values, its addresses or its guards are refused with no write, and an undo plan
applies only as apply signed it. Through the installed CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.sandbox import ADMIN_KEY, ORG_ADMIN_KEY, SandboxProcess, run_cli

pytestmark = pytest.mark.e2e
ORG = "version: 1\ncompany:\n  billing_email: finance@example.com\nprojects:\n  proj_2: {name: R}\n"


def env(
    sandbox: SandboxProcess, key: str = ADMIN_KEY, name: str = "CLAUDE_API_KEY"
) -> dict[str, str]:
    return {name: key, "RECONCILER_BASE_URL": sandbox.url}


def saved(sandbox: SandboxProcess, tmp_path: Path, text: str = ORG, **kw: str) -> tuple[Path, Path]:
    org, plan = tmp_path / "org.yaml", tmp_path / "plan.json"
    org.write_text(text)
    made = run_cli("plan", str(org), "--out", str(plan), env=env(sandbox, **kw))
    assert made.exit_code == 0, made.output
    return org, plan


def edit(plan: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = json.loads(plan.read_text())
    change(data)
    plan.write_text(json.dumps(data))


TAMPERS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "another host": (
        lambda d: d["api"].update(base_url="https://attacker.example"),
        "was made against https://attacker.example",
    ),
    "another value": (
        lambda d: d["resources"][0]["changes"]["billing_email"].update(after="evil@x.io"),
        "is not what the file asks for",
    ),
    "another address": (
        lambda d: d["resources"].append(
            {
                **d["resources"][1],
                "address": "project.proj_1",
                "changes": {"name": {"before": "Search", "after": "R"}},
            }
        ),
        "does not match",
    ),
    "another action": (
        lambda d: d["resources"][0].update(action="delete"),
        "does not match",
    ),
    "another file": (
        lambda d: d["source"].update(file="/etc/hostname"),
        "was not made from /etc/hostname",
    ),
    "no file": (lambda d: d.pop("source"), "Pass --expect-file FILE"),
    "made an undo": (
        lambda d: d.update(kind="undo", signature="0" * 64),
        "not the one apply wrote",
    ),
}


@pytest.mark.parametrize("name", TAMPERS)
def test_a_tampered_saved_plan_is_refused_and_nothing_is_written(
    sandbox: SandboxProcess, tmp_path: Path, name: str
) -> None:
    change, says = TAMPERS[name]
    _, plan = saved(sandbox, tmp_path)
    edit(plan, change)
    before = len(sandbox.requests())
    result = run_cli("apply", str(plan), "--auto-approve", env=env(sandbox))
    assert result.exit_code == 1, result.output
    assert says in result.stderr
    assert "Traceback" not in result.output
    assert sandbox.writes() == []
    if name in ("another host", "another file", "no file", "made an undo"):
        assert len(sandbox.requests()) == before  # refused before anything was sent


def test_the_untouched_plan_still_applies(sandbox: SandboxProcess, tmp_path: Path) -> None:
    _, plan = saved(sandbox, tmp_path)
    result = run_cli("apply", str(plan), "--auto-approve", env=env(sandbox))
    assert result.exit_code == 0, result.output
    assert "Apply: 2 applied" in result.stdout


def test_a_plan_stripped_of_its_guards_still_needs_force(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    pruning = (
        "version: 1\nprovider: anthropic-admin\nworkspaces:\n  Research:\n"
        "    members:\n      prune: true\n      ben@example.com: workspace_developer\n"
    )
    admin = {"ANTHROPIC_ADMIN_KEY": ORG_ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url}
    org, plan = tmp_path / "org.yaml", tmp_path / "plan.json"
    org.write_text(pruning)
    saving = run_cli("plan", str(org), "--out", str(plan), env=admin)
    assert saving.exit_code == 1  # a plan apply refuses without --force: saved, and failed
    assert plan.exists()
    edit(plan, lambda d: d.update(guards=[], warnings=[]))
    refused = run_cli("apply", str(plan), "--auto-approve", env=admin)
    assert refused.exit_code == 1
    assert "removes 1 of 2 members" in refused.stderr
    assert [r for r in sandbox.requests() if r["method"] != "GET"] == []


def test_an_undo_plan_applies_as_signed_and_not_once_edited(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    _, plan = saved(sandbox, tmp_path)
    undo = tmp_path / "undo.json"
    applied = run_cli(
        "apply", str(plan), "--auto-approve", "--undo-out", str(undo), env=env(sandbox)
    )
    assert applied.exit_code == 0, applied.output
    good = undo.read_text()

    def evil(data: dict[str, Any]) -> None:
        (company,) = [r for r in data["resources"] if r["address"] == "company"]
        company["changes"]["billing_email"]["after"] = "evil@x.io"

    edit(undo, evil)
    writes = len(sandbox.writes())
    refused = run_cli("apply", str(undo), "--auto-approve", env=env(sandbox))
    assert refused.exit_code == 1
    assert "The undo plan is not the one apply wrote" in refused.stderr
    assert len(sandbox.writes()) == writes
    undo.write_text(good)
    other_key = run_cli("apply", str(undo), "--auto-approve", env=env(sandbox, ADMIN_KEY + "x"))
    assert "not the one apply wrote" in other_key.stderr
    restored = run_cli("apply", str(undo), "--auto-approve", env=env(sandbox))
    assert restored.exit_code == 0, restored.output
    assert sandbox.api("GET", "").json()["billing_email"] == "billing@example.com"
