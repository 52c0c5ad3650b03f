"""Builders shared by the in-process tests: a Company API organization live and a
file's desired state, and a plan made as the engine makes it, with the provider
the file names (the engine's ``make_plan`` is told its provider); an Admin API
file and live organization with workspaces, rate limits and spend limits."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from reconciler import providers
from reconciler.core.model import DesiredState, LiveResource, LiveState, Plan
from reconciler.engine import planning
from reconciler.providers.anthropic_admin.proposals import resources


def plan_of(desired: DesiredState, live: LiveState, *, targets: Iterable[str] = ()) -> Plan:
    return planning.make_plan(desired, live, providers.get(desired.provider), targets=targets)


LIVE_COMPANY = {
    "id": "org_1",
    "name": "A",
    "billing_email": "billing@example.com",
    "plan": "scale",
    "usage_limit": 1000,
    "created_at": "2024-01-01T00:00:00Z",
}


def project(pid: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": pid,
        "name": pid,
        "description": "",
        "billing_email": None,
        "usage_limit": None,
        "created_at": "2024-01-01T00:00:00Z",
        **fields,
    }


def live(*projects: dict[str, Any], tokens_used: int = 500, **company: Any) -> LiveState:
    found = {"company": LiveResource({**LIVE_COMPANY, **company}, '"c1"')}
    found.update({f"project.{p['id']}": LiveResource(p, f'"{p["id"]}"') for p in projects})
    return LiveState(found, context={"tokens_used": tokens_used})


def desired(**resources: dict[str, Any]) -> DesiredState:
    return DesiredState(
        "org.yaml", "0" * 64, {k.replace("__", "."): v for k, v in resources.items()}
    )


# The Admin API's rate-limit table as live state carries it (``rate_limit_groups``):
# a model group and the Batches API group, by their ids (the same in every organization).
SONNET, BATCH = "rlg_01VPTCmyiu5ZLsWkcxYG2pY8", "rlg_01BaTcH5pQ8sRw2LmYc4XvNd"
GROUPS: dict[str, dict[str, Any]] = {
    SONNET: {
        "entry": "rl_1",
        "name": "Claude Sonnet 4.x",
        "type": "model_group",
        "limits": {"requests_per_minute": 4000, "output_tokens_per_minute": 400000},
    },
    BATCH: {"entry": "rl_2", "name": None, "type": "batch", "limits": {"requests_per_minute": 50}},
}


def admin_desired(organization: str | None = None, **sections: Any) -> DesiredState:
    found, prune = resources({"version": 1, "provider": "anthropic-admin", **sections})
    return DesiredState(
        "org.yaml", "d", found, provider="anthropic-admin", prune=prune, organization=organization
    )


def admin_live(
    workspaces: dict[str, str] | None = None,
    spend: dict[str, int] | None = None,
    overrides: dict[tuple[str, str], dict[str, int]] | None = None,
    *,
    currency: str | None = "USD",
    readable: bool = True,
    archived: dict[str, str] | None = None,
    organization: str = "org-1",
    key: dict[str, str] | None = None,
) -> LiveState:
    """Workspaces by name -> id; spend limits by address; overrides by (workspace, group)."""
    found: dict[str, LiveResource] = {}
    workspaces = {"Research": "wrkspc_R"} if workspaces is None else workspaces
    for name, workspace_id in workspaces.items():
        found[f'workspace["{name}"]'] = LiveResource(
            {
                "name": name,
                "tags": {},
                "display_color": "#6C5BB9",
                "external_key_id": (key or {}).get(name),
                "archived": False,
            },
            None,
            workspace_id,
        )
        for group, entry in GROUPS.items():
            fields: dict[str, Any] = dict.fromkeys(entry["limits"])
            fields.update((overrides or {}).get((name, group), {}))
            found[f'rate_limit["{name}"]["{group}"]'] = LiveResource(fields, None)
    for address, amount in (spend or {}).items():
        found[address] = LiveResource({"amount": amount}, None, "spl_" + address)
    return LiveState(
        found,
        context={
            "org_roles": {},
            "invited": frozenset(),
            "archived_workspaces": archived or {},
            "archived_on": dict.fromkeys(archived or {}, "2026-11-02"),
            "rate_limit_groups": GROUPS,
            "currency": currency,
            "spend_limits_readable": readable,
        },
        organization=organization,
    )
