"""The plan workflow's pull-request comment, as a runner would write it: its script run
under Node against a mocked GitHub client, with file names a pull request chooses and
comments anyone can plant. Only the workflow's own comment is ever updated, the file's
name never reaches the hidden marker, and the heading cannot be broken out of."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.sandbox import ADMIN_KEY, SandboxProcess, run_cli

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = [
    "orgs/x` <h2>Approved, no changes<h2> `y.yaml",
    "orgs/a-->b <!-- c.yaml",
    "orgs/new\nline.yaml",
    "orgs/ünïcode ✓.yaml",
    "org.yaml",
]
BOT = {"login": "github-actions[bot]", "type": "Bot"}


def comment_script() -> str:
    workflow = yaml.safe_load((ROOT / ".github/workflows/reconciler-plan.yml").read_text())
    steps = workflow["jobs"]["plan"]["steps"]
    step = next(s for s in steps if "github-script" in s.get("uses", ""))
    assert step["env"]["AUTHOR"] == "${{ inputs.comment-author }}"
    script: str = step["with"]["script"]
    return script


def marker(file: str) -> str:
    return f"<!-- reconciler-plan: sha256:{hashlib.sha256(file.encode()).hexdigest()} -->"


def run_comment_step(
    tmp_path: Path, file: str, comments: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    node = shutil.which("node")
    assert node, "Node.js runs the comment step's script, as the runner does"
    (tmp_path / "reconciler-out").mkdir(exist_ok=True)
    (tmp_path / "reconciler-out" / "comment.md").write_text("### reconciler plan\n\nNo changes.\n")
    (tmp_path / "script.js").write_text(comment_script())
    (tmp_path / "state.json").write_text(json.dumps({"issue_number": 7, "comments": comments}))
    done = subprocess.run(
        [node, str(ROOT / "tests/tools/github_script.cjs"), "script.js", "state.json"],
        cwd=tmp_path,
        env={"FILE": file, "AUTHOR": "github-actions[bot]", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    writes: list[dict[str, Any]] = json.loads(done.stdout)
    return writes


@pytest.mark.parametrize("file", HOSTILE)
def test_the_marker_holds_a_digest_of_the_name_never_the_name(tmp_path: Path, file: str) -> None:
    (write,) = run_comment_step(tmp_path, file, [])
    body = write["create"]["body"]
    first = body.split("\n", 1)[0]
    assert first == marker(file)
    assert file not in body
    assert body.count("-->") == 1


@pytest.mark.parametrize("file", HOSTILE)
def test_a_planted_comment_is_never_the_one_updated(tmp_path: Path, file: str) -> None:
    planted = [
        {"id": 1, "user": {"login": "mallory", "type": "User"}, "body": f"{marker(file)}\nok"},
        {"id": 2, "user": {"login": "github-actions", "type": "User"}, "body": marker(file)},
        {"id": 3, "user": BOT, "body": f"{marker('other.yaml')}\nanother file's plan"},
        {"id": 4, "user": BOT, "body": f"quoted: {marker(file)}"},
    ]
    (write,) = run_comment_step(tmp_path, file, planted)
    assert "create" in write, write
    assert write["create"]["issue_number"] == 7


def test_the_workflows_own_comment_is_updated(tmp_path: Path) -> None:
    file = HOSTILE[0]
    comments = [
        {"id": 1, "user": {"login": "mallory", "type": "User"}, "body": f"{marker(file)}\nx"},
        {"id": 5, "user": BOT, "body": f"{marker(file)}\n### reconciler plan\n\nold"},
    ]
    (write,) = run_comment_step(tmp_path, file, comments)
    assert write["update"]["comment_id"] == 5
    assert write["update"]["body"].startswith(marker(file) + "\n### reconciler plan")


@pytest.mark.parametrize("file", HOSTILE)
def test_a_hostile_name_cannot_change_the_rendered_heading(
    server: SandboxProcess, tmp_path: Path, file: str
) -> None:
    """The plan step's heading, made by reconciler show: the name stays inside one code
    span (no backtick, no line break, no HTML outside it)."""
    saved = tmp_path / "plan.json"
    org = tmp_path / "org.yaml"
    org.write_text("version: 1\n")
    environment = {"CLAUDE_API_KEY": ADMIN_KEY, "RECONCILER_BASE_URL": server.url}
    assert run_cli("plan", str(org), "--out", str(saved), env=environment).exit_code == 0
    shown = run_cli(
        "show", str(saved), "--format", "markdown", "--title", "reconciler plan", "--subject", file
    )
    assert shown.exit_code == 0, shown.output
    heading = shown.stdout.split("\n", 1)[0]
    assert heading.startswith("### reconciler plan: `")
    assert heading.endswith("`")
    assert heading.count("`") == 2
    outside = heading.split("`")[0] + heading.split("`")[2]
    assert "<" not in outside
    assert "\n" not in heading
