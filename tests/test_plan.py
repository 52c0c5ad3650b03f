"""Planning: managed fields only, errors for what cannot be, warnings, saved plans."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler import planfile, planning
from reconciler.errors import PlanError, PlanFileError, StalePlanError
from reconciler.model import DesiredState, LiveResource, LiveState

from .builders import plan_of

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


def test_a_saved_plan_round_trips_and_holds_no_key(tmp_path: Path) -> None:
    api = {"base_url": "http://127.0.0.1:1", "key_variable": "ORG_A_ADMIN_KEY"}
    result = replace(plan_of(desired(company={"name": "B"}), live()), api=api)
    path = tmp_path / "plan.json"
    planfile.save(result, path)
    saved = planfile.load_saved(path)
    assert saved.plan.data() == result.data()
    assert saved.sections is None
    assert saved.plan.api == api
    assert not saved.is_undo
    assert json.loads(path.read_text())["source"]["sha256"] == "0" * 64


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[]",
        '{"format_version": 99}',
        '{"format_version": 1}',
        '{"format_version": 1, "resources": [{"address": 1}]}',
    ],
)
def test_damaged_plan_files_are_clear_errors(tmp_path: Path, text: str) -> None:
    path = tmp_path / "plan.json"
    path.write_text(text)
    with pytest.raises(PlanFileError):
        planfile.load_saved(path)


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
    change, drift = planning.split_by_origin(result, base)
    assert {(r.address, tuple(r.changes)) for r in change.resources} == {
        ("company", ("usage_limit",)),
        ("project.proj_1", ("name",)),
    }
    assert [(r.address, tuple(r.changes)) for r in drift.resources] == [("company", ("name",))]
    assert drift.resources[0].etag == result.resources[0].etag


def test_with_no_base_file_everything_is_this_edit() -> None:
    from reconciler.config import empty

    result = plan_of(desired(company={"name": "B"}), live())
    change, drift = planning.split_by_origin(result, empty("old.yaml"))
    assert change.to_change == 1
    assert drift.is_empty


def test_a_saved_plan_of_format_1_still_loads(tmp_path: Path) -> None:
    old = {
        "format_version": 1,
        "resources": [
            {
                "address": "project.proj_1",
                "action": "update",
                "etag": '"e"',
                "changes": {"name": {"before": "a", "after": "b"}},
            }
        ],
        "warnings": [],
        "summary": {"to_change": 1, "fields": 1, "unmanaged_projects": 4},
        "source": {"file": "org.yaml", "sha256": "0" * 64},
        "api": {"base_url": "http://127.0.0.1:1", "api_key_env": None},
    }
    path = tmp_path / "old-plan.json"
    path.write_text(json.dumps(old))
    loaded = planfile.load_saved(path).plan
    assert loaded.provider == "company"
    assert loaded.unmanaged == {"project": 4}
    assert loaded.summary() == "Plan: 1 resource to change (1 field). 4 unmanaged projects."
