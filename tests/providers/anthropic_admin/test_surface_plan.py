"""The security surface's planning rules, in process: what reconciler writes, what it
only watches (and never plans as a write), the one sentence for a key, removals only
under prune, alerts for what matters, and the header values a write must send."""

from __future__ import annotations

from typing import Any

from reconciler.core.edits import Put
from reconciler.core.model import (
    Action,
    DesiredState,
    FieldChange,
    LiveResource,
    LiveState,
    ResourceChange,
)
from reconciler.providers import get
from reconciler.providers.anthropic_admin.kinds import service_account, telemetry_destination
from reconciler.providers.anthropic_admin.proposals import resources
from reconciler.providers.kinds import security
from reconciler.providers.kinds.secrets import needed
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
    assert 'federation_rule["app"]: its match was changed live, so a GitHub Actions job' in said
    assert (
        'webhook["ops"]: events go to https://evil.example live, not to https://ops.example '
        "as the file says" in said
    )


def test_a_section_the_file_does_not_keep_raises_no_alert_but_names_what_is_there() -> None:
    now = live(
        **{
            'webhook["ops"]': {"url": "https://evil.example"},
            'webhook["kept"]': {"url": "https://ops.example"},
            'federation_rule["sneaky"]': rule(),
        }
    )
    planned = plan_of(desired(users={}), now)
    assert planned.alerts == ()
    named = [w for w in planned.warnings if w.startswith("Security resources live and not")]
    others = 'federation_issuer["github-actions"], federation_rule["sneaky"], '
    others += 'service_account["ci"], service_account["deploy"]'
    assert named == [
        "Security resources live and not managed by this file (a section it does not keep): "
        f'{others}, webhook["kept"], webhook["ops"]; list a section to review what is in it'
    ]
    hooks = desired(webhooks={"kept": {"url": "https://ops.example"}})
    kept = plan_of(hooks, now)
    assert 'webhook["ops"] is live and not in the file' in " ".join(kept.alerts)
    said = [w for w in kept.warnings if w.startswith("Security resources live and not")]
    assert said == [  # webhooks are kept: the one not listed is an alert above
        "Security resources live and not managed by this file (a section it does not keep): "
        f"{others}; list a section to review what is in it"
    ]


def test_the_header_values_a_telemetry_write_must_send() -> None:
    address = 'telemetry_destination["otel"]'

    def change(action: Action, **fields: tuple[Any, Any]) -> ResourceChange:
        return ResourceChange(
            address, action, None, {n: FieldChange(b, a) for n, (b, a) in fields.items()}
        )

    def needed_headers(change: ResourceChange, names: list[str]) -> list[str]:
        return needed(telemetry_destination.SPEC, change, {"header_names": names})

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
    assert problems['service_account["b"]'] == (
        'service_account["b"] is pinned to id svac_1, which is live as service_account["a"], '
        "and a service account's name never changes: write the live name"
    )


def test_a_rules_words_take_what_the_file_leaves_out_from_live() -> None:
    """The words say what the rule will grant: a lifetime the file does not write is the
    live one (10 minutes), not the default hour."""
    partial = {k: v for k, v in rule().items() if k != "token_lifetime_seconds"}
    want = desired(federation={"rules": {"app": partial}})
    now = live(**{'federation_rule["app"]': rule()})
    about = get("anthropic-admin").propose(want, now).about['federation_rule["app"]']
    assert "for 10 minutes" in about


def context(**more: Any) -> dict[str, Any]:
    return {"org_roles": {}, "invited": frozenset(), "oauth": True, "unoffered": [], **more}


def test_an_organization_without_webhooks_is_told_once_if_the_file_lists_some() -> None:
    want = desired(
        webhooks={
            "a": {"url": "https://a.example", "events": ["external_key.failed"]},
            "b": {"url": "https://b.example", "events": ["external_key.failed"]},
        }
    )
    now = LiveState({}, context=context(unoffered=["webhook"]))
    problems = get("anthropic-admin").propose(want, now).problems
    assert problems == {
        'webhook["a"]': "the Admin API answered 404 for webhooks: they are not turned on for "
        "this organization; remove the section, or ask Anthropic to turn them on"
    }
    assert get("anthropic-admin").propose(desired(users={}), now).problems == {}


