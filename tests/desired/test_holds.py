"""Hold arithmetic at its edges (the end of a day in UTC, zones, the 7-day warning),
what validate refuses and where, and how a plan shows, warns about and removes what
holds and grants ask for."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from reconciler import providers
from reconciler.core.errors import ConfigError, StalePlanError
from reconciler.core.model import (
    Action,
    DesiredState,
    FieldChange,
    LiveResource,
    LiveState,
    Plan,
    ResourceChange,
)
from reconciler.desired import document, holds
from reconciler.engine import planning

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("until", "last_held", "first_not"),
    [
        ("2026-12-31", "2026-12-31T23:59:59.999999+00:00", "2027-01-01T00:00:00+00:00"),
        ("2026-12-31T12:00:00Z", "2026-12-31T11:59:59+00:00", "2026-12-31T12:00:00+00:00"),
        # 09:00 in Sydney is 22:00 the day before in UTC
        ("2027-01-01T09:00:00+11:00", "2026-12-31T21:59:59+00:00", "2026-12-31T22:00:00+00:00"),
        ("2026-03-29 01:30:00-05:00", "2026-03-29T06:29:59+00:00", "2026-03-29T06:30:00+00:00"),
        ("2028-02-29", "2028-02-29T23:59:59+00:00", "2028-03-01T00:00:00+00:00"),
    ],
)
def test_a_hold_holds_to_its_end_and_not_a_moment_after(
    until: str, last_held: str, first_not: str
) -> None:
    stop = holds.ends(until)
    assert stop is not None
    assert datetime.fromisoformat(last_held) < stop <= datetime.fromisoformat(first_not)
    assert stop == datetime.fromisoformat(first_not)


@pytest.mark.parametrize(
    "until", ["2026-02-30", "2026-12-31T10:00:00", "tomorrow", "31/12/2026", "2026-13-01", ""]
)
def test_what_is_not_a_date_or_a_timestamp_with_a_zone_is_no_end(until: str) -> None:
    assert holds.ends(until) is None


def test_as_of_is_the_start_of_a_date_or_the_timestamp() -> None:
    assert holds.moment("2026-12-31") == datetime(2026, 12, 31, tzinfo=UTC)
    assert holds.moment("2026-12-31T18:00:00+01:00") == datetime(2026, 12, 31, 17, tzinfo=UTC)
    with pytest.raises(ValueError, match="not a date"):
        holds.moment("2026-12-31T18:00")


def load(tmp_path: Path, text: str, as_of: datetime = NOW) -> DesiredState:
    path = tmp_path / "org.yaml"
    path.write_text(text)
    return document.load(path, as_of)


COMPANY = """\
version: 1
company:
  usage_limit: {value: 5000000, until: 2026-12-31, then: 1000000}   # launch week
"""


@pytest.mark.parametrize(
    ("as_of", "wanted", "expired"),
    [
        (datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC), 5000000, False),
        (datetime(2027, 1, 1, tzinfo=UTC), 1000000, True),
    ],
)
def test_a_held_value_is_its_value_until_the_end_and_then_its_then(
    tmp_path: Path, as_of: datetime, wanted: int, expired: bool
) -> None:
    desired = load(tmp_path, COMPANY, as_of)
    assert desired.resources["company"]["usage_limit"] == wanted
    (hold,) = desired.holds
    assert (hold.address, hold.field, hold.expired) == ("company", "usage_limit", expired)


@pytest.mark.parametrize(
    ("body", "where", "says"),
    [
        ("usage_limit: {value: 5, until: soon, then: 1}", (3, 27), "is not a date"),
        ("usage_limit: {value: 5, until: 2026-12-31}", (3, 3), "it needs then"),
        (
            "usage_limit: {value: 5, until: 2026-12-31, then: lots}",
            (3, 52),
            "is not a whole number",
        ),
        (
            "usage_limit: {value: lots, until: 2026-12-31, then: 1}",
            (3, 24),
            "is not a whole number",
        ),
        ("usage_limit: {value: [5], until: 2026-12-31, then: 1}", (3, 17), "a single value"),
        (
            "plan: {value: team, until: 2026-12-31, then: team, note: x}",
            (3, 54),
            "unknown key 'note'; expected one of: value, until, then",
        ),
    ],
)
def test_validate_refuses_a_malformed_hold_at_its_position(
    tmp_path: Path, body: str, where: tuple[int, int], says: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, f"version: 1\ncompany:\n  {body}\n")
    first = caught.value.problems[0]
    assert (first.line, first.column) == where, str(first)
    assert says in first.message


def test_an_admin_may_be_held_as_a_check_until_a_date(tmp_path: Path) -> None:
    desired = load(
        tmp_path,
        "version: 1\nprovider: anthropic-admin\nusers:\n"
        "  a@example.com: {role: admin, until: 2026-12-31}\n",
    )
    assert desired.resources['user["a@example.com"]'] == {"role": "admin"}


ADMIN = """\
version: 1
provider: anthropic-admin
users:
  prune: true
  a@example.com: developer
  b@example.com: developer
  temp1@example.com: {role: developer, until: 2026-11-01}
  temp2@example.com: {role: developer, until: "2026-11-20T00:00:00Z"}
