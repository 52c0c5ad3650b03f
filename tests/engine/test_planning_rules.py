"""The planning rules that keep a saved or targeted plan honest, one by one, in
process: staleness, a saved plan that claims more than its file, the organization
pin, holds that ended since a plan was made, ``--target`` and a saved plan's subset.
Each test fails when its rule is mutated (``mutmut run``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from reconciler import providers
from reconciler.core.errors import PlanError, PlanFileError, StalePlanError
from reconciler.core.model import Action, FieldChange, LiveState, Plan, ResourceChange
from reconciler.desired.holds import Hold
from reconciler.engine import origin, planning
from tests.support.builders import admin_desired, admin_live, desired, live, plan_of, project

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


def change(
    address: str, action: Action = Action.UPDATE, **fields: tuple[object, object]
) -> ResourceChange:
    return ResourceChange(
        address, action, None, {n: FieldChange(b, a) for n, (b, a) in fields.items()}
    )


def stale(plan: Plan, now: LiveState) -> str:
    with pytest.raises(StalePlanError) as caught:
        planning.check_not_stale(plan, now)
    return caught.value.message


# -- staleness ---------------------------------------------------------------------------


def test_a_plan_whose_values_did_not_move_is_not_stale() -> None:
    planning.check_not_stale(Plan((change("company", name=("A", "B")),)), live())


def test_an_empty_plan_is_never_stale_nor_applied() -> None:
    planning.check_not_stale(Plan(()), live())


def test_a_plan_live_already_holds_is_applied_already() -> None:
    message = stale(Plan((change("company", name=("Z", "A")),)), live())
    assert message == (
        "The saved plan looks applied already: live already holds every value it asks for. "
        "Nothing was written; run plan again to see what, if anything, is left."
    )


def test_applied_already_needs_every_resource_applied() -> None:
    plan = Plan(
        (change("company", name=("Z", "A")), change("project.proj_1", name=("proj_1", "X")))
    )
    message = stale(plan, live(project("proj_1")))
    assert message.startswith("The saved plan is stale: company.name (planned from")


def test_a_moved_value_a_new_type_a_gone_resource_and_a_taken_create_are_stale() -> None:
    plan = Plan(
        (
            change("company", name=("A", "B"), usage_limit=(1000, 5)),
            change("project.proj_1", usage_limit=(1, 2)),
            change("project.proj_2", name=("x", "y")),
            change("project.proj_3", Action.CREATE, name=(None, "new")),
        )
    )
    now = live(project("proj_1", usage_limit=True), project("proj_3"), name="Z")
    assert stale(plan, now) == (
        'The saved plan is stale: company.name (planned from "A", now "Z"), '
        "project.proj_1.usage_limit (planned from 1, now true), project.proj_2 (gone), "
        "project.proj_3 (exists now) changed since it was made. Nothing was written; run "
        "plan again and review the new plan."
    )


def test_a_create_whose_resource_is_still_absent_is_not_stale() -> None:
    planning.check_not_stale(
        Plan((change("project.proj_9", Action.CREATE, name=(None, "new")),)), live()
    )


def test_past_five_moved_values_the_rest_are_counted() -> None:
    plan = Plan(tuple(change(f"project.p{n}", name=("x", "y")) for n in range(8)))
    assert "project.p4 (gone) and 3 more changed since" in stale(plan, live())
    five = Plan(tuple(change(f"project.p{n}", name=("x", "y")) for n in range(5)))
    assert "project.p4 (gone) changed since" in stale(five, live())


def test_a_removal_is_applied_already_when_the_resource_is_gone() -> None:
    plan = Plan((change("project.proj_1", Action.DELETE, name=("x", None)),))
    assert "looks applied already" in stale(plan, live())
    with pytest.raises(StalePlanError, match=r"project\.proj_1\.name"):
        planning.check_not_stale(plan, live(project("proj_1")))  # x moved to proj_1


# -- a saved plan against what its file asks for now -------------------------------------


def test_a_saved_plan_may_hold_fewer_changes_never_others() -> None:
    fresh = Plan((change("company", name=("A", "B")), change("project.p", name=("x", "y"))))
    planning.check_matches(Plan((fresh.resources[1],)), fresh, source="org.yaml")
    planning.check_matches(Plan(()), fresh, source="org.yaml")


ASKED = {"name": ("A", "B"), "usage_limit": (0, 1)}


@pytest.mark.parametrize(
    "claimed",
    [
        change("company", **{**ASKED, "name": ("A", "C")}),  # another value
        change("company", **{**ASKED, "name": ("Z", "B")}),  # another before
        change("company", **ASKED, plan=("team", "scale")),  # a field more
        change("company", name=("A", "B")),  # a field less
        change("company", Action.DELETE, **ASKED),  # another action
        replace(change("company", **ASKED), requires=("x",)),  # another requirement
        change("company", **{**ASKED, "usage_limit": (0, True)}),  # True is not 1
        change("company", **{**ASKED, "usage_limit": (False, 1)}),  # nor False 0
        change("project.unasked", name=("x", "y")),  # not in the file at all
    ],
)
def test_a_saved_plan_that_claims_something_else_is_refused(claimed: ResourceChange) -> None:
    fresh = Plan((change("company", **ASKED),))
    planning.check_matches(Plan((change("company", **ASKED),)), fresh, source="org.yaml")
    with pytest.raises(PlanFileError) as caught:
        planning.check_matches(Plan((claimed,)), fresh, source="org.yaml")
    assert caught.value.message == (
        f"The saved plan does not match org.yaml: {claimed.address} is not what the file asks "
        "for; nothing was written. Run plan again from the file and review the new plan."
    )


def test_past_five_unasked_changes_the_rest_are_counted() -> None:
    saved = Plan(tuple(change(f"project.p{n}", name=("x", "y")) for n in range(7)))
    with pytest.raises(PlanFileError) as caught:
        planning.check_matches(saved, Plan(()), source="org.yaml")
    assert "project.p4 and 2 more are not what the file asks for" in caught.value.message


# -- the organization pin -------------------------------------------------------------------


def pinned(organization: str | None) -> LiveState:
    return replace(live(), organization=organization)


def test_an_unpinned_file_plans_with_any_key() -> None:
    planning.check_organization(desired(company={}), pinned("org_other"))


def test_a_pinned_file_plans_with_its_organizations_key() -> None:
    planning.check_organization(replace(desired(), organization="org_1"), pinned("org_1"))


def test_another_organizations_key_is_refused_before_anything_is_planned() -> None:
    with pytest.raises(PlanError) as caught:
        planning.make_plan(
            replace(desired(company={"name": "B"}), organization="org_1"),
            pinned("org_2"),
            providers.get("company"),
        )
    assert caught.value.message == (
        'org.yaml is pinned to organization "org_1" (organization.id), but the key belongs '
        'to organization "org_2"; nothing was planned or written. Use a key of the pinned '
        "organization, or correct the pin."
    )


def test_a_key_that_does_not_say_its_organization_is_refused_by_a_pin() -> None:
    with pytest.raises(PlanError, match="but the key does not say which organization"):
        planning.check_organization(replace(desired(), organization="org_1"), pinned(None))


# -- holds that ended since the plan was made -------------------------------------------------


def hold(address: str, until: datetime) -> Hold:
    return Hold(("company", "usage_limit"), until, until.date().isoformat(), 5, 1, address=address)


def made(at: datetime, *addresses: str) -> Plan:
    resources = tuple(change(a, usage_limit=(1, 5)) for a in addresses)
    return Plan(resources, made_at=at.isoformat().replace("+00:00", "Z"))


@pytest.mark.parametrize(
    ("until", "refused"),
    [
        (NOW - timedelta(days=2), False),  # ended before the plan was made: planned with it
        (NOW - timedelta(hours=1), True),  # ended after the plan was made
        (NOW, True),  # ends right now: it no longer holds
        (NOW + timedelta(seconds=1), False),  # still holds
    ],
)
def test_a_saved_plan_is_stale_once_a_hold_on_it_ended(until: datetime, refused: bool) -> None:
    wanted = replace(desired(), holds=(hold("company", until),), as_of=NOW)
    plan = made(NOW - timedelta(days=1), "company")
    if not refused:
        planning.check_holds(plan, wanted)
        return
    with pytest.raises(StalePlanError) as caught:
        planning.check_holds(plan, wanted)
    assert caught.value.message.startswith(
        f"The saved plan is stale: the hold on company.usage_limit (until {until.date()}) "
        f"ended after it was made ({plan.made_at})"
    )


def test_a_hold_on_a_resource_the_plan_does_not_touch_does_not_matter() -> None:
    wanted = replace(desired(), holds=(hold("project.p", NOW - timedelta(hours=1)),), as_of=NOW)
    planning.check_holds(made(NOW - timedelta(days=1), "company"), wanted)


def test_a_plan_without_its_moment_is_not_checked_for_holds() -> None:
    wanted = replace(desired(), holds=(hold("company", NOW - timedelta(hours=1)),), as_of=NOW)
    planning.check_holds(Plan((change("company", usage_limit=(1, 5)),)), wanted)


# -- --target and a saved plan's subset ---------------------------------------------------------


def test_targets_keep_what_they_name_in_file_order() -> None:
    wanted = desired(
        company={"name": "B"}, project__proj_1={"name": "x"}, project__proj_2={"name": "y"}
    )
    now = live(project("proj_1"), project("proj_2"))
    result = plan_of(wanted, now, targets=["project.proj_2", "company", "company"])
    assert [r.address for r in result.resources] == ["company", "project.proj_2"]
    assert result.targets == ("company", "project.proj_2")


def test_an_unknown_target_is_refused_with_the_nearest_address() -> None:
    wanted = desired(project__proj_1={"name": "x"})
    with pytest.raises(PlanError) as caught:
        plan_of(wanted, live(project("proj_1")), targets=["project.proj_l", "zzz"])
    assert caught.value.message == (
        "--target project.proj_l, zzz names nothing in org.yaml; did you mean project.proj_1? "
        "targets are addresses of the file, like 'company' or 'project.proj_1'."
    )
    with pytest.raises(PlanError, match=r"names nothing in org.yaml; targets are"):
        plan_of(wanted, live(project("proj_1")), targets=["zzz"])


def test_a_problem_outside_the_targets_does_not_stop_the_targeted_plan() -> None:
    wanted = desired(company={"name": "B"}, project__proj_9={"name": "x"})
    result = plan_of(wanted, live(), targets=["company"])
    assert [r.address for r in result.resources] == ["company"]
    with pytest.raises(PlanError) as caught:
        plan_of(wanted, live())
    assert caught.value.message.startswith("org.yaml: ")


def test_a_saved_plans_subset_keeps_only_its_addresses_and_their_warnings() -> None:
    wanted = desired(company={"usage_limit": 100}, project__proj_1={"name": "x"})
    now = live(project("proj_1"))
    result = planning.make_plan(
        wanted, now, providers.get("company"), only=frozenset({"project.proj_1"})
    )
    assert [r.address for r in result.resources] == ["project.proj_1"]
    assert not any("usage" in w for w in result.warnings)  # the company's warning went too
    everything = planning.make_plan(wanted, now, providers.get("company"))
    assert any("below this month's usage" in w for w in everything.warnings)


def test_a_plan_records_what_it_was_made_from() -> None:
    wanted = replace(desired(company={"name": "B"}), as_of=NOW)
    result = plan_of(wanted, live())
    assert result.source == {"file": "org.yaml", "sha256": "0" * 64}
    assert result.provider == "company"
    assert result.made_at == "2026-11-26T12:00:00Z"
    assert result.unmanaged == {"project": 0}


# -- drift apart from this edit -----------------------------------------------------------------


def test_an_ended_holds_work_is_not_drift_and_other_changes_are() -> None:
    ended = replace(hold("company", NOW - timedelta(days=1)), field="usage_limit", expired=True)
    wanted = replace(desired(), holds=(ended,))
    plan = Plan(
        (
            change("company", usage_limit=(5, 1)),
            change("project.p", name=("x", "y")),
            change("company2", usage_limit=(5, 1), name=("a", "b")),
        )
    )
    assert planning.not_from_ended_holds(plan, wanted) == ["project.p", "company2"]
    grant = replace(wanted, expired=frozenset({"project.p"}))
    assert planning.not_from_ended_holds(plan, grant) == ["company2"]


def test_an_api_edit_is_named_for_the_reviewer() -> None:
    base = desired()
    moved = replace(base, base_url="https://elsewhere.example", api_key_env="OTHER_KEY")
    assert planning.api_changes(base, base) == ()
    assert planning.api_changes(base, moved) == (
        'this edit changes api.base_url from null to "https://elsewhere.example": where the '
        "key is sent or which secret is read; check who asked for it",
        'this edit changes api.api_key_env from null to "OTHER_KEY": where the key is sent '
        "or which secret is read; check who asked for it",
    )


# -- more of each rule, at its edges ------------------------------------------------------------


def test_problems_are_told_at_their_places_in_the_file() -> None:
    wanted = replace(
        desired(project__proj_8={"name": "x"}, project__proj_9={"name": "y"}),
        positions={"project.proj_8": (7, 3), "project.proj_9": (9, 3)},
    )
    with pytest.raises(PlanError) as caught:
        plan_of(wanted, live())
    first, second = caught.value.message.split("\n")
    assert first.startswith("org.yaml:7:3: ")
    assert second.startswith("org.yaml:9:3: ")
    assert second.endswith(".")
    assert not second.endswith("..")


def ending(address: str, field: str | None, days: float) -> Hold:
    until = NOW + timedelta(days=days)
    return Hold(
        ("company", field or "x"),
        until,
        until.date().isoformat(),
        5,
        then=1,
        address=address,
        field=field,
    )


def test_a_hold_ending_soon_is_said_only_for_the_addresses_planned() -> None:
    soon = (ending("company", "usage_limit", 2),)
    wanted = replace(
        desired(company={"usage_limit": 5}, project__proj_1={"name": "x"}), holds=soon, as_of=NOW
    )
    now = live(project("proj_1"))
    told = plan_of(wanted, now, targets=["company"]).warnings
    assert any("is held until" in w for w in told)
    untold = plan_of(wanted, now, targets=["project.proj_1"]).warnings
    assert not any("is held until" in w for w in untold)


def test_a_plan_made_now_records_its_moment_in_utc() -> None:
    wanted = replace(
        desired(company={"usage_limit": 5}), holds=(ending("company", "usage_limit", 2),)
    )
    result = plan_of(wanted, live())
    assert result.made_at is not None
    assert result.made_at.endswith("Z")
    assert any("is held until" in w for w in result.warnings)


def test_the_reader_sees_each_held_field_that_changes() -> None:
    held = (
        ending("project.proj_1", "name", 30),  # a resource not changing
        ending("company", "plan", 30),  # a field not changing
        ending("company", "usage_limit", 30),
        ending("company", "name", 30),
        replace(ending("company", None, 30), grant=True),
    )
    wanted = replace(desired(company={"usage_limit": 5, "name": "B"}), holds=held, as_of=NOW)
    result = plan_of(wanted, live(project("proj_1")))
    until = (NOW + timedelta(days=30)).date().isoformat()
    assert result.about["company"] == (
        f"usage_limit (until {until}, then 1); name (until {until}, then 1); (until {until})"
    )
    assert "project.proj_1" not in result.about


def test_a_plan_made_as_a_hold_ended_was_planned_with_its_then() -> None:
    moment = NOW - timedelta(days=1)
    wanted = replace(desired(), holds=(hold("company", moment),), as_of=NOW)
    planning.check_holds(made(moment, "company"), wanted)


def test_a_saved_plan_checked_now_against_holds_that_ended_is_stale() -> None:
    wanted = replace(desired(), holds=(hold("company", NOW - timedelta(hours=1)),))
    with pytest.raises(StalePlanError):
        planning.check_holds(made(NOW - timedelta(days=1), "company"), wanted)


def test_every_ended_hold_is_named_up_to_five() -> None:
    ended = tuple(
        replace(hold("company", NOW - timedelta(hours=1)), path=("company", f"f{n}"))
        for n in range(6)
    )
    wanted = replace(desired(), holds=ended, as_of=NOW)
    with pytest.raises(StalePlanError) as caught:
        planning.check_holds(made(NOW - timedelta(days=1), "company"), wanted)
    message = caught.value.message
    until = (NOW - timedelta(hours=1)).date()
    assert f"company.f0 (until {until}), company.f1 (until {until})," in message
    assert "company.f4" in message
    assert "company.f5" not in message
    assert message.endswith(
        "so the file asks for something else now. Nothing was written; run plan again and "
        "review the new plan."
    )


def test_a_taken_create_does_not_hide_what_moved_after_it() -> None:
    plan = Plan(
        (
            change("project.proj_3", Action.CREATE, name=(None, "new")),
            change("company", name=("A", "B")),
        )
    )
    message = stale(plan, live(project("proj_3"), name="Z"))
    assert "project.proj_3 (exists now), company.name (planned from" in message


def test_six_moved_values_are_five_and_one_more() -> None:
    plan = Plan(tuple(change(f"project.p{n}", name=("x", "y")) for n in range(6)))
    assert "project.p4 (gone) and 1 more changed since" in stale(plan, live())


@pytest.mark.parametrize(("count", "tail"), [(5, "project.p4 are not"), (6, "and 1 more are")])
def test_five_unasked_changes_are_all_named(count: int, tail: str) -> None:
    saved = Plan(tuple(change(f"project.p{n}", name=("x", "y")) for n in range(count)))
    with pytest.raises(PlanFileError) as caught:
        planning.check_matches(saved, Plan(()), source="org.yaml")
    assert tail in caught.value.message


def test_an_api_edit_shows_both_values() -> None:
    base = replace(desired(), base_url="http://127.0.0.1:8080")
    moved = replace(base, base_url="https://elsewhere.example")
    assert planning.api_changes(base, moved)[0].startswith(
        'this edit changes api.base_url from "http://127.0.0.1:8080" to "https://elsewhere.example"'
    )


def test_drift_keeps_each_fields_values_and_no_warnings() -> None:
    plan = Plan((change("company", name=("A", "B"), usage_limit=(1, 2)),), warnings=("a warning",))
    base = desired(company={"name": "B"})
    edit, drift, _ = origin.split_by_origin(plan, base)
    assert drift.resources[0].changes == {"name": FieldChange("A", "B")}
    assert edit.resources[0].changes == {"usage_limit": FieldChange(1, 2)}
    assert edit.warnings == ("a warning",)
    assert drift.warnings == ()


def test_a_create_half_wanted_before_is_all_this_edit() -> None:
    plan = Plan((change("workspace.ml", Action.CREATE, name=(None, "ML"), color=(None, "#fff")),))
    base = desired(workspace__ml={"name": "ML"})
    edit, drift, _ = origin.split_by_origin(plan, base)
    assert edit.resources[0].changes == plan.resources[0].changes
    assert drift.resources == ()
    whole = desired(workspace__ml={"name": "ML", "color": "#fff"})
    assert origin.split_by_origin(plan, whole)[1].resources == plan.resources


def test_a_removal_the_base_file_listed_is_this_edit_and_one_it_pruned_is_drift() -> None:
    removal = Plan((change("user.a@x.org", Action.DELETE, role=("user", None)),))
    listed = replace(desired(user__a_at={"role": "user"}), prune=frozenset({"user."}))
    listed = replace(listed, resources={"user.a@x.org": {"role": "user"}})
    assert origin.split_by_origin(removal, listed)[0].resources == removal.resources
    pruned = replace(desired(), prune=frozenset({"user."}))
    assert origin.split_by_origin(removal, pruned)[1].resources == removal.resources
    unpruned = desired()
    assert origin.split_by_origin(removal, unpruned)[0].resources == removal.resources


def test_a_providers_note_is_said_only_for_the_addresses_planned() -> None:
    admin = providers.get("anthropic-admin")
    wanted = admin_desired(
        workspaces={"Gone": {"archived": True}, "Research": {"display_color": "#000000"}}
    )
    now = admin.align(wanted, admin_live())
    everything = planning.make_plan(wanted, now, admin)
    assert any("Gone" in w and "nothing to archive" in w for w in everything.warnings)
    narrowed = planning.make_plan(wanted, now, admin, targets=['workspace["Research"]'])
    assert not any("nothing to archive" in w for w in narrowed.warnings)
    named = planning.make_plan(wanted, now, admin, targets=['workspace["Gone"]'])
    assert any("nothing to archive" in w for w in named.warnings)