def test_a_new_rule_waits_for_what_it_names_and_is_said_in_words() -> None:
    want = desired(
        service_accounts={"new-bot": {}},
        federation={
            "issuers": {"gl": {"issuer_url": "https://gitlab.com"}},
            "rules": {
                "both-new": rule(account="new-bot", issuer="gl"),
                "account-live": rule(issuer="gl"),
                "all-live": rule(issuer="github-actions"),
            },
        },
    )
    proposal = get("anthropic-admin").propose(want, live())
    waits = {c.address: c.requires for c in proposal.changes}
    assert waits['federation_rule["both-new"]'] == (
        'federation_issuer["gl"]',
        'service_account["new-bot"]',
    )
    assert waits['federation_rule["account-live"]'] == ('federation_issuer["gl"]',)
    assert waits['federation_rule["all-live"]'] == ()
    assert waits['service_account["new-bot"]'] == ()
    assert proposal.about['federation_rule["both-new"]'].startswith("a GitLab job")
    assert proposal.about['federation_rule["all-live"]'].startswith("a GitHub Actions job")


def test_a_rules_issuer_never_changes() -> None:
    now = live(**{'federation_rule["app"]': rule()})
    want = desired(federation={"rules": {"app": rule(issuer="gl")}})
    assert get("anthropic-admin").propose(want, now).problems == {
        'federation_rule["app"]': 'federation_rule["app"]: its issuer is github-actions live '
        "and gl in the file, and a federation rule's issuer never changes: give the new "
        "federation rule another name, and remove this one"
    }


def test_what_prune_removes_how_and_what_is_counted_as_unmanaged() -> None:
    now = live(
        **{
            'webhook["w"]': {"url": "https://w.example", "events": []},
            'telemetry_destination["t"]': {"endpoint_url": "https://t.example"},
            'service_account["old"]': {"organization_role": "developer", "workspaces": {}},
        }
    )
    want = desired(
        service_accounts={"prune": True, "deploy": {}, "ci": {"organization_role": "admin"}},
        webhooks={"prune": True},
        telemetry_destinations={"prune": True},
    )
    proposal = get("anthropic-admin").propose(want, now)
    # A newcomer in a pruned section is an alert, saying the plan removes it.
    alerts = dict(proposal.alerts)
    assert alerts['webhook["w"]'].endswith("; this plan deletes it")
    removals = {c.address: c.action for c in proposal.changes}
    assert removals == {
        'service_account["old"]': Action.ARCHIVE,
        'webhook["w"]': Action.DELETE,
        'telemetry_destination["t"]': Action.DELETE,
    }
    gone = next(c for c in proposal.changes if c.address == 'webhook["w"]')
    assert gone.changes["url"] == FieldChange("https://w.example", None)
    kept = get("anthropic-admin").propose(desired(users={}), now)
    assert kept.unmanaged == {
        "service account": 3,
        "federation issuer": 1,
        "webhook": 1,
        "telemetry destination": 1,
    }
    warnings, _ = get("anthropic-admin").review(proposal.changes, now)
    assert 'service_account["old"]: archiving cannot be undone' in warnings
    assert (
        'webhook["w"]: deleting it cannot be undone: its deliveries stop, and its signing '
        "secret is gone with it" in warnings
    )
    assert (  # a destination has no signing secret: its own words
        'telemetry_destination["t"]: deleting it cannot be undone: its spans stop, and its '
        "header values are gone with it" in warnings
    )


