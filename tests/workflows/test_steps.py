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

from tests.support.sandbox import (
    ADMIN_KEY,
    CONTROL_KEY,
    ORGANIZATION_ID,
    RULE_ID,
    SERVICE_ACCOUNT_ID,
    SandboxProcess,
    run_installed,
)

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
        env={
            **base,
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_OUTPUT": str(cwd / "output.txt"),
            "RUNNER_TEMP": str(cwd),
            **env,
        },
    )


def inputs(sandbox: SandboxProcess, **extra: str) -> dict[str, str]:
    return {
        "FILE": "org.yaml",
        "AUTH": "key",
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
    assert done.returncode == 0, done.stdout + done.stderr
    assert (repo / "output.txt").read_text() == "drift=true\n"
    assert "| `billing_email` |" in (repo / "summary.md").read_text()
    failing = run_step(step("reconciler-drift.yml", "Fail on drift"), repo, FILE="org.yaml")
    assert failing.returncode == 1
    assert "::error title=Drift::" in failing.stdout
    sandbox.api("PATCH", "", json={"billing_email": "finance@example.com"})
    (repo / "output.txt").unlink()
    again = run_step(drift, repo, **inputs(sandbox))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No drift" in again.stdout
    assert not (repo / "output.txt").exists()


FAKE_GH = """#!/bin/sh
# A stand-in for the GitHub CLI: logs its arguments; an open pull request exists
# once one was created.
echo "$*" >> "$GH_LOG"
case "$1 $2" in
  "pr list") [ -f "$GH_LOG.created" ] && echo 7 ;;
  "pr create") touch "$GH_LOG.created" ;;
esac
exit 0
"""


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout


def adoption_repo(repo: Path) -> tuple[Path, dict[str, str]]:
    """``repo`` (holding org.yaml) as a clone with a bare remote beside it, and the
    environment of the adoption pull request's step: a stand-in ``gh`` that logs."""
    remote = repo.parent / f"{repo.name}-remote.git"
    git(repo.parent, "init", "--quiet", "--bare", str(remote))
    git(repo, "init", "--quiet", "-b", "main")
    git(repo, "add", "org.yaml")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "org")
    git(repo, "remote", "add", "origin", str(remote))
    bin_dir = repo.parent / f"{repo.name}-bin"
    bin_dir.mkdir()
    (bin_dir / "gh").write_text(FAKE_GH)
    (bin_dir / "gh").chmod(0o755)
    return remote, {
        "FILE": "org.yaml",
        "GH_TOKEN": "ghs_token",
        "BASE": "main",
        "GH_LOG": str(repo.parent / f"{repo.name}-gh.log"),
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
    }


def test_the_adoption_step_proposes_nothing_when_adopt_wrote_nothing(tmp_path: Path) -> None:
    """Drift only in what the file does not manage (a resource live and not in it):
    adopt leaves the file as it was, so no branch is pushed and no request opened."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "org.yaml").write_text("version: 1\n")
    remote, github = adoption_repo(repo)
    pull = run_step(
        step("reconciler-drift.yml", "Open or update the adoption pull request"), repo, **github
    )
    assert pull.returncode == 0, pull.stdout + pull.stderr
    assert "Nothing to adopt into org.yaml" in pull.stdout
    assert not Path(github["GH_LOG"]).exists()
    assert git(remote, "branch", "--list") == ""


def test_drift_is_adopted_as_one_pull_request_per_file(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    """Plan, adopt, then push and open the pull request: the branch holds the file as
    live state has it, the request is created once and updated after, and the step that
    talks to GitHub has its token but never the API key."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "org.yaml").write_text("version: 1\ncompany:  # ours\n  billing_email: a@example.com\n")
    remote, github = adoption_repo(repo)
    log = Path(github["GH_LOG"])
    for _night in (1, 2):
        planned = run_step(
            step("reconciler-drift.yml", "Plan with --detailed-exitcode"), repo, **inputs(sandbox)
        )
        assert planned.returncode == 0, planned.stdout + planned.stderr
        adopt = run_step(
            step("reconciler-drift.yml", "Adopt the drift into the file"), repo, **inputs(sandbox)
        )
        assert adopt.returncode == 0, adopt.stdout + adopt.stderr
        assert (repo / "org.yaml").read_text() == (
            "version: 1\ncompany:  # ours\n  billing_email: billing@example.com\n"
        )
        pull = run_step(
            step("reconciler-drift.yml", "Open or update the adoption pull request"), repo, **github
        )
        assert pull.returncode == 0, pull.stdout + pull.stderr
        assert ADMIN_KEY not in log.read_text()
        git(repo, "checkout", "--quiet", "main")
        git(repo, "checkout", "--quiet", "--", "org.yaml")
    branch = "reconciler/adopt/org.yaml"
    adopted = git(remote, "show", f"{branch}:org.yaml")
    assert adopted == "version: 1\ncompany:  # ours\n  billing_email: billing@example.com\n"
    calls = log.read_text().splitlines()
    created = [c for c in calls if c.startswith("pr create")]
    edited = [c for c in calls if c.startswith("pr edit 7")]
    assert len(created) == 1
    assert f"--head {branch} --base main" in created[0]
    assert len(edited) == 1  # the second night updates the same pull request
    body = (repo / "adoption.md").read_text()
    assert body.startswith("The live organization no longer matches `org.yaml`")
    assert "Merge only if" not in body  # nothing security-relevant drifted
    assert "| `billing_email` |" in body


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


