"""Saved plans on disk: written whole with the file's digest and the API, never the
key; read back or refused as damaged; matched to the file they were made from;
undo plans signed, and refused once edited or used with another key."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import pytest

from reconciler.core.errors import PlanFileError, StalePlanError
from reconciler.core.model import Action, FieldChange, Outcome, PlannedHold, ResourceResult
from reconciler.engine import planfile
from tests.support.builders import desired, live, plan_of


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


def test_the_file_a_plan_is_checked_against_must_be_the_one_it_was_made_from(
    tmp_path: Path,
) -> None:
    org = tmp_path / "org.yaml"
    org.write_text("version: 1\n")
    digest = hashlib.sha256(org.read_bytes()).hexdigest()
    plan = replace(
        plan_of(desired(company={"name": "B"}), live()),
        source={"file": str(org), "sha256": digest},
    )
    saved = planfile.SavedPlan(plan)
    assert planfile.source_of(saved, None) == org
    assert planfile.source_of(saved, org) == org
    org.write_text("version: 1\n# edited\n")
    with pytest.raises(StalePlanError, match="was not made from"):
        planfile.source_of(saved, None)
    gone = planfile.SavedPlan(replace(plan, source={"file": str(tmp_path / "no.yaml")}))
    with pytest.raises(PlanFileError, match="Pass --expect-file FILE"):
        planfile.source_of(gone, None)


@pytest.mark.parametrize("etag", [True, 7, ["e"], "e\nX-Injected: 1", "é"])
def test_an_etag_that_could_not_be_a_header_is_damage(tmp_path: Path, etag: object) -> None:
    path = tmp_path / "plan.json"
    planfile.save(plan_of(desired(company={"name": "B"}), live()), path)
    data = json.loads(path.read_text())
    data["resources"][0]["etag"] = etag
    path.write_text(json.dumps(data))
    with pytest.raises(PlanFileError, match="damaged"):
        planfile.load_saved(path)


def test_an_undo_plan_is_signed_and_refused_once_edited_or_with_another_key(
    tmp_path: Path,
) -> None:
    plan = replace(
        plan_of(desired(company={"name": "B"}), live()),
        api={"base_url": "http://127.0.0.1:1", "key_variable": "CLAUDE_API_KEY"},
    )
    path = tmp_path / "undo.json"
    recorder = planfile.UndoRecorder(path, plan, api_key="sk-key-one")
    recorder.record(
        ResourceResult("company", Outcome.APPLIED, {"name": FieldChange("A", "B")}, etag='"n"')
    )
    undo = planfile.load_saved(path)
    assert undo.is_undo
    (back,) = undo.plan.resources
    assert (back.action, back.changes["name"]) == (Action.UPDATE, FieldChange("B", "A"))
    assert "sk-key-one" not in path.read_text()
    planfile.check_undo(undo, "sk-key-one")
    with pytest.raises(PlanFileError, match="not the one apply wrote"):
        planfile.check_undo(undo, "sk-key-two")
    data = json.loads(path.read_text())
    data["resources"][0]["changes"]["name"]["after"] = "Evil"
    path.write_text(json.dumps(data))
    with pytest.raises(PlanFileError, match="not the one apply wrote"):
        planfile.check_undo(planfile.load_saved(path), "sk-key-one")


HELD = PlannedHold(
    "users.ben@example.com",
    'user["ben@example.com"]',
    True,
    "developer",
    None,
    "2026-12-14",
    "2026-12-15T00:00:00Z",
    False,
)
VALUE = PlannedHold(
    "company.usage_limit",
    "company",
    False,
    500000,
    100,
    "2026-12-31",
    "2027-01-01T00:00:00Z",
    True,
)


def test_a_saved_plan_keeps_its_holds_and_the_edits_of_them(tmp_path: Path) -> None:
    """What a reviewer saw of the holds comes back exactly: --only-ended-holds
    matches ended holds against it."""
    result = replace(plan_of(desired(company={"name": "B"}), live()), holds=(HELD, VALUE))
    change, drift = replace(result, holds=(replace(HELD, edit="added"),)), result
    path = tmp_path / "plan.json"
    planfile.save(result, path, sections=(change, drift))
    saved = planfile.load_saved(path)
    assert saved.plan.holds == (HELD, VALUE)
    assert saved.sections is not None
    assert saved.sections[0].holds == (replace(HELD, edit="added"),)
    assert saved.sections[1].holds == ()


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"kind": "both"}, "a hold is a grant or a value, not 'both'"),
        ({"value": {"nested": 1}}, "a hold holds a single value"),
        ({"then": [1]}, "a hold holds a single value"),
        ({"path": None}, "a hold's place and end are text"),
        ({"ends_at": 20261215}, "a hold's place and end are text"),
        ({"ended": "no"}, "ended is true or false"),
        # What reaches a terminal from a saved plan is only ever a word reconciler wrote.
        ({"edit": "added\u001b]8;;https://x\u0007"}, "a hold's edit is one of added"),
    ],
)
def test_a_damaged_hold_is_a_damaged_plan(
    tmp_path: Path, change: dict[str, object], why: str
) -> None:
    result = replace(plan_of(desired(company={"name": "B"}), live()), holds=(HELD,))
    path = tmp_path / "plan.json"
    planfile.save(result, path)
    data = json.loads(path.read_text())
    data["holds"][0].update(change)
    path.write_text(json.dumps(data))
    with pytest.raises(PlanFileError) as caught:
        planfile.load_saved(path)
    assert why in caught.value.message
    del data["holds"][0]["ended"]
    path.write_text(json.dumps(data))
    with pytest.raises(PlanFileError, match="damaged"):
        planfile.load_saved(path)