def test_a_rule_in_a_workspace_its_account_is_not_in_warns() -> None:
    workspaces = {
        'workspace["Default"]': LiveResource({"name": "Default"}, None, "wrkspc_default"),
        'workspace["Research"]': LiveResource({"name": "Research"}, None, "wrkspc_r"),
    }
    now = LiveState(
        {
            **workspaces,
            **live().resources,
        },
        context=context(default_workspace="wrkspc_default"),
    )
    everywhere = ["Default", "Research", "Sales"]
    want = desired(federation={"rules": {"app": rule(workspaces=everywhere)}})
    notes = [n for _, n in get("anthropic-admin").propose(want, now).notes if "not a member" in n]
    assert notes == [
        'federation_rule["app"] is enabled in Research, Sales, where service account deploy is '
        "not a member: the exchange refuses a token for that workspace; add the workspace to "
        "the account's workspaces"
    ]
    joined = desired(
        service_accounts={
            "deploy": {"workspaces": {"Research": "workspace_user", "Sales": "workspace_user"}}
        },
        federation={"rules": {"app": rule(workspaces=everywhere)}},
    )
    assert not [
        n for _, n in get("anthropic-admin").propose(joined, now).notes if "not a member" in n
    ]
    unknown = desired(
        federation={"rules": {"app": rule(account="elsewhere", workspaces=["Sales"])}}
    )
    assert not [
        n for _, n in get("anthropic-admin").propose(unknown, now).notes if "not a member" in n
    ]
    anywhere = desired(federation={"rules": {"app": rule(workspaces="all")}})
    assert not [
        n for _, n in get("anthropic-admin").propose(anywhere, now).notes if "not a member" in n
    ]


def test_the_files_issuer_url_is_the_one_a_rule_is_reviewed_against() -> None:
    want = desired(
        federation={
            "issuers": {"github-actions": {"issuer_url": "https://gitlab.com"}},
            "rules": {"app": rule()},
        }
    )
    about = get("anthropic-admin").propose(want, live()).about['federation_rule["app"]']
    assert about.startswith("a GitLab job")  # the file's URL, not the live GitHub one


def test_the_issuer_behind_an_org_admin_rule_is_watched_and_never_pruned() -> None:
    now = live(
        **{
            'federation_rule["admin-main"]': rule("org:admin", "ci"),
            'federation_issuer["gl"]': {"issuer_url": "https://gitlab.com"},
        }
    )
    longer = {"issuer_url": GITHUB, "max_jwt_lifetime_seconds": 7200}
    want = desired(federation={"issuers": {"prune": True, "github-actions": longer}, "rules": {}})
    proposal = get("anthropic-admin").propose(want, now)
    assert [(c.address, c.action) for c in proposal.changes] == [
        ('federation_issuer["gl"]', Action.ARCHIVE)  # backs no rule: pruned
    ]
    (said,) = [a for _, a in proposal.alerts if "github-actions" in a]
    assert said.endswith(
        "it backs a rule granting more than workspace scopes, and only a Console session (an "
        "administrator, interactively) can change it; reconciler adopt writes the live values "
        "into the file"
    )
    settled = proposal.settlements['federation_issuer["github-actions"]']
    assert list(settled.edits) == [
        Put(("federation", "issuers", "github-actions", "max_jwt_lifetime_seconds"), 3600)
    ]
    workspace_only = live(**{'federation_rule["app"]': rule()})
    assert [
        (c.address, c.action) for c in get("anthropic-admin").propose(want, workspace_only).changes
    ] == [('federation_issuer["github-actions"]', Action.UPDATE)]


def test_without_a_word_on_sign_in_the_oauth_only_sections_are_unread() -> None:
    unknown = LiveState({}, context={"org_roles": {}, "invited": frozenset()})
    proposal = get("anthropic-admin").propose(desired(service_accounts={"deploy": {}}), unknown)
    assert list(proposal.problems) == ['service_account["deploy"]']


