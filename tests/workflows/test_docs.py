"""The documentation agrees with the program: one title per page, the names it gives
files and fields are the ones the program writes, and no placeholder is shown."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from reconciler import providers
from reconciler.cli import starter
from tests.support.sandbox import ROOT

PAGES = [*sorted((ROOT / "docs").rglob("*.md")), ROOT / "README.md"]


def prose(path: Path) -> list[str]:
    """A page's lines outside fenced code."""
    found, inside = [], False
    for line in path.read_text().splitlines():
        if line.startswith("```"):
            inside = not inside
        elif not inside:
            found.append(line)
    return found


@pytest.mark.parametrize("page", [p for p in PAGES if p.parent.name == "docs"], ids=str)
def test_each_page_has_one_title(page: Path) -> None:
    text = page.read_text()
    if text.startswith('--8<-- "'):  # the page is another file, included
        page = ROOT / text.split('"')[1]
    titles = [line for line in prose(page) if line.startswith("# ")]
    assert len(titles) == 1, titles


def test_every_schema_file_the_docs_name_is_one_init_writes() -> None:
    written = {starter.paths_for(None, p.name)[1].name for p in providers.installed()}
    written.add("policy.schema.json")  # reconciler schema --policy > policy.schema.json
    written.add("file.schema.json")  # a provider's frame, in "Writing a kind" (source)
    named = set()
    for page in PAGES:
        named |= set(re.findall(r"[\w.-]+\.schema\.json", page.read_text()))
    assert named <= written, named - written


def test_the_saved_plan_fields_the_docs_name_are_the_ones_written() -> None:
    text = (ROOT / "docs" / "plan-apply.md").read_text()
    described = re.search(r'`"api": \{([^}]*)\}`', text)
    assert described is not None
    fields = {f.strip().strip('"') for f in described.group(1).split(",")}
    from reconciler.core.model import Plan

    api = {"base_url": "http://127.0.0.1:1", "key_variable": "CLAUDE_API_KEY"}
    saved = json.loads(json.dumps(Plan((), api=api).data()))
    assert fields == set(saved["api"])


def test_the_site_shows_no_placeholder() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text().replace("!!python", "#"))
    assert "your-org" not in json.dumps(config)


def test_the_policy_examples_in_the_docs_are_valid_policies(tmp_path: Path) -> None:
    from reconciler.policy import rules

    page = (ROOT / "docs" / "policy.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", page, re.S)
    examples = [b for b in blocks if re.sub(r"^# .*\n", "", b).startswith("version: 1\nowners")]
    assert len(examples) == 2  # the first rule, and the rules an administrator would write
    for index, text in enumerate(examples):
        path = tmp_path / f"policy{index}.yaml"
        path.write_text(text)
        assert rules.load(path).rules  # every condition compiles and type-checks
