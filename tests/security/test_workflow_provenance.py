"""The apply workflow applies only the reviewed plan: an artifact from a successful
pull_request run of the plan workflow, in this repository (not a fork), for the
merged pull request's head commit; the drift workflow lets a hold end by itself only
with the plan reviewed so on the pull request that last changed the file. Both fetch
steps (one script, ``.github/scripts/reviewed-plan.sh``) run for real in bash with jq;
``gh api`` is a stand-in on PATH answering GitHub's documented JSON from a folder,
and the artifact zip holds a marker naming which artifact was taken."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
FETCHES = {"apply": "reconciler-apply.yml", "drift": "reconciler-drift.yml"}
REPO, REPO_ID, FORK_ID = "acme/org-settings", 100, 999
MERGE, HEAD = "m" * 40, "h" * 40
GH = """#!/usr/bin/env python3
import pathlib, sys, urllib.parse
path = sys.argv[2]
name = urllib.parse.quote(path, safe="")
found = pathlib.Path(sys.argv[0]).parent / "answers" / name
if not found.exists():
    sys.exit(f"gh: no answer for {path}")
sys.stdout.buffer.write(found.read_bytes())
"""


def fetch_step(workflow: str) -> dict[str, Any]:
    data = yaml.safe_load((WORKFLOWS / FETCHES[workflow]).read_text())
    (job,) = data["jobs"].values()
    found: dict[str, Any] = next(
        s for s in job["steps"] if s.get("name", "").startswith("Fetch the plan")
    )
    return found


def artifact(
    artifact_id: int, run: int, *, head: str = HEAD, repo: int = REPO_ID
) -> dict[str, Any]:
    return {
        "id": artifact_id,
        "expired": False,
        "workflow_run": {
            "id": run,
            "repository_id": REPO_ID,
            "head_repository_id": repo,
            "head_sha": head,
        },
    }


def run_of(
    conclusion: str = "success", event: str = "pull_request", repo: str = REPO
) -> dict[str, Any]:
    return {
        "conclusion": conclusion,
        "event": event,
        "path": ".github/workflows/reconciler-plan.yml",
        "head_repository": {"full_name": repo},
    }


def fetch(
    tmp_path: Path,
    artifacts: list[dict[str, Any]],
    runs: dict[int, dict[str, Any]],
    workflow: str = "apply",
) -> subprocess.CompletedProcess[str]:
    tools, answers = tmp_path / "bin", tmp_path / "bin" / "answers"
    answers.mkdir(parents=True)
    gh = tools / "gh"
    gh.write_text(GH)
    gh.chmod(gh.stat().st_mode | stat.S_IEXEC)

    def answer(path: str, body: Any) -> None:
        from urllib.parse import quote

        target = answers / quote(path, safe="")
        target.write_bytes(body if isinstance(body, bytes) else json.dumps(body).encode())

    # The drift workflow runs on a later commit; the file last changed in the merge.
    answer(f"repos/{REPO}/commits?sha={'n' * 40}&path=org.yaml&per_page=1", [{"sha": MERGE}])
    answer(
        f"repos/{REPO}/commits/{MERGE}/pulls", [{"number": 7, "merged_at": "2026-11-26T00:00:00Z"}]
    )
    answer(f"repos/{REPO}/pulls/7", {"head": {"sha": HEAD}})
    answer(
        f"repos/{REPO}/actions/artifacts?name=reconciler-plan-pr-7&per_page=100",
        {"artifacts": artifacts},
    )
    for run_id, run in runs.items():
        answer(f"repos/{REPO}/actions/runs/{run_id}", run)
    for item in artifacts:
        zipped = tmp_path / f"{item['id']}.zip"
        with zipfile.ZipFile(zipped, "w") as archive:
            archive.writestr("plan.json", json.dumps({"artifact": item["id"]}))
        answer(f"repos/{REPO}/actions/artifacts/{item['id']}/zip", zipped.read_bytes())
    work = tmp_path / "work"
    work.mkdir()
    (work / ".reconciler-source").symlink_to(ROOT)  # where the workflows check it out
    (tmp_path / "output.txt").touch()
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", fetch_step(workflow)["run"]],
        cwd=work,
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "PATH": f"{tools}:{os.environ['PATH']}",
            "RUNNER_TEMP": str(tmp_path),
            "REPO": REPO,
            "REPO_ID": str(REPO_ID),
            "SHA": MERGE if workflow == "apply" else "n" * 40,
            "GITHUB_OUTPUT": str(tmp_path / "output.txt"),
            "FILE": "org.yaml",
            "PREFIX": "reconciler-plan",
            "PLAN_WORKFLOW": "reconciler-plan.yml",
        },
    )


def taken(tmp_path: Path) -> int | None:
    plan = tmp_path / "work" / "reviewed" / "plan.json"
    return json.loads(plan.read_text())["artifact"] if plan.exists() else None


CASES = {
    "a fork's run": ([artifact(1, 11, repo=FORK_ID)], {11: run_of(repo="mallory/org-settings")}),
    "another commit": ([artifact(1, 11, head="e" * 40)], {11: run_of()}),
    "a failed run": ([artifact(1, 11)], {11: run_of(conclusion="failure")}),
    "a push run": ([artifact(1, 11)], {11: run_of(event="workflow_dispatch")}),
    "another workflow": ([artifact(1, 11)], {11: {**run_of(), "path": ".github/workflows/x.yml"}}),
    "none at all": ([], {}),
}


@pytest.mark.parametrize("case", CASES)
def test_an_artifact_that_fails_provenance_is_never_applied(tmp_path: Path, case: str) -> None:
    artifacts, runs = CASES[case]
    done = fetch(tmp_path, artifacts, runs)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "No plan of pull request #7 passes the provenance check" in done.stderr
    assert "::error::No reviewed plan of org.yaml" in done.stdout
    assert "nothing was applied" in done.stdout
    assert taken(tmp_path) is None


@pytest.mark.parametrize("case", CASES)
def test_no_hold_ends_by_itself_without_a_plan_that_passes_provenance(
    tmp_path: Path, case: str
) -> None:
    """The drift job goes on (it reports the drift); the ended-holds apply is skipped."""
    artifacts, runs = CASES[case]
    done = fetch(tmp_path, artifacts, runs, workflow="drift")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "::warning::No reviewed plan of org.yaml as it last changed" in done.stdout
    assert (tmp_path / "output.txt").read_text() == ""
    assert taken(tmp_path) is None


@pytest.mark.parametrize("workflow", FETCHES)
def test_the_reviewed_plan_is_found_among_impostors(tmp_path: Path, workflow: str) -> None:
    """Newest first, a fork's artifact and a failed run's come before the real one."""
    artifacts = [artifact(3, 33, repo=FORK_ID), artifact(2, 22), artifact(1, 11)]
    runs = {22: run_of(conclusion="failure"), 11: run_of()}
    done = fetch(tmp_path, artifacts, runs, workflow)
    assert done.returncode == 0, done.stdout + done.stderr
    assert taken(tmp_path) == 1
    found = (tmp_path / "output.txt").read_text()
    assert found == ("found=true\n" if workflow == "drift" else "")


def test_what_ci_installs_is_locked_with_hashes() -> None:
    """Each reusable workflow installs the lock of the reconciler commit it is given (a
    full SHA, checked), hashes required, then reconciler from that source fetching
    nothing; the lock pins every dependency of pyproject.toml, and the build backend,
    each with its hashes."""
    root = WORKFLOWS.parents[1]
    for workflow in ("reconciler-plan.yml", "reconciler-apply.yml", "reconciler-drift.yml"):
        data = yaml.safe_load((WORKFLOWS / workflow).read_text())
        inputs = data[True]["workflow_call"]["inputs"]  # YAML 1.1 reads "on" as true
        assert "install" not in inputs, workflow
        assert inputs["reconciler-commit"]["required"] is True
        (job,) = data["jobs"].values()
        runs = "\n".join(step.get("run", "") for step in job["steps"])
        assert "^[0-9a-f]{40}$" in runs, workflow
        assert (
            "pip install --quiet --require-hashes --no-deps -r "
            ".reconciler-source/requirements/ci.lock" in runs
        ), workflow
        assert "--no-deps --no-build-isolation --no-index ./.reconciler-source" in runs
        assert runs.count("pip install") == 2, workflow
    lock = (root / "requirements" / "ci.lock").read_text()
    assert "pip-compile --allow-unsafe --build-deps-for=wheel --generate-hashes" in lock
    pinned = dict(re.findall(r"^([a-z0-9_.-]+)==(\S+) \\$", lock, re.MULTILINE))
    blocks = re.split(r"\n(?=[a-z])", lock.split("\n\n", 1)[-1])
    for block in blocks:
        if block.strip() and not block.startswith("#"):
            assert "--hash=sha256:" in block, block.splitlines()[0]
    project = tomllib.loads((root / "pyproject.toml").read_text())
    for requirement in project["project"]["dependencies"] + project["build-system"]["requires"]:
        name = re.split(r"[<>=!~ \[]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        assert name in pinned, f"{name} is not in requirements/ci.lock"