def test_the_drift_step_applies_only_what_ended_holds_change(
    sandbox: SandboxProcess, repo: Path
) -> None:
    ended = step("reconciler-drift.yml", "Apply what ended holds change")
    (repo / "org.yaml").write_text(
        "version: 1\ncompany:\n"
        "  usage_limit: {value: 5000000, until: 2020-01-31, then: 2000000}\n"
        "  billing_email: finance@example.com\n"
    )
    # The plan reviewed on the pull request that last changed the file (fetched before).
    (repo / "reviewed").mkdir()
    reviewed = ["plan", "org.yaml", "--out", "reviewed/plan.json"]
    env = {"CLAUDE_API_KEY": ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url}
    assert run_installed(*reviewed, env=env, cwd=repo).exit_code == 0
    blocked = run_step(ended, repo, **inputs(sandbox), MAX_CHANGES="20")
    assert blocked.returncode == 0, blocked.stdout + blocked.stderr
    assert "Nothing was applied: company changes for another reason" in blocked.stdout
    assert not (repo / "output.txt").exists()
    assert sandbox.api("GET", "").json()["usage_limit"] == 1000000
    sandbox.api("PATCH", "", json={"billing_email": "finance@example.com"})  # no drift now
    done = run_step(ended, repo, **inputs(sandbox), MAX_CHANGES="20")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (repo / "output.txt").read_text() == "applied=true\n"
    assert sandbox.api("GET", "").json()["usage_limit"] == 2000000
    assert "### Applied what ended holds change" in (repo / "summary.md").read_text()


def test_the_usage_step_puts_the_month_in_the_summary_and_fails_past_warn_at(
    sandbox: SandboxProcess, repo: Path
) -> None:
    usage = step("reconciler-drift.yml", "Usage this month in the summary")
    done = run_step(usage, repo, **inputs(sandbox, WARN_AT=""))
    assert done.returncode == 0, done.stdout + done.stderr
    summary = (repo / "summary.md").read_text()
    assert summary.startswith("### Token usage, ")
    assert "```mermaid\nxychart-beta\n" in summary
    assert ADMIN_KEY not in summary + done.stdout + done.stderr
    assert sandbox.control("PATCH", "usage", json={"tokens_used": 950_000}).is_success
    warned = run_step(usage, repo, **inputs(sandbox, WARN_AT="80%"))
    assert warned.returncode == 1
    assert "::error title=Usage::This month's use reaches --warn-at 80%" in warned.stdout
    assert "past --warn-at 80%" in warned.stderr


def test_the_usage_step_on_an_admin_file_charts_spend_and_fails_a_workspace_on_course_past(
    sandbox: SandboxProcess, repo: Path
) -> None:
    # The shipped seed: Research spends $20 a day against $500, past it by the month's end.
    (repo / "org.yaml").write_text("version: 1\nprovider: anthropic-admin\nusers: {}\n")
    usage = step("reconciler-drift.yml", "Usage this month in the summary")
    done = run_step(usage, repo, **federated(sandbox, WARN_AT=""))
    assert done.returncode == 0, done.stdout + done.stderr
    summary = (repo / "summary.md").read_text()
    assert summary.startswith("### Spend, ")
    assert "#### `Research`\n\n```mermaid\nxychart-beta\n" in summary
    warned = run_step(usage, repo, **federated(sandbox, WARN_AT="100%"))
    assert warned.returncode == 1
    assert "::error title=Usage::This month's use reaches --warn-at 100%" in warned.stdout
    assert "Research: at this rate the month ends at" in warned.stderr
    assert CONTROL_KEY not in summary + warned.stdout + warned.stderr


