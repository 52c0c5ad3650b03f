"""The security surface in a file and live, in process: how the file's sections become
resources (and back, in an export), what reconciler may not write and what it says
of it, and which drift is an alert. The plan's own rules are ``test_surface_plan``."""

from __future__ import annotations

from typing import Any

from anthropic.types.beta.organization import (
    BetaOrganizationWebhookEndpoint,
    BetaServiceAccount,
    BetaTelemetryDestination,
)
from anthropic.types.beta.organization.federation import (
    BetaFederationIssuer,
    BetaFederationRule,
)

from reconciler.core.edits import Put
from reconciler.core.model import Action, FieldChange, LiveResource, LiveState, ResourceChange
from reconciler.providers.anthropic_admin import export, proposals, surface
from reconciler.providers.anthropic_admin.kinds import SURFACE_BY_NAME
from reconciler.providers.anthropic_admin.kinds.federation_rule import admitted
from reconciler.providers.kinds import security

AT = "2026-04-01T00:00:00Z"


class Read:
    """The surface's SDK objects as the old tests name them, and as ``surface.read``
    answers them: each kind's items (an account with its memberships, a destination
    with its workspace list)."""

    def __init__(
        self,
        accounts: list[Any] | None,
        issuers: list[Any] | None,
        rules: list[Any] | None,
        hooks: list[Any] | None,
        destinations: list[Any] | None,
        memberships: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self.accounts, self.issuers, self.rules = accounts, issuers, rules
        self.hooks, self.destinations = hooks, destinations
        self.memberships = memberships or {}

    def found(self) -> surface.Found:
        accounts = self.accounts
        return {
            "service_account": None
            if accounts is None
            else [(a, self.memberships.get(a.id, {})) for a in accounts],
            "federation_issuer": self.issuers,
            "federation_rule": self.rules,
            "webhook": self.hooks,
            "telemetry_destination": self.destinations,
        }


def Found(*parts: Any) -> surface.Found:
    return Read(*parts).found()


GITHUB = "https://token.actions.githubusercontent.com"
CONSOLE = "only a Console session (an administrator, interactively) can change it"


def test_the_file_sections_become_resources_in_the_form_they_are_compared() -> None:
    found, prune = proposals.resources(
        {
            "service_accounts": {"prune": True, "deploy": {"organization_role": "developer"}},
            "federation": {
                "issuers": {"gh": {"issuer_url": GITHUB}},
                "rules": {
                    "app": {
                        "workspaces": ["b", "a"],
                        "match": {
                            "subject_prefix": None,
                            "claims": {},
                            "condition": "x",
                            "audience": "",
                        },
                    }
                },
            },
            "webhooks": {"ops": {"events": ["z.b", "a.a"]}},
            "telemetry_destinations": {
                "otel": {
                    "header_names": ["X-Team", "b"],
                    "workspaces": {"include": ["z", "a"]},
                    "traces": {"content_mode": "content", "enabled": False},
                }
            },
        }
    )
    assert prune == {"service_account["}
    assert found['service_account["deploy"]'] == {"organization_role": "developer"}
    assert found['federation_issuer["gh"]'] == {"issuer_url": GITHUB}
    assert found['federation_rule["app"]'] == {
        "workspaces": ["a", "b"],
        "match": {"condition": "x"},
    }
    assert found['webhook["ops"]'] == {"events": ["a.a", "z.b"]}
    assert found['telemetry_destination["otel"]'] == {
        "header_names": ["b", "x-team"],
        "workspaces": {"include": ["a", "z"]},
        "traces.content_mode": "content",
        "traces.enabled": False,
    }
    assert proposals.resources({})[0] == {}
    pruned = proposals.resources(
        {"webhooks": {"prune": True}, "federation": {"rules": {"prune": True}}}
    )
    assert pruned == ({}, {"webhook[", "federation_rule["})


def found() -> surface.Found:
    return objects().found()


def objects() -> Read:
    account = BetaServiceAccount.model_validate(
        {
            "id": "svac_1",
            "type": "service_account",
            "name": "deploy",
            "organization_role": "developer",
            "description": "",
            "created_at": AT,
            "updated_at": AT,
        }
    )
    archived = BetaServiceAccount.model_validate(
        {
            "id": "svac_2",
            "type": "service_account",
            "name": "gone",
            "organization_role": "admin",
            "created_at": AT,
            "updated_at": AT,
            "archived_at": AT,
        }
    )
    issuer = BetaFederationIssuer.model_validate(
        {
            "id": "fdis_1",
            "type": "federation_issuer",
            "name": "gh",
            "issuer_url": GITHUB,
            "jwks": {"type": "discovery"},
            "check_jti": True,
            "max_jwt_lifetime_seconds": 3600,
            "created_at": AT,
            "updated_at": AT,
        }
    )
    rule = BetaFederationRule.model_validate(
        {
            "id": "fdrl_1",
            "type": "federation_rule",
            "name": "app",
            "issuer_id": "fdis_1",
            "match": {"claims": {"repository_id": "1"}, "subject_prefix": None},
            "oauth_scope": "workspace:developer",
            "target": {"type": "service_account", "service_account_id": "svac_1"},
            "token_lifetime_seconds": 900,
            "applies_to_all_workspaces": False,
            "workspace_ids": ["wrkspc_r"],
            "created_at": AT,
            "updated_at": AT,
        }
    )
    hook = BetaOrganizationWebhookEndpoint.model_validate(
        {
            "id": "whep_1",
            "name": "",
            "description": "",
            "url": "https://ops.example",
            "enabled_events": ["external_key.recovered", "external_key.failed"],
            "state": "disabled",
            "disabled_reason": "",
            "created_at": AT,
            "updated_at": AT,
        }
    )
    destination = BetaTelemetryDestination.model_validate(
        {
            "id": "tdst_1",
            "type": "telemetry_destination",
            "display_name": "otel",
            "endpoint_url": "https://otel.example",
            "header_names": ["x-b", "x-a"],
            "state": {"type": "enabled"},
            "traces": {
                "content_mode": "metadata_only",
                "enabled": True,
                "endpoint_url": None,
                "max_content_bytes": None,
            },
            "workspaces": {"type": "exclude"},
            "delivery_health": {},
            "created_at": AT,
            "updated_at": AT,
        }
    )
    return Read(
        [account, archived],
        [issuer],
        [rule],
        [hook],
        [(destination, ["wrkspc_r"])],
        {"svac_1": {"wrkspc_r": "workspace_developer"}},
    )


def test_live_objects_become_resources_by_name_and_export_plans_clean() -> None:
    live = surface.live_resources(found(), {"wrkspc_r": "Research"})
    assert set(live) == {
        'service_account["deploy"]',  # the archived account is not live
        'federation_issuer["gh"]',
        'federation_rule["app"]',
        'webhook["whep_1"]',  # no name: addressed by its id
        'telemetry_destination["otel"]',
    }
    assert live['service_account["deploy"]'].fields == {
        "organization_role": "developer",
        "description": None,
        "workspaces": {"Research": "workspace_developer"},
    }
    assert live['federation_rule["app"]'].fields == {
        "name": "app",
        "issuer": "gh",
        "service_account": "deploy",
        "oauth_scope": "workspace:developer",
        "match": {"claims": {"repository_id": "1"}},
        "token_lifetime_seconds": 900,
        "workspaces": ["Research"],
        "description": None,
    }
    assert live['webhook["whep_1"]'].fields == {
        "name": None,
        "url": "https://ops.example",
        "events": ["external_key.failed", "external_key.recovered"],
        "enabled": False,
        "description": None,
    }
    assert live['telemetry_destination["otel"]'].fields["workspaces"] == {"exclude": ["Research"]}
    assert live['telemetry_destination["otel"]'].fields["header_names"] == ["x-a", "x-b"]
    data = export.file_data(LiveState(live))
    assert data["federation"]["rules"]["app"]["workspaces"] == ["Research"]
    assert "name" not in data["federation"]["rules"]["app"]
    assert data["telemetry_destinations"]["otel"]["traces"] == {
        "content_mode": "metadata_only",
        "enabled": True,
    }
    again, _ = proposals.resources(data)
    for address, fields in again.items():
        assert all(live[address].fields[n] == v for n, v in fields.items()), address
    assert surface.unoffered(found()) == []
    none = Found([], [], [], None, None)
    assert surface.unoffered(none) == ["webhook", "telemetry_destination"]


def test_who_may_write_what() -> None:
    why = surface.watched_why
    admin = (
        "an admin-role service account is made and changed only with an interactive "
        "credential (a user's OAuth token or a Console session), never by a workload"
    )
    assert why("service_account", {"organization_role": "admin"}, {}, {}) == admin
    assert why("service_account", None, {"organization_role": "admin"}, {}) == admin
    assert why("service_account", {"organization_role": "developer"}, {}, {}) is None
    assert why("federation_rule", {"oauth_scope": "org:admin"}, {}, {}) == (
        f"it grants org:admin, and {CONSOLE}"
    )
    widen = {"oauth_scope": "workspace:inference org:admin"}
    assert why("federation_rule", None, widen, {}) == f"it grants org:admin, and {CONSOLE}"
    both = {"oauth_scope": "workspace:developer workspace:inference"}
    assert why("federation_rule", both, both, {}) is None
    backs = f"it backs a rule granting more than workspace scopes, and {CONSOLE}"
    admin_rule = {"issuer": "gh", "oauth_scope": "org:admin"}
    behind = {'federation_rule["admin"]': LiveResource(admin_rule, None)}
    workload = {"issuer": "gh", "oauth_scope": "workspace:developer"}
    only_workload = {'federation_rule["ci"]': LiveResource(workload, None)}
    assert why("federation_issuer", {}, {"_name": "gh"}, behind) == backs
    assert why("federation_issuer", None, {"_name": "gh"}, behind) is None  # a new one
    assert why("federation_issuer", {}, {"_name": "gl"}, behind) is None
    assert why("federation_issuer", {}, {"_name": "gh"}, only_workload) is None
    assert why("webhook", {}, {"_name": "gh"}, behind) is None


def test_what_is_said_of_a_watched_difference_and_what_adopt_writes() -> None:
    address = 'federation_rule["admin"]'
    said, settled = surface.watched(address, None, {"oauth_scope": "org:admin"}, "WHY")
    assert said == f"{address} is in the file but not live, and reconciler will not create it: WHY"
    assert settled is None
    now = {"token_lifetime_seconds": 3600, "oauth_scope": "org:admin", "description": "x"}
    wanted = {
        "token_lifetime_seconds": 600,
        "oauth_scope": "org:admin",
        "description": None,
        "_name": "admin",
    }
    said, settled = surface.watched(address, now, wanted, "WHY")
    assert said == (
        f"{address} differs from the file (description is 'x' live, None in the file; "
        "token_lifetime_seconds is 3600 live, 600 in the file), and reconciler will not write "
        "it: WHY; reconciler adopt writes the live values into the file"
    )
    assert settled is not None
    assert list(settled.edits) == [
        Put(("federation", "rules", "admin", "description"), "x"),
        Put(("federation", "rules", "admin", "token_lifetime_seconds"), 3600),
    ]
    assert settled.said == "description, token_lifetime_seconds written as live"
    _, nothing = surface.watched(address, now, {**now, "_name": "admin"}, "WHY")
    assert nothing is None


def update(address: str, **fields: tuple[Any, Any]) -> ResourceChange:
    changes = {n.replace("__", "."): FieldChange(b, a) for n, (b, a) in fields.items()}
    return ResourceChange(address, Action.UPDATE, None, changes)


def test_which_drift_is_an_alert() -> None:
    unmanaged = {
        'federation_rule["x"]': LiveResource(
            {
                "issuer": "gh",
                "service_account": "s",
                "oauth_scope": "workspace:developer",
                "match": {"subject_prefix": "repo:a/b:*"},
                "workspaces": "all",
            },
            None,
            "r",
        ),
        'webhook["w"]': LiveResource({"url": "https://w.example"}, None, "w"),
        'telemetry_destination["t"]': LiveResource(
            {"endpoint_url": "https://t.example"}, None, "t"
        ),
        'service_account["a"]': LiveResource({"organization_role": "admin"}, None, "a"),
        'service_account["d"]': LiveResource({"organization_role": "developer"}, None, "d"),
        'federation_issuer["i"]': LiveResource({"issuer_url": GITHUB}, None, "i"),
    }
    changes = [
        update('federation_rule["m"]', match=({"claims": {}}, {"claims": {"a": "b"}})),
        update('federation_rule["n"]', token_lifetime_seconds=(1, 2)),
        ResourceChange(
            'federation_rule["c"]', Action.CREATE, None, {"match": FieldChange(None, {})}
        ),
        update('webhook["u"]', url=("https://evil.example", "https://ops.example")),
        update('webhook["v"]', enabled=(False, True)),
        update(
            'telemetry_destination["e"]', endpoint_url=("https://evil.example", "https://o.example")
        ),
        update('telemetry_destination["p"]', traces__content_mode=("content", "metadata_only")),
        update('telemetry_destination["q"]', traces__content_mode=("metadata_only", "content")),
    ]
    said = dict(surface.found_live(unmanaged, {"federation_issuer": {"gh": GITHUB}}))
    assert said == {
        'federation_rule["x"]': 'federation_rule["x"] is live and not in the file: a GitHub '
        "Actions job whose subject is repo:a/b: followed by anything can act as service "
        "account s with workspace:developer for an hour (the default) in every workspace",
        'webhook["w"]': 'webhook["w"] is live and not in the file: events go to https://w.example',
        'telemetry_destination["t"]': 'telemetry_destination["t"] is live and not in the file: '
        "spans go to https://t.example",
        'service_account["a"]': 'service_account["a"] is live and not in the file: its '
        "organization role is admin",
        'federation_issuer["i"]': 'federation_issuer["i"] is live and not in the file: tokens '
        f"signed by {GITHUB} are trusted",
    }
    # Under prune the plan removes them, by each kind's own verb: still said first.
    removed = {a: unmanaged[a] for a in ('federation_rule["x"]', 'webhook["w"]')}
    pruned = surface.found_live(removed, {"gh": GITHUB}, pruned=True)
    assert [said.rsplit("; ", 1)[1] for _, said in pruned] == [
        "this plan archives it",
        "this plan deletes it",
    ]
    meant = {}
    for change in changes:
        kind = SURFACE_BY_NAME[change.address.partition("[")[0]].spec
        before = {n: c.before for n, c in change.changes.items()}
        for note in security.notes(kind, change, before, change.after):
            meant[change.address] = (note.live, note.edit)
    assert meant == {
        'federation_rule["m"]': (
            'federation_rule["m"]: its match was changed live, so a token of issuer None can '
            "act as service account None with None for an hour (the default)",
            'federation_rule["m"]: this edit changes its match, so a token of issuer None with '
            "a b can act as service account None with None for an hour (the default)",
        ),
        'federation_rule["n"]': (
            None,
            'federation_rule["n"]: this edit widens its tokens\' lifetime from 1 to 2',
        ),
        'federation_rule["c"]': (
            None,
            'federation_rule["c"]: with this edit, a token of issuer None can act as service '
            "account None with None for an hour (the default)",
        ),
        'webhook["u"]': (
            'webhook["u"]: events go to https://evil.example live, not to https://ops.example '
            "as the file says",
            'webhook["u"]: this edit sends events to https://ops.example instead of '
            "https://evil.example",
        ),
        'telemetry_destination["e"]': (
            'telemetry_destination["e"]: spans go to https://evil.example live, not to '
            "https://o.example as the file says",
            'telemetry_destination["e"]: this edit sends spans to https://o.example instead of '
            "https://evil.example",
        ),
        'telemetry_destination["p"]': (
            'telemetry_destination["p"]: set live so that spans carry prompts and outputs',
            None,
        ),
        'telemetry_destination["q"]': (
            None,
            'telemetry_destination["q"]: with this edit, spans carry prompts and outputs',
        ),
    }


def test_a_sample_token_against_the_files_rules() -> None:
    resources = {
        'federation_issuer["gh"]': {"issuer_url": GITHUB},
        'federation_rule["a"]': {"issuer": "gh", "match": {"claims": {"repository_id": "1"}}},
        'federation_rule["b"]': {"issuer": "other", "match": {"claims": {"repository_id": "2"}}},
        'webhook["w"]': {"url": "https://w.example"},
    }
    token = {"iss": GITHUB, "aud": "https://api.anthropic.com", "repository_id": "1"}
    checked = {a: why for a, _, why in admitted(resources, token)}
    assert checked == {
        'federation_rule["a"]': None,
        'federation_rule["b"]': "repository_id is '1', not '2'",  # no issuer URL: iss unchecked
    }
    words = {a: w for a, w, _ in admitted(resources, token)}
    assert words['federation_rule["a"]'].startswith("a GitHub Actions job")
    assert words['federation_rule["b"]'].startswith("a token of issuer other")


def test_every_live_field_and_id_as_read() -> None:
    read = objects()
    legacy = BetaFederationRule.model_validate(
        {
            **read.rules[0].to_dict(),
            "id": "fdrl_2",
            "name": "legacy",
            "issuer_id": "fdis_gone",
            "issuer_name": "old-issuer",
            "target": {
                "type": "service_account",
                "service_account_id": "svac_gone",
                "service_account_name": "old-account",
            },
            "workspace_ids": [],
            "workspace_id": "wrkspc_r",
            "description": "kept",
        }
    )
    everywhere = BetaFederationRule.model_validate(
        {
            **read.rules[0].to_dict(),
            "id": "fdrl_3",
            "name": "all",
            "applies_to_all_workspaces": True,
        }
    )
    nowhere = BetaFederationRule.model_validate(
        {**read.rules[0].to_dict(), "id": "fdrl_4", "name": "none", "workspace_ids": []}
    )
    hook = BetaOrganizationWebhookEndpoint.model_validate(
        {
            **read.hooks[0].to_dict(),
            "id": "whep_2",
            "name": "ops",
            "state": "enabled",
            "description": "d",
        }
    )
    destination = BetaTelemetryDestination.model_validate(
        {
            **read.destinations[0][0].to_dict(),
            "id": "tdst_2",
            "display_name": None,
            "state": {"type": "disabled", "reason": {"type": "caller"}},
            "workspaces": {"type": "all"},
        }
    )
    more = Found(
        read.accounts,
        read.issuers,
        [*(read.rules or []), legacy, everywhere, nowhere],
        [*(read.hooks or []), hook],
        [*(read.destinations or []), (destination, [])],
        read.memberships,
    )
    live = surface.live_resources(more, {"wrkspc_r": "Research"})
    as_read = {a: (r.id, r.fields) for a, r in live.items()}
    rule_fields = as_read['federation_rule["app"]'][1]
    assert as_read == {
        'service_account["deploy"]': (
            "svac_1",
            {
                "organization_role": "developer",
                "description": None,
                "workspaces": {"Research": "workspace_developer"},
            },
        ),
        'federation_issuer["gh"]': (
            "fdis_1",
            {
                "name": "gh",
                "issuer_url": GITHUB,
                "max_jwt_lifetime_seconds": 3600,
                "check_jti": True,
            },
        ),
        'federation_rule["app"]': ("fdrl_1", rule_fields),
        'federation_rule["legacy"]': (
            "fdrl_2",
            {
                **rule_fields,
                "name": "legacy",
                "issuer": "old-issuer",
                "service_account": "old-account",
                "description": "kept",
            },
        ),
        'federation_rule["all"]': ("fdrl_3", {**rule_fields, "name": "all", "workspaces": "all"}),
        'federation_rule["none"]': ("fdrl_4", {**rule_fields, "name": "none", "workspaces": []}),
        'webhook["whep_1"]': (
            "whep_1",
            {
                "name": None,
                "url": "https://ops.example",
                "events": ["external_key.failed", "external_key.recovered"],
                "enabled": False,
                "description": None,
            },
        ),
        'webhook["ops"]': (
            "whep_2",
            {
                "name": "ops",
                "url": "https://ops.example",
                "events": ["external_key.failed", "external_key.recovered"],
                "enabled": True,
                "description": "d",
            },
        ),
        'telemetry_destination["otel"]': (
            "tdst_1",
            {
                "name": "otel",
                "endpoint_url": "https://otel.example",
                "workspaces": {"exclude": ["Research"]},
                "enabled": True,
                "header_names": ["x-a", "x-b"],
                "traces.content_mode": "metadata_only",
                "traces.enabled": True,
                "traces.endpoint_url": None,
                "traces.max_content_bytes": None,
            },
        ),
        'telemetry_destination["tdst_2"]': (
            "tdst_2",
            {
                "name": None,
                "endpoint_url": "https://otel.example",
                "workspaces": "all",
                "enabled": False,
                "header_names": ["x-a", "x-b"],
                "traces.content_mode": "metadata_only",
                "traces.enabled": True,
                "traces.endpoint_url": None,
                "traces.max_content_bytes": None,
            },
        ),
    }
    unnamed = surface.live_resources(more, {})
    assert unnamed['federation_rule["app"]'].fields["workspaces"] == ["wrkspc_r"]  # an id
    data = export.file_data(LiveState(live))
    assert data["federation"]["issuers"]["gh"] == {
        "issuer_url": GITHUB,
        "max_jwt_lifetime_seconds": 3600,
        "check_jti": True,
    }
    assert data["webhooks"]["ops"] == {
        "url": "https://ops.example",
        "events": ["external_key.failed", "external_key.recovered"],
        "enabled": True,
        "description": "d",
    }


def test_the_kinds_a_file_keeps_or_a_plan_writes() -> None:
    named = ['webhook["w"]', "federation_rule[", 'user["a@b.c"]', 'workspace["R"]']
    assert surface.kept(named) == {"webhook", "federation_rule"}
    assert surface.kept([]) == frozenset()
