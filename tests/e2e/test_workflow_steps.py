"""The reusable workflows' own shell steps, run for real against a sandbox process.

GitHub cannot run here, but each step that runs reconciler is a bash script with
inputs in its environment: run it as the runner would, and check what a user sees
(exit code, job summary, files for the artifacts)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from ..sandbox import ADMIN_KEY, SandboxProcess

pytestmark = pytest.mark.e2e
WORKFLOWS = Path(__file__).resolve().parents[2] / ".github" / "workflows"
ORG = "version: 1\ncompany:\n  billing_email: finance@example.com\n"


def step(workflow: str, name: str) -> dict[str, Any]:
    data = yaml.safe_load((WORKFLOWS / workflow).read_text())
    (job,) = data["jobs"].values()
    found: dict[str, Any] = next(s for s in job["steps"] if s.get("name") == name)
    return found


def run_step(found: dict[str, Any], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    summary = cwd / "summary.md"
    summary.touch()
    base = {k: v for k, v in os.environ.items() if k not in ("CLAUDE_API_KEY", "GITHUB_ACTIONS")}
    return subprocess.run(
        # As GitHub's runner runs `run:` steps: bash --noprofile --norc -eo pipefail {0}
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", found["run"]],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**base, "GITHUB_STEP_SUMMARY": str(summary), "RUNNER_TEMP": str(cwd), **env},
    )


def inputs(sandbox: SandboxProcess, **extra: str) -> dict[str, str]:
    return {
        "FILE": "org.yaml",
        "KEY_ENV": "CLAUDE_API_KEY",
        "RECONCILER_API_KEY": ADMIN_KEY,
        "RECONCILER_BASE_URL": sandbox.url,
        **extra,
    }


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "org.yaml").write_text(ORG)
    return tmp_path


def test_drift_step_fails_and_summarises_when_live_differs(
    sandbox: SandboxProcess, repo: Path
) -> None:
    drift = step("reconciler-drift.yml", "Plan with --detailed-exitcode")
    done = run_step(drift, repo, **inputs(sandbox))
    assert done.returncode == 1
    assert "::error title=Drift::" in done.stdout
    assert "| `billing_email` |" in (repo / "summary.md").read_text()
    sandbox.api("PATCH", "", json={"billing_email": "finance@example.com"})
    again = run_step(drift, repo, **inputs(sandbox))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No drift" in again.stdout


def test_plan_step_writes_the_saved_plan_the_comment_and_the_summary(
    sandbox: SandboxProcess, repo: Path
) -> None:
    (repo / "base.yaml").write_text("version: 1\n")
    done = run_step(step("reconciler-plan.yml", "Plan"), repo, **inputs(sandbox, MAX_CHARS="60000"))
    assert done.returncode == 0, done.stdout + done.stderr
    comment = (repo / "reconciler-out" / "comment.md").read_text()
    assert comment.startswith("### reconciler plan: `org.yaml`")
    assert "#### Changes from this edit of the file" in comment
    assert (repo / "summary.md").read_text() == comment
    saved = json.loads((repo / "reconciler-out" / "plan.json").read_text())
    assert saved["summary"]["to_change"] == 1
    assert ADMIN_KEY not in (repo / "reconciler-out" / "plan.json").read_text()


def test_apply_step_applies_the_reviewed_plan_of_the_merged_file(
    sandbox: SandboxProcess, repo: Path
) -> None:
    (repo / "reviewed").mkdir()
    run_step(step("reconciler-plan.yml", "Plan"), repo, **inputs(sandbox, MAX_CHARS="60000"))
    (repo / "reconciler-out" / "plan.json").rename(repo / "reviewed" / "plan.json")
    done = run_step(
        step("reconciler-apply.yml", "Apply"),
        repo,
        **inputs(sandbox, MAX_CHANGES="20", REVIEWED="true", FORCE="false"),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert sandbox.api("GET", "").json()["billing_email"] == "finance@example.com"
    assert json.loads((repo / "reconciler-report.json").read_text())["summary"]["applied"] == 1


def test_apply_step_refuses_a_plan_of_another_version_of_the_file(
    sandbox: SandboxProcess, repo: Path
) -> None:
    (repo / "reviewed").mkdir()
    run_step(step("reconciler-plan.yml", "Plan"), repo, **inputs(sandbox, MAX_CHARS="60000"))
    (repo / "reconciler-out" / "plan.json").rename(repo / "reviewed" / "plan.json")
    (repo / "org.yaml").write_text(ORG + "  usage_limit: 5\n")  # merged after the review
    done = run_step(
        step("reconciler-apply.yml", "Apply"),
        repo,
        **inputs(sandbox, MAX_CHANGES="20", REVIEWED="true", FORCE="false"),
    )
    assert done.returncode == 1
    assert "run plan again" in done.stderr.lower()
    assert sandbox.writes() == []


def test_apply_step_fails_with_plan_again_when_the_reviewed_plan_is_stale(
    sandbox: SandboxProcess, repo: Path
) -> None:
    (repo / "reviewed").mkdir()
    run_step(step("reconciler-plan.yml", "Plan"), repo, **inputs(sandbox, MAX_CHARS="60000"))
    (repo / "reconciler-out" / "plan.json").rename(repo / "reviewed" / "plan.json")
    sandbox.api("PATCH", "", json={"billing_email": "someone-else@example.com"})
    writes = len(sandbox.writes())
    done = run_step(
        step("reconciler-apply.yml", "Apply"),
        repo,
        **inputs(sandbox, MAX_CHANGES="20", REVIEWED="true", FORCE="false"),
    )
    assert done.returncode == 1
    assert "stale" in done.stderr
    assert "run plan again" in done.stderr
    assert len(sandbox.writes()) == writes


def test_apply_step_respects_max_changes(sandbox: SandboxProcess, repo: Path) -> None:
    (repo / "org.yaml").write_text(ORG + "projects:\n  proj_1: {name: a}\n  proj_2: {name: b}\n")
    done = run_step(
        step("reconciler-apply.yml", "Apply"),
        repo,
        **inputs(sandbox, MAX_CHANGES="2", REVIEWED="false", FORCE="false"),
    )
    assert done.returncode == 1
    assert "--max-changes 2" in done.stderr
    assert sandbox.writes() == []


def test_apply_step_passes_force_only_when_the_input_says_so(
    sandbox: SandboxProcess, repo: Path
) -> None:
    """An Admin API file whose prune is guarded: refused by default, applied with
    the workflow's ``force: true`` (the key goes in ANTHROPIC_ADMIN_KEY)."""
    (repo / "org.yaml").write_text(
        "version: 1\nprovider: anthropic-admin\nworkspaces:\n  Research:\n    members:\n"
        "      prune: true\n      ben@example.com: workspace_developer\n"
    )
    admin = {"KEY_ENV": "ANTHROPIC_ADMIN_KEY", "RECONCILER_API_KEY": "sk-ant-admin01-sandbox"}
    refused = run_step(
        step("reconciler-apply.yml", "Apply"),
        repo,
        **{**inputs(sandbox, MAX_CHANGES="20", REVIEWED="false", FORCE="false"), **admin},
    )
    assert refused.returncode == 1
    assert "apply with --force" in refused.stderr
    forced = run_step(
        step("reconciler-apply.yml", "Apply"),
        repo,
        **{**inputs(sandbox, MAX_CHANGES="20", REVIEWED="false", FORCE="true"), **admin},
    )
    assert forced.returncode == 0, forced.stderr
    assert "1 applied, 0 failed" in forced.stdout
