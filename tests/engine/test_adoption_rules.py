"""``adopt`` once live state is read, in process: drift written into the file's own
text (its comments and layout kept), a saved drift plan taken only while it still
matches, live resources the file does not name added at the file's indentation, and
a text that would not plan to nothing refused. Each test fails when its rule is
mutated."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import pytest

from reconciler.core.errors import AdoptionError, PlanFileError, StalePlanError
from reconciler.core.model import LiveState
from reconciler.desired import document
from reconciler.engine import flows
from tests.support.builders import admin_live, live, plan_of, project

FILE = """\
version: 1
company:
  name: A            # what the Console shows
  usage_limit: 2000  # tokens a month
projects:
  proj_1:
    name: "x"
"""
NOW = live(project("proj_1"), project("proj_2", name="Two", usage_limit=5))
API = MappingProxyType({"base_url": "http://127.0.0.1:9", "key_variable": "CLAUDE_API_KEY"})


def adopted(text: str = FILE, now: LiveState = NOW, **kwargs: object) -> flows.Adopted:
    raw = text.encode()
    return flows.adopted(raw, document.from_bytes(raw, "org.yaml"), now, api=API, **kwargs)  # type: ignore[arg-type]


def test_drift_is_written_into_the_files_own_lines() -> None:
    result = adopted()
    assert result.text == FILE.replace("2000  #", "1000  #").replace('"x"', '"proj_1"')
    assert [r.address for r in result.drift.resources] == ["company", "project.proj_1"]
    assert result.drift.api == API
    assert result.written == frozenset({"company", "project.proj_1"})
    assert result.added == ()
    assert not result.is_empty


def test_no_drift_leaves_the_text_as_it_is() -> None:
    settled = FILE.replace("2000", "1000").replace('"x"', '"proj_1"')
    result = adopted(settled)
    assert result.text == settled
    assert result.is_empty
    assert result.drift.resources == ()


def test_a_saved_drift_plan_is_taken_while_it_still_matches() -> None:
    desired = document.from_bytes(FILE.encode(), "org.yaml")
    saved = plan_of(desired, NOW)
    assert adopted(saved=saved).text == adopted().text


def test_a_saved_plan_of_another_version_of_the_file_is_refused() -> None:
    desired = document.from_bytes(FILE.encode(), "org.yaml")
    saved = replace(plan_of(desired, NOW), source={"file": "org.yaml", "sha256": "0" * 64})
    with pytest.raises(PlanFileError) as caught:
        adopted(saved=saved)
    assert caught.value.message == (
        "org.yaml changed since the saved plan was made; nothing was adopted. Plan the file "
        "again and adopt from the new plan."
    )


def test_a_saved_plan_whose_live_values_moved_is_stale() -> None:
    desired = document.from_bytes(FILE.encode(), "org.yaml")
    saved = plan_of(desired, NOW)
    with pytest.raises(StalePlanError):
        adopted(saved=saved, now=live(project("proj_1"), usage_limit=7))


def test_a_saved_plan_claiming_more_than_the_drift_is_refused() -> None:
    desired = document.from_bytes(FILE.encode(), "org.yaml")
    claimed = plan_of(document.from_bytes(FILE.replace("A ", "Z ").encode(), "org.yaml"), NOW)
    claimed = replace(claimed, source=plan_of(desired, NOW).source)
    with pytest.raises(PlanFileError, match=r"does not match org\.yaml"):
        adopted(saved=claimed)


def test_live_resources_the_file_does_not_name_are_added_at_its_indentation() -> None:
    four = FILE.replace("\n  ", "\n    ").replace("\n      ", "\n        ")
    exported = {
        "projects": {
            "proj_1": {"name": "proj_1"},
            "proj_2": {"name": "Two", "usage_limit": 5},
        }
    }
    result = adopted(four, exported=exported)
    assert "\n    proj_2:\n        name: Two\n        usage_limit: 5\n" in result.text
    assert [put.path for put in result.added] == [("projects", "proj_2")]
    assert adopted(exported=None).added == ()


def test_live_values_the_file_could_not_hold_are_refused_and_nothing_is_written() -> None:
    odd = live(project("proj_1", name="x"), billing_email="not an email")
    text = FILE + "  # end\n"
    with pytest.raises(AdoptionError) as caught:
        adopted(text.replace("usage_limit: 2000", "billing_email: a@example.com"), now=odd)
    assert caught.value.message.startswith("adopt could not write org.yaml faithfully (")
    assert caught.value.message.endswith("; the file was left as it was.")


def test_adopt_reads_the_file_and_live_state_through_the_providers_session(
    tmp_path: Path, asgi_transport: object
) -> None:
    import asyncio

    from reconciler.net.connection import Connection, RetryPolicy

    conn = Connection(
        "http://127.0.0.1:9",
        "sk-sandbox-admin",
        "CLAUDE_API_KEY",
        retry=RetryPolicy(attempts=1),
        transport=asgi_transport,  # type: ignore[arg-type]
    )
    path = tmp_path / "org.yaml"
    path.write_text("version: 1\nprojects:\n  proj_2:\n    name: Renamed  # ours\n")
    result = asyncio.run(flows.adopt(path, conn))
    assert result.text == "version: 1\nprojects:\n  proj_2:\n    name: Research Lab  # ours\n"
    assert result.drift.api == conn.api
    everything = asyncio.run(flows.adopt(path, conn, add_unmanaged=True))
    assert [put.path for put in everything.added] == [
        ("projects", "proj_1"),
        ("projects", "proj_3"),
    ]
    saved = asyncio.run(flows.plan_file(document.load(path), conn))
    assert asyncio.run(flows.adopt(path, conn, saved=saved)).text == result.text


ARCHIVED = """\
version: 1
provider: anthropic-admin
workspaces:
  Research:        # ours
    tags: {team: r}
  Old:             # archived in the Console
    tags: {team: o}
"""


def test_a_workspace_archived_live_is_recorded_as_archived_and_the_rest_adopted() -> None:
    now = admin_live({"Research": "wrkspc_R"}, archived={"Old": "wrkspc_O"})
    result = adopted(ARCHIVED, now)
    assert result.decided == (
        (
            'workspace["Old"]',
            "the workspace of this name (wrkspc_O) was archived on 2026-11-02; the file now "
            "says archived: true",
        ),
    )
    assert result.text == ARCHIVED.replace("{team: r}", "{}").replace(
        "    tags: {team: o}\n", "    tags: {team: o}\n    archived: true\n"
    )
    assert [r.address for r in result.drift.resources] == ['workspace["Research"]']
    assert not result.is_empty


def test_a_decision_alone_is_adoption_enough() -> None:
    now = admin_live({"Research": "wrkspc_R"}, archived={"Old": "wrkspc_O"})
    text = ARCHIVED.replace("{team: r}", "{}")
    result = adopted(text, now)
    assert result.drift.resources == ()
    assert result.text == text.replace(
        "    tags: {team: o}\n", "    tags: {team: o}\n    archived: true\n"
    )
    assert not result.is_empty
    assert adopted(result.text, now).is_empty


def test_a_recorded_archive_follows_the_files_indentation_and_keeps_its_name() -> None:
    now = admin_live({"Research": "wrkspc_R"}, archived={"Old": "wrkspc_O"})
    four = (
        "version: 1\nprovider: anthropic-admin\nworkspaces:\n"
        "    Research:\n        tags: {}\n    Old:\n        tags: {team: o}\n"
    )
    result = adopted(four, now)
    assert result.text == four + "        archived: true\n"
    assert result.drift.source["file"] == "org.yaml"
    assert adopted(result.text, now).is_empty
