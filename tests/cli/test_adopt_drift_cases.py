"""The nightly job's adoption, as the drift workflow runs it (``plan --detailed-exitcode
--out``, then ``adopt --plan``), through the command against a sandbox process, in the
three cases that once opened no pull request: a list ``export`` wrote as a block list,
a pruned security section with a newcomer (a plan apply refuses without --force), and
a watched difference (an org:admin rule changed in the Console). Each adopts, says
what it wrote, and plans clean afterwards."""

from __future__ import annotations

from pathlib import Path

import anthropic
import pytest
import yaml

from tests.support.sandbox import ORG_ADMIN_KEY, SandboxProcess, run_cli, shipped_seed

pytestmark = pytest.mark.e2e
EVENTS = ["external_key.failed", "external_key.recovered"]


def nightly(org: Path, env: dict[str, str], tmp_path: Path) -> tuple[int, str]:
    """The drift workflow's plan then adoption: the plan's exit code and adopt's output."""
    saved = tmp_path / "reconciler-drift.json"
    plan = run_cli("plan", str(org), "--detailed-exitcode", "--out", str(saved), env=env)
    assert saved.exists(), plan.output
    adopted = run_cli("adopt", str(org), "--plan", str(saved), env=env)
    assert adopted.exit_code == 0, adopted.output
    clean = run_cli("plan", str(org), "--detailed-exitcode", env=env)
    assert clean.exit_code == 0, clean.output
    return plan.exit_code, adopted.stdout


def test_a_block_list_export_wrote_is_adopted_in_place(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    env = {"ANTHROPIC_ADMIN_KEY": ORG_ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url}
    org_api = anthropic.Anthropic(api_key=ORG_ADMIN_KEY, base_url=sandbox.url).beta.organization
    hook = org_api.webhooks.create(
        name="ops", url="https://ops.example/hook", enabled_events=EVENTS
    )
    org = tmp_path / "org.yaml"
    exported = run_cli("export", "--provider", "anthropic-admin", "--out", str(org), env=env)
    assert exported.exit_code == 0, exported.output
    text = org.read_text()
    assert "    events:\n    - external_key.failed\n    - external_key.recovered\n" in text
    org.write_text(text.replace("    events:\n", "    events:  # who reads these: ops\n"))
    org_api.webhooks.update(hook.id, enabled_events=EVENTS[:1])
    code, said = nightly(org, env, tmp_path)
    assert code == 2
    assert f'~ webhook["ops"].events: {EVENTS!r}'.replace("'", '"') in said
    adopted = org.read_text()
    assert "    events:  # who reads these: ops\n    - external_key.failed\n    enabled:" in adopted
    org_api.webhooks.update(hook.id, enabled_events=list(reversed(EVENTS)))
    nightly(org, env, tmp_path)  # grows back: a block list again, in the live order
    assert yaml.safe_load(org.read_text())["webhooks"]["ops"]["events"] == sorted(EVENTS)


def test_a_newcomer_in_a_pruned_security_section_is_added_to_the_file(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    seed = shipped_seed()
    seed["admin"]["service_accounts"].append(
        {"id": "svac_01Outside", "name": "outsider", "organization_role": "developer"}
    )
    assert sandbox.control("POST", "reset", json=seed).status_code == 200
    env = sandbox.federated(sandbox.identity_token())
    org = tmp_path / "org.yaml"
    org.write_text(
        "version: 1\nprovider: anthropic-admin\nservice_accounts:\n  prune: true\n"
        "  reconciler-ci:\n    organization_role: admin\n"
    )
    code, said = nightly(org, env, tmp_path)
    assert code == 1  # apply refuses it without --force: still drift, still adopted
    assert '+ service_account["outsider"]: live, and pruned by the file; added to the file' in (
        said
    )
    assert yaml.safe_load(org.read_text())["service_accounts"]["outsider"] == {
        "organization_role": "developer",
        "workspaces": {},
    }


def test_a_watched_difference_is_adopted_from_the_saved_plan(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    seed = shipped_seed()
    rule = seed["admin"]["federation"]["rules"][0]
    env = sandbox.federated(sandbox.identity_token())
    org = tmp_path / "org.yaml"
    exported = run_cli("export", "--provider", "anthropic-admin", "--out", str(org), env=env)
    assert exported.exit_code == 0, exported.output
    kept = yaml.safe_load(org.read_text())
    org.write_text(yaml.safe_dump({k: kept[k] for k in ("version", "provider", "federation")}))
    rule["token_lifetime_seconds"] = 3600  # an administrator, in the Console
    assert sandbox.control("POST", "reset", json=seed).status_code == 200
    env = sandbox.federated(sandbox.identity_token())
    code, said = nightly(org, env, tmp_path)
    assert code == 2
    assert '~ federation_rule["org-settings-main"]: token_lifetime_seconds written as live' in said
    rules = yaml.safe_load(org.read_text())["federation"]["rules"]
    assert rules["org-settings-main"]["token_lifetime_seconds"] == 3600
