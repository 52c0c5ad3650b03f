"""Each kind's schema sits beside its module and is composed into its provider's file
schema; the published one (what editors and ``init`` get) is that composition."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from reconciler.providers.anthropic_admin.kinds import SPECS
from reconciler.providers.kinds.schema import composed
from tests.support.sandbox import run_cli
from tests.support.schemas import PUBLISHED, text

ADMIN = "reconciler.providers.anthropic_admin"


@pytest.mark.parametrize("provider", sorted(PUBLISHED))
def test_the_published_schema_is_the_composed_one(provider: str) -> None:
    assert PUBLISHED[provider].read_text(encoding="utf-8") == text(provider), (
        "a kind's fragment changed: run python -m tests.support.schemas"
    )


def test_every_kind_has_its_fragment_beside_its_module() -> None:
    kinds = Path("reconciler/providers/anthropic_admin/kinds")
    assert {p.name for p in kinds.glob("*.schema.json")} == {f"{s.name}.schema.json" for s in SPECS}
    members = composed(ADMIN, SPECS)["properties"]["workspaces"]["additionalProperties"]
    assert members["properties"]["members"]["additionalProperties"] == {
        "$ref": "#/$defs/workspaceRole"
    }
    assert "workspaceRole" in composed(ADMIN, SPECS)["$defs"]  # hoisted from member's


def test_a_kind_slotted_where_its_spec_does_not_keep_it_is_refused() -> None:
    moved = [replace(s, section=("elsewhere",)) if s.name == "webhook" else s for s in SPECS]
    with pytest.raises(ValueError, match=r"webhook is slotted at \('webhooks',\)"):
        composed(ADMIN, moved)


def test_a_slot_whose_kind_is_not_registered_is_refused() -> None:
    with pytest.raises(ValueError, match="a slot for webhook, which is no kind"):
        composed(ADMIN, [s for s in SPECS if s.name != "webhook"])


def test_a_file_breaking_one_fragment_is_refused_by_the_cli(tmp_path: Path) -> None:
    bad = tmp_path / "org.yaml"
    bad.write_text(
        "version: 1\nprovider: anthropic-admin\n"
        "webhooks:\n  ops:\n    url: http://not-https.example\n    events: [x]\n"
    )
    result = run_cli("validate", str(bad))
    assert result.exit_code == 1
    assert "webhooks.ops.url" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_workspace_tags_are_bounded(tmp_path: Path) -> None:
    """300 long tags would crowd a plan's review out of a pull request's comment."""
    many = "".join(f"      t{i}: {'x' * 200}\n" for i in range(51))
    for tags, said in (
        (many, "has too many properties"),
        ("      anthropic-cost: x\n", "anthropic-cost"),
    ):
        bad = tmp_path / "org.yaml"
        bad.write_text(
            "version: 1\nprovider: anthropic-admin\nworkspaces:\n  R:\n    tags:\n" + tags
        )
        result = run_cli("validate", str(bad))
        assert result.exit_code == 1, tags
        assert "workspaces.R.tags" in result.stderr + result.stdout
        assert said in result.stderr + result.stdout