def federated(sandbox: SandboxProcess, **extra: str) -> dict[str, str]:
    """The inputs of a caller that chose ``auth: federation``: no secret (the api-key
    input is empty), the ids as inputs, and the runner's token service (played by the
    sandbox) in the environment, as GitHub puts it there for ``id-token: write``."""
    return {
        **inputs(sandbox),
        "AUTH": "federation",
        "KEY_ENV": "ANTHROPIC_ADMIN_KEY",
        "RECONCILER_API_KEY": "",
        "ANTHROPIC_FEDERATION_RULE_ID": RULE_ID,
        "ANTHROPIC_ORGANIZATION_ID": ORGANIZATION_ID,
        "ANTHROPIC_SERVICE_ACCOUNT_ID": SERVICE_ACCOUNT_ID,
        "RECONCILER_IDENTITY_TOKEN_AUDIENCE": "https://api.anthropic.com",
        "ACTIONS_ID_TOKEN_REQUEST_URL": f"{sandbox.url}/_sandbox/oidc/actions?api-version=2.0",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": CONTROL_KEY,
        **extra,
    }


def test_plan_and_apply_steps_sign_in_by_federation_with_no_secret(
    sandbox: SandboxProcess, repo: Path
) -> None:
    (repo / "org.yaml").write_text(
        "version: 1\nprovider: anthropic-admin\nusers:\n  ada@example.com: admin\n"
        "  cleo@example.com: billing\n  dev@example.com: developer\n"
    )
    planned = run_step(
        step("reconciler-plan.yml", "Plan"), repo, **federated(sandbox, MAX_CHARS="60000")
    )
    assert planned.returncode == 0, planned.stdout + planned.stderr
    comment = (repo / "reconciler-out" / "comment.md").read_text()
    assert f"federation: rule {RULE_ID}, service account {SERVICE_ACCOUNT_ID}" in comment
    assert 'user["dev@example.com"]' in comment
    applied = run_step(
        step("reconciler-apply.yml", "Apply"),
        repo,
        **federated(sandbox, MAX_CHANGES="20", REVIEWED="false", FORCE="false"),
    )
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "1 applied, 0 failed" in applied.stdout
    report = json.loads((repo / "reconciler-report.json").read_text())
    assert report["api"]["auth"] == "federation"
    drift = run_step(
        step("reconciler-drift.yml", "Plan with --detailed-exitcode"), repo, **federated(sandbox)
    )
    assert drift.returncode == 0, drift.stdout + drift.stderr
    assert "No drift" in drift.stdout


def test_a_step_with_neither_a_secret_nor_federation_says_which_is_missing(
    sandbox: SandboxProcess, repo: Path
) -> None:
    keyless = run_step(
        step("reconciler-plan.yml", "Plan"), repo, **inputs(sandbox, RECONCILER_API_KEY="")
    )
    assert keyless.returncode == 1
    assert "::error::auth is key, but the api-key secret is empty" in keyless.stdout
    odd = run_step(step("reconciler-plan.yml", "Plan"), repo, **inputs(sandbox, AUTH="oidc"))
    assert odd.returncode == 1
    assert "::error::auth must be key or federation, not 'oidc'." in odd.stdout
    company = run_step(step("reconciler-plan.yml", "Plan"), repo, **federated(sandbox))
    assert company.returncode == 1
    assert "the company provider takes a key" in company.stderr
    (repo / "org.yaml").write_text("version: 1\nprovider: anthropic-admin\n")
    no_permission = {**federated(sandbox), "ACTIONS_ID_TOKEN_REQUEST_URL": ""}
    refused = run_step(step("reconciler-plan.yml", "Plan"), repo, **no_permission)
    assert refused.returncode == 1
    assert "in GitHub Actions, permissions: id-token: write" in refused.stderr


