"""Plans and reports as a reviewer and an operator see them (markdown in a pull
request, text on a terminal with and without colour, JSON for tools, annotations
on the diff), pinned by golden files.

The golden files were read by a person once; after an intended change, rewrite
them with ``UPDATE_GOLDEN=1 pytest tests/engine/test_render_golden.py`` and read the
diff before committing it.
"""

from __future__ import annotations

import os
from dataclasses import replace

import pytest

from reconciler.core.errors import Problem
from reconciler.core.model import (
    Action,
    ApplyReport,
    FieldChange,
    Outcome,
    Plan,
    PlannedHold,
    ResourceChange,
    ResourceResult,
)
from reconciler.engine import render
from tests.support.sandbox import DATA

GOLDEN = DATA / "golden"
GITHUB_COMMENT_LIMIT = 65_536


def change(address: str, **fields: tuple[object, object]) -> ResourceChange:
    return ResourceChange(
        address, Action.UPDATE, '"e"', {n: FieldChange(b, a) for n, (b, a) in fields.items()}
    )


SMALL = Plan(
    resources=(change("project.proj_1", billing_email=(None, "ml-billing@example.com")),),
    unmanaged={"project": 2},
)
EMPTY = Plan(resources=(), unmanaged={"project": 3})
EDIT = Plan(
    resources=(
        change("company", usage_limit=(1000000, 2000000)),
        change("project.proj_1", billing_email=(None, "ml-billing@example.com")),
    ),
    warnings=("company.billing_email: billing email domain changes from example.com to x.org",),
)
DRIFT = Plan(resources=(change("project.proj_2", name=("Renamed in console", "Research")),))
HUGE = Plan(
    resources=tuple(
        change(f"project.proj_{n:05d}", description=("", "x" * 300), usage_limit=(None, n))
        for n in range(1, 401)
    ),
    unmanaged={"project": 0},
)

ADMIN = Plan(
    resources=(
        ResourceChange(
            'workspace["Support"]',
            Action.CREATE,
            None,
            {"name": FieldChange(None, "Support"), "tags": FieldChange(None, {"team": "s"})},
        ),
        ResourceChange(
            'workspace["Old"]', Action.ARCHIVE, None, {"archived": FieldChange(False, True)}
        ),
        ResourceChange(
            'user["new@example.com"]', Action.CREATE, None, {"role": FieldChange(None, "user")}
        ),
        ResourceChange(
            'user["inv@example.com"]',
            Action.REPLACE,
            None,
            {"role": FieldChange("user", "developer")},
        ),
        ResourceChange(
            'member["Support"]["ben@example.com"]',
            Action.CREATE,
            None,
            {"workspace_role": FieldChange(None, "workspace_user")},
            ('workspace["Support"]',),
        ),
        ResourceChange(
            'member["Research"]["cleo@example.com"]',
            Action.DELETE,
            None,
            {"workspace_role": FieldChange("workspace_developer", None)},
        ),
    ),
    warnings=(
        'workspace["Old"]: archiving cannot be undone, and deactivates the workspace\'s API keys',
    ),
    guards=('removes 1 of 2 members of workspace "Research" (50%), more than 25%',),
    unmanaged={"user": 2},
    provider="anthropic-admin",
)


API = {"base_url": "http://127.0.0.1:8080", "key_variable": "CLAUDE_API_KEY"}
TEXTUAL = Plan(
    resources=(
        *EDIT.resources,
        ResourceChange(
            "project.proj_\u202e3",  # a bidi override in a name: shown as an escape
            Action.UPDATE,
            '"e"',
            {"description": FieldChange("line\nbreak", ""), "usage_limit": FieldChange(5, None)},
        ),
    ),
    warnings=(*EDIT.warnings, "a second warning"),
    unmanaged={"project": 1},
    api=API,
    about={"company": "usage_limit (until 2026-12-31, then 1000000)"},
)
REPORT = ApplyReport(
    results=(
        ResourceResult("company", Outcome.APPLIED, EDIT.resources[0].changes),
        ResourceResult(
            "project.proj_1",
            Outcome.FAILED,
            EDIT.resources[1].changes,
            "changed since plan; run plan again",
        ),
        ResourceResult(
            "project.proj_|3`",
            Outcome.SKIPPED,
            {},
            "not attempted: the key was refused on the first write",
        ),
    ),
    warnings=("could not read the changes back to verify them: GET failed",),
    api=API,
    refused="The key in CLAUDE_API_KEY lacks the scope organization:write",
)
PROBLEMS = (
    Problem("org.yaml", 3, 5, "company.plan", "'gold' is not one of build, team, scale"),
    Problem("dir,x/o:rg.yaml", 1, 1, "", "100% broken\nreally"),
)


