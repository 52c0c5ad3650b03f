"""The security surface's planning rules, in process: what reconciler writes, what it
only watches (and never plans as a write), the one sentence for a key, removals only
under prune, alerts for what matters, and the header values a write must send."""

from __future__ import annotations

from typing import Any

from reconciler.core.model import (
    Action,
    DesiredState,
    FieldChange,
    LiveResource,
    LiveState,
    ResourceChange,
)
from reconciler.providers import get
from reconciler.providers.anthropic_admin.proposals import resources
from reconciler.providers.anthropic_admin.surface_calls import needed_headers
from tests.support.builders import plan_of

GITHUB = "https://token.actions.githubusercontent.com"
PINNED = {"claims": {"repository_id": "1", "repository_owner_id": "2"}}


def desired(**sections: Any) -> DesiredState:
    found, prune = resources({"version": 1, "provider": "anthropic-admin", **sections})
    return DesiredState(
        source="org.yaml", digest="d", resources=found, provider="anthropic-admin", prune=prune
    )


def rule(
    scope: str = "workspace:developer", account: str = "deploy", **fields: Any
) -> dict[str, Any]:
    return {
        "issuer": "github-actions",
        "service_account": account,
        "oauth_scope": scope,
        "match": PINNED,
        "token_lifetime_seconds": 600,
        "workspaces": "all",
        "description": None,
        **fields,
    }


def live(oauth: bool = True, **found: dict[str, Any]) -> LiveState:
    resources_ = {
        'service_account["deploy"]': {
            "organization_role": "developer",
            "description": None,
            "workspaces": {},
        },
        'service_account["ci"]': {
            "organization_role": "admin",
            "description": None,
            "workspaces": {},
        },
        'federation_issuer["github-actions"]': {
            "issuer_url": GITHUB,
            "max_jwt_lifetime_seconds": 3600,
            "check_jti": True,
        },
        **found,
    }
    return LiveState(
        {a: LiveResource(f, None, f"id-{a}") for a, f in resources_.items()},
        context={"org_roles": {}, "invited": frozenset(), "oauth": oauth, "unoffered": []},
    )


def test_a_workload_writes_developer_accounts_and_workspace_rules() -> None:
    want = desired(
        service_accounts={
            "deploy": {"description": "ships"},
            "new-bot": {},
            "ci": {"organization_role": "admin"},  # watched, and as live: nothing said
        },
        federation={"rules": {"app": rule()}},
    )
    plan = plan_of(want, live())
    changes = {r.address: (r.action, dict(r.changes)) for r in plan.resources}
    assert changes['service_account["deploy"]'] == (
        Action.UPDATE,
        {"description": FieldChange(None, "ships")},
    )
    assert changes['service_account["new-bot"]'][0] is Action.CREATE
    assert changes['federation_rule["app"]'][0] is Action.CREATE
    assert plan.alerts == ()


def test_an_org_admin_rule_or_admin_account_is_watched_never_written() -> None:
    changed = {
        'federation_rule["admin-main"]': rule("org:admin", "ci", token_lifetime_seconds=3600)
    }
    want = desired(
        service_accounts={"ci": {"description": "now documented"}},
        federation={"rules": {"admin-main": rule("org:admin", "ci")}},
    )
    plan = plan_of(want, live(**changed))
    assert plan.resources == ()
    said = " ".join(plan.alerts)
    assert "token_lifetime_seconds is 3600 live, 600 in the file" in said
    assert "only a Console session" in said
    assert 'service_account["ci"]' in said  # its description differs, and it is admin
    settled = get("anthropic-admin").propose(
        want, live(**{'federation_rule["admin-main"]': changed})
    )
    assert set(settled.settlements) == {'federation_rule["admin-main"]', 'service_account["ci"]'}


def test_a_rule_that_would_grant_org_admin_is_never_planned_as_a_create() -> None:
    plan = plan_of(desired(federation={"rules": {"escalate": rule("org:admin")}}), live())
    assert plan.resources == ()
    assert "is in the file but not live, and reconciler will not create it" in plan.alerts[0]


def test_a_key_gets_one_sentence_for_the_oauth_only_sections() -> None:
    want = desired(service_accounts={"deploy": {}}, federation={"rules": {"app": rule()}})
    proposal = get("anthropic-admin").propose(want, live(oauth=False))
    assert len(proposal.problems) == 1
    (said,) = proposal.problems.values()
    assert "only with an OAuth access token" in said
    assert proposal.changes == []


