"""Renderers: what a reviewer reads in a terminal, a PR comment, or a pipeline."""

from __future__ import annotations

import json

from reconciler.core.model import (
    Action,
    ApplyReport,
    FieldChange,
    Outcome,
    Plan,
    ResourceChange,
    ResourceResult,
)
from reconciler.engine import render


def change(address: str, **fields: tuple[object, object]) -> ResourceChange:
    return ResourceChange(
        address, Action.UPDATE, '"e"', {n: FieldChange(b, a) for n, (b, a) in fields.items()}
    )


PLAN = Plan(
    resources=(
        change("company", billing_email=("a@x.com", "b@x.com"), usage_limit=(1, 2)),
        change("project.proj_1", billing_email=(None, "ml|ops@x.com")),
    ),
    warnings=("company.plan: downgrade from scale to team",),
    unmanaged={"project": 3},
)


def test_text_is_terraform_like_and_aligned() -> None:
    text = render.plan_text(PLAN)
    assert "  ~ company\n" in text
    assert '      billing_email: "a@x.com" → "b@x.com"\n' in text
    assert "      usage_limit:   1 → 2\n" in text
    assert '      billing_email: null → "ml|ops@x.com"' in text
    assert "  ! company.plan: downgrade from scale to team" in text
    assert text.rstrip().endswith("Plan: 2 resources to change (3 fields). 3 unmanaged projects.")
    assert "\x1b[" not in text


def test_text_is_coloured_only_when_asked() -> None:
    assert "\x1b[" in render.plan_text(PLAN, color=True)


def test_an_empty_plan_says_so() -> None:
    text = render.plan_text(Plan(resources=(), unmanaged={"project": 0}))
    assert text == "No changes: the live organization matches the file. 0 unmanaged projects.\n"


def test_json_is_the_documented_versioned_form() -> None:
    data = json.loads(render.plan_json(PLAN))
    assert data["format_version"] == 2
    assert data["summary"]["unmanaged"] == {"project": 3}
    assert (data["summary"]["to_change"], data["summary"]["fields"]) == (2, 3)
    assert data["resources"][1] == {
        "address": "project.proj_1",
        "action": "update",
        "etag": '"e"',
        "changes": {"billing_email": {"before": None, "after": "ml|ops@x.com"}},
    }
    assert data["warnings"] == ["company.plan: downgrade from scale to team"]


def test_markdown_has_a_table_per_resource_and_escapes_pipes() -> None:
    md = render.plan_markdown(PLAN)
    assert "#### `~ company (2 fields)`" in md
    assert '| `billing_email` | `"a@x.com"` | `"b@x.com"` |' in md
    assert "ml\\|ops" in md
    assert "> [!WARNING]" in md
    assert "<details>" not in md


def test_markdown_collapses_long_plans() -> None:
    many = Plan(resources=tuple(change(f"project.proj_{i}", name=("a", "b")) for i in range(12)))
    md = render.plan_markdown(many)
    assert md.count("<details>") == 12


def test_report_text_says_each_outcome_and_why() -> None:
    report = ApplyReport(
        results=(
            ResourceResult("company", Outcome.APPLIED, {}),
            ResourceResult(
                "project.proj_1", Outcome.FAILED, {}, "changed since plan; run plan again"
            ),
            ResourceResult("project.proj_2", Outcome.SKIPPED, {}, "not attempted: interrupted"),
        )
    )
    text = render.report_text(report)
    assert "✓ company: applied" in text
    assert "✗ project.proj_1: failed (changed since plan; run plan again)" in text
    assert "- project.proj_2: skipped (not attempted: interrupted)" in text
    assert "Apply: 1 applied, 1 failed, 1 skipped." in text
    assert json.loads(render.report_json(report))["summary"] == {
        "applied": 1,
        "failed": 1,
        "skipped": 1,
    }


def test_sections_show_this_edit_and_drift_apart() -> None:
    drift = Plan(resources=(change("project.proj_9", name=("live", "file")),))
    text = render.sections_text(PLAN, PLAN, drift)
    first, second = text.split("== Drift already present")
    assert "== Changes from this edit of the file ==" in first
    assert "project.proj_1" in first
    assert "project.proj_9" in second
    md = render.sections_markdown(PLAN, PLAN, Plan(resources=()))
    assert "#### Changes from this edit of the file" in md
    assert md.rstrip().endswith("None.")


def test_github_annotations_point_at_the_line_and_escape_what_github_needs() -> None:
    from reconciler.core.errors import Problem

    text = render.github_annotations(
        [Problem("dir,a/org:1.yaml", 3, 9, "company.name", "50% sure\nreally")]
    )
    assert text == (
        "::error file=dir%2Ca/org%3A1.yaml,line=3,col=9::company.name: 50%25 sure%0Areally\n"
    )