GUARDED = replace(ADMIN, targets=('workspace["Support"]', 'user["new@example.com"]'), api=API)
UNICODE = Plan(
    resources=(change("project.proj_1", name=("Recherche", "Forschung Ünïcode ✓")),), api=API
)

HOLDS = (
    PlannedHold(
        "users.ben@example.com",
        'user["ben@example.com"]',
        True,
        "developer",
        None,
        "2026-12-14",
        "2026-12-15T00:00:00Z",
        False,
    ),
    PlannedHold(
        "company.usage_limit",
        "company",
        False,
        500000,
        100,
        "2026-12-31",
        "2027-01-01T00:00:00Z",
        False,
    ),
    PlannedHold(  # a bidi override in a file's key: shown as an escape
        "users.x\u202e@example.com",
        'user["x\u202e@example.com"]',
        True,
        "user",
        None,
        "2026-11-30",
        "2026-12-01T00:00:00Z",
        True,
    ),
)
HELD = replace(Plan(()), holds=HOLDS, api=API)
HOLD_EDITS = (
    replace(HOLDS[0], edit="added"),
    replace(HOLDS[1], edit="extended"),
    replace(HOLDS[2], edit="removed"),
)


def rendered(name: str) -> str:
    if name == "held.txt":
        return render.plan_text(HELD)
    if name == "held.md":
        return render.plan_markdown(HELD, title="reconciler plan: `org.yaml`")
    if name == "held-edits.txt":
        return render.sections_as(
            HELD, replace(Plan(()), holds=HOLD_EDITS), Plan(()), "text", title="t"
        )
    if name == "held-edits.md":
        return render.sections_as(
            HELD, replace(Plan(()), holds=HOLD_EDITS), Plan(()), "markdown", title="t"
        )
    if name == "held-edits.json":
        return render.sections_as(
            HELD, replace(Plan(()), holds=HOLD_EDITS), Plan(()), "json", title="t"
        )
    if name == "guarded.color.txt":
        return render.plan_as(GUARDED, "text", title="t", color=True)
    if name == "guarded.txt":
        return render.plan_text(GUARDED)
    if name == "sections-api.txt":
        return render.sections_as(TEXTUAL, Plan(()), UNICODE, "text", title="t")
    if name == "sections-api.md":
        return render.sections_as(
            TEXTUAL, UNICODE, Plan(()), "markdown", title="reconciler plan: `org.yaml`"
        )
    if name == "sections-unicode.json":
        return render.sections_as(UNICODE, UNICODE, Plan(()), "json", title="t")
    if name == "textual.txt":
        return render.plan_text(TEXTUAL)
    if name == "textual.color.txt":
        return render.plan_text(TEXTUAL, color=True)
    if name == "textual.json":
        return render.plan_as(TEXTUAL, "json", title="t")
    if name == "textual.md":
        return render.plan_as(TEXTUAL, "markdown", title="reconciler plan: `org.yaml`")
    if name == "admin-actions.txt":
        return render.plan_as(ADMIN, "text", title="t")
    if name == "empty.txt":
        return render.plan_text(EMPTY)
    if name == "mixed.txt":
        return render.sections_as(EDIT, EDIT, DRIFT, "text", title="t")
    if name == "mixed.color.txt":
        return render.sections_as(EDIT, EDIT, DRIFT, "text", title="t", color=True)
    if name == "mixed.json":
        return render.sections_as(EDIT, EDIT, DRIFT, "json", title="t")
    if name == "report.txt":
        return render.report_as(REPORT, "text", title="t")
    if name == "report.color.txt":
        return render.report_as(REPORT, "text", title="t", color=True)
    if name == "report.md":
        return render.report_as(REPORT, "markdown", title="reconciler apply: `org.yaml`")
    if name == "report.json":
        return render.report_as(REPORT, "json", title="t")
    if name == "annotations.txt":
        return render.github_annotations(PROBLEMS)
    if name == "admin-actions":
        return render.plan_markdown(ADMIN, title="reconciler plan: `admin.yaml`")
    if name == "small":
        return render.plan_markdown(SMALL, title="reconciler plan: `org.yaml`")
    if name == "empty":
        return render.plan_markdown(EMPTY, title="reconciler plan: `org.yaml`")
    if name == "drift-only":
        return render.sections_markdown(
            DRIFT, Plan(resources=()), DRIFT, title="reconciler plan: `org.yaml`"
        )
    if name == "mixed":
        return render.sections_markdown(EDIT, EDIT, DRIFT, title="reconciler plan: `org.yaml`")
    if name == "oversized":
        return render.plan_markdown(HUGE, title="reconciler plan: `org.yaml`", max_chars=6000)
    raise AssertionError(name)


