"""A pull request's comment is cut to fit, never at the cost of security: through the
installed command against a sandbox process, a plan whose workspaces carry the most
and longest tags the file allows, beside a federation rule that admits any job,
keeps the rule and its warning in the comment, and the cut note names each kind it
cut and how many. A limit the security part alone passes is an error, not a comment
that passes the limit (GitHub would refuse it) or hides part of the review."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.support.sandbox import SandboxProcess, run_installed

pytestmark = pytest.mark.e2e


def tagged_beside_any_job(sandbox: SandboxProcess, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The organization exported, with six workspaces of the most and longest tags, and
    a rule admitting any job (as the service account it creates), last in the plan."""
    env = sandbox.federated(sandbox.identity_token())
    org = tmp_path / "org.yaml"
    exported = run_installed("export", "--provider", "anthropic-admin", "--out", str(org), env=env)
    assert exported.exit_code == 0, exported.output
    data = yaml.safe_load(org.read_text())
    tags = {f"tag-{i:02d}-" + "x" * 120: "y" * 200 for i in range(50)}  # the most allowed
    for n in range(6):
        data["workspaces"][f"Team {n}"] = {"tags": dict(tags)}
    data["service_accounts"]["app-deploy"] = {"organization_role": "developer"}
    data["federation"]["rules"]["zz-any-job"] = {  # last in the plan's order
        "issuer": "github-actions",
        "service_account": "app-deploy",
        "oauth_scope": "workspace:developer",
        "match": {"condition": 'claims.repository_id == "401363720" || true'},
        "token_lifetime_seconds": 900,
        "workspaces": "all",
    }
    org.write_text(yaml.safe_dump(data))
    return org, env


def test_the_comment_keeps_every_security_resource_and_names_what_it_cut(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    org, env = tagged_beside_any_job(sandbox, tmp_path)
    done = run_installed("plan", str(org), "--format", "markdown", "--max-chars", "20000", env=env)
    assert done.exit_code == 0, done.output
    comment = done.stdout
    assert 'federation_rule["zz-any-job"]' in comment.split("This plan was cut to fit")[0]
    assert "admits a job of another owner" in comment
    kept = comment.split("This plan was cut to fit")[0]
    assert 'service_account["app-deploy"]' in kept  # who the rule lets a job act as
    assert "its organization role is developer" in kept
    note = comment[comment.index("This plan was cut to fit") :].splitlines()[0]
    assert "(cut: " in note
    shown, total = (int(n) for n in note.split(":** ")[1].split(" resources")[0].split(" of "))
    assert total == 8
    assert shown < total
    assert f"(cut: {total - shown} workspace)" in note


def test_a_comment_whose_security_alone_does_not_fit_fails_with_why(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    org, env = tagged_beside_any_job(sandbox, tmp_path)
    done = run_installed("plan", str(org), "--format", "markdown", "--max-chars", "1000", env=env)
    assert done.exit_code == 1
    assert done.stdout == ""  # no comment that hides part of the security review
    assert "security-relevant part alone takes" in done.stderr
    assert "more than --max-chars 1,000, and none of it may be cut from a review" in done.stderr
    assert "Traceback" not in done.stderr
