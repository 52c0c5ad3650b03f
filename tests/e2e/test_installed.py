"""The installed ``reconciler`` script, as a process, once for each command and each
provider: what the in-process tests cannot show (the entry point, start-up, a real
pipe, exit codes as the shell sees them). Behaviour is tested in process
(``run_cli``); these tests make sure the command a user runs is that one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.support.sandbox import ADMIN_KEY, ORG_ADMIN_KEY, SandboxProcess, run_installed

pytestmark = pytest.mark.e2e

ADMIN_EXAMPLE = Path("reconciler/examples/anthropic-admin.yaml")


def company_env(sandbox: SandboxProcess) -> dict[str, str]:
    return {"CLAUDE_API_KEY": ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url}


def test_each_company_command_runs_as_installed(sandbox: SandboxProcess, tmp_path: Path) -> None:
    env = company_env(sandbox)
    org, saved, exported = tmp_path / "org.yaml", tmp_path / "plan.json", tmp_path / "live.yaml"

    init = run_installed("init", str(org))
    assert init.exit_code == 0, init.output
    assert json.loads((tmp_path / "company.schema.json").read_text())["type"] == "object"
    wanted = yaml.safe_load(org.read_text())
    wanted["company"] = {"billing_email": "installed@example.com"}
    org.write_text(yaml.safe_dump(wanted))

    assert run_installed("validate", str(org)).exit_code == 0
    assert json.loads(run_installed("schema").stdout)["type"] == "object"

    plan = run_installed("plan", str(org), "--out", str(saved), "--detailed-exitcode", env=env)
    assert plan.exit_code == 2, plan.output
    assert '"installed@example.com"' in plan.stdout
    assert "installed@example.com" in run_installed("show", str(saved)).stdout
    applied = run_installed("apply", str(saved), "--auto-approve", env=env)
    assert applied.exit_code == 0, applied.output
    assert sandbox.api("GET", "").json()["billing_email"] == "installed@example.com"

    assert run_installed("export", "--out", str(exported), env=env).exit_code == 0
    assert yaml.safe_load(exported.read_text())["company"]["billing_email"] == (
        "installed@example.com"
    )
    sandbox.api("PATCH", "", json={"billing_email": "drifted@example.com"})
    adopted = run_installed("adopt", str(org), env=env)
    assert adopted.exit_code == 0, adopted.output
    assert yaml.safe_load(org.read_text())["company"]["billing_email"] == "drifted@example.com"

    usage = run_installed("usage", "--format", "json", env=env)
    assert usage.exit_code == 0, usage.output
    assert json.loads(usage.stdout)["tokens_used"] == 250000


def test_the_admin_provider_plans_and_applies_as_installed(sandbox: SandboxProcess) -> None:
    env = {"ANTHROPIC_ADMIN_KEY": ORG_ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url}
    plan = run_installed("plan", str(ADMIN_EXAMPLE), "--detailed-exitcode", env=env)
    assert plan.exit_code == 2, plan.output
    applied = run_installed("apply", str(ADMIN_EXAMPLE), "--auto-approve", env=env)
    assert applied.exit_code == 0, applied.output
    assert "0 failed" in applied.stdout
    again = run_installed("plan", str(ADMIN_EXAMPLE), "--detailed-exitcode", env=env)
    assert again.exit_code == 0, again.output


def test_an_error_is_one_sentence_and_exit_1_as_the_shell_sees_it(tmp_path: Path) -> None:
    broken = tmp_path / "org.yaml"
    broken.write_text("version: 1\ncompany:\n  usage_limit: lots\n")
    result = run_installed("plan", str(broken))
    assert result.exit_code == 1
    assert f"{broken}:3:" in result.stderr
    assert "Traceback" not in result.output
    bare = run_installed()
    assert "Traceback" not in bare.output
    assert "Usage: reconciler" in bare.output