NAMES = [
    "held.txt",
    "held.md",
    "held-edits.txt",
    "held-edits.md",
    "held-edits.json",
    "small",
    "empty",
    "drift-only",
    "mixed",
    "oversized",
    "admin-actions",
    "textual.txt",
    "textual.color.txt",
    "textual.json",
    "textual.md",
    "admin-actions.txt",
    "empty.txt",
    "mixed.txt",
    "mixed.color.txt",
    "mixed.json",
    "report.txt",
    "report.color.txt",
    "report.md",
    "report.json",
    "annotations.txt",
    "guarded.color.txt",
    "guarded.txt",
    "sections-api.txt",
    "sections-api.md",
    "sections-unicode.json",
]


@pytest.mark.parametrize("name", NAMES)
def test_output_matches_its_golden_file(name: str) -> None:
    path = GOLDEN / (name if "." in name else f"{name}.md")
    text = rendered(name)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_an_oversized_plan_is_cut_to_the_limit_at_a_resource_boundary() -> None:
    full = render.plan_markdown(HUGE, title="t")
    assert len(full) > 100_000
    cut = render.plan_markdown(HUGE, title="t", max_chars=GITHUB_COMMENT_LIMIT)
    assert len(cut) <= GITHUB_COMMENT_LIMIT
    shown = cut.count("</details>")
    assert 0 < shown < 400
    assert cut.count("<details>") == shown  # no block cut in half
    assert f"**This plan was cut to fit:** {shown} of 400 resources are shown" in cut


def test_a_plan_that_fits_is_not_cut() -> None:
    assert render.plan_markdown(SMALL, title="t", max_chars=5000) == render.plan_markdown(
        SMALL, title="t"
    )


def test_cut_sections_still_fit() -> None:
    cut = render.sections_markdown(EDIT, EDIT, HUGE, title="t", max_chars=10_000)
    assert len(cut) <= 10_000
    assert "#### Changes from this edit of the file" in cut
    assert "This plan was cut to fit" in cut


def test_text_shows_what_a_create_sets_and_what_a_delete_removes() -> None:
    lines = render.plan_text(ADMIN).splitlines()
    create = lines.index('  + user["new@example.com"] (create)')
    assert lines[create + 1].split() == ["role:", '"user"']
    delete = lines.index('  - member["Research"]["cleo@example.com"] (delete)')
    assert lines[delete + 1].split() == ["workspace_role:", '"workspace_developer"']
    assert "Apply refuses this plan without --force:" in lines


def test_an_exported_file_says_where_it_came_from_and_reads_back_as_written() -> None:
    import yaml

    data = {
        "version": 1,
        "company": {"name": "no", "billing_email": None, "usage_limit": 1000},
        "projects": {"proj_1": {"name": "Ünïcode ✓", "description": "y" * 120}},
    }
    text = render.desired_state_yaml(data, origin="http://127.0.0.1:9")
    first, rest = text.split("\n", 1)
    assert first.startswith(
        f"# Exported by reconciler {render.__version__} from http://127.0.0.1:9 at "
    )
    assert first.endswith("Z.")
    assert yaml.safe_load(rest) == data
    assert "Ünïcode ✓" in rest  # unicode as itself, not escaped
    assert rest.index("version") < rest.index("company") < rest.index("projects")  # file order
    assert "name: 'no'" in rest  # YAML 1.1 would read a bare no as false
