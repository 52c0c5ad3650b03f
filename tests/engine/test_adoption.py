"""``adopt`` over a corpus of real-looking files (comments everywhere, flow and block
styles, quoted and plain scalars, unicode, emails in another case), for both
providers: a random drift of live state is adopted, and then exactly the drifted
lines changed and the file plans to no changes against that live state."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler import providers
from reconciler.core.edits import Drop, Put
from reconciler.core.errors import AdoptionError
from reconciler.core.model import DesiredState, LiveResource, LiveState
from reconciler.desired import document
from reconciler.engine import adoption, planning
from tests.support import figures
from tests.support.builders import GROUPS
from tests.support.sandbox import DATA

CORPUS = DATA / "adopt"


def live_as_written(desired: DesiredState) -> dict[str, LiveResource]:
    """Live resources exactly as the file asks (so the plan is empty before any drift)."""
    found: dict[str, LiveResource] = {}
    for address, fields in desired.resources.items():
        if address == "company":
            found[address] = LiveResource({"id": "org_x", **fields}, '"1"')
        elif address.startswith("project."):
            found[address] = LiveResource({"id": address[8:], **fields}, '"1"')
        elif address.startswith("user["):
            found[address] = LiveResource({**fields, "status": "member"}, None, address)
        elif address.startswith("workspace["):
            name = address[len('workspace["') : -2]
            found[address] = LiveResource(
                {
                    "name": name,
                    "tags": {},
                    "display_color": "#000000",
                    "external_key_id": None,
                    "archived": False,
                    **{k: v for k, v in fields.items() if k != "id"},
                },
                None,
                "wrkspc_" + name,
            )
        elif address.startswith("rate_limit["):
            group = address.rsplit('["', 1)[1][:-2]
            found[address] = LiveResource(
                {**dict.fromkeys(GROUPS[group]["limits"]), **fields}, None
            )
        else:
            found[address] = LiveResource(dict(fields), None, address)
    return found


def state(resources: dict[str, LiveResource]) -> LiveState:
    roles = {
        a[len('user["') : -2]: r.fields["role"]
        for a, r in resources.items()
        if a.startswith("user[")
    }
    return LiveState(
        resources,
        context={
            "org_roles": roles,
            "invited": frozenset(),
            "archived_workspaces": {},
            "rate_limit_groups": GROUPS,
            "currency": "USD",
            "spend_limits_readable": True,
            "tokens_used": 0,
        },
        organization="org_x",
    )


@dataclass(frozen=True)
class Drift:
    """One change made live behind the file's back."""

    address: str
    field: str | None  # None: the resource is gone live (or, with ``added``, new live)
    value: Any = None
    added: LiveResource | None = None


def drifts_for(desired: DesiredState) -> list[Drift]:
    found: list[Drift] = []
    for address, fields in desired.resources.items():
        for name, value in fields.items():
            if name in ("id", "archived", "data_residency.workspace_geo"):
                continue
            found.append(Drift(address, name, drifted(name, value)))
        if address.startswith("member[") or address.startswith("user["):
            found.append(Drift(address, None))
    if desired.provider == "anthropic-admin":
        for prefix in desired.prune:
            address = prefix + '"zed@example.com"]'
            fields = (
                {"role": "user"}
                if address.startswith("user[")
                else {"workspace_role": "workspace_user"}
            )
            found.append(
                Drift(
                    address,
                    None,
                    added=LiveResource(
                        {**fields, "status": "member"} if "role" in fields else fields, None, "z"
                    ),
                )
            )
    return found


def drifted(name: str, value: Any) -> Any:
    choices = {
        "role": ["user", "developer", "billing", "claude_code_user"],
        "workspace_role": ["workspace_user", "workspace_developer", "workspace_admin"],
        "plan": ["build", "team", "scale", "enterprise"],
        "status": ["active", "inactive"],
    }
    if name in choices:
        return next(c for c in choices[name] if c != value)
    if name == "display_color":
        return "#ABCDEF"
    if name == "tags":
        return {"team": "drifted"}
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if value is None:
        return "moved@example.com" if "email" in name else 123
    if "@" in value:
        return "console." + value
    return f"{value} (edited in the Console ✓)"


def apply_drift(live: dict[str, LiveResource], drift: Drift) -> None:
    if drift.added is not None:
        live[drift.address] = drift.added
    elif drift.field is None:
        live.pop(drift.address, None)
    elif drift.address in live:  # (not when another drift removed it)
        now = live[drift.address]
        live[drift.address] = LiveResource(
            {**now.fields, drift.field: drift.value}, now.etag, now.id
        )