def test_one_entry_that_cannot_be_planned_stops_no_other() -> None:
    hook = {"url": "https://ops.example", "events": ["external_key.failed"]}
    now = live(
        **{
            'federation_rule["app"]': rule(),
            'webhook["a"]': {**hook, "name": "a"},
        }
    )
    for entries in (
        {"federation": {"rules": {"app": rule(issuer="gl")}}},  # a problem
        {"webhooks": {"b": {"id": "whep_nope", **hook}}},  # a pin nothing holds
    ):
        want = desired(
            **entries,
            telemetry_destinations={
                "t": {"endpoint_url": "https://t.example", "workspaces": "all"}
            },
        )
        proposal = get("anthropic-admin").propose(want, now)
        assert [c.address for c in proposal.changes] == ['telemetry_destination["t"]']
        assert proposal.changes[0].changes["endpoint_url"] == FieldChange(None, "https://t.example")
    blocked = desired(
        service_accounts={"x": {}},
        telemetry_destinations={"t": {"endpoint_url": "https://t.example", "workspaces": "all"}},
    )
    keyed = get("anthropic-admin").propose(blocked, live(oauth=False))
    assert [c.address for c in keyed.changes] == ['telemetry_destination["t"]']
    both = desired(
        webhooks={"w": hook},
        telemetry_destinations={"t": {"endpoint_url": "https://t.example", "workspaces": "all"}},
    )
    off = LiveState({}, context=context(unoffered=["webhook", "telemetry_destination"]))
    (said,) = get("anthropic-admin").propose(both, off).problems.values()
    assert said.startswith("the Admin API answered 404 for webhooks:")


def test_a_traces_endpoint_on_another_host_is_a_problem_and_stops_no_other() -> None:
    def destination(traces: str) -> dict[str, Any]:
        return {
            "endpoint_url": "https://otel.example:4318/v1",
            "workspaces": "all",
            "traces": {"endpoint_url": traces},
        }

    want = desired(
        telemetry_destinations={
            "a": destination("https://elsewhere.example:4318/v1/traces"),
            "b": destination("https://otel.example:4318/v1/traces"),  # same host, other path
            "c": destination("http://otel.example:4318/v1/traces"),  # another scheme
        }
    )
    proposal = get("anthropic-admin").propose(want, live())
    assert proposal.problems == {
        'telemetry_destination["a"]': 'telemetry_destination["a"]: its traces.endpoint_url '
        "(https://elsewhere.example:4318/v1/traces) is not on the scheme, host and port of its "
        "endpoint_url (https://otel.example:4318/v1), and the API refuses that, as the headers "
        "registered for one host would go to another; put both on one host",
        'telemetry_destination["c"]': 'telemetry_destination["c"]: its traces.endpoint_url '
        "(http://otel.example:4318/v1/traces) is not on the scheme, host and port of its "
        "endpoint_url (https://otel.example:4318/v1), and the API refuses that, as the headers "
        "registered for one host would go to another; put both on one host",
    }
    assert [c.address for c in proposal.changes] == ['telemetry_destination["b"]']


def test_a_renamed_entry_leaves_nothing_behind_to_prune_or_count() -> None:
    hook = {"url": "https://ops.example", "events": ["external_key.failed"]}
    now = LiveState(
        {'webhook["old"]': LiveResource({**hook, "name": "old"}, None, "whep_1")}, context=context()
    )
    want = desired(webhooks={"prune": True, "new": {"id": "whep_1", **hook}})
    proposal = get("anthropic-admin").propose(want, now)
    assert [(c.address, c.action) for c in proposal.changes] == [('webhook["new"]', Action.UPDATE)]
    assert proposal.unmanaged == {}
    clash = LiveState(
        {
            'webhook["a"]': LiveResource(hook, None, "whep_a"),
            'webhook["b"]': LiveResource(hook, None, "whep_b"),
        },
        context=context(),
    )
    problems = (
        get("anthropic-admin")
        .propose(desired(webhooks={"a": {"id": "whep_b", **hook}}), clash)
        .problems
    )
    assert problems == {
        'webhook["a"]': 'webhook["a"] is pinned to id whep_b, but the live one of this name '
        "is whep_a"
    }
    nowhere = get("anthropic-admin").propose(
        desired(webhooks={"z": {"id": "whep_z", **hook}}), clash
    )
    assert nowhere.problems == {
        'webhook["z"]': 'webhook["z"] is pinned to id whep_z, but nothing live has that id '
        "(removed, or another organization's?)"
    }


