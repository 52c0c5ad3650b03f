"""The operations a command performs, in process against the sandbox app: a saved
plan is verified against its file and live state before anything is written (its
host, its provider, its values; guards and warnings recomputed), an undo plan by
its signature, and ``check_safe`` holds ``--max-changes`` and the guards."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from reconciler.core.errors import PlanFileError, StalePlanError, UnsafePlanError
from reconciler.core.model import (
    Action,
    ApplyReport,
    DesiredState,
    FieldChange,
    Outcome,
    Plan,
    ResourceChange,
    ResourceResult,
)
from reconciler.desired import document
from reconciler.engine import flows, planfile
from reconciler.net.connection import Connection, RetryPolicy
from tests.support.sandbox import ADMIN_KEY

OPERATOR = "http://127.0.0.1:9"


class Counting(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner, self.sent = inner, 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        return await self.inner.handle_async_request(request)


@pytest.fixture
def counting(asgi_transport: httpx.ASGITransport) -> Counting:
    return Counting(asgi_transport)


def connect(transport: httpx.AsyncBaseTransport) -> Connection:
    return Connection(
        OPERATOR, ADMIN_KEY, "CLAUDE_API_KEY", retry=RetryPolicy(attempts=1), transport=transport
    )


FILE = DesiredState(
    "org.yaml",
    "0" * 64,
    {"company": {"billing_email": "f@example.org"}, "project.proj_2": {"name": "R"}},
)


def saved_plan(counting: Counting) -> Plan:
    return asyncio.run(flows.plan_file(FILE, connect(counting)))


def test_a_plan_made_against_another_host_is_refused_before_any_request(
    counting: Counting,
) -> None:
    plan = replace(saved_plan(counting), api={"base_url": "https://attacker.example"})
    before = counting.sent
    with pytest.raises(PlanFileError, match=r"made against https://attacker\.example"):
        asyncio.run(flows.verified_saved(plan, FILE, connect(counting)))
    assert counting.sent == before


def test_a_plan_for_another_provider_is_refused(counting: Counting) -> None:
    plan = replace(saved_plan(counting), provider="anthropic-admin")
    with pytest.raises(PlanFileError, match="is for the anthropic-admin provider"):
        asyncio.run(flows.verified_saved(plan, FILE, connect(counting)))


def test_warnings_and_guards_come_from_the_provider_never_the_plan(counting: Counting) -> None:
    plan = replace(saved_plan(counting), warnings=("all is fine",), guards=("x",))
    checked = asyncio.run(flows.verified_saved(plan, FILE, connect(counting)))
    assert "all is fine" not in checked.warnings
    assert any("billing email domain changes" in w for w in checked.warnings)
    assert checked.guards == ()


def test_a_subset_of_the_plan_applies_and_nothing_more(counting: Counting) -> None:
    plan = saved_plan(counting)
    subset = replace(plan, resources=plan.resources[:1])
    checked = asyncio.run(flows.verified_saved(subset, FILE, connect(counting)))
    assert [r.address for r in checked.resources] == [plan.resources[0].address]


def test_a_value_the_file_does_not_ask_for_is_refused(counting: Counting) -> None:
    plan = saved_plan(counting)
    company = plan.resources[0]
    evil = replace(company, changes={"billing_email": FieldChange("billing@example.com", "e@x")})
    with pytest.raises(PlanFileError, match="company is not what the file asks for"):
        asyncio.run(flows.verified_saved(replace(plan, resources=(evil,)), FILE, connect(counting)))


def test_an_unsigned_undo_plan_is_refused_before_any_request(counting: Counting) -> None:
    plan = replace(saved_plan(counting), api={"base_url": OPERATOR})
    before = counting.sent
    with pytest.raises(PlanFileError, match="not the one apply wrote"):
        asyncio.run(flows.verified_undo(planfile.SavedPlan(plan, kind="undo"), connect(counting)))
    assert counting.sent == before


def change(address: str) -> ResourceChange:
    return ResourceChange(address, Action.UPDATE, None, {"name": FieldChange("a", "b")})


def test_max_changes_and_guards_refuse_before_any_write() -> None:
    one = Plan(resources=(change("project.proj_1"),))
    with pytest.raises(UnsafePlanError, match="changes 1 resource, more than --max-changes 0"):
        flows.check_safe(one, max_changes=0)
    two = Plan(resources=(change("project.proj_1"), change("project.proj_2")))
    with pytest.raises(UnsafePlanError, match="changes 2 resources, more than"):
        flows.check_safe(two, max_changes=1)
    flows.check_safe(two, max_changes=2)
    guarded = replace(one, guards=("removes an organization admin",))
    with pytest.raises(UnsafePlanError, match="removes an organization admin"):
        flows.check_safe(guarded, max_changes=None)
    flows.check_safe(guarded, max_changes=None, force=True)


# -- the flows the commands call: plan_edit, to_apply, failure -----------------------------


def write_file(tmp_path: Path, text: str, name: str = "org.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_plan_edit_shows_the_edit_apart_from_drift_with_its_holds(
    counting: Counting, tmp_path: Path
) -> None:
    base = document.load(write_file(tmp_path, "version: 1\ncompany:\n  name: B\n", "base.yaml"))
    edited = document.load(
        write_file(
            tmp_path,
            "version: 1\napi: {api_key_env: CLAUDE_ADMIN_KEY}\ncompany:\n  name: B\n"
            "  usage_limit: {value: 1000000, until: 2999-01-01, then: 5}\n",
        )
    )
    planned = asyncio.run(flows.plan_edit(edited, connect(counting), base=base))
    assert planned.sections is not None
    change, drift = planned.sections
    assert [r.address for r in drift.resources] == ["company"]  # name: B was wanted before
    assert drift.resources[0].changes.keys() == {"name"}
    assert [(h.path, h.edit) for h in change.holds] == [("company.usage_limit", "added")]
    assert planned.plan.warnings[0].startswith("this edit changes api.api_key_env from null")
    assert planned.has_changes
    same = asyncio.run(flows.plan_edit(base, connect(counting), base=base))
    assert same.sections is not None
    assert same.sections[0].holds == ()
    assert not same.sections[0].resources


def test_plan_edit_says_first_when_the_holds_were_resolved_at_another_time(
    counting: Counting,
) -> None:
    ahead = asyncio.run(flows.plan_edit(FILE, connect(counting), ahead=True))
    assert ahead.sections is None
    assert ahead.plan.warnings[0] == (
        f"planned as of {ahead.plan.made_at} (--as-of): holds are resolved at that time; "
        "apply uses the time it runs"
    )
    now = asyncio.run(flows.plan_edit(FILE, connect(counting)))
    assert not any("--as-of" in w for w in now.plan.warnings)
    assert now.has_changes == (not now.plan.is_empty)


def test_plan_edit_keeps_only_the_targeted_hold_edits(counting: Counting, tmp_path: Path) -> None:
    base = document.load(write_file(tmp_path, "version: 1\n", "base.yaml"))
    held = "{value: 9, until: 2999-01-01, then: 5}"
    edited = document.load(
        write_file(
            tmp_path,
            f"version: 1\ncompany:\n  usage_limit: {held}\nprojects:\n"
            f"  proj_2:\n    usage_limit: {held}\n",
        )
    )
    planned = asyncio.run(
        flows.plan_edit(edited, connect(counting), ("project.proj_2",), base=base)
    )
    assert planned.sections is not None
    assert [h.address for h in planned.sections[0].holds] == ["project.proj_2"]


class Connector:
    """What a command gives a flow to connect with: records what asked, by what name,
    for which provider, and hands back the connection it made."""

    def __init__(self, counting: Counting) -> None:
        self.counting, self.asked, self.made = counting, [], []  # type: ignore[var-annotated]

    def __call__(self, asked: DesiredState | Plan, by: str, provider: str) -> Connection:
        self.asked.append((type(asked).__name__, by, provider))
        self.made.append(connect(self.counting))
        return self.made[-1]


def connector(counting: Counting) -> Connector:
    return Connector(counting)


def test_to_apply_plans_a_file_and_verifies_a_saved_plan(
    counting: Counting, tmp_path: Path
) -> None:
    org = write_file(
        tmp_path, "version: 1\ncompany:\n  name: Wanted\nprojects:\n  proj_2: {name: R}\n"
    )
    made = connector(counting)
    fresh = asyncio.run(flows.to_apply(org, made))
    assert isinstance(fresh, flows.ToApply)
    assert [r.address for r in fresh.plan.resources] == ["company", "project.proj_2"]
    assert made.asked == [("DesiredState", str(org), "company")]
    assert fresh.connection is made.made[0]
    only = asyncio.run(flows.to_apply(org, connector(counting), targets=("company",)))
    assert isinstance(only, flows.ToApply)
    assert [r.address for r in only.plan.resources] == ["company"]
    saved = tmp_path / "plan.json"
    planfile.save(replace(fresh.plan, api={"base_url": OPERATOR}), saved)
    made = connector(counting)
    again = asyncio.run(flows.to_apply(saved, made, targets=("project.proj_2",)))
    assert isinstance(again, flows.ToApply)
    assert again.plan.resources == fresh.plan.resources[1:]
    assert made.asked == [("DesiredState", str(org), "company")]
    assert again.connection is made.made[0]
    elsewhere = tmp_path / "elsewhere.yaml"
    elsewhere.write_bytes(org.read_bytes())
    expected = asyncio.run(flows.to_apply(saved, connector(counting), expect_file=elsewhere))
    assert isinstance(expected, flows.ToApply)  # checked against the file it was told
    org.write_text("version: 1\ncompany:\n  name: Other\n")
    with pytest.raises(StalePlanError, match=r"was not made from .* as it is now"):
        asyncio.run(flows.to_apply(saved, connector(counting)))


@pytest.mark.parametrize(
    ("saved", "options", "says"),
    [
        (
            False,
            {"expect_file": Path("x.yaml")},
            "--expect-file goes with a saved plan, not a file.",
        ),
        (
            True,
            {"reviewed": Path("r.json")},
            "--only-ended-holds goes with a FILE, planned as it runs.",
        ),
    ],
)
def test_to_apply_refuses_options_that_do_not_go_with_the_source(
    counting: Counting, tmp_path: Path, saved: bool, options: dict[str, Path], says: str
) -> None:
    org = write_file(tmp_path, "version: 1\ncompany:\n  name: Wanted\n")
    source = org
    if saved:
        plan = asyncio.run(flows.plan_file(document.load(org), connect(counting)))
        source = tmp_path / "plan.json"
        planfile.save(replace(plan, api={"base_url": OPERATOR}), source)
    before = counting.sent
    with pytest.raises(PlanFileError) as caught:
        asyncio.run(flows.to_apply(source, connector(counting), **options))  # type: ignore[arg-type]
    assert caught.value.message == says
    assert counting.sent == before


def test_an_undo_plan_is_verified_by_its_signature_and_connects_as_the_plan(
    counting: Counting, tmp_path: Path
) -> None:
    undo = replace(saved_plan(counting), api={"base_url": OPERATOR}, warnings=())
    path = tmp_path / "undo.json"
    signature = planfile.undo_signature(undo, planfile.signing_key(ADMIN_KEY))
    path.write_text(
        json.dumps({**planfile.saved_plan_data(undo), "kind": "undo", "signature": signature})
    )
    made = connector(counting)
    verified = asyncio.run(flows.to_apply(path, made, targets=("company",)))
    assert isinstance(verified, flows.ToApply)
    assert [r.address for r in verified.plan.resources] == ["company"]
    assert made.asked == [("Plan", str(path), "company")]
    assert verified.connection is made.made[0]


def test_an_undo_plan_with_an_expected_file_is_refused(counting: Counting, tmp_path: Path) -> None:
    undo = tmp_path / "undo.json"
    undo.write_text(json.dumps({**planfile.saved_plan_data(Plan(())), "kind": "undo"}))
    with pytest.raises(PlanFileError, match="--expect-file goes with a plan from 'plan --out'"):
        asyncio.run(flows.to_apply(undo, connector(counting), expect_file=Path("org.yaml")))


def test_only_ended_holds_a_reviewed_plan_listed_are_applied(
    counting: Counting, tmp_path: Path
) -> None:
    ended = "usage_limit: {value: 9, until: 2020-01-01, then: 2000000}"
    org = write_file(tmp_path, f"version: 1\ncompany:\n  {ended}\n  name: Wanted\n")
    reviewed = tmp_path / "reviewed.json"
    planfile.save(Plan(()), reviewed)  # a reviewed plan that lists no hold
    unseen = asyncio.run(flows.to_apply(org, connector(counting), reviewed=reviewed))
    assert unseen == flows.HeldBack(
        f"Nothing was applied: {reviewed} does not list the hold on company.usage_limit "
        "(until 2020-01-01) as the file has it now, so no reviewer saw it end. Review a plan "
        "of the file (plan --out) and pass that, or apply the file yourself."
    )
    listed = asyncio.run(flows.plan_file(document.load(org), connect(counting)))
    planfile.save(listed, reviewed)
    other = asyncio.run(flows.to_apply(org, connector(counting), reviewed=reviewed))
    assert isinstance(other, flows.HeldBack)  # the name is drift, not an ended hold
    assert other.why == (
        "Nothing was applied: company changes for another reason than an ended hold (drift, "
        "or an edit of the file); --only-ended-holds applies only what holds that have "
        "ended change."
    )
    assert other.plan is not None
    org.write_text(f"version: 1\ncompany:\n  {ended}\n")
    made = connector(counting)
    done = asyncio.run(flows.to_apply(org, made, reviewed=reviewed))
    assert isinstance(done, flows.ToApply)
    assert {r.address for r in done.plan.resources} == {"company"}
    assert done.connection is made.made[0]
    assert made.asked == [("DesiredState", str(org), "company")]


def test_what_only_ended_holds_holds_back_is_named_five_at_most(
    counting: Counting, tmp_path: Path
) -> None:
    held = "{value: 9, until: 2020-01-01, then: 7}"
    projects = "".join(f"  proj_{n}: {{usage_limit: {held}}}\n" for n in range(1, 4))
    org = write_file(
        tmp_path,
        "version: 1\ncompany:\n"
        + "".join(f"  {f}: {held}\n" for f in ("usage_limit",))
        + "projects:\n"
        + projects,
    )
    reviewed = tmp_path / "reviewed.json"
    planfile.save(Plan(()), reviewed)
    many = asyncio.run(flows.to_apply(org, connector(counting), reviewed=reviewed))
    assert isinstance(many, flows.HeldBack)
    assert "the hold on company.usage_limit (until 2020-01-01), projects.proj_1.usage_limit" in (
        many.why
    )
    assert "and more" not in many.why  # four holds: all named
    org.write_text(
        org.read_text().replace(
            "company:\n",
            "company:\n  name: {value: A, until: 2020-01-01, then: B}\n"
            "  billing_email: {value: a@x.org, until: 2020-01-01, then: b@x.org}\n",
        )
    )
    six = asyncio.run(flows.to_apply(org, connector(counting), reviewed=reviewed))
    assert isinstance(six, flows.HeldBack)
    assert six.why.count("(until 2020-01-01)") == 5
    assert "(until 2020-01-01) and more as the file has it now" in six.why
    org.write_text(
        "version: 1\ncompany:\n  name: X\n  billing_email: x@example.org\n"
        "projects:\n  proj_2: {name: Y}\n"
    )
    planfile.save(Plan(()), reviewed)
    two = asyncio.run(flows.to_apply(org, connector(counting), reviewed=reviewed))
    assert isinstance(two, flows.HeldBack)
    assert two.why.startswith("Nothing was applied: company, project.proj_2 change for another")


def result(outcome: Outcome) -> ResourceResult:
    return ResourceResult("company", outcome, {})


def test_an_apply_that_did_not_finish_ends_in_one_sentence() -> None:
    assert flows.failure(ApplyReport((result(Outcome.APPLIED),))) is None
    failed = flows.failure(
        ApplyReport((result(Outcome.APPLIED), result(Outcome.FAILED), result(Outcome.SKIPPED)))
    )
    assert failed is not None
    assert failed.message == (
        "1 failed and 1 skipped (see above); what was applied stays applied: run plan again "
        "to see what is left."
    )
    refused = flows.failure(
        ApplyReport(
            (result(Outcome.APPLIED), result(Outcome.SKIPPED), result(Outcome.SKIPPED)),
            refused="The key in CLAUDE_API_KEY lacks the scope organization:write; use a key "
            "with it (request-id req_1).",
        )
    )
    assert refused is not None
    assert refused.message == (
        "The key in CLAUDE_API_KEY lacks the scope organization:write: 1 applied, 2 not "
        "attempted. Run apply again with a key that may write."
    )


def test_a_plan_that_does_not_record_its_api_is_refused_in_its_own_words() -> None:
    with pytest.raises(PlanFileError) as caught:
        flows.check_host(Plan(()), connect(httpx.ASGITransport(app=None)))  # type: ignore[arg-type]
    assert caught.value.message == (
        "The saved plan was made against an API it does not record, not http://127.0.0.1:9 "
        "where this apply would write; nothing was sent. Run plan again against "
        "http://127.0.0.1:9."
    )
