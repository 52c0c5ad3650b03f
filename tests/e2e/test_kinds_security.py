"""Each kind's security meaning, said once in its module, as the installed CLI says it
against a sandbox: a write-only secret goes only to the host the operator bound it to,
the plan speaks in both directions (found live, and this edit), a pruned section's
newcomers are alerts and not mere losses, and removals and undo say the kind's own
words."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anthropic
import pytest

from tests.support.sandbox import ORG_ADMIN_KEY, SandboxProcess, run_installed

pytestmark = pytest.mark.e2e
DESTINATION = (
    "version: 1\nprovider: anthropic-admin\ntelemetry_destinations:\n  honeycomb:\n"
    "    endpoint_url: {url}\n    workspaces: all\n    header_names: [x-honeycomb-team]\n"
)
HOOK = "version: 1\nprovider: anthropic-admin\nwebhooks:\n  ops:\n    url: {url}\n"
EVENTS = ["external_key.failed"]


def keyed(sandbox: SandboxProcess) -> Any:
    return anthropic.Anthropic(
        api_key=ORG_ADMIN_KEY, base_url=sandbox.url, max_retries=0
    ).beta.organization


def env_of(sandbox: SandboxProcess) -> dict[str, str]:
    return {"ANTHROPIC_ADMIN_KEY": ORG_ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url}


def writes(sandbox: SandboxProcess) -> list[dict[str, Any]]:
    return [r for r in sandbox.requests() if r["method"] != "GET"]


def test_header_values_go_only_to_the_host_the_operator_bound_them_to(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    env, org, values = env_of(sandbox), tmp_path / "org.yaml", tmp_path / "headers.json"
    org.write_text(DESTINATION.format(url="https://api.honeycomb.example/v1/traces"))
    bound = {"host": "api.honeycomb.example", "values": {"x-honeycomb-team": "hc-key"}}
    values.write_text(json.dumps({"honeycomb": bound}))
    planned = run_installed("plan", str(org), env=env)
    assert planned.exit_code == 0, planned.output
    top = planned.stdout.split("reconciler will make these changes:")[0]
    assert "Security-relevant changes in this edit:" in top
    assert (
        'telemetry_destination["honeycomb"]: this edit sends the operator\'s header values '
        "(x-honeycomb-team) to api.honeycomb.example" in top
    )
    apply = ("apply", str(org), "--auto-approve", "--telemetry-headers-file", str(values))
    assert run_installed(*apply, env=env).exit_code == 0
    # A pull request moves the destination to its own host: the vendor's key would go there.
    org.write_text(DESTINATION.format(url="https://collector.attacker.example/v1/traces"))
    moved = run_installed("plan", str(org), env=env)
    assert (
        'telemetry_destination["honeycomb"]: this edit sends the operator\'s header values '
        "(x-honeycomb-team) to collector.attacker.example" in moved.stdout
    )
    sent_before = len(writes(sandbox))
    refused = run_installed(*apply, env=env)
    assert refused.exit_code == 1, refused.output
    assert "Traceback" not in refused.output
    assert (
        "would send the operator's header values to collector.attacker.example, but "
        "--telemetry-headers-file binds them to api.honeycomb.example" in refused.stderr
    )
    assert 'give "host": "collector.attacker.example" in its entry' in refused.stderr
    assert len(writes(sandbox)) == sent_before  # refused before any write
    assert "hc-key" not in refused.output + json.dumps(sandbox.requests())
    live = next(d for d in keyed(sandbox).telemetry_destinations.list() if d.display_name)
    assert live.endpoint_url == "https://api.honeycomb.example/v1/traces"
    # Only the operator can allow the new host, in its own file.
    bound["host"] = "collector.attacker.example"
    values.write_text(json.dumps({"honeycomb": bound}))
    assert run_installed(*apply, env=env).exit_code == 0


def test_the_plan_says_this_edit_apart_from_what_was_found_live(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    env = env_of(sandbox)
    hook = keyed(sandbox).webhooks.create(
        name="ops", url="https://ops.example/hook", enabled_events=EVENTS
    )
    base, edit = tmp_path / "base.yaml", tmp_path / "edit.yaml"
    base.write_text(HOOK.format(url="https://ops.example/hook") + f"    events: {EVENTS}\n")
    edit.write_text(HOOK.format(url="https://elsewhere.example/hook") + f"    events: {EVENTS}\n")
    # The pull request's own edit is the edit: said as what it does, never as drift.
    reviewed = run_installed("plan", str(edit), "--compare-to", str(base), env=env)
    assert reviewed.exit_code == 0, reviewed.output
    assert "Security-relevant changes found live" not in reviewed.stdout
    assert (
        'webhook["ops"]: this edit sends events to https://elsewhere.example/hook instead of '
        "https://ops.example/hook" in reviewed.stdout
    )
    markdown = run_installed(
        "plan", str(edit), "--compare-to", str(base), "--format", "markdown", env=env
    )
    assert "> **Security-relevant changes in this edit:**" in markdown.stdout
    # Someone moves it live: the same field, said the other way, as drift.
    keyed(sandbox).webhooks.update(hook.id, url="https://evil.example/hook")
    drift = run_installed("plan", str(base), "--compare-to", str(base), env=env)
    assert "Security-relevant changes in this edit" not in drift.stdout
    top = drift.stdout.split("== ")[0]
    assert "Security-relevant changes found live:" in top
    assert (
        'webhook["ops"]: events go to https://evil.example/hook live, not to '
        "https://ops.example/hook as the file says" in top
    )


def test_a_pruned_sections_newcomers_are_alerts_in_their_kinds_words(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    env, org = env_of(sandbox), tmp_path / "org.yaml"
    keyed(sandbox).webhooks.create(
        name="sneaky", url="https://evil.example/hook", enabled_events=EVENTS
    )
    keyed(sandbox).telemetry_destinations.create(
        display_name="exfil",
        endpoint_url="https://otel.evil.example/v1/traces",
        workspaces={"type": "all"},
        traces={"content_mode": "content"},
    )
    org.write_text(
        "version: 1\nprovider: anthropic-admin\nwebhooks: {prune: true}\n"
        "telemetry_destinations: {prune: true}\n"
    )
    planned = run_installed("plan", str(org), env=env)
    assert "Traceback" not in planned.output
    top = planned.stdout.split("reconciler will make these changes:")[0]
    assert "Security-relevant changes found live:" in top
    assert (
        'webhook["sneaky"] is live and not in the file: events go to https://evil.example/hook; '
        "this plan deletes it" in top
    )
    assert (
        'telemetry_destination["exfil"] is live and not in the file: spans go to '
        "https://otel.evil.example/v1/traces; spans carry prompts and outputs; this plan "
        "deletes it" in top
    )
    # Each removal in its kind's own words: a destination has no signing secret.
    assert (
        'webhook["sneaky"]: deleting it cannot be undone: its deliveries stop, and its '
        "signing secret is gone with it" in planned.stdout
    )
    assert (
        'telemetry_destination["exfil"]: deleting it cannot be undone: its spans stop, and '
        "its header values are gone with it" in planned.stdout
    )
    assert "signing secret" not in planned.stdout.split('telemetry_destination["exfil"]: del')[1]


def test_undoing_a_created_workspace_archives_it_and_says_so(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    """Undo follows the kind's removal verb: a kind that is archived is archived by its
    undo too, and the words say it cannot be undone (a service account, issuer or rule
    is the same in process: ``tests/providers/test_kinds_conformance.py``)."""
    env, org, undo = env_of(sandbox), tmp_path / "org.yaml", tmp_path / "undo.json"
    org.write_text("version: 1\nprovider: anthropic-admin\nworkspaces:\n  Scratch: {}\n")
    applied = run_installed("apply", str(org), "--auto-approve", "--undo-out", str(undo), env=env)
    assert applied.exit_code == 0, applied.output
    (change,) = json.loads(undo.read_text())["resources"]
    assert (change["address"], change["action"]) == ('workspace["Scratch"]', "archive")
    shown = run_installed("show", str(undo))
    assert (
        'workspace["Scratch"]: undoing its creation archives it (the API cannot delete a '
        "workspace), and archiving cannot be undone" in shown.stdout
    )


def test_a_traces_endpoint_on_another_host_is_a_problem_before_any_write(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    env, org = env_of(sandbox), tmp_path / "org.yaml"
    endpoint = "https://api.honeycomb.example/v1/traces"
    elsewhere = (
        DESTINATION.format(url=endpoint)
        + "    traces:\n      endpoint_url: https://collector.attacker.example/v1/traces\n"
    )
    org.write_text(elsewhere)
    planned = run_installed("plan", str(org), env=env)
    assert planned.exit_code == 1, planned.output
    assert (
        'telemetry_destination["honeycomb"]: its traces.endpoint_url '
        "(https://collector.attacker.example/v1/traces) is not on the scheme, host and port of "
        f"its endpoint_url ({endpoint}), and the API refuses that" in planned.output
    )
    assert writes(sandbox) == []
    org.write_text(elsewhere.replace("collector.attacker.example", "api.honeycomb.example"))
    same_host = run_installed("plan", str(org), env=env)
    assert same_host.exit_code == 0, same_host.output