workspaces:
  Research:
    members:
      a@example.com: {role: workspace_developer, until: 2026-11-30}
"""


def admin_live() -> LiveState:
    users = ["a", "b", "temp1", "temp2"]
    found = {
        f'user["{u}@example.com"]': LiveResource({"role": "developer", "status": "member"}, None, u)
        for u in users
    }
    found['workspace["Research"]'] = LiveResource(
        {"name": "Research", "tags": {}, "archived": False}, None, "w"
    )
    found['member["Research"]["a@example.com"]'] = LiveResource(
        {"workspace_role": "workspace_user"}, None, "a"
    )
    return LiveState(
        found,
        context={
            "org_roles": {f"{u}@example.com": "developer" for u in users},
            "invited": frozenset(),
            "archived_workspaces": {},
        },
    )


def test_ended_grants_are_removed_guarded_and_shown(tmp_path: Path) -> None:
    desired = load(tmp_path, ADMIN)
    plan = planning.make_plan(desired, admin_live(), providers.get("anthropic-admin"))
    removed = [r.address for r in plan.resources if r.action is Action.DELETE]
    assert removed == ['user["temp1@example.com"]', 'user["temp2@example.com"]']
    assert desired.expired == frozenset(removed)
    # A removal like any other: a file could otherwise empty the organization on a date.
    assert plan.guards == ("removes 2 of 4 users and invites (50%), more than 25%",)
    assert plan.about['user["temp1@example.com"]'] == "(expired 2026-11-01)"
    member = 'member["Research"]["a@example.com"]'
    assert plan.about[member] == "(until 2026-11-30)"
    (warning,) = plan.warnings
    assert warning.startswith(
        f"{desired.source}: workspaces.Research.members.a@example.com is held until 2026-11-30 "
        "(in 4 days); then the entry is removed."
    )


def test_the_warning_starts_seven_days_before_the_end(tmp_path: Path) -> None:
    text = "version: 1\ncompany:\n  plan: {value: scale, until: 2026-12-03, then: team}\n"
    # the hold ends 2026-12-04T00:00Z: 7 days and 12 hours after NOW, then exactly 7 days
    assert (
        planning.make_plan(load(tmp_path, text), company_live(), providers.get("company")).warnings
        == ()
    )
    later = load(tmp_path, text, datetime(2026, 11, 27, tzinfo=UTC))
    (warning,) = planning.make_plan(later, company_live(), providers.get("company")).warnings
    assert 'held until 2026-12-03 (in 7 days); then it becomes "team"' in warning


def company_live() -> LiveState:
    return LiveState(
        {"company": LiveResource({"id": "org_1", "plan": "team", "usage_limit": 1}, '"1"')},
        context={"tokens_used": 0},
    )


def test_a_saved_plan_is_stale_once_a_hold_it_depends_on_ends(tmp_path: Path) -> None:
    change = ResourceChange("company", Action.UPDATE, '"1"', {})
    before_end = Plan((change,), made_at="2026-12-31T20:00:00Z")
    after = load(tmp_path, COMPANY, datetime(2027, 1, 1, 9, tzinfo=UTC))
    with pytest.raises(
        StalePlanError, match=r"the hold on company.usage_limit \(until 2026-12-31\) ended"
    ):
        planning.check_holds(before_end, after)
    planning.check_holds(Plan((change,), made_at="2027-01-01T08:00:00Z"), after)  # made after
    planning.check_holds(
        before_end, load(tmp_path, COMPANY, datetime(2026, 12, 31, 22, tzinfo=UTC))
    )


def test_a_hold_ending_is_a_date_compared_in_utc_not_local_time(tmp_path: Path) -> None:
    ended = timedelta(seconds=1) + datetime(2027, 1, 1, tzinfo=UTC)
    assert load(tmp_path, COMPANY, ended).resources["company"]["usage_limit"] == 1000000


def test_an_ended_member_grant_removes_the_member_never_its_workspace(tmp_path: Path) -> None:
    desired = load(
        tmp_path,
        "version: 1\nprovider: anthropic-admin\nworkspaces:\n  Research:\n    members:\n"
        "      a@example.com: {role: workspace_user, until: 2026-11-01}\n",
    )
    assert desired.expired == frozenset({'member["Research"]["a@example.com"]'})
    assert 'workspace["Research"]' in desired.resources


def as_text_dates(data: object) -> object:
    """YAML reads 2026-12-31 as a date; a file's value is its text, as reconciler reads it."""
    if isinstance(data, dict):
        return {k: as_text_dates(v) for k, v in data.items()}
    if isinstance(data, date | datetime):
        return data.isoformat().replace("+00:00", "Z")
    return data