def adopted(path: Path, drifts: list[Drift]) -> tuple[str, str, LiveState, set[int]]:
    """The file's text before and after adopting ``drifts``, the live state, and the
    lines (0-based) the drifted values and entries stand on."""
    raw = path.read_bytes()
    desired = document.from_bytes(raw, str(path))
    provider = providers.get(desired.provider)
    resources = live_as_written(desired)
    assert planning.make_plan(desired, state(resources), provider).is_empty
    for drift in drifts:
        apply_drift(resources, drift)
    live = state(resources)
    plan = planning.make_plan(desired, provider.align(desired, live), provider)
    root = document.compose(raw, str(path))
    edits = [e for c in plan.resources for e in provider.adoption(c)]
    text = raw.decode()
    new = adoption.apply_edits(text, root, edits)
    expected: set[int] = set()
    for edit in edits:
        found = adoption._find(root, edit.path)
        if found is None:
            continue
        first = found.key.start_mark.line if isinstance(edit, Drop) else found.value.start_mark.line
        last = found.value.end_mark.line - (found.value.end_mark.column == 0)
        expected |= set(range(first, last + 1))
        holder = adoption._find(root, edit.path[:-1]) if len(edit.path) > 1 else None
        if isinstance(edit, Drop) and holder is not None:
            expected.add(holder.key.start_mark.line)  # emptied: it becomes "key: {}"
    return text, new, live, expected


def changed_lines(old: str, new: str) -> set[int]:
    matcher = difflib.SequenceMatcher(None, old.splitlines(), new.splitlines(), autojunk=False)
    return {
        i
        for tag, i1, i2, _, _ in matcher.get_opcodes()
        if tag in ("replace", "delete")
        for i in range(i1, i2)
    }


FILES = sorted(CORPUS.glob("*.yaml"))


def compose(text: str) -> yaml.Node:
    node = yaml.compose(text)
    assert node is not None
    return node


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_adopting_a_random_drift_changes_exactly_the_drifted_lines(
    path: Path, data: st.DataObject
) -> None:
    desired = document.load(path)
    candidates = drifts_for(desired)
    chosen = data.draw(
        st.lists(
            st.sampled_from(candidates),
            min_size=1,
            max_size=4,
            unique_by=lambda d: (d.address, d.field),
        )
    )
    old, new, live, expected = adopted(path, chosen)
    beyond = changed_lines(old, new) - expected
    figures.add("adopt: drifts tried", len(chosen))
    figures.add("adopt: lines changed beyond the drifted ones", len(beyond))
    assert not beyond, (chosen, [old.splitlines()[i] for i in sorted(beyond)])
    after = document.from_bytes(new.encode(), str(path))
    provider = providers.get(after.provider)
    left = planning.make_plan(after, provider.align(after, live), provider)
    assert left.is_empty, [r.address for r in left.resources]
    # comments outside dropped entries are all still there
    kept = [
        line.split("#", 1)[1]
        for i, line in enumerate(old.splitlines())
        if "#" in line and i not in expected
    ]
    assert all(comment in new for comment in kept)


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_no_drift_leaves_the_file_byte_for_byte(path: Path) -> None:
    old, new, _, _ = adopted(path, [])
    assert new == old
    figures.add("adopt: files tried")


def test_a_value_keeps_its_quoting_and_its_comment_keeps_its_column() -> None:
    text = "a:\n  b: \"x\"      # note\n  c: 'y'\n  d: plain   # here\n"
    root = compose(text)
    new = adoption.apply_edits(
        text,
        root,
        [
            Put(("a", "b"), "longer value"),
            Put(("a", "c"), "it's"),
            Put(("a", "d"), "yes"),  # a YAML 1.1 boolean as text: must be quoted
        ],
    )
    # the comment after b moves right, keeping the two spaces written before it
    assert new == "a:\n  b: \"longer value\"  # note\n  c: 'it''s'\n  d: \"yes\"   # here\n"


def test_removing_every_entry_of_a_mapping_leaves_an_empty_one() -> None:
    text = "w:\n  members:\n    a@x.io: u   # gone\n    b@x.io: v\nnext: 1\n"
    new = adoption.apply_edits(
        text,
        compose(text),
        [Drop(("w", "members", "a@x.io")), Drop(("w", "members", "b@x.io"))],
    )
    assert new == "w:\n  members: {}\nnext: 1\n"


def test_adding_to_a_missing_section_and_a_flow_mapping() -> None:
    text = "version: 1\nw: {a: 1}   # flow\n"
    new = adoption.apply_edits(
        text,
        compose(text),
        [Put(("w", "b"), "two words"), Put(("users", "z@x.io"), "user")],
    )
    assert new == "version: 1\nw: {a: 1, b: two words}   # flow\nusers:\n  z@x.io: user\n"


