"""Planning for the Admin API provider, from files and live states written by hand:
invites, replaced invites, role updates, new workspaces with their members,
archives, bounded pruning, and what the API cannot do (reported, never tried)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.core.errors import ConfigError, PlanError, StalePlanError, UnsafePlanError
from reconciler.core.model import Action, DesiredState, LiveResource, LiveState, Plan
from reconciler.desired import document
from reconciler.engine import flows, origin, planfile, planning
from reconciler.providers.anthropic_admin.proposals import resources
from tests.support.builders import plan_of


def desired(**sections: Any) -> Any:
    data = {"version": 1, "provider": "anthropic-admin", **sections}
    found, prune = resources(data)
    return DesiredState(
        source="org.yaml",
        digest="d",
        resources=found,
        provider="anthropic-admin",
        prune=prune,
    )


def live(
    users: dict[str, str] | None = None,
    invites: dict[str, str] | None = None,
    workspaces: dict[str, dict[str, Any]] | None = None,
    members: dict[str, dict[str, str]] | None = None,
    keys: dict[str, dict[str, str]] | None = None,
    archived: dict[str, str] | None = None,
) -> LiveState:
    found: dict[str, LiveResource] = {}
    users = users if users is not None else {"ada@x.io": "admin", "ben@x.io": "developer"}
    for email, role in users.items():
        found[f'user["{email}"]'] = LiveResource({"role": role, "status": "member"}, None, email)
    for email, role in (invites or {}).items():
        found[f'user["{email}"]'] = LiveResource({"role": role, "status": "invited"}, None, "inv")
    for name, fields in (workspaces or {}).items():
        found[f'workspace["{name}"]'] = LiveResource(
            {
                "name": name,
                "data_residency.allowed_inference_geos": "unrestricted",
                "data_residency.default_inference_geo": "global",
                "data_residency.workspace_geo": "us",
                "tags": {},
                "archived": False,
                **fields,
            },
            None,
            "wrkspc_" + name,
        )
    for workspace, roles in (members or {}).items():
        for email, role in roles.items():
            found[f'member["{workspace}"]["{email}"]'] = LiveResource(
                {"workspace_role": role}, None, email
            )
    for key_id, fields in (keys or {}).items():
        found[f'api_key["{key_id}"]'] = LiveResource(fields, None, key_id)
    return LiveState(
        found,
        context={
            "org_roles": dict(users),
            "invited": frozenset(invites or {}),
            "archived_workspaces": archived or {},
            "archived_on": dict.fromkeys(archived or {}, "2026-11-02"),
        },
    )


def actions(plan: Plan) -> dict[str, tuple[str, dict[str, Any]]]:
    return {
        r.address: (str(r.action), {n: (c.before, c.after) for n, c in r.changes.items()})
        for r in plan.resources
    }


def test_users_are_invited_updated_and_pending_invites_replaced() -> None:
    plan = plan_of(
        desired(users={"ben@x.io": "billing", "new@x.io": "user", "inv@x.io": "developer"}),
        live(invites={"inv@x.io": "user"}),
    )
    assert actions(plan) == {
        'user["ben@x.io"]': ("update", {"role": ("developer", "billing")}),
        'user["inv@x.io"]': ("replace", {"role": ("user", "developer")}),
        'user["new@x.io"]': ("create", {"role": (None, "user")}),
    }
    assert plan.summary().startswith(
        "Plan: 3 resources to change (3 fields): 1 to create, 1 to update, 1 to replace."
    )
    assert plan.unmanaged == {"user": 1}  # ada, not listed, left alone


def test_an_admins_role_is_a_problem_not_a_write() -> None:
    with pytest.raises(PlanError, match="admin's role cannot be changed through the API"):
        plan_of(desired(users={"ada@x.io": "developer"}), live())


def test_a_new_workspace_is_planned_with_its_members_which_wait_for_it() -> None:
    plan = plan_of(
        desired(
            workspaces={
                "Support": {
                    "data_residency": {"default_inference_geo": "us"},
                    "members": {"ben@x.io": "workspace_developer"},
                }
            }
        ),
        live(),
    )
    create, member = plan.resources
    assert (create.address, create.action) == ('workspace["Support"]', Action.CREATE)
    assert create.after == {"name": "Support", "data_residency.default_inference_geo": "us"}
    assert member.address == 'member["Support"]["ben@x.io"]'
    assert member.requires == ('workspace["Support"]',)


def test_members_who_are_not_in_the_organization_yet_wait_with_a_note() -> None:
    plan = plan_of(
        desired(
            users={"new@x.io": "user"},
            workspaces={
                "R": {"members": {"new@x.io": "workspace_user", "zed@x.io": "workspace_user"}}
            },
        ),
        live(workspaces={"R": {}}),
    )
    assert [r.address for r in plan.resources] == ['user["new@x.io"]']
    assert any("after the invite is accepted" in w for w in plan.warnings)
    assert any("list it under users to invite it" in w for w in plan.warnings)


def test_org_admins_inherit_workspace_admin() -> None:
    plan = plan_of(
        desired(workspaces={"R": {"members": {"ada@x.io": "workspace_admin"}}}),
        live(workspaces={"R": {}}),
    )
    assert plan.is_empty


def test_workspace_geo_is_flagged_never_changed() -> None:
    plan = plan_of(
        desired(workspaces={"R": {"data_residency": {"workspace_geo": "us"}, "tags": {"a": "1"}}}),
        live(workspaces={"R": {"data_residency.workspace_geo": "eu"}}),
    )
    assert actions(plan) == {'workspace["R"]': ("update", {"tags": ({}, {"a": "1"})})}
    assert any("set only when a workspace is created" in w for w in plan.warnings)


def test_archiving_is_explicit_and_its_members_are_not_planned() -> None:
    plan = plan_of(
        desired(workspaces={"Old": {"archived": True, "members": {"ben@x.io": "workspace_user"}}}),
        live(workspaces={"Old": {}}),
    )
    assert actions(plan) == {'workspace["Old"]': ("archive", {"archived": (False, True)})}
    assert any("cannot be undone" in w for w in plan.warnings)


def test_an_archived_workspace_is_created_again_only_when_the_file_says_so() -> None:
    archived = live(archived={"Old": "wrkspc_gone"})
    with pytest.raises(PlanError) as caught:
        plan_of(desired(workspaces={"Old": {"members": {"ben@x.io": "workspace_user"}}}), archived)
    assert str(caught.value) == (
        'org.yaml: workspace["Old"]: the workspace of this name (wrkspc_gone) was archived on '
        "2026-11-02, and archived is a decision reconciler does not undo unless the file says "
        "so: write archived: true to record it (reconciler adopt does), or recreate: true to "
        "create a new workspace of this name."
    )
    assert plan_of(desired(workspaces={"Old": {"archived": True}}), archived).is_empty
    plan = plan_of(desired(workspaces={"Old": {"recreate": True}}), archived)
    assert actions(plan) == {'workspace["Old"]': ("create", {"name": (None, "Old")})}
    assert plan.warnings == (
        'workspace["Old"]: the workspace of this name (wrkspc_gone) was archived on 2026-11-02; '
        "a new workspace of this name is created, as the file's recreate: true says",
    )


def test_api_keys_are_renamed_never_created_or_revived() -> None:
    keys = {
        "apikey_1": {"name": "a", "status": "active"},
        "apikey_2": {"name": "b", "status": "archived"},
    }
    plan = plan_of(desired(api_keys={"apikey_1": {"status": "inactive"}}), live(keys=keys))
    assert actions(plan) == {'api_key["apikey_1"]': ("update", {"status": ("active", "inactive")})}
    with pytest.raises(PlanError, match="cannot be created"):
        plan_of(desired(api_keys={"apikey_9": {"name": "x"}}), live(keys=keys))
    with pytest.raises(PlanError, match="cannot be made active again"):
        plan_of(desired(api_keys={"apikey_2": {"status": "active"}}), live(keys=keys))


def test_nothing_is_removed_without_prune() -> None:
    state = live(workspaces={"R": {}}, members={"R": {"ben@x.io": "workspace_user"}})
    plan = plan_of(desired(users={"ben@x.io": "developer"}, workspaces={"R": {}}), state)
    assert plan.is_empty


def test_prune_removes_what_is_not_listed_and_guards_large_removals() -> None:
    users = {f"u{n}@x.io": "user" for n in range(8)}
    listed = dict.fromkeys(list(users)[:6], "user")
    plan = plan_of(
        desired(users={"prune": True, **listed}), live(users=users, invites={"inv@x.io": "user"})
    )
    assert sorted(r.address for r in plan.resources) == [
        'user["inv@x.io"]',
        'user["u6@x.io"]',
        'user["u7@x.io"]',
    ]
    assert all(r.action is Action.DELETE for r in plan.resources)
    assert plan.guards == ("removes 3 of 9 users and invites (33%), more than 25%",)
    with pytest.raises(UnsafePlanError, match="--force"):
        flows.check_safe(plan, max_changes=None)
    flows.check_safe(plan, max_changes=None, force=True)


def test_pruning_never_plans_an_admins_removal_which_the_api_refuses() -> None:
    users = {"ada@x.io": "admin", **{f"u{n}@x.io": "user" for n in range(9)}}
    plan = plan_of(
        desired(users={"prune": True, **{e: "user" for e in users if e != "ada@x.io"}}),
        live(users=users),
    )
    assert plan.resources == ()
    assert plan.guards == ()


def test_an_admin_listed_as_admin_is_a_check_and_a_mismatch_only_a_warning() -> None:
    state = live(users={"ada@x.io": "admin", "ben@x.io": "developer"})
    assert plan_of(desired(users={"prune": True, "ada@x.io": "admin"}), state).warnings == ()
    plan = plan_of(desired(users={"ben@x.io": "admin", "zed@x.io": "admin"}), state)
    assert plan.resources == ()
    assert plan.warnings == (
        'user["ben@x.io"] is listed as an organization admin but is developer live; admins are '
        "made and removed in the Console, so reconciler changes nothing",
        'user["zed@x.io"] is listed as an organization admin but is not a member; admins are '
        "made and removed in the Console, so reconciler changes nothing",
    )


def test_member_prune_is_per_workspace_and_targets_never_prune() -> None:
    state = live(
        workspaces={"R": {}, "S": {}},
        members={
            "R": {"ben@x.io": "workspace_user", "ada@x.io": "workspace_admin"},
            "S": {"ben@x.io": "workspace_user"},
        },
    )
    wanted = desired(
        workspaces={"R": {"members": {"prune": True, "ada@x.io": "workspace_admin"}}, "S": {}}
    )
    plan = plan_of(wanted, state)
    assert actions(plan) == {
        'member["R"]["ben@x.io"]': ("delete", {"workspace_role": ("workspace_user", None)})
    }
    assert plan.guards == ('removes 1 of 2 members of workspace "R" (50%), more than 25%',)
    targeted = plan_of(wanted, state, targets=['workspace["R"]'])
    assert targeted.is_empty
    assert targeted.guards == ()


def test_a_saved_admin_plan_round_trips_and_a_create_that_exists_now_is_stale(
    tmp_path: Path,
) -> None:
    plan = plan_of(desired(workspaces={"New": {"members": {"ben@x.io": "workspace_user"}}}), live())
    path = tmp_path / "plan.json"
    planfile.save(plan, path)
    loaded = planfile.load_saved(path).plan
    assert loaded == plan
    assert loaded.provider == "anthropic-admin"
    with pytest.raises(StalePlanError, match='workspace\\["New"\\] \\(exists now\\)'):
        planning.check_not_stale(loaded, live(workspaces={"New": {}}))


def test_a_removal_the_base_file_already_pruned_is_drift() -> None:
    users = {"ben@x.io": "user", "old@x.io": "user", "c@x.io": "user", "d@x.io": "user"}
    base = desired(users={"prune": True, "ben@x.io": "user", "c@x.io": "user", "d@x.io": "user"})
    edited = desired(
        users={"prune": True, "ben@x.io": "developer", "c@x.io": "user", "d@x.io": "user"}
    )
    plan = plan_of(edited, live(users=users))
    change, drift, _ = origin.split_by_origin(plan, base)
    assert [r.address for r in change.resources] == ['user["ben@x.io"]']
    assert [r.address for r in drift.resources] == ['user["old@x.io"]']


def test_emails_match_without_case_and_two_spellings_are_refused(tmp_path: Path) -> None:
    plan = plan_of(desired(users={"Ben@X.io": "developer"}), live())
    assert plan.is_empty
    path = tmp_path / "org.yaml"
    path.write_text(
        "version: 1\nprovider: anthropic-admin\nusers:\n  ben@x.io: user\n  BEN@x.io: billing\n"
    )
    with pytest.raises(ConfigError, match="are the same email"):
        document.load(path)


# -- the member rules, sentence by sentence --------------------------------------------------


def test_a_member_who_is_not_in_the_organization_is_told_why_it_waits() -> None:
    plan = plan_of(
        desired(
            users={"new@x.io": "user"},
            workspaces={
                "R": {
                    "members": {
                        "new@x.io": "workspace_user",
                        "inv@x.io": "workspace_user",
                        "zed@x.io": "workspace_user",
                    }
                }
            },
        ),
        live(workspaces={"R": {}}, invites={"inv@x.io": "user"}),
    )
    waiting = " yet; it joins the workspace on a plan after the invite is accepted"
    assert f'member["R"]["new@x.io"]: new@x.io is not a member of the organization{waiting}' in (
        plan.warnings
    )
    assert f'member["R"]["inv@x.io"]: inv@x.io is not a member of the organization{waiting}' in (
        plan.warnings
    )
    assert (
        'member["R"]["zed@x.io"]: zed@x.io is not a member of the organization; list it under '
        "users to invite it"
    ) in plan.warnings


def test_an_org_admin_keeps_workspace_admin_whatever_the_file_says() -> None:
    plan = plan_of(
        desired(workspaces={"R": {"members": {"ada@x.io": "workspace_developer"}}}),
        live(workspaces={"R": {}}),
    )
    assert plan.resources == ()
    assert plan.warnings == (
        'member["R"]["ada@x.io"]: ada@x.io is an organization admin and has workspace_admin in '
        "every workspace; workspace_developer is not applied",
    )


def test_workspace_billing_is_inherited_by_billing_users_and_not_given_to_others() -> None:
    users = {"ada@x.io": "admin", "bill@x.io": "billing", "ben@x.io": "developer"}
    inherited = plan_of(
        desired(workspaces={"R": {"members": {"bill@x.io": "workspace_billing"}}}),
        live(users=users, workspaces={"R": {}}),
    )
    assert inherited.is_empty
    assert inherited.warnings == ()
    other_role = plan_of(
        desired(workspaces={"R": {"members": {"bill@x.io": "workspace_user"}}}),
        live(users=users, workspaces={"R": {}}),
    )
    assert actions(other_role) == {
        'member["R"]["bill@x.io"]': ("create", {"workspace_role": (None, "workspace_user")})
    }
    with pytest.raises(PlanError) as caught:
        plan_of(
            desired(workspaces={"R": {"members": {"ben@x.io": "workspace_billing"}}}),
            live(users=users, workspaces={"R": {}}),
        )
    assert (
        'member["R"]["ben@x.io"]: workspace_billing cannot be given to a new member through the '
        "API; add the member with another role, or make the user a billing user"
    ) in caught.value.message


def test_an_existing_members_role_is_updated_in_place() -> None:
    plan = plan_of(
        desired(workspaces={"R": {"members": {"ben@x.io": "workspace_developer"}}}),
        live(workspaces={"R": {}}, members={"R": {"ben@x.io": "workspace_user"}}),
    )
    assert actions(plan) == {
        'member["R"]["ben@x.io"]': (
            "update",
            {"workspace_role": ("workspace_user", "workspace_developer")},
        )
    }


def test_api_key_problems_are_sentences() -> None:
    keys = {"apikey_2": {"name": "b", "status": "archived"}}
    with pytest.raises(PlanError) as missing:
        plan_of(desired(api_keys={"apikey_9": {"name": "x"}}), live(keys=keys))
    assert (
        'api_key["apikey_9"] does not exist, and API keys cannot be created through the Admin '
        "API: fix the id or remove it"
    ) in missing.value.message
    with pytest.raises(PlanError) as revived:
        plan_of(desired(api_keys={"apikey_2": {"status": "active"}}), live(keys=keys))
    assert (
        'api_key["apikey_2"] is archived, and an archived key cannot be made active again: '
        "write status: archived to record it (reconciler adopt does), or remove it from the file"
    ) in revived.value.message
    renamed = plan_of(
        desired(api_keys={"apikey_2": {"name": "b2", "status": "archived"}}), live(keys=keys)
    )
    assert actions(renamed) == {'api_key["apikey_2"]': ("update", {"name": ("b", "b2")})}


def test_what_the_file_does_not_name_is_counted_unmanaged_and_pruned_is_not() -> None:
    keys = {"apikey_1": {"name": "a", "status": "active"}}
    state = live(
        users={"ada@x.io": "admin", "ben@x.io": "user", "cy@x.io": "user"},
        workspaces={"R": {}, "S": {}},
        keys=keys,
    )
    plan = plan_of(desired(users={"ada@x.io": "admin", "ben@x.io": "user"}), state)
    assert plan.unmanaged == {"user": 1, "workspace": 2, "API key": 1}
    pruned = plan_of(desired(users={"prune": True, "ada@x.io": "admin", "ben@x.io": "user"}), state)
    assert pruned.unmanaged == {"workspace": 2, "API key": 1}