@pytest.mark.parametrize(
    ("provider", "text"),
    [
        ("company", COMPANY),
        ("anthropic-admin", ADMIN),
        (
            "anthropic-admin",
            "version: 1\nprovider: anthropic-admin\nworkspaces:\n  R:\n    spend_limits:\n"
            "      monthly: {value: 9, until: '2026-12-31', then: 5}\n    rate_limits:\n"
            "      rlg_01: {requests_per_minute: {value: 9, until: '2026-12-31', then: null}}\n",
        ),
    ],
)
def test_the_schema_editors_get_accepts_holds_where_they_may_stand(
    provider: str, text: str
) -> None:
    from jsonschema import Draft202012Validator

    data = as_text_dates(yaml.safe_load(text))
    published = document.published_schema(provider)
    assert list(Draft202012Validator(published).iter_errors(data)) == []
    bad = {
        "version": 1,
        "company": {"usage_limit": {"value": "lots", "until": "2026-12-31", "then": 1}},
    }
    assert list(Draft202012Validator(document.published_schema("company")).iter_errors(bad))


def test_only_changes_wholly_from_ended_holds_count_as_scheduled(tmp_path: Path) -> None:
    desired = load(
        tmp_path,
        "version: 1\ncompany:\n  usage_limit: {value: 5, until: 2026-01-01, then: 7}\n"
        "  plan: team\nprojects:\n  proj_1:\n"
        "    usage_limit: {value: 5, until: 2026-01-01, then: 8}\n",
    )
    company = ResourceChange("company", Action.UPDATE, None, {"usage_limit": FieldChange(1, 7)})
    both = ResourceChange(
        "company",
        Action.UPDATE,
        None,
        {"usage_limit": FieldChange(1, 7), "plan": FieldChange("scale", "team")},
    )
    project = ResourceChange(
        "project.proj_1", Action.UPDATE, None, {"usage_limit": FieldChange(1, 8)}
    )
    assert planning.not_from_ended_holds(Plan((company, project)), desired) == []
    assert planning.not_from_ended_holds(Plan((both, project)), desired) == ["company"]


def test_an_edit_of_the_holds_is_named_by_what_it_does(tmp_path: Path) -> None:
    """Added, extended, shortened, changed (a value, then, a role) and removed holds are
    the edit's; a hold left as it was is not."""
    base = load(
        tmp_path,
        ADMIN.replace("b@example.com: developer", "b@example.com: {role: user, until: 2027-01-01}"),
    )
    edited = ADMIN.replace("until: 2026-11-01", "until: 2026-12-01").replace(
        '"2026-11-20T00:00:00Z"', "2026-11-02"
    )
    edited = edited.replace(
        "a@example.com: {role: workspace_developer, until: 2026-11-30}",
        "a@example.com: {role: workspace_admin, until: 2026-11-30}",
    ).replace("  a@example.com: developer", "  a@example.com: {role: developer, until: 2027-02-01}")
    desired = load(tmp_path, edited)
    edits = {h.path: h.edit for h in planning.hold_edits(base, desired)}
    assert edits == {
        "users.a@example.com": "added",
        "users.temp1@example.com": "extended",
        "users.temp2@example.com": "shortened",
        "workspaces.Research.members.a@example.com": "changed",
        "users.b@example.com": "removed",
    }
    assert planning.hold_edits(desired, desired) == ()


def test_an_ended_hold_is_reviewed_only_if_a_plan_listed_it_as_it_is(tmp_path: Path) -> None:
    desired = load(tmp_path, ADMIN)
    reviewed = planning.make_plan(desired, admin_live(), providers.get("anthropic-admin"))
    assert planning.unreviewed_ended_holds(desired, reviewed) == []
    moved = load(tmp_path, ADMIN.replace("until: 2026-11-01", "until: 2026-11-02"))
    assert planning.unreviewed_ended_holds(moved, reviewed) == [
        "users.temp1@example.com (until 2026-11-02)"
    ]
    role = load(
        tmp_path,
        ADMIN.replace("temp2@example.com: {role: developer", "temp2@example.com: {role: user"),
    )
    assert planning.unreviewed_ended_holds(role, reviewed) == [
        "users.temp2@example.com (until 2026-11-20T00:00:00Z)"
    ]


def test_a_plan_shows_each_hold_with_its_place_end_and_effect(tmp_path: Path) -> None:
    desired = load(tmp_path, ADMIN)
    shown = {h.path: h for h in (planning.planned(h) for h in desired.holds)}
    grant = shown["users.temp2@example.com"]
    assert grant.data() == {
        "path": "users.temp2@example.com",
        "address": 'user["temp2@example.com"]',
        "kind": "grant",
        "value": "developer",
        "then": None,
        "until": "2026-11-20T00:00:00Z",
        "ends_at": "2026-11-20T00:00:00Z",
        "ended": True,
        "effect": "then removed",
    }
    member = shown["workspaces.Research.members.a@example.com"]
    assert (member.until, member.ends_at, member.ended) == (
        "2026-11-30",
        "2026-12-01T00:00:00Z",
        False,
    )
    value = planning.planned(load(tmp_path, COMPANY).holds[0], edit="extended")
    assert value.data()["effect"] == "then 1000000"
    assert (value.grant, value.value, value.then, value.edit) == (
        False,
        5000000,
        1000000,
        "extended",
    )