def test_a_file_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(AdoptionError):
        adoption.apply_edits("- a\n", compose("- a\n"), [Put(("a",), 1)])


def test_unmanaged_resources_are_found_in_each_section_the_provider_lists() -> None:
    written = {"users": {"Ben@x.io": "user"}, "workspaces": {"R": {"members": {"a@x.io": "u"}}}}
    live = {
        "users": {"ben@x.io": "user", "new@x.io": "developer"},
        "workspaces": {"R": {"members": {"a@x.io": "u", "b@x.io": "v"}}, "S": {"tags": {}}},
    }
    found = adoption.unmanaged(providers.get("anthropic-admin").adoptable, written, live)
    assert found == [
        Put(("users", "new@x.io"), "developer", ordered=True),
        Put(("workspaces", "S"), {"tags": {}}, ordered=True),
        Put(("workspaces", "R", "members", "b@x.io"), "v", ordered=True),
    ]


def test_a_new_resource_goes_where_it_sorts_with_the_comments_above_its_neighbour() -> None:
    text = (
        "users:\n  prune: true\n  Ann@x.io: user\n  # the platform team\n  ben@x.io: user\n"
        "projects:\n  proj_2: {name: B}\n  proj_9: {name: C}   # last\nversion: 1\n"
    )
    new = adoption.apply_edits(
        text,
        compose(text),
        [
            Put(("projects", "proj_10"), {"name": "D"}, ordered=True),
            Put(("users", "azo@x.io"), "developer", ordered=True),
            Put(("projects", "proj_1"), {"name": "A"}, ordered=True),
            Put(("users", "zed@x.io"), "user", ordered=True),
        ],
    )
    assert new == (
        "users:\n  prune: true\n  Ann@x.io: user\n  azo@x.io: developer\n"
        "  # the platform team\n  ben@x.io: user\n  zed@x.io: user\n"
        "projects:\n  proj_1:\n    name: A\n  proj_2: {name: B}\n  proj_9: {name: C}   # last\n"
        "  proj_10:\n    name: D\nversion: 1\n"
    )


def test_a_list_in_an_order_of_its_own_gets_new_resources_after_it_in_order() -> None:
    text = "projects:\n  proj_3: {name: C}\n  proj_1: {name: A}\n"
    new = adoption.apply_edits(
        text,
        compose(text),
        [
            Put(("projects", "proj_4"), {"name": "D"}, ordered=True),
            Put(("projects", "proj_2"), {"name": "B"}, ordered=True),
        ],
    )
    assert new == text + "  proj_2:\n    name: B\n  proj_4:\n    name: D\n"


# What a live value may hold that a terminal, a diff or a YAML reader would take for
# something else: bidi controls, separators, zero-width and no-break spaces, quotes,
# YAML's own punctuation, and text YAML 1.1 or 1.2 would read as another type. (No
# control characters: no file may hold one, so adopt refuses to write it.)
HOSTILE_TEXT = st.one_of(
    st.text(
        alphabet=st.sampled_from("\u202e\u2066\u200b\u200d\u2028\u2029\u00a0\ufeff\"'\\:#-{}[], ")
        | st.characters(exclude_categories=("Cs", "Cc")),
        min_size=1,
        max_size=12,
    ),
    st.sampled_from(["1e3", "0o17", "yes", "no", "null", "~", "2026-12-04", "on", ".inf"]),
)


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_adopting_hostile_text_writes_visible_text_that_reads_back(
    path: Path, data: st.DataObject
) -> None:
    """Every place adopt writes a text (names, descriptions, tag keys and values), with
    the worst a live value can hold: the file stays visible text, reads back as exactly
    live state, and no line outside the drifted values changes."""
    desired = document.load(path)
    texts = [d for d in drifts_for(desired) if d.field in ("name", "description", "tags")]
    if not texts:
        return
    chosen = data.draw(
        st.lists(
            st.sampled_from(texts), min_size=1, max_size=3, unique_by=lambda d: (d.address, d.field)
        )
    )
    hostile = [
        Drift(
            d.address,
            d.field,
            {data.draw(HOSTILE_TEXT): data.draw(HOSTILE_TEXT)}
            if d.field == "tags"
            else data.draw(HOSTILE_TEXT),
        )
        for d in chosen
    ]
    old, new, live, expected = adopted(path, hostile)
    assert all(c.isprintable() for line in new.splitlines() for c in line), new
    beyond = changed_lines(old, new) - expected
    assert not beyond, [old.splitlines()[i] for i in sorted(beyond)]
    after = document.from_bytes(new.encode(), str(path))
    provider = providers.get(after.provider)
    assert planning.make_plan(after, provider.align(after, live), provider).is_empty
    figures.add("adopt: hostile texts written", len(hostile))