def test_a_plan_apply_would_refuse_is_saved_and_commented_then_fails_the_job(
    sandbox: SandboxProcess, repo: Path
) -> None:
    """The Plan step saves and renders a plan that needs --force (so the comment is
    posted) and says so in its output; the last step then fails the job."""
    (repo / "org.yaml").write_text(
        "version: 1\nprovider: anthropic-admin\nworkspaces:\n  Research:\n"
        "    members:\n      prune: true\n      ben@example.com: workspace_developer\n"
    )
    (repo / "base.yaml").write_text("version: 1\nprovider: anthropic-admin\n")
    env = inputs(sandbox, MAX_CHARS="60000", KEY_ENV="ANTHROPIC_ADMIN_KEY")
    env["RECONCILER_API_KEY"] = "sk-ant-admin01-sandbox"
    done = run_step(step("reconciler-plan.yml", "Plan"), repo, **env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Apply refuses this plan without --force" in done.stderr
    assert "refused=true" in (repo / "output.txt").read_text().splitlines()
    comment = (repo / "reconciler-out" / "comment.md").read_text()
    assert "> [!CAUTION]\n> **Apply refuses this plan without `--force`:**" in comment
    last = step("reconciler-plan.yml", "Fail when apply would refuse this plan")
    assert last["if"] == "steps.plan.outputs.refused == 'true'"
    failed = run_step(last, repo)
    assert failed.returncode == 1
    assert "::error::Apply refuses this plan as it is: the comment says why" in failed.stdout


def test_the_plan_step_stops_when_no_plan_could_be_made(
    sandbox: SandboxProcess, repo: Path
) -> None:
    (repo / "org.yaml").write_text("version: 1\ncompany:\n  usage_limit: lots\n")
    done = run_step(step("reconciler-plan.yml", "Plan"), repo, **inputs(sandbox, MAX_CHARS="60000"))
    assert done.returncode == 1
    assert not (repo / "reconciler-out" / "comment.md").exists()
    output = repo / "output.txt"
    assert not output.exists() or "refused=" not in output.read_text()


def test_drift_that_apply_would_refuse_is_drift_with_its_caution(
    sandbox: SandboxProcess, repo: Path
) -> None:
    """A night's plan past the guard exits 1 with its plan saved: the drift step counts
    it as drift (summary and adopt pull request), not as an error without a summary;
    a file that cannot be planned still stops the step."""
    (repo / "org.yaml").write_text(
        "version: 1\nprovider: anthropic-admin\nworkspaces:\n  Research:\n"
        "    members:\n      prune: true\n      ben@example.com: workspace_developer\n"
    )
    env = inputs(sandbox, KEY_ENV="ANTHROPIC_ADMIN_KEY")
    env["RECONCILER_API_KEY"] = "sk-ant-admin01-sandbox"
    drift = step("reconciler-drift.yml", "Plan with --detailed-exitcode")
    done = run_step(drift, repo, **env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (repo / "output.txt").read_text() == "drift=true\n"
    assert "Apply refuses this plan without `--force`" in (repo / "summary.md").read_text()
    (repo / "output.txt").unlink()
    (repo / "reconciler-drift.json").unlink()
    (repo / "org.yaml").write_text("version: 1\ncompany:\n  usage_limit: lots\n")
    broken = run_step(drift, repo, **inputs(sandbox))
    assert broken.returncode == 1
    assert not (repo / "output.txt").exists()


POLICY = (
    "version: 1\nowners: [policy-admin]\nrules:\n  - name: big-usage-limit\n"
    "    when: '\"usage_limit\" in change.after && change.after.usage_limit > 1500000'\n"
    "    effect: require_approval\n    owners: [finance-lead]\n"
    "    message: Raising the usage limit past 1.5M tokens needs finance.\n"
)


def test_the_plan_steps_judge_by_the_base_branchs_policy_and_name_its_owners(
    sandbox: SandboxProcess, repo: Path
) -> None:
    # The base branch holds the policy; the pull request weakens it and raises the limit.
    (repo / "policy.yaml").write_text(POLICY)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    who = ("-c", "user.name=t", "-c", "user.email=t@example.com")
    git(repo, *who, "commit", "-q", "-m", "base")
    git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")
    git(repo, "checkout", "-q", "-b", "pr")
    (repo / "policy.yaml").write_text(POLICY.replace("1500000", "9000000"))
    (repo / "org.yaml").write_text(ORG + "  usage_limit: 2000000\n")
    git(repo, *who, "commit", "-q", "-am", "weaken the policy, raise the limit")
    fetched = run_step(
        step("reconciler-plan.yml", "The policy as it is on the base branch"),
        repo,
        POLICY="policy.yaml",
        BASE_REF="main",
    )
    assert fetched.returncode == 0, fetched.stderr
    planned = run_step(
        step("reconciler-plan.yml", "Plan"), repo, **inputs(sandbox, MAX_CHARS="60000")
    )
    assert planned.returncode == 0, planned.stdout + planned.stderr
    comment = (repo / "reconciler-out" / "comment.md").read_text()
    assert "`big-usage-limit`" in comment  # the base's rule, not the weakened one
    assert "Owners: @finance-lead" in comment
    assert "`policy-file`: This change edits the policy file itself" in comment
    assert "Owners: @policy-admin" in comment


def test_the_apply_step_applies_only_with_an_owners_approval(
    sandbox: SandboxProcess, repo: Path
) -> None:
    (repo / "org.yaml").write_text(ORG + "  usage_limit: 2000000\n")
    (repo / "policy.yaml").write_text(POLICY)  # as the step before it leaves it
    apply = step("reconciler-apply.yml", "Apply")
    args = inputs(sandbox, MAX_CHANGES="20", REVIEWED="false", FORCE="false")
    waiting = run_step(apply, repo, **args, APPROVED_BY="someone-else", POLICY_CHANGED="false")
    assert waiting.returncode == 1
    assert "requires approval before this plan is applied" in waiting.stderr
    assert sandbox.writes() == []
    done = run_step(apply, repo, **args, APPROVED_BY="finance-lead", POLICY_CHANGED="false")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((repo / "reconciler-report.json").read_text())
    assert report["policy"]["waived"] == [{"rule": "big-usage-limit", "by": ["finance-lead"]}]


def test_the_drift_step_puts_a_new_federation_rule_first_and_fails(
    sandbox: SandboxProcess, repo: Path
) -> None:
    exported = run_installed(
        "export",
        "--provider",
        "anthropic-admin",
        env=sandbox.federated(sandbox.identity_token()),
    )
    assert exported.exit_code == 0, exported.output
    whole = yaml.safe_load(exported.stdout)
    kept = {k: whole[k] for k in ("version", "provider", "organization", "service_accounts")}
    (repo / "org.yaml").write_text(yaml.safe_dump({**kept, "federation": whole["federation"]}))
    drift = step("reconciler-drift.yml", "Plan with --detailed-exitcode")
    clean = run_step(drift, repo, **federated(sandbox))
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "No drift" in clean.stdout
    # Someone adds a rule letting any branch of a fork act as reconciler's account.
    seed = yaml.safe_load(Path("reconciler/examples/sandbox-seed.yaml").read_text())
    seed["admin"]["federation"]["rules"].append(
        {
            "id": "fdrl_01Intruder",
            "name": "intruder",
            "issuer_id": "fdis_01SandboxGitHubActions",
            "match": {"subject_prefix": "repo:someone/fork:*"},
            "oauth_scope": "workspace:developer",
            "target": {"type": "service_account", "service_account_id": SERVICE_ACCOUNT_ID},
        }
    )
    # And shortens the issuer's token lifetime: a change adopt can write into the file.
    seed["admin"]["federation"]["issuers"][0]["max_jwt_lifetime_seconds"] = 600
    sandbox.control("POST", "reset", json=seed).raise_for_status()
    (repo / "summary.md").unlink()
    found = run_step(drift, repo, **federated(sandbox))
    assert found.returncode == 0, found.stdout + found.stderr
    assert (repo / "output.txt").read_text() == "drift=true\n"
    summary = (repo / "summary.md").read_text()
    caution = summary.index("**Security-relevant changes found live:**")
    assert caution < summary.index("No changes to write")
    assert (
        'federation_rule\\["intruder"\\] is live and not in the file: a GitHub Actions' in summary
    )
    assert "whose subject is repo:someone/fork: followed by anything" in summary
    # The adoption pull request says it first: merge only if it was made on purpose.
    _, github = adoption_repo(repo)
    adopted = run_step(
        step("reconciler-drift.yml", "Adopt the drift into the file"), repo, **federated(sandbox)
    )
    assert adopted.returncode == 0, adopted.stdout + adopted.stderr
    # The saved plan adopts the issuer's lifetime even though a workload may not write it.
    issuer = yaml.safe_load((repo / "org.yaml").read_text())["federation"]["issuers"]
    assert issuer["github-actions"]["max_jwt_lifetime_seconds"] == 600
    pull = run_step(
        step("reconciler-drift.yml", "Open or update the adoption pull request"), repo, **github
    )
    assert pull.returncode == 0, pull.stdout + pull.stderr
    body = (repo / "adoption.md").read_text()
    assert body.startswith(
        "> [!CAUTION]\n> **Merge only if your organization made these changes on purpose:**\n"
        '> - federation_rule\\["intruder"\\] is live and not in the file'
    )
    assert body.index("Merge only if") < body.index("The live organization no longer matches")
    assert body.count("is live and not in the file") == 1  # said once, first
