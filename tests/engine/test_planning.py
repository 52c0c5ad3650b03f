"""Planning: managed fields only, errors for what cannot be, warnings, staleness, the
split into this edit and drift."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.core.errors import PlanError, StalePlanError
from reconciler.engine import origin, planning
from tests.support.builders import desired, live, plan_of, project


def test_only_fields_written_are_compared() -> None:
    result = plan_of(desired(company={"name": "A"}), live())
    assert result.is_empty


def test_changes_carry_before_after_and_the_etag() -> None:
    result = plan_of(
        desired(company={"usage_limit": 2000}, project__proj_1={"billing_email": None}),
        live(project("proj_1", billing_email="x@example.com")),
    )
    assert [r.data() for r in result.resources] == [
        {
            "address": "company",
            "action": "update",
            "etag": '"c1"',
            "changes": {"usage_limit": {"before": 1000, "after": 2000}},
        },
        {
            "address": "project.proj_1",
            "action": "update",
            "etag": '"proj_1"',
            "changes": {"billing_email": {"before": "x@example.com", "after": None}},
        },
    ]
    assert result.summary() == "Plan: 2 resources to change (2 fields). 0 unmanaged projects."


def test_explicit_null_differs_from_a_value() -> None:
    result = plan_of(desired(company={"usage_limit": None}), live())
    assert result.resources[0].changes["usage_limit"].after is None


def test_a_project_missing_live_is_an_error_naming_it() -> None:
    with pytest.raises(PlanError) as caught:
        plan_of(desired(project__proj_9={"name": "x"}), live(project("proj_1")))
    assert "project.proj_9" in caught.value.message


def test_live_projects_not_in_the_file_are_counted_unmanaged() -> None:
    result = plan_of(
        desired(project__proj_1={"name": "proj_1"}),
        live(project("proj_1"), project("proj_2"), project("proj_3")),
    )
    assert result.unmanaged == {"project": 2}
    assert result.summary().endswith(" 2 unmanaged projects.")
    assert result.data()["summary"]["unmanaged"] == {"project": 2}


def test_targets_narrow_the_plan_and_unknown_targets_are_errors() -> None:
    wanted = desired(company={"name": "B"}, project__proj_1={"name": "new"})
    result = plan_of(wanted, live(project("proj_1")), targets=["project.proj_1"])
    assert [r.address for r in result.resources] == ["project.proj_1"]
    with pytest.raises(PlanError):
        plan_of(wanted, live(project("proj_1")), targets=["project.proj_7"])


def test_an_integer_and_a_float_or_boolean_are_not_the_same_value() -> None:
    result = plan_of(
        desired(project__proj_1={"usage_limit": 1}), live(project("proj_1", usage_limit=True))
    )
    assert not result.is_empty


def test_risky_values_are_warned_about() -> None:
    result = plan_of(
        desired(company={"usage_limit": 100, "plan": "team", "billing_email": "billing@other.org"}),
        live(tokens_used=500),
    )
    text = "\n".join(result.warnings)
    assert "below this month's usage (500 tokens)" in text
    assert "downgrade from scale to team" in text
    assert "domain changes from example.com to other.org" in text


def test_stale_when_a_planned_value_moved() -> None:
    result = plan_of(desired(company={"name": "B"}), live())
    planning.check_not_stale(result, live(usage_limit=5))  # unrelated field: not stale
    with pytest.raises(StalePlanError) as caught:
        planning.check_not_stale(result, live(name="Z"))
    assert 'company.name (planned from "A", now "Z")' in caught.value.message


values = st.one_of(st.none(), st.integers(0, 2**53 - 1), st.text(max_size=5))


@given(
    before=st.dictionaries(st.sampled_from(["name", "description", "usage_limit"]), values),
    after=st.dictionaries(st.sampled_from(["name", "description", "usage_limit"]), values),
)
def test_applying_the_plan_to_live_yields_no_further_plan(
    before: dict[str, Any], after: dict[str, Any]
) -> None:
    current = project("proj_1", **before)
    result = plan_of(desired(project__proj_1=after), live(current))
    for resource in result.resources:
        current = {**current, **resource.after}
    assert plan_of(desired(project__proj_1=after), live(current)).is_empty
    changed = {n for r in result.resources for n in r.changes}
    assert changed <= set(after)


def test_split_by_origin_tells_this_edit_from_drift_already_there() -> None:
    new = desired(company={"name": "B", "usage_limit": 2000}, project__proj_1={"name": "x"})
    base = desired(company={"name": "B", "usage_limit": 1000})
    result = plan_of(new, live(project("proj_1")))
    change, drift, _ = origin.split_by_origin(result, base)
    assert {(r.address, tuple(r.changes)) for r in change.resources} == {
        ("company", ("usage_limit",)),
        ("project.proj_1", ("name",)),
    }
    assert [(r.address, tuple(r.changes)) for r in drift.resources] == [("company", ("name",))]
    assert drift.resources[0].etag == result.resources[0].etag


def test_with_no_base_file_everything_is_this_edit() -> None:
    from reconciler.desired.document import empty

    result = plan_of(desired(company={"name": "B"}), live())
    change, drift, _ = origin.split_by_origin(result, empty("old.yaml"))
    assert change.to_change == 1
    assert drift.is_empty