def test_every_rules_warnings_and_the_unjoined_note_are_all_said() -> None:
    loose = {"claims": {"ref": "refs/heads/main"}}
    want = desired(
        service_accounts={"fresh": {}},
        federation={
            "rules": {
                "one": rule(match={"claims": {"repository": "a/b"}}, workspaces=["Research"]),
                "two": rule(match=loose),
                "three": rule(account="fresh", workspaces=["Research"]),
            }
        },
    )
    notes = [n for _, n in get("anthropic-admin").propose(want, live()).notes]
    assert any(
        n.startswith('federation_rule["one"] matches the repository by name only') for n in notes
    )
    assert any(
        n.startswith('federation_rule["two"] is on GitHub Actions\'s shared issuer') for n in notes
    )
    unjoined = [n for n in notes if "not a member" in n]
    assert [n.split(" is enabled")[0] for n in unjoined] == [
        'federation_rule["one"]',
        'federation_rule["three"]',  # a new account, with no workspaces yet
    ]


def test_a_new_resource_is_created_with_every_field_the_file_gives() -> None:
    want = desired(
        webhooks={
            "w": {"url": "https://w.example", "events": ["external_key.failed"], "enabled": False}
        }
    )
    (change,) = plan_of(want, live()).resources
    assert change.changes == {
        "url": FieldChange(None, "https://w.example"),
        "events": FieldChange(None, ["external_key.failed"]),
        "enabled": FieldChange(None, False),
    }


def test_the_edges_of_who_may_write() -> None:
    both = "workspace:developer workspace:inference"
    now = live(**{'federation_rule["app"]': rule(both)})
    longer = {"issuer_url": GITHUB, "max_jwt_lifetime_seconds": 7200}
    want = desired(federation={"issuers": {"github-actions": longer}, "rules": {"app": rule(both)}})
    assert [c.address for c in get("anthropic-admin").propose(want, now).changes] == [
        'federation_issuer["github-actions"]'  # workspace scopes only: a workload may write it
    ]
    backing = live(**{'federation_rule["admin-main"]': rule("org:admin", "ci")})
    pruning = desired(federation={"issuers": {"prune": True}, "rules": {"prune": True}})
    proposal = get("anthropic-admin").propose(pruning, backing)
    assert proposal.changes == []  # neither the org:admin rule nor its issuer
    assert any(
        a.startswith('federation_issuer["github-actions"] is live and not in the pruned section')
        for _, a in proposal.alerts
    )
    odd = live(**{'federation_rule["x"]': rule("org:admin user:profile")})
    said = " ".join(a for _, a in get("anthropic-admin").propose(pruning, odd).alerts)
    assert "it grants org:admin user:profile, and only a Console session" in said


def test_the_edges_of_waits_warnings_and_alerts() -> None:
    want = desired(
        service_accounts={"deploy": {}},  # listed and live: nothing to wait for
        federation={
            "rules": {
                "first": rule(account="nobody", workspaces=["Research"]),  # unseen: skipped
                "second": rule(workspaces=["Research"]),
            }
        },
    )
    proposal = get("anthropic-admin").propose(want, live())
    assert {c.address: c.requires for c in proposal.changes}['federation_rule["second"]'] == ()
    unjoined = [n for _, n in proposal.notes if "not a member" in n]
    assert [n.split(" is enabled")[0] for n in unjoined] == ['federation_rule["second"]']
    updated = ResourceChange(
        'service_account["deploy"]',
        Action.UPDATE,
        None,
        {"description": FieldChange(None, "x")},
    )
    assert get("anthropic-admin").review([updated], live())[0] == []
    created = ResourceChange(
        'telemetry_destination["t"]',
        Action.CREATE,
        None,
        {"endpoint_url": FieldChange(None, "https://t.example")},
    )
    # A create questions the file's values only; a description says nothing of security.
    said = security.notes(telemetry_destination.SPEC, created, None, created.after)
    assert [(n.live, n.edit) for n in said] == [
        (None, 'telemetry_destination["t"]: this edit sends spans to https://t.example')
    ]
    assert security.notes(service_account.SPEC, updated, {"description": None}, {}) == []
