"""The verdict of a policy on a plan, in process: which rules match which changes and
holds, what an evaluation error does (deny), who waives a rule (an owner, directly or
through a team; logins without case), and why apply stops."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from reconciler.core.errors import ConfigError, InputPathError, Problem
from reconciler.core.model import Action, FieldChange, Plan, PlannedHold, ResourceChange
from reconciler.policy import judge, rules
from reconciler.policy.judge import refusal

POLICY = """\
version: 1
owners: [policy-admin]
rules:
  - name: big-limit
    when: '"usage_limit" in change.after && change.after.usage_limit > 100'
    effect: require_approval
    owners: [finance-lead, "@acme/finance"]
    message: big
  - name: no-deletes
    when: change.action == "delete"
    effect: deny
    message: never
  - name: reads-absent
    when: change.resource == "project" && change.after.name == "x"
    effect: require_approval
    owners: [someone]
    message: absent
"""


def policy(tmp_path: Path, text: str = POLICY) -> rules.Policy:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return rules.load(path)


def change(address: str, action: Action, **fields: tuple[object, object]) -> ResourceChange:
    return ResourceChange(
        address, action, None, {n: FieldChange(b, a) for n, (b, a) in fields.items()}
    )


def plan(*changes: ResourceChange, holds: tuple[PlannedHold, ...] = ()) -> Plan:
    return Plan(resources=changes, holds=holds, made_at="2026-12-04T00:00:00Z")


def test_a_rule_matches_the_changes_its_condition_is_true_for(tmp_path: Path) -> None:
    found = judge.verdict(
        plan(
            change("company", Action.UPDATE, usage_limit=(5, 500)),
            change("company", Action.UPDATE, usage_limit=(500, 50)),
        ),
        policy(tmp_path),
        (),
        {},
    )
    (match,) = found.matches
    assert (match.rule, match.addresses, match.errors) == ("big-limit", ("company",), ())
    assert match.awaits_approval
    assert not match.denies


def test_a_condition_that_cannot_be_evaluated_is_a_deny_naming_rule_and_change(
    tmp_path: Path,
) -> None:
    found = judge.verdict(
        plan(change("project.proj_1", Action.UPDATE, usage_limit=(1, 2))), policy(tmp_path), (), {}
    )
    (match,) = found.matches
    assert match.rule == "reads-absent"
    assert match.denies
    assert match.errors[0].startswith("rule reads-absent could not be evaluated on project.proj_1")
    assert match.data()["effect"] == "deny"
    assert refusal(found) is not None
    assert "denies this plan: reads-absent (on project.proj_1)" in str(refusal(found))


def test_an_owner_waives_a_rule_directly_or_through_a_team_without_case(tmp_path: Path) -> None:
    big = plan(change("company", Action.UPDATE, usage_limit=(5, 500)))
    loaded = policy(tmp_path)
    assert judge.verdict(big, loaded, ("Finance-Lead",), {}).awaiting == ()
    assert judge.verdict(big, loaded, ("cfo",), {}).awaiting != ()
    teams = {"@acme/finance": ("CFO",)}
    by_team = judge.verdict(big, loaded, ("cfo",), teams)
    assert by_team.waived[0].waived_by == ("cfo",)
    assert refusal(by_team) is None
    assert refusal(judge.verdict(big, loaded, ("someone",), teams)) is not None


def test_a_deny_is_never_waived(tmp_path: Path) -> None:
    gone = plan(change('user["a@example.com"]', Action.DELETE, role=("user", None)))
    found = judge.verdict(gone, policy(tmp_path), ("finance-lead", "someone"), {})
    assert [m.rule for m in found.denied] == ["no-deletes"]
    assert "denies this plan: no-deletes" in str(refusal(found))


def test_holds_are_judged_as_changes_to_come(tmp_path: Path) -> None:
    text = (
        "version: 1\nrules:\n  - name: short\n"
        '    when: change.action == "hold" && timestamp(change.ends_at) > '
        'timestamp(plan.made_at) + duration("720h")\n'
        "    effect: deny\n    message: m\n"
    )
    held = PlannedHold(
        "company.usage_limit", "company", False, 5, 1, "2027-03-01", "2027-03-01T00:00:00Z", False
    )
    soon = PlannedHold(
        "company.usage_limit", "company", False, 5, 1, "2026-12-10", "2026-12-10T00:00:00Z", False
    )
    assert judge.verdict(plan(holds=(held,)), policy(tmp_path, text), (), {}).denied
    assert not judge.verdict(plan(holds=(soon,)), policy(tmp_path, text), (), {}).matches


def test_an_edit_of_the_policy_needs_its_own_owners(tmp_path: Path) -> None:
    loaded = policy(tmp_path)
    edited = judge.judged(plan(), loaded, (), {}, policy_changed=True).policy
    assert edited is not None
    assert [m.rule for m in edited.awaiting] == ["policy-file"]
    approved = judge.judged(plan(), loaded, ("policy-admin",), {}, policy_changed=True).policy
    assert approved is not None
    assert approved.awaiting == ()
    unowned = policy(tmp_path, POLICY.replace("owners: [policy-admin]\n", ""))
    assert judge.judged(plan(), unowned, (), {}, policy_changed=True).policy.matches == ()  # type: ignore[union-attr]


@pytest.mark.parametrize("given", [("not a login",), ("ok,-bad",), ("@team/x",)])
def test_approvers_are_github_logins(given: tuple[str, ...]) -> None:
    with pytest.raises(ConfigError):
        judge.approvers(given)


def test_approvers_may_be_comma_separated() -> None:
    assert judge.approvers(("a, b", "c")) == ("a", "b", "c")


def probe(tmp_path: Path, condition: str) -> rules.Policy:
    """A policy of one deny rule: true exactly when ``condition`` sees what it should."""
    text = f"version: 1\nrules:\n  - name: probe\n    when: '{condition}'\n"
    return policy(tmp_path, text + "    effect: deny\n    message: m\n")


def scoped(**api: str) -> Plan:
    return Plan(
        resources=(
            change("project.proj_1", Action.UPDATE, name=("a", "b")),
            replace(
                change('user["a.b@example.com"]', Action.CREATE, role=(None, "user")),
                verb="invite",
            ),
            change("project.proj_2", Action.DELETE, name=("gone", None)),
        ),
        holds=(
            PlannedHold(
                "company.usage_limit",
                "company",
                False,
                5,
                1,
                "2027-01-01",
                "2027-01-01T00:00:00Z",
                False,
                field="usage_limit",
            ),
            PlannedHold(
                "users.x",
                'user["x"]',
                True,
                "user",
                None,
                "2026-01-01",
                "2026-01-01T00:00:00Z",
                True,
            ),  # ended: not judged
        ),
        source={"file": "org.yaml"},
        api=api,
        provider="company",
        made_at="2026-12-04T00:00:00Z",
    )


@pytest.mark.parametrize(
    ("condition", "addresses"),
    [
        (
            'change.action == "update" && change.resource == "project" && '
            'change.before == {"name": "a"} && change.after == {"name": "b"}',
            ("project.proj_1",),
        ),
        (
            'change.action == "create" && change.resource == "user" && '
            'change.before == {} && change.after == {"role": "user"}',
            ('user["a.b@example.com"]',),
        ),
        (
            'change.verb == "invite" && change.name == "a.b@example.com" && change.id == ""',
            ('user["a.b@example.com"]',),
        ),
        (
            'change.verb == "update" && change.name == "proj_1" && '
            "change.live_address == change.address",
            ("project.proj_1",),
        ),
        (
            'change.action == "delete" && change.before == {"name": "gone"} && change.after == {}',
            ("project.proj_2",),
        ),
        (
            'change.action == "hold" && change.resource == "company" && '
            'change.before == {"usage_limit": 5} && change.after == {"usage_limit": 1} && '
            'change.path == "company.usage_limit" && change.verb == "hold" && '
            'change.then == 1 && !change.grant && change.ends_at == "2027-01-01T00:00:00Z"',
            ("company",),
        ),
        (
            'change.address == "project.proj_1" && plan.file == "org.yaml" && '
            'plan.api == "api.example.com" && plan.provider == "company" && '
            'plan.made_at == "2026-12-04T00:00:00Z" && size(plan.changes) == 3 && '
            "size(plan.holds) == 1",
            ("project.proj_1",),
        ),
    ],
)
def test_a_condition_sees_the_change_and_the_plan_as_documented(
    tmp_path: Path, condition: str, addresses: tuple[str, ...]
) -> None:
    found = judge.verdict(
        scoped(base_url="https://api.example.com/"), probe(tmp_path, condition), (), {}
    )
    assert [(m.addresses, m.errors) for m in found.matches] == [(addresses, ())]


def test_a_plan_without_an_api_or_file_shows_empty_text(tmp_path: Path) -> None:
    found = judge.verdict(
        Plan(resources=(change("company", Action.UPDATE, plan=("a", "b")),)),
        probe(tmp_path, 'plan.api == "" && plan.file == "" && plan.made_at == ""'),
        (),
        {},
    )
    assert [m.addresses for m in found.matches] == [("company",)]


def test_judged_uses_the_team_list_and_adds_the_policys_own_rule_only_when_asked(
    tmp_path: Path,
) -> None:
    loaded = policy(tmp_path)
    big = plan(change("company", Action.UPDATE, usage_limit=(5, 500)))
    plain = judge.judged(big, loaded, ("cfo",), {"@acme/finance": ("cfo",)}).policy
    assert plain is not None
    assert [(m.rule, m.waived_by) for m in plain.matches] == [("big-limit", ("cfo",))]
    teams = {"@acme/policy": ("lead",)}
    owned = policy(tmp_path, POLICY.replace("[policy-admin]", '["@acme/policy"]'))
    edited = judge.judged(big, owned, ("lead",), teams, policy_changed=True).policy
    assert edited is not None
    assert edited.matches[0].data() == {
        "rule": "policy-file",
        "effect": "require_approval",
        "owners": ["@acme/policy"],
        "message": "This change edits the policy file itself; the policy's owners must approve it.",
        "addresses": [str(tmp_path / "policy.yaml")],
        "errors": [],
        "waived_by": ["lead"],
    }


def test_apply_is_told_which_rules_stop_it_and_how_to_go_on(tmp_path: Path) -> None:
    loaded = policy(tmp_path)
    big = plan(change("company", Action.UPDATE, usage_limit=(5, 500)))
    waiting = judge.verdict(big, loaded, (), {})
    assert refusal(waiting) == (
        f"The policy {loaded.file} requires approval before this plan is applied: big-limit "
        "(owners: finance-lead, @acme/finance). Nothing was written; apply with --approved-by "
        "naming an owner of each rule once they have approved."
    )
    gone = plan(change('user["a@example.com"]', Action.DELETE, role=("user", None)))
    denied = judge.verdict(gone, loaded, (), {})
    assert refusal(denied) == (
        f'The policy {loaded.file} denies this plan: no-deletes (on user["a@example.com"]). '
        "Nothing was written; change the file (or the policy, with its owners' approval)."
    )
    assert refusal(judge.verdict(plan(), loaded, (), {})) is None


def test_the_team_list_is_json_of_teams_and_logins(tmp_path: Path) -> None:
    good = tmp_path / "teams.json"
    good.write_text('{"@Acme/Finance": ["cfo", "Controller"]}')
    assert judge.team_members(good) == {"@acme/finance": ("cfo", "Controller")}
    assert judge.team_members(None) == {}
    for bad in ('["cfo"]', '{"acme/finance": ["cfo"]}', '{"@acme/f": ["not a login"]}', "{"):
        good.write_text(bad)
        with pytest.raises(ConfigError, match="team membership list"):
            judge.team_members(good)


def test_a_rule_failing_on_many_changes_names_five_and_counts_the_rest(tmp_path: Path) -> None:
    many = plan(*(change(f"project.p{n}", Action.UPDATE, usage_limit=(1, 2)) for n in range(8)))
    (match,) = judge.verdict(many, policy(tmp_path), (), {}).matches
    assert len(match.addresses) == 8
    assert len(match.errors) == 6
    assert match.errors[-1] == "and 3 more changes alike"
    assert refusal(judge.verdict(many, policy(tmp_path), (), {})) is not None


def test_a_wrong_approver_is_named() -> None:
    with pytest.raises(ConfigError) as refused:
        judge.approvers(("good", "bad login"))
    assert "'bad login' is not a GitHub login" in str(refused.value.problems[0].message)


def test_a_condition_that_gives_no_boolean_denies_saying_what_it_gave(tmp_path: Path) -> None:
    found = judge.verdict(
        plan(change("project.p", Action.UPDATE, name=("a", "b"))),
        probe(tmp_path, "change.before.name"),
        (),
        {},
    )
    (match,) = found.matches
    assert match.addresses == ("project.p",)
    assert match.errors == (
        "rule probe gave STRING on project.p, not true or false; it counts as a deny",
    )
    absent = judge.verdict(
        plan(change("project.p", Action.UPDATE, name=("a", "b"))),
        probe(tmp_path, "change.after.limit > 1"),
        (),
        {},
    )
    assert absent.matches[0].errors[0] == (
        "rule probe could not be evaluated on project.p (NOT_FOUND: Key not found in map : "
        '"limit"); it counts as a deny'
    )


def test_the_verdict_carries_the_policys_digest_and_each_rules_message(tmp_path: Path) -> None:
    loaded = policy(tmp_path)
    found = judge.verdict(
        plan(change("company", Action.UPDATE, usage_limit=(5, 500))), loaded, (), {}
    )
    assert found.sha256 == loaded.sha256
    assert len(found.sha256) == 64
    assert found.matches[0].message == "big"


def test_a_deny_rule_with_owners_is_not_waived_by_them(tmp_path: Path) -> None:
    text = POLICY.replace(
        "effect: deny\n    message: never", "effect: deny\n    owners: [boss]\n    message: never"
    )
    gone = plan(change('user["a@example.com"]', Action.DELETE, role=("user", None)))
    (match,) = judge.verdict(gone, policy(tmp_path, text), ("boss",), {}).matches
    assert match.waived_by == ()
    assert match.denies


def test_exactly_five_errors_are_all_shown(tmp_path: Path) -> None:
    five = plan(*(change(f"project.p{n}", Action.UPDATE, usage_limit=(1, 2)) for n in range(5)))
    (match,) = judge.verdict(five, policy(tmp_path), (), {}).matches
    assert len(match.errors) == 5
    assert not match.errors[-1].startswith("and ")


@pytest.mark.parametrize(("count", "tail"), [(10, "p9"), (11, "p9 and 1 more")])
def test_a_refusal_names_ten_addresses_and_counts_the_rest(
    tmp_path: Path, count: int, tail: str
) -> None:
    gone = plan(*(change(f"project.p{n}", Action.DELETE, name=("x", None)) for n in range(count)))
    said = refusal(judge.verdict(gone, policy(tmp_path), (), {}))
    assert said is not None
    assert "no-deletes (on project.p0, project.p1, " in said
    assert f"{tail}), reads-absent (on project.p0" in said


def test_a_refusal_names_every_rule_awaiting_approval(tmp_path: Path) -> None:
    text = POLICY + (
        '  - name: second\n    when: change.resource == "company"\n'
        "    effect: require_approval\n    owners: [ops]\n    message: s\n"
    )
    said = refusal(
        judge.verdict(
            plan(change("company", Action.UPDATE, usage_limit=(5, 500))),
            policy(tmp_path, text),
            (),
            {},
        )
    )
    assert said is not None
    assert "big-limit (owners: finance-lead, @acme/finance); second (owners: ops)" in said


def test_a_wrong_list_or_approver_is_a_problem_at_its_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        judge.approvers(("bad login",))
    assert refused.value.problems == [
        Problem("--approved-by", 1, 1, "", "'bad login' is not a GitHub login")
    ]
    teams = tmp_path / "teams.json"
    teams.write_text('["cfo"]')
    with pytest.raises(ConfigError) as wrong:
        judge.team_members(teams)
    assert wrong.value.problems == [
        Problem(
            str(teams), 1, 1, "", 'the team membership list is JSON {"@org/team": ["login", ...]}'
        )
    ]
    missing = tmp_path / "none.json"
    with pytest.raises(ConfigError) as unread:
        judge.team_members(missing)
    (problem,) = unread.value.problems
    assert (problem.file, problem.line, problem.column, problem.path) == (str(missing), 1, 1, "")
    assert problem.message.startswith("cannot read the team membership list: ")
    link = tmp_path / "link.json"
    link.symlink_to(teams)
    with pytest.raises(InputPathError, match=r"the team membership list .* is a symbolic link"):
        judge.team_members(link)