def test_removals_only_under_prune_and_never_of_what_is_watched() -> None:
    extra = {
        'federation_rule["stray"]': rule(),
        'federation_rule["admin-main"]': rule("org:admin", "ci"),
        'webhook["old"]': {"url": "https://x.example"},
    }
    kept = desired(federation={"rules": {"app": rule()}})
    assert not [r for r in plan_of(kept, live(**extra)).resources if r.action.removes]
    pruned = desired(federation={"rules": {"prune": True, "app": rule()}})
    plan = plan_of(pruned, live(**extra))
    removals = {r.address: r.action for r in plan.resources if r.action.removes}
    assert removals == {'federation_rule["stray"]': Action.ARCHIVE}  # never admin-main
    assert any('federation_rule["admin-main"]' in a and "will not remove" in a for a in plan.alerts)


def test_alerts_name_a_new_rule_a_changed_match_and_a_new_webhook_url() -> None:
    want = desired(
        federation={"rules": {"app": rule()}},
        webhooks={"ops": {"url": "https://ops.example", "events": ["external_key.failed"]}},
    )
    now = live(
        **{
            'federation_rule["app"]': rule(match={"subject_prefix": "repo:x/y:*"}),
            'federation_rule["sneaky"]': rule(),
            'webhook["ops"]': {"url": "https://evil.example", "events": ["external_key.failed"]},
        }
    )
    said = " ".join(plan_of(want, now).alerts)
    assert 'federation_rule["sneaky"] is live and not in the file: a GitHub Actions job' in said
    assert 'federation_rule["app"]: its match was changed live' in said
    assert 'webhook["ops"]: its URL was changed live to https://evil.example' in said


def test_a_section_the_file_does_not_keep_raises_no_alert() -> None:
    now = live(**{'webhook["ops"]': {"url": "https://evil.example"}})
    assert plan_of(desired(users={}), now).alerts == ()


def test_the_header_values_a_telemetry_write_must_send() -> None:
    address = 'telemetry_destination["otel"]'

    def change(action: Action, **fields: tuple[Any, Any]) -> ResourceChange:
        return ResourceChange(
            address, action, None, {n: FieldChange(b, a) for n, (b, a) in fields.items()}
        )

    created = change(Action.CREATE, header_names=(None, ["b", "a"]))
    assert needed_headers(created, []) == ["a", "b"]
    added = change(Action.UPDATE, header_names=(["a"], ["a", "b"]))
    assert needed_headers(added, ["a"]) == ["b"]
    moved = change(Action.UPDATE, endpoint_url=("https://one.example", "https://two.example"))
    assert needed_headers(moved, ["a"]) == ["a"]  # a new host: every header again
    path_only = change(
        Action.UPDATE, endpoint_url=("https://one.example/a", "https://one.example/b")
    )
    assert needed_headers(path_only, ["a"]) == []
    assert needed_headers(change(Action.DELETE), ["a"]) == []


def test_an_entry_pinned_by_id_is_renamed_never_created_again() -> None:
    hook = {"url": "https://ops.example", "events": ["external_key.failed"]}
    now = LiveState(
        {'webhook["old-name"]': LiveResource(hook, None, "whep_1")},
        context={"org_roles": {}, "invited": frozenset(), "oauth": True, "unoffered": []},
    )
    plan = plan_of(desired(webhooks={"new-name": {"id": "whep_1", **hook}}), now)
    (change,) = plan.resources
    assert (change.address, change.action) == ('webhook["new-name"]', Action.UPDATE)
    assert change.changes == {"name": FieldChange("old-name", "new-name")}
    gone = desired(webhooks={"x": {"id": "whep_9", **hook}})
    assert (
        "nothing live has that id"
        in get("anthropic-admin").propose(gone, now).problems['webhook["x"]']
    )
    accounts = LiveState(
        {'service_account["a"]': LiveResource({"organization_role": "developer"}, None, "svac_1")},
        context={"org_roles": {}, "invited": frozenset(), "oauth": True, "unoffered": []},
    )
    problems = (
        get("anthropic-admin")
        .propose(desired(service_accounts={"b": {"id": "svac_1"}}), accounts)
        .problems
    )
    assert "a service account's name never changes" in problems['service_account["b"]']
