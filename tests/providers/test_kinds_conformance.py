"""Every registered kind keeps the promises its spec makes, checked the same way for
each (``conformance``): its export plans clean and reads back as live, adopt writes
the live value where the file keeps it, its undo follows its removal verb (an archive
warns that it cannot be undone), its removal is said in its own words, no operator
secret reaches a plan, and each security meaning it declares is said in both
directions. A kind added to the registry without a sample here fails, and so does a
kind whose codec is broken on purpose."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pytest

from reconciler.core.edits import Put
from reconciler.core.model import (
    Action,
    DesiredState,
    FieldChange,
    LiveResource,
    LiveState,
    ResourceChange,
    name_of,
)
from reconciler.engine import render
from reconciler.providers import get
from reconciler.providers.anthropic_admin import adopting, export, surface
from reconciler.providers.anthropic_admin.kinds import BY_NAME, ENTRIES, SPECS, SURFACE
from reconciler.providers.kinds import codec, security
from reconciler.providers.kinds.spec import (
    Destination,
    Exposure,
    Grant,
    Kind,
    Named,
    Privilege,
    Removal,
    TrustRoot,
)
from tests.providers.anthropic_admin.test_surface import objects
from tests.support.builders import plan_of

PROVIDER = get("anthropic-admin")
WORKSPACES = {"wrkspc_r": "Research", "wrkspc_d": "Dev"}
# For each declared meaning (kind, field): a value granting less, and one granting more
# (or, for a destination or trust root, where it is and where it would go).
SAMPLES: dict[tuple[str, str], tuple[Any, Any]] = {
    ("user", "role"): ("developer", "admin"),
    ("member", "workspace_role"): ("workspace_user", "workspace_admin"),
    ("api_key", "status"): ("inactive", "active"),
    ("service_account", "organization_role"): ("developer", "admin"),
    ("service_account", "workspaces"): (
        {"Research": "workspace_user"},
        {"Research": "workspace_admin"},
    ),
    ("federation_issuer", "issuer_url"): ("https://a.example", "https://b.example"),
    ("federation_issuer", "max_jwt_lifetime_seconds"): (600, 3600),
    ("federation_issuer", "check_jti"): (True, False),
    ("federation_rule", "match"): (
        {"claims": {"repository_id": "1"}},
        {"claims": {"repository_owner": "someone"}},
    ),
    ("federation_rule", "oauth_scope"): ("workspace:inference", "workspace:developer"),
    ("federation_rule", "workspaces"): (["Research"], "all"),
    ("federation_rule", "token_lifetime_seconds"): (600, 3600),
    ("webhook", "url"): ("https://ops.example", "https://evil.example"),
    ("webhook", "events"): (["external_key.failed"], ["external_key.failed", "x.y"]),
    ("telemetry_destination", "endpoint_url"): ("https://o.example", "https://evil.example"),
    ("telemetry_destination", "traces.endpoint_url"): ("https://o.example", "https://t.example"),
    ("telemetry_destination", "traces.content_mode"): ("metadata_only", "content"),
    ("telemetry_destination", "workspaces"): ({"include": ["Research"]}, "all"),
}


# The people, workspaces and limits as the session reads them (``answers``).
ENTRIES_LIVE = {
    'workspace["Research"]': LiveResource(
        {
            "name": "Research",
            "data_residency.allowed_inference_geos": "unrestricted",
            "data_residency.default_inference_geo": "global",
            "data_residency.workspace_geo": "us",
            "tags": {"team": "research"},
            "display_color": "#112233",
            "external_key_id": None,
            "archived": False,
        },
        None,
        "wrkspc_r",
    ),
    'user["ada@example.com"]': LiveResource({"role": "developer", "status": "member"}, None, "u1"),
    'member["Research"]["ada@example.com"]': LiveResource(
        {"workspace_role": "workspace_developer"}, None, "u1"
    ),
    'api_key["apikey_1"]': LiveResource({"name": "ci", "status": "active"}, None, "apikey_1"),
    'spend_limit["monthly"]': LiveResource({"amount": 50_000}, None),
    'workspace_spend_limit["Research"]["monthly"]': LiveResource({"amount": 10_000}, None),
    'rate_limit["Research"]["rlg_1"]': LiveResource({"requests_per_minute": 100}, None),
}
CONTEXT = {
    "org_roles": {"ada@example.com": "developer"},
    "invited": frozenset(),
    "oauth": True,
    "unoffered": [],
    "default_workspace": "wrkspc_default",
    "currency": "USD",
    "rate_limit_groups": {
        "rlg_1": {
            "entry": "e1",
            "name": "Sonnet",
            "type": "model_group",
            "limits": {"requests_per_minute": 1000},
        }
    },
}
ALL_KINDS = (*(k.spec for k in ENTRIES), *(k.spec for k in SURFACE))


def live_state() -> LiveState:
    """The sample SDK objects of every kind as live state."""
    found = surface.live_resources(objects().found(), WORKSPACES)
    return LiveState({**ENTRIES_LIVE, **found}, context=CONTEXT)


def desired_of(data: Mapping[str, Any]) -> DesiredState:
    found, prune = PROVIDER.resources({"version": 1, "provider": "anthropic-admin", **data})
    return DesiredState(
        source="org.yaml", digest="d", resources=found, provider="anthropic-admin", prune=prune
    )


def of_kind(kind: Kind, named: Mapping[str, Any]) -> dict[str, Any]:
    return {a: v for a, v in named.items() if a.partition("[")[0] == kind.name}


# A host and a name a reviewer reads as Latin, with a Cyrillic letter in them.
LOOKALIKE_HOST = "https://xn--exmple-4nf.com"  # ex\u0430mple.com


def lookalike_named(spec: Kind, address: str) -> list[str]:
    """The entry's key with a Cyrillic letter in it is said when one is created, and
    when one is found live outside the file."""
    key = name_of(address)
    odd = address.replace(key, key.replace("e", "\u0435", 1).replace("a", "\u0430", 1))
    if odd == address:
        return [f"{spec.name}: the sample address {address} has no a or e to disguise"]
    created = ResourceChange(odd, Action.CREATE, None, {})
    found = []
    if not [n.edit for n in security.notes(spec, created, None, {}) if n.edit]:
        found.append(f"{spec.name}: a look-alike name created is not said")
    alone = security.found_live(spec, odd, {})
    if alone is None or "may not be what it looks like" not in alone:
        found.append(f"{spec.name}: a look-alike name live outside the file raises no alert")
    return found


def meaning_field(meaning: Any) -> str:
    return str(meaning.fields[0] if isinstance(meaning, Grant) else meaning.field)


def conformance(spec: Kind) -> list[str]:
    """Every way the kind of ``spec`` breaks a promise of it (none: it keeps them all)."""
    problems: list[str] = []
    live = live_state()
    mine = of_kind(spec, live.resources)
    if not mine:
        return [f"{spec.name}: no sample live resource to check"]
    exported = export.file_data(LiveState(mine, context=CONTEXT))
    desired = desired_of(exported)
    plan = plan_of(desired, live)
    if of_kind(spec, {c.address: c for c in plan.resources}):
        problems.append(f"{spec.name}: its export does not plan clean")
    for address, fields in of_kind(spec, desired.resources).items():
        now = {**mine[address].fields, "id": mine[address].id}  # a pin is the live id
        differs = [n for n, v in fields.items() if now.get(n) != v]
        if differs:
            problems.append(f"{spec.name}: {', '.join(differs)} do not read back as live")
    address, resource = next(iter(mine.items()))
    name = next(
        n
        for n in (spec.fields or tuple(resource.fields))
        if n != spec.key_field and resource.fields.get(n) is not None
    )
    drifted = ResourceChange(
        address, Action.UPDATE, None, {name: FieldChange(resource.fields[name], "edited")}
    )
    path = PROVIDER.path_of(address)
    outer = tuple(step for step in spec.section if step != codec.EACH)
    if tuple(step for step in path if step in outer) != outer:
        problems.append(f"{spec.name}: path_of {path} is not under {spec.section}")
    where = path if spec.value_field else (*path, *name.split(codec.NESTED, 1))
    wanted = Put(where, resource.fields[name])
    if wanted not in adopting.adoption(drifted, path):
        problems.append(f"{spec.name}: adopt does not write {name} back where the file keeps it")
    created = ResourceChange(
        address, Action.CREATE, None, {n: FieldChange(None, v) for n, v in resource.fields.items()}
    )
    undo, warning = PROVIDER.reversal(created)
    expected = {
        Removal.ARCHIVE: Action.ARCHIVE,
        Removal.DELETE: Action.DELETE,
        Removal.NONE: Action.UPDATE,  # never removed: set back
    }[spec.removal]
    if undo is None or undo.action is not expected:
        problems.append(f"{spec.name}: the undo of a create is not its removal verb")
    if spec.removal is Removal.ARCHIVE and "cannot be undone" not in str(warning):
        problems.append(f"{spec.name}: undoing a create archives it, and does not say so")
    removal = replace(created, action=expected)
    said = " ".join(PROVIDER.review([removal], live)[0])
    if spec.removal is Removal.ARCHIVE and "archiving cannot be undone" not in said:
        problems.append(f"{spec.name}: its archive is not said to be final")
    for other in SPECS:
        if other is not spec and other.removal_loses and other.removal_loses in said:
            problems.append(f"{spec.name}: its removal is said in {other.name}'s words")
    if spec.removal_loses and spec.removal_loses not in said:
        problems.append(f"{spec.name}: its removal does not say what is lost")
    for meaning in spec.security:
        if isinstance(meaning, Named):
            problems += lookalike_named(spec, address)
        else:
            problems += both_directions(spec, meaning, address)
    return problems


def both_directions(spec: Kind, meaning: Any, address: str) -> list[str]:
    """The meaning said as drift when live grants more, and as this edit when the file
    does (a trust root or destination moved either way)."""
    field = meaning_field(meaning)
    if (spec.name, field) not in SAMPLES:
        return [f"{spec.name}: no sample values for its {field}"]
    less, more = SAMPLES[(spec.name, field)]
    if isinstance(meaning, Exposure) and meaning.value != more:
        return [f"{spec.name}: the sample of {field} does not expose"]
    found = []
    for before, after, direction in ((more, less, "live"), (less, more, "edit")):
        change = ResourceChange(address, Action.UPDATE, None, {field: FieldChange(before, after)})
        notes = security.notes(spec, change, {field: before}, {field: after})
        words = [getattr(n, direction) for n in notes if getattr(n, direction)]
        if not words:
            found.append(f"{spec.name}: {field} is not said as {direction} drift/edit")
    created = ResourceChange(address, Action.CREATE, None, {field: FieldChange(None, more)})
    if isinstance(meaning, Destination | TrustRoot | Grant | Exposure) and not [
        n.edit for n in security.notes(spec, created, None, {field: more}) if n.edit
    ]:
        found.append(f"{spec.name}: creating one with {field} is not said as this edit")
    if isinstance(meaning, Destination | TrustRoot):
        odd = ResourceChange(
            address, Action.CREATE, None, {field: FieldChange(None, LOOKALIKE_HOST)}
        )
        said = [n.edit for n in security.notes(spec, odd, None, {field: LOOKALIKE_HOST})]
        if not any("may not be what it looks like" in str(w) for w in said):
            found.append(f"{spec.name}: a look-alike host in {field} is not said")
    alone = security.found_live(spec, address, {field: more})
    if isinstance(meaning, Destination | TrustRoot | Grant | Exposure) and alone is None:
        found.append(f"{spec.name}: one live outside the file with {field} raises no alert")
    if isinstance(meaning, Privilege) and meaning.alarming and alone is None:
        found.append(f"{spec.name}: an alarming {field} live outside the file raises no alert")
    return found


@pytest.mark.parametrize("spec", ALL_KINDS, ids=lambda k: k.name)
def test_every_registered_kind_keeps_its_specs_promises(spec: Kind) -> None:
    assert conformance(spec) == []


def test_every_registered_kind_is_checked() -> None:
    assert {k.name for k in ALL_KINDS} == set(BY_NAME)


def test_every_kind_has_one_spec_and_its_removal_verb() -> None:
    assert len(BY_NAME) == len(SPECS)
    for spec in SPECS:
        assert spec.section, spec.name
        assert spec.removal in Removal
    undo, _ = PROVIDER.reversal(
        ResourceChange('rate_limit["R"]["g"]', Action.CREATE, None, {"x": FieldChange(None, 1)})
    )
    assert undo is not None
    assert undo.action is Action.UPDATE  # never removed: set back


def test_a_kind_whose_codec_is_broken_on_purpose_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    hook = BY_NAME["webhook"]
    broken = replace(hook, wanted=lambda fields: {**fields, "events": ["other"]})
    specs = tuple(broken if spec is hook else spec for spec in SPECS)
    monkeypatch.setattr("reconciler.providers.anthropic_admin.proposals.SPECS", specs)
    assert "webhook: its export does not plan clean" in conformance(broken)
    monkeypatch.undo()
    wrong_words = replace(hook, removal_loses=None, removal=Removal.ARCHIVE)
    assert "webhook: the undo of a create is not its removal verb" not in conformance(hook)
    assert conformance(wrong_words)  # an archive of a webhook: the undo and words disagree


def test_a_secret_is_named_in_every_output_of_a_plan() -> None:
    """A kind's secret is named in the plan (which values go to which host), never its
    values: they exist only in the operator's file (``tests/e2e/test_secrets.py``
    counts the bytes of them anywhere else)."""
    assert [k.spec.name for k in SURFACE if k.spec.secret is not None] == ["telemetry_destination"]
    desired = desired_of(
        {
            "telemetry_destinations": {
                "otel": {"endpoint_url": "https://o.example", "header_names": ["x-team"]}
            }
        }
    )
    plan = plan_of(desired, LiveState({}, context={"oauth": True, "unoffered": []}))
    shown = render.plan_text(plan) + json.dumps(plan.data()) + render.plan_markdown(plan)
    assert shown.count("this edit sends the operator's header values (x-team) to o.example") == 3
