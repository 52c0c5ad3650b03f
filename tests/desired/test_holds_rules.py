"""Hold arithmetic, rule by rule: when a hold ends (a date's end of day in UTC, a
timestamp's own moment), what a file means before and after, what a malformed hold
is told, which resource and field a hold belongs to, when the warning starts, and
the schema editors get (a hold only where a single value or a grant may stand).
Each test fails when its rule is mutated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from reconciler.core.errors import ConfigError
from reconciler.desired import document, holds
from reconciler.desired.holds import Hold

NOV_30_END = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2026-11-30", NOV_30_END),
        ("2026-11-30T18:00:00Z", datetime(2026, 11, 30, 18, tzinfo=UTC)),
        ("2026-11-30t18:00z", datetime(2026, 11, 30, 18, tzinfo=UTC)),
        ("2026-11-30 18:00:00+02:00", datetime(2026, 11, 30, 16, tzinfo=UTC)),
        ("2026-11-30T18:00:00.5-0500", datetime(2026, 11, 30, 23, 0, 0, 500000, tzinfo=UTC)),
        ("2026-02-30", None),  # no such day
        ("2026-11-30T25:00:00Z", None),  # no such hour
        ("2026-11-30T18:00:00", None),  # no zone: whose 18:00?
        ("soon", None),
    ],
)
def test_when_a_hold_ends(text: str, moment: datetime | None) -> None:
    assert holds.ends(text) == moment


def test_as_of_is_a_dates_start_or_a_timestamp() -> None:
    assert holds.moment("2026-11-30") == datetime(2026, 11, 30, tzinfo=UTC)
    assert holds.moment("2026-11-30T06:00:00Z") == datetime(2026, 11, 30, 6, tzinfo=UTC)
    for bad in ("2026-02-30", "tomorrow", "2026-11-30T06:00:00"):
        with pytest.raises(ValueError, match="is not a date"):
            holds.moment(bad)


def resolve(data: dict[str, Any], at: datetime) -> tuple[Any, tuple[Hold, ...]]:
    resolved, found, problems = holds.resolve(
        data, at, source="org.yaml", marks={("company",): (3, 3)}
    )
    if problems:
        raise ConfigError(problems)
    return resolved, found


HELD = {"value": 5_000, "until": "2026-11-30", "then": 1_000}


def test_a_held_value_is_its_value_to_the_end_then_its_then() -> None:
    data = {"version": 1, "company": {"usage_limit": HELD, "name": "A"}}
    before, found = resolve(data, NOV_30_END - timedelta(microseconds=1))
    after, _ = resolve(data, NOV_30_END)
    assert before == {"version": 1, "company": {"usage_limit": 5_000, "name": "A"}}
    assert after == {"version": 1, "company": {"usage_limit": 1_000, "name": "A"}}
    assert found == (Hold(("company", "usage_limit"), NOV_30_END, "2026-11-30", 5_000, then=1_000),)


def test_a_grant_stands_to_its_end_and_then_is_gone() -> None:
    grant = {"role": "developer", "until": "2026-11-30"}
    data = {"users": {"a@example.com": grant, "b@example.com": "user"}}
    before, found = resolve(data, NOV_30_END - timedelta(seconds=1))
    after, ended = resolve(data, NOV_30_END)
    assert before == {"users": {"a@example.com": "developer", "b@example.com": "user"}}
    assert after == {"users": {"b@example.com": "user"}}
    assert found[0].grant
    assert not found[0].expired
    assert ended[0].expired
    member = {"workspaces": {"R": {"members": {"a@example.com": grant}}}}
    assert resolve(member, NOV_30_END)[0] == {"workspaces": {"R": {"members": {}}}}


def test_the_files_own_sections_are_never_holds() -> None:
    data = {"api": {"base_url": {"until": "2026-11-30"}}, "organization": {"until": "x"}}
    assert resolve(data, NOV_30_END) == (data, ())


@pytest.mark.parametrize(
    ("hold", "message"),
    [
        (
            {"value": 1, "until": "soon", "then": 2},
            'org.yaml:1:1: company.usage_limit.until: "soon" is not a date (2026-12-31, held '
            "to the end of that day, UTC) or a timestamp with a zone (2026-12-31T18:00:00Z)",
        ),
        (
            {"value": 1, "until": 20261130, "then": 2},
            "org.yaml:1:1: company.usage_limit.until: 20261130 is not a date",
        ),
        (
            {"value": 1, "until": "2026-11-30"},
            "company.usage_limit: a held value is {value: X, until: DATE, then: Y}: it needs then",
        ),
        (
            {"then": 1, "until": "2026-11-30"},
            "company.usage_limit: a held value is {value: X, until: DATE, then: Y}: it needs value",
        ),
        (
            {"value": 1, "until": "2026-11-30", "then": 2, "note": "x"},
            "company.usage_limit.note: unknown key 'note'; expected one of: value, until, then "
            "(a held value is {value: X, until: DATE, then: Y})",
        ),
        (
            {"value": 5_000_000, "untill": "2026-12-30", "then": 1},
            "company.usage_limit.untill: unknown key 'untill'; did you mean 'until'? (a held "
            "value is {value: X, until: DATE, then: Y})",
        ),
        (
            {"value": 1, "until": "2026-11-30", "thn": 2},
            "company.usage_limit.thn: unknown key 'thn'; did you mean 'then'?",
        ),
        (
            {"value": [1], "until": "2026-11-30", "then": 2},
            "company.usage_limit.value: a hold holds a single value",
        ),
        (
            {"value": 1, "until": "2026-11-30", "then": {"a": 1}},
            "company.usage_limit.then: a hold holds a single value",
        ),
    ],
)
def test_a_malformed_hold_is_told_at_its_place(hold: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve({"company": {"usage_limit": hold}}, NOV_30_END)
    assert message in caught.value.message


@pytest.mark.parametrize(
    ("grant", "message"),
    [
        (
            {"until": "2026-11-30"},
            "users.a@example.com: a held grant is {role: ROLE, until: DATE}: it needs a role",
        ),
        (
            {"role": "developer", "untill": "2026-11-30"},
            "users.a@example.com.untill: unknown key 'untill'; did you mean 'until'? (a held "
            "grant is {role: ROLE, until: DATE})",
        ),
        (
            {"role": "user", "until": "2026-11-30", "then": "user"},
            "users.a@example.com.then: unknown key 'then'; expected one of: role, until (a held "
            "grant is {role: ROLE, until: DATE})",
        ),
    ],
)
def test_a_malformed_grant_is_told_at_its_place(grant: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve({"users": {"a@example.com": grant}}, NOV_30_END)
    assert message in caught.value.message


def test_a_problem_is_at_the_holds_own_key_when_the_file_marks_it() -> None:
    marks = {("company", "usage_limit"): (4, 3), ("company", "usage_limit", "until"): (4, 30)}
    _, _, problems = holds.resolve(
        {"company": {"usage_limit": {"value": 1, "until": "x", "then": 2}}},
        NOV_30_END,
        source="org.yaml",
        marks=marks,
    )
    assert str(problems[0]).startswith("org.yaml:4:30: company.usage_limit.until:")


def test_both_variants_hold_every_value_one_way_then_the_other() -> None:
    data = {"company": {"usage_limit": 0, "name": "A"}, "users": {"a@example.com": "user"}}
    found = (
        Hold(("company", "usage_limit"), NOV_30_END, "2026-11-30", 5, then=1),
        Hold(("users", "a@example.com"), NOV_30_END, "2026-11-30", "developer", grant=True),
        Hold(("company", "missing", "deep"), NOV_30_END, "2026-11-30", 7, then=8),
    )
    assert holds.variants(data, found) == [
        ("value", {**data, "company": {"usage_limit": 5, "name": "A"}}),
        ("then", {**data, "company": {"usage_limit": 1, "name": "A"}}),
    ]


def test_a_hold_belongs_to_the_resource_its_path_starts_with() -> None:
    found = (
        Hold(("company", "usage_limit"), NOV_30_END, "x", 5, then=1),
        Hold(("projects", "p1"), NOV_30_END, "x", 5, then=1),  # the resource itself
        Hold(("users", "a@example.com"), NOV_30_END, "x", "user", grant=True),
        Hold(("users", "gone@example.com"), NOV_30_END, "x", "user", grant=True, expired=True),
        Hold(("nowhere", "x"), NOV_30_END, "x", 5, then=1),
    )
    paths = {
        "company": ("company",),
        "project.p1": ("projects", "p1"),
        "user.a@example.com": ("users", "a@example.com"),
        "spend_limit.monthly": ("spend_limits", "monthly"),
    }
    fields: dict[str, dict[str, Any]] = {
        "company": {"usage_limit": 5, "billing_email": "a@example.com"},
        "project.p1": {"name": "a", "archived": False},
        "user.a@example.com": {"role": "user"},
        "spend_limit.monthly": {"amount": 5},  # written as one value: it holds the amount
    }
    found += (Hold(("spend_limits", "monthly"), NOV_30_END, "x", 5, then=1),)
    named = holds.named(
        found,
        lambda address: paths[address],
        fields,
        lambda path, role: f"user.{path[-1]}" if role == "user" else None,
    )
    assert [(h.address, h.field) for h in named] == [
        ("company", "usage_limit"),
        ("project.p1", None),
        ("user.a@example.com", None),
        ("user.gone@example.com", None),
        ("spend_limit.monthly", "amount"),
    ]


def test_the_warning_starts_seven_days_before_the_end_and_counts_the_days() -> None:
    value = Hold(
        ("company", "usage_limit"), NOV_30_END, "2026-11-30", 5, then=None, address="company"
    )
    grant = Hold(("users", "a@x.org"), NOV_30_END, "2026-11-30", "user", grant=True, address="u")
    assert holds.ending_soon((value,), NOV_30_END - timedelta(days=7, seconds=1), "org.yaml") == []
    assert holds.ending_soon((value, grant), NOV_30_END - timedelta(days=7), "org.yaml") == [
        (
            "company",
            "org.yaml: company.usage_limit is held until 2026-11-30 (in 7 days); then it becomes "
            "null. Open the pull request that extends it now if it should last",
        ),
        (
            "u",
            "org.yaml: users.a@x.org is held until 2026-11-30 (in 7 days); then the entry is "
            "removed. Open the pull request that extends it now if it should last",
        ),
    ]
    soon = holds.ending_soon((value,), NOV_30_END - timedelta(days=1, hours=2), "org.yaml")
    assert "(in 1 day);" in soon[0][1]
    today = holds.ending_soon((value,), NOV_30_END - timedelta(hours=2), "org.yaml")
    assert "(today);" in today[0][1]
    ended = Hold(("c",), NOV_30_END, "x", 1, then=2, expired=True)
    assert holds.ending_soon((ended,), NOV_30_END - timedelta(hours=2), "org.yaml") == []


def test_a_hold_shows_what_it_holds_to_and_after() -> None:
    assert Hold(("c",), NOV_30_END, "2026-11-30", 5, then="x").shown == (
        '(until 2026-11-30, then "x")'
    )
    assert Hold(("u",), NOV_30_END, "2026-11-30", "user", grant=True).shown == "(until 2026-11-30)"
    assert Hold(("u",), NOV_30_END, "2026-11-30", "user", expired=True).shown == (
        "(expired 2026-11-30)"
    )


# -- the schema editors get -------------------------------------------------------------------

UNTIL = {
    "type": "string",
    "description": "A date (held to the end of that day, UTC) or a timestamp with a zone.",
    "anyOf": [
        {"pattern": r"^\d{4}-\d{2}-\d{2}$"},
        {
            "pattern": r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*"
            r"([Zz]|[+-]\d{2}:?\d{2})$"
        },
    ],
}


def test_a_single_value_may_be_held_as_value_until_then() -> None:
    limit = document.published_schema("company")["properties"]["company"]["properties"]
    plain = {"$ref": "#/$defs/usageLimit"}
    assert limit["usage_limit"] == {
        "anyOf": [
            plain,
            {
                "type": "object",
                "description": "A held value: value until until, then then.",
                "additionalProperties": False,
                "required": ["value", "until", "then"],
                "properties": {"value": plain, "then": plain, "until": UNTIL},
            },
        ]
    }


def test_a_user_entry_may_be_a_grant_until_a_date() -> None:
    users = document.published_schema("anthropic-admin")["properties"]["users"]
    role = {"$ref": "#/$defs/orgRole"}
    assert users["additionalProperties"] == {
        "anyOf": [
            role,
            {
                "type": "object",
                "description": "A held grant: removed after until.",
                "additionalProperties": False,
                "required": ["role", "until"],
                "properties": {"role": role, "until": UNTIL},
            },
        ]
    }


def valid(provider: str, data: dict[str, Any]) -> bool:
    return not list(Draft202012Validator(document.published_schema(provider)).iter_errors(data))


@pytest.mark.parametrize(
    ("provider", "data", "ok"),
    [
        ("company", {"version": 1, "company": {"name": HELD | {"value": "A", "then": "B"}}}, True),
        ("company", {"version": 1, "projects": {"proj_1": {"usage_limit": HELD}}}, True),
        ("company", {"version": {"value": 1, "until": "2026-11-30", "then": 1}}, False),
        ("company", {"version": 1, "api": {"base_url": HELD}}, False),
        ("company", {"version": 1, "projects": {"prune": HELD}}, False),
        ("company", {"version": 1, "company": {"usage_limit": {**HELD, "x": 1}}}, False),
        ("company", {"version": 1, "company": {"usage_limit": {**HELD, "until": "x"}}}, False),
        (
            "anthropic-admin",
            {
                "version": 1,
                "provider": "anthropic-admin",
                "users": {"a@x.org": {"role": "user", "until": "2026-11-30"}},
            },
            True,
        ),
        (
            "anthropic-admin",
            {
                "version": 1,
                "provider": "anthropic-admin",
                "workspaces": {
                    "R": {"members": {"a@x.org": {"role": "workspace_user", "until": "2026-11-30"}}}
                },
            },
            True,
        ),
        (
            "anthropic-admin",
            {"version": 1, "provider": "anthropic-admin", "users": {"a@x.org": {"role": "user"}}},
            False,
        ),
        (
            "anthropic-admin",
            {"version": 1, "provider": "anthropic-admin", "spend_limits": {"monthly": HELD}},
            True,
        ),
    ],
)
def test_holds_stand_only_where_a_value_or_a_grant_may(
    provider: str, data: dict[str, Any], ok: bool
) -> None:
    assert valid(provider, data) is ok


def test_every_malformed_hold_of_a_file_is_told_at_once() -> None:
    bad = {"value": 1, "until": "soon", "then": 2}
    with pytest.raises(ConfigError) as caught:
        resolve({"company": {"usage_limit": bad, "name": bad}}, NOV_30_END)
    paths = [p.path for p in caught.value.problems]
    assert paths == ["company.usage_limit.until", "company.name.until"]


def is_held(node: Any) -> bool:
    return isinstance(node, dict) and "anyOf" in node and "value" in str(node["anyOf"][-1])


def test_only_a_single_value_is_made_holdable_in_any_schema() -> None:
    schema = {
        "$defs": {
            "limit": {"type": "integer"},
            "thing": {"type": "object", "properties": {"n": {"type": "integer"}}},
            "list": {"type": "array"},
        },
        "type": "object",
        "properties": {
            "version": {"const": 1},
            "api": {"type": "object", "properties": {"base_url": {"type": "string"}}},
            "section": {
                "type": "object",
                "properties": {
                    "by_ref": {"$ref": "#/$defs/limit"},
                    "to_object": {"$ref": "#/$defs/thing"},
                    "to_nothing": {"$ref": "#/$defs/missing"},
                    "read_only": {"readOnly": True, "type": "string"},
                    "object": {"type": "object"},
                    "array": {"type": "array"},
                    "array_ref": {"$ref": "#/$defs/list"},
                    "open": {"additionalProperties": {"type": "integer"}},
                    "shaped": {"properties": {"n": {"type": "integer"}}},
                    "either": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
                    "one_of": {"oneOf": [{"const": 1}, {"enum": [2, 3]}]},
                    "mixed": {"anyOf": [{"type": "integer"}, {"type": "object"}]},
                    "enum": {"enum": ["a", "b"]},
                    "const": {"const": "x"},
                    "pattern": {"pattern": "^a$"},
                    "anything": {"description": "no shape at all"},
                    "prune": {"type": "boolean"},
                },
                "additionalProperties": {"type": "integer"},
            },
            "users": {"type": "object", "additionalProperties": {"enum": ["user", "admin"]}},
            "nested": {"type": "object", "additionalProperties": {"$ref": "#/$defs/thing"}},
        },
    }
    found = holds.published(schema)
    section = found["properties"]["section"]["properties"]
    held = {name for name, sub in section.items() if is_held(sub)}
    assert held == {"by_ref", "either", "one_of", "enum", "const", "pattern"}
    assert section["to_object"]["properties"]["n"]["anyOf"][0] == {"type": "integer"}  # inlined
    assert is_held(found["properties"]["section"]["additionalProperties"])
    assert not is_held(found["properties"]["version"])
    assert found["properties"]["api"] == schema["properties"]["api"]  # never held
    grant = found["properties"]["users"]["additionalProperties"]["anyOf"][1]
    assert grant["required"] == ["role", "until"]
    assert schema["properties"]["section"]["properties"]["by_ref"] == {"$ref": "#/$defs/limit"}
    assert holds.published({"type": "object"}) == {"type": "object"}  # no $defs: as it was
