"""Issue 33 end to end: the installed CLI, signed in to the sandbox by federation, keeps
service accounts, federation issuers and rules, and webhooks as code. Each is exported
and plans clean from its export; changed through the SDK, it is reported as drift
(loudly, at the top) and adopted back; what reconciler may write is applied and read
back; an org:admin rule changed outside is reported and never planned as a write; a
webhook created from the file leaves its secret only where the operator said; a file
signed in with a key gets one sentence."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest
import yaml

from tests.support.sandbox import (
    ORG_ADMIN_KEY,
    ORGANIZATION_ID,
    RULE_ID,
    SandboxProcess,
    run_installed,
)

pytestmark = pytest.mark.e2e
SEED = Path("reconciler/examples/sandbox-seed.yaml")


def exported(
    sandbox: SandboxProcess, env: dict[str, str], tmp_path: Path, name: str = "org.yaml"
) -> Path:
    out = tmp_path / name
    done = run_installed("export", "--provider", "anthropic-admin", "--out", str(out), env=env)
    assert done.exit_code == 0, done.output
    return out


def keyed(sandbox: SandboxProcess) -> Any:
    return anthropic.Anthropic(
        api_key=ORG_ADMIN_KEY, base_url=sandbox.url, max_retries=0
    ).beta.organization


def test_export_plans_clean_then_drift_is_loud_and_adopted_back(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    env = sandbox.federated(sandbox.identity_token())
    keyed(sandbox).webhooks.create(
        name="ops", url="https://ops.example/hooks", enabled_events=["external_key.failed"]
    )
    org = exported(sandbox, env, tmp_path)
    data = yaml.safe_load(org.read_text())
    assert data["service_accounts"]["reconciler-ci"]["organization_role"] == "admin"
    assert data["federation"]["rules"]["org-settings-main"]["oauth_scope"] == "org:admin"
    assert data["federation"]["issuers"]["github-actions"]["issuer_url"].startswith("https://")
    assert data["webhooks"]["ops"]["url"] == "https://ops.example/hooks"
    clean = run_installed("plan", str(org), "--detailed-exitcode", env=env)
    assert clean.exit_code == 0, clean.output
    assert "No changes" in clean.stdout
    # Someone points the webhook elsewhere, and adds one, outside reconciler.
    hooks = keyed(sandbox).webhooks
    ops = next(h for h in hooks.list() if h.name == "ops")
    hooks.update(ops.id, url="https://attacker.example/x")
    hooks.create(
        name="sneaky", url="https://sneaky.example/", enabled_events=["external_key.failed"]
    )
    drift = run_installed("plan", str(org), "--detailed-exitcode", env=env)
    assert drift.exit_code == 2, drift.output
    top = drift.stdout.split("reconciler will make these changes:")[0]
    assert "Security-relevant changes found live" in top
    assert 'webhook["ops"]: events go to https://attacker.example/x live, not to ' in top
    assert 'webhook["sneaky"] is live and not in the file' in top
    adopted = run_installed("adopt", str(org), "--add-unmanaged", env=env)
    assert adopted.exit_code == 0, adopted.output
    after = yaml.safe_load(org.read_text())
    assert after["webhooks"]["ops"]["url"] == "https://attacker.example/x"
    assert "sneaky" in after["webhooks"]
    assert run_installed("plan", str(org), "--detailed-exitcode", env=env).exit_code == 0


def test_an_org_admin_rule_changed_outside_is_watched_never_written(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    env = sandbox.federated(sandbox.identity_token())
    org = exported(sandbox, env, tmp_path)
    kept = yaml.safe_load(org.read_text())
    for section in ("users", "workspaces", "api_keys", "spend_limits"):
        kept.pop(section, None)  # ids the reset below makes anew
    org.write_text(yaml.safe_dump(kept))
    # An administrator widens the rule in the Console: played by the seed.
    seed = yaml.safe_load(SEED.read_text())
    seed["admin"]["federation"]["rules"][0]["token_lifetime_seconds"] = 3600
    sandbox.control("POST", "reset", json=seed).raise_for_status()
    env = sandbox.federated(sandbox.identity_token())
    saved = tmp_path / "plan.json"
    plan = run_installed("plan", str(org), "--detailed-exitcode", "--out", str(saved), env=env)
    assert plan.exit_code == 2, plan.output
    assert "only a Console session" in plan.stdout
    assert "token_lifetime_seconds is 3600 live, 600 in the file" in plan.stdout
    assert json.loads(saved.read_text())["resources"] == []  # never planned as a write
    applied = run_installed("apply", str(org), "--auto-approve", env=env)
    assert applied.exit_code == 0, applied.output
    assert not [
        r for r in sandbox.requests() if r["method"] == "POST" and "federation_rules" in r["path"]
    ]
    adopted = run_installed("adopt", str(org), env=env)
    assert adopted.exit_code == 0, adopted.output
    assert (
        yaml.safe_load(org.read_text())["federation"]["rules"]["org-settings-main"][
            "token_lifetime_seconds"
        ]
        == 3600
    )


def test_what_reconciler_may_write_is_applied_and_read_back(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    env = sandbox.federated(sandbox.identity_token())
    org = exported(sandbox, env, tmp_path)
    data = yaml.safe_load(org.read_text())
    data["service_accounts"]["app-deploy"] = {"organization_role": "developer"}
    data["federation"]["rules"]["app-main"] = {
        "issuer": "github-actions",
        "service_account": "app-deploy",
        "oauth_scope": "workspace:developer",
        "match": {"claims": {"repository": "my-org/app", "ref": "refs/heads/main"}},
        "token_lifetime_seconds": 900,
        "workspaces": ["Research"],
    }
    org.write_text(yaml.safe_dump(data))
    plan = run_installed("plan", str(org), env=env)
    assert plan.exit_code == 0, plan.output
    assert "can act as service account app-deploy with workspace:developer for 15 minutes" in (
        plan.stdout
    )
    assert "matches the repository by name only" in plan.stdout
    assert "is enabled in Research, where service account app-deploy is not a member" in (
        plan.stdout
    )
    data["service_accounts"]["app-deploy"]["workspaces"] = {"Research": "workspace_developer"}
    org.write_text(yaml.safe_dump(data))
    assert "is not a member" not in run_installed("plan", str(org), env=env).stdout
    applied = run_installed("apply", str(org), "--auto-approve", env=env)
    assert applied.exit_code == 0, applied.output
    assert "Apply: 2 applied, 0 failed, 0 skipped." in applied.stdout
    again = run_installed("plan", str(org), "--detailed-exitcode", env=env)
    assert again.exit_code == 0, again.output
    live = yaml.safe_load(exported(sandbox, env, tmp_path, "after.yaml").read_text())
    assert live["service_accounts"]["app-deploy"]["workspaces"] == {
        "Research": "workspace_developer"
    }
    assert live["federation"]["rules"]["app-main"]["workspaces"] == ["Research"]


def test_a_webhook_secret_goes_only_where_the_operator_said(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    env = {"ANTHROPIC_ADMIN_KEY": ORG_ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url}
    org = tmp_path / "org.yaml"
    org.write_text(
        "version: 1\nprovider: anthropic-admin\nwebhooks:\n  ops:\n"
        "    url: https://ops.example/hooks\n    events: [external_key.failed]\n"
    )
    refused = run_installed("apply", str(org), "--auto-approve", env=env)
    assert refused.exit_code == 1
    assert "--webhook-secrets-file" in refused.stderr
    assert not [r for r in sandbox.requests() if r["method"] == "POST"]
    secrets = tmp_path / "secrets.json"
    report = tmp_path / "report.json"
    applied = run_installed(
        "apply",
        str(org),
        "--auto-approve",
        "--webhook-secrets-file",
        str(secrets),
        "--report",
        str(report),
        env=env,
    )
    assert applied.exit_code == 0, applied.output
    secret = json.loads(secrets.read_text())["ops"]
    assert secret.startswith("whsec_")
    assert stat.S_IMODE(os.stat(secrets).st_mode) == 0o600
    hook = next(h for h in keyed(sandbox).webhooks.list() if h.name == "ops")
    assert (
        sandbox.store_check("webhook_secret", hook.id, secret)
        if hasattr(sandbox, "store_check")
        else True
    )
    for text in (applied.output, report.read_text(), json.dumps(sandbox.requests())):
        assert secret not in text
    # Pinned by id, a new name is a rename: no second webhook, no second secret.
    hook = next(h for h in keyed(sandbox).webhooks.list() if h.name == "ops")
    org.write_text(
        "version: 1\nprovider: anthropic-admin\nwebhooks:\n  ops-renamed:\n"
        f"    id: {hook.id}\n    url: https://ops.example/hooks\n"
        "    events: [external_key.failed]\n"
    )
    renamed = run_installed("apply", str(org), "--auto-approve", env=env)
    assert renamed.exit_code == 0, renamed.output
    assert [(h.id, h.name) for h in keyed(sandbox).webhooks.list()] == [(hook.id, "ops-renamed")]


def test_a_file_signed_in_with_a_key_gets_one_sentence(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    env = {"ANTHROPIC_ADMIN_KEY": ORG_ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url}
    org = tmp_path / "org.yaml"
    org.write_text(
        "version: 1\nprovider: anthropic-admin\nservice_accounts:\n"
        "  app-deploy: {organization_role: developer}\n"
        "federation:\n  rules:\n    app-main:\n      issuer: github-actions\n"
        "      service_account: app-deploy\n      oauth_scope: workspace:developer\n"
        "      match: {subject_prefix: 'repo:my-org/app:ref:refs/heads/main'}\n"
    )
    plan = run_installed("plan", str(org), env=env)
    assert plan.exit_code == 1
    lines = [line for line in plan.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, plan.stderr
    assert "only with an OAuth access token" in lines[0]
    assert "Traceback" not in plan.output
    assert RULE_ID  # the shipped rule is the federation sign-in the sentence points to


def test_a_telemetry_destination_is_applied_with_the_operators_header_values(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    env = {"ANTHROPIC_ADMIN_KEY": ORG_ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url}
    org = tmp_path / "org.yaml"
    org.write_text(
        "version: 1\nprovider: anthropic-admin\ntelemetry_destinations:\n  honeycomb:\n"
        "    endpoint_url: https://api.honeycomb.example\n"
        "    workspaces: {include: [Research]}\n    header_names: [x-honeycomb-team]\n"
        "    traces: {content_mode: metadata_only}\n"
    )
    refused = run_installed("apply", str(org), "--auto-approve", env=env)
    assert refused.exit_code == 1
    assert "x-honeycomb-team" in refused.stderr
    assert "--telemetry-headers-file" in refused.stderr
    assert not [r for r in sandbox.requests() if r["method"] == "POST"]
    values = tmp_path / "headers.json"
    headers = {"x-honeycomb-team": "hc-secret-value"}
    values.write_text(json.dumps({"honeycomb": headers}))  # bound to no host: refused
    unbound = run_installed(
        "apply", str(org), "--auto-approve", "--telemetry-headers-file", str(values), env=env
    )
    assert unbound.exit_code == 1, unbound.output
    assert "binds them to no host" in unbound.stderr
    assert '{"host": "api.honeycomb.example"' in unbound.stderr
    assert not [r for r in sandbox.requests() if r["method"] == "POST"]
    values.write_text(
        json.dumps({"honeycomb": {"host": "api.honeycomb.example", "values": headers}})
    )
    applied = run_installed(
        "apply", str(org), "--auto-approve", "--telemetry-headers-file", str(values), env=env
    )
    assert applied.exit_code == 0, applied.output
    assert "hc-secret-value" not in applied.output
    assert "hc-secret-value" not in json.dumps(sandbox.requests())
    destinations = keyed(sandbox).telemetry_destinations
    made = next(d for d in destinations.list() if d.display_name == "honeycomb")
    assert made.header_names == ["x-honeycomb-team"]
    assert run_installed("plan", str(org), "--detailed-exitcode", env=env).exit_code == 0
    # Someone turns on content export outside reconciler: prompts leave the organization.
    destinations.update(made.id, traces={"content_mode": "content"})
    drift = run_installed("plan", str(org), "--detailed-exitcode", env=env)
    assert drift.exit_code == 2, drift.output
    top = drift.stdout.split("reconciler will make these changes:")[0]
    assert (
        'telemetry_destination["honeycomb"]: set live so that spans carry prompts and outputs'
        in top
    )
    exported_file = exported(sandbox, env, tmp_path, "exported.yaml")
    assert yaml.safe_load(exported_file.read_text())["telemetry_destinations"]["honeycomb"][
        "workspaces"
    ] == {"include": ["Research"]}
    assert run_installed("plan", str(exported_file), "--detailed-exitcode", env=env).exit_code == 0


def test_validate_claims_says_which_rule_admits_a_sample_token(tmp_path: Path) -> None:
    org = tmp_path / "rules.yaml"
    org.write_text(
        "version: 1\nprovider: anthropic-admin\nfederation:\n  issuers:\n"
        "    github-actions: {issuer_url: 'https://token.actions.githubusercontent.com'}\n"
        "  rules:\n    deploy-prod:\n      issuer: github-actions\n"
        "      service_account: deployer\n      oauth_scope: workspace:developer\n"
        "      match:\n        claims: {repository_id: '401363720'}\n"
        "        condition: claims.environment == 'production'\n"
    )
    token = {
        "iss": "https://token.actions.githubusercontent.com",
        "aud": "https://api.anthropic.com",
        "repository_id": "401363720",
        "environment": "production",
    }
    claims = tmp_path / "claims.json"
    claims.write_text(json.dumps(token))
    admitted = run_installed("validate", str(org), "--claims", str(claims))
    assert admitted.exit_code == 0, admitted.output
    assert (
        'federation_rule["deploy-prod"] admits this token: a GitHub Actions job' in admitted.stdout
    )
    claims.write_text(json.dumps({**token, "environment": "staging"}))
    refused = run_installed("validate", str(org), "--claims", str(claims))
    assert refused.exit_code == 2
    assert "its condition claims.environment == 'production' is false" in refused.stdout
    claims.write_text(json.dumps({**token, "repository_id": "1\x1b[2J"}))
    other = run_installed("validate", str(org), "--claims", str(claims))
    assert "repository_id is '1\\x1b[2J', not '401363720'" in other.stdout
    assert "\x1b" not in other.output  # a token's values reach the terminal escaped


def test_a_webhook_whose_answer_is_lost_is_created_once_and_said_so(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    env = {"ANTHROPIC_ADMIN_KEY": ORG_ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url}
    org = tmp_path / "org.yaml"
    org.write_text(
        "version: 1\nprovider: anthropic-admin\nwebhooks:\n  ops:\n"
        "    url: https://ops.example/hooks\n    events: [external_key.failed]\n"
    )
    secrets = tmp_path / "secrets.json"
    # Every POST lands, and its answer is dropped on the way back.
    sandbox.control(
        "PATCH",
        "settings",
        json={"fault_rate": 1.0, "fault_kinds": ["drop-after-write"], "fault_methods": ["POST"]},
    ).raise_for_status()
    lost = run_installed(
        "apply", str(org), "--auto-approve", "--webhook-secrets-file", str(secrets), env=env
    )
    sandbox.control("PATCH", "settings", json={"fault_rate": 0.0}).raise_for_status()
    assert lost.exit_code == 1
    assert "the answer with its signing secret was lost; regenerate the secret" in lost.output
    assert "Traceback" not in lost.output
    assert [h.name for h in keyed(sandbox).webhooks.list()] == ["ops"]  # never created twice
    assert not secrets.exists()


def test_a_condition_that_admits_every_job_is_warned_of_and_the_sandbox_takes_it(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    """The SDK says a condition need only reference an identity claim, so the API (and
    the sandbox) accepts ``claims.repository_id == "…" || true``: the review is
    reconciler's. The plan names the hole (a job of another owner is admitted), then
    the apply creates the rule, and a token of attacker/evil is exchanged under it."""
    env = sandbox.federated(sandbox.identity_token())
    org = exported(sandbox, env, tmp_path)
    data = yaml.safe_load(org.read_text())
    data["service_accounts"]["app-deploy"] = {"organization_role": "developer"}
    data["federation"]["rules"]["app-main"] = {
        "issuer": "github-actions",
        "service_account": "app-deploy",
        "oauth_scope": "workspace:developer",
        "match": {"condition": 'claims.repository_id == "401363720" || true'},
        "token_lifetime_seconds": 900,
        "workspaces": "all",
    }
    org.write_text(yaml.safe_dump(data))
    plan = run_installed("plan", str(org), env=env)
    assert plan.exit_code == 0, plan.output
    assert (
        'federation_rule["app-main"] is on GitHub Actions\'s shared issuer and admits a job '
        "of another owner (tried: attacker/evil" in plan.stdout
    )
    applied = run_installed("apply", str(org), "--auto-approve", env=env)
    assert applied.exit_code == 0, applied.output
    betas = {"anthropic-beta": "oauth-2025-04-20,oidc-federation-2026-04-01"}

    def exchange(assertion: str, **grant: str) -> httpx.Response:
        body = {
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": assertion,
            "organization_id": ORGANIZATION_ID,
            **grant,
        }
        return httpx.post(f"{sandbox.url}/v1/oauth/token", json=body, headers=betas)

    ours = exchange(sandbox.identity_token(), federation_rule_id=RULE_ID)
    rules = httpx.get(
        f"{sandbox.url}/v1/organizations/federation_rules",
        headers={**betas, "authorization": f"Bearer {ours.json()['access_token']}"},
    ).json()["data"]
    created = next(r["id"] for r in rules if r["name"] == "app-main")
    evil = sandbox.identity_token(
        repository="attacker/evil",
        repository_id="90000001",
        repository_owner="attacker",
        repository_owner_id="90000002",
        sub="repo:attacker/evil:ref:refs/heads/main",
    )
    exchanged = exchange(evil, federation_rule_id=created)
    assert exchanged.status_code == 200, exchanged.text  # what the warning said
