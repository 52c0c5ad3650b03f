"""apply's safety rules one by one, in process, against a ledger: an in-memory
organization that a test can make refuse a key, lose an answer, or have someone else
edit a resource first. Each rule here is one a user relies on (a resource whose
requirement failed is never written; after a refused key or an interrupt nothing
new starts; an uncertain write is read again and never overwritten; what was written
is read back), and each test fails when its rule is mutated (``mutmut run``)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from reconciler.core.errors import (
    ApiError,
    AuthError,
    ConflictError,
    TransportError,
    UnsafePlanError,
)
from reconciler.core.model import (
    Action,
    ApplyReport,
    FieldChange,
    LiveResource,
    Outcome,
    Plan,
    RateLimitWaits,
    ResourceChange,
    ResourceResult,
)
from reconciler.engine.execute import apply_plan

REFUSED = "The key in CLAUDE_API_KEY lacks the scope organization:write; use a key that has it."


class Ledger:
    """An organization in memory, behind the ``Session`` interface apply uses."""

    def __init__(self, **live: dict[str, Any]) -> None:
        self.live: dict[str, dict[str, Any]] = {k.replace("__", "."): v for k, v in live.items()}
        self.writes: list[str] = []
        self.faults: dict[str, str] = {}  # address → auth, api, conflict, lost, unlanded
        self.in_flight = 0
        self.most_in_flight = 0
        self.read_back_fails = False
        self.current_fails = False
        self.drift_after_write: dict[str, dict[str, Any]] = {}
        self.stop_after: tuple[int, asyncio.Event] | None = None
        self.readied: list[ResourceChange] | None = None
        self.refuse: str | None = None
        self.waits = RateLimitWaits()

    async def ready(self, changes: Any) -> None:
        """What the provider checks before any write: here, told of the whole plan, and
        refusing it when ``refuse`` says so (a secret with nowhere to go)."""
        self.readied = list(changes)
        if self.refuse:
            raise UnsafePlanError(self.refuse)

    async def write(self, change: ResourceChange) -> str | None:
        self.writes.append(change.address)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0)  # let every worker start before any finishes
            fault = self.faults.get(change.address)
            if fault == "auth":
                raise AuthError(REFUSED, status=403)
            if fault == "api":
                raise ApiError(f"The API refused {change.address} (400: no).", status=400)
            if fault == "unlanded":
                raise TransportError("the connection broke before the answer was complete")
            if fault == "conflict":
                self.live[change.address] = {"name": "someone else's"}
                raise ConflictError("changed since plan; run plan again", status=412)
            self._land(change)
            if fault == "lost":
                raise TransportError("the connection broke before the answer was complete")
            return f'"{change.address}-{len(self.writes)}"'
        finally:
            self.in_flight -= 1
            if self.stop_after and len(self.writes) == self.stop_after[0]:
                self.stop_after[1].set()

    def _land(self, change: ResourceChange) -> None:
        if change.action.removes:
            self.live.pop(change.address, None)
        else:
            self.live.setdefault(change.address, {}).update(change.after)
        self.live.get(change.address, {}).update(self.drift_after_write.get(change.address, {}))

    async def current(self, address: str) -> LiveResource | None:
        if self.current_fails:
            raise ApiError("GET failed (500: down).", status=500)
        found = self.live.get(address)
        return None if found is None else LiveResource(dict(found), f'"{address}-now"')

    async def read_back(self, addresses: Sequence[str]) -> Mapping[str, Mapping[str, Any] | None]:
        if self.read_back_fails:
            raise ApiError("GET failed (500: down).", status=500)
        return {a: self.live.get(a) for a in addresses}


def update(address: str, requires: tuple[str, ...] = (), **after: Any) -> ResourceChange:
    changes = {name: FieldChange("old", value) for name, value in after.items()}
    return ResourceChange(address, Action.UPDATE, '"e"', changes, requires)


def plan_of(*resources: ResourceChange, warnings: tuple[str, ...] = ()) -> Plan:
    return Plan(resources, warnings=warnings, api={"base_url": "http://127.0.0.1:9"})


def run(
    plan: Plan, ledger: Ledger, *, concurrency: int = 8, stop: asyncio.Event | None = None
) -> tuple[ApplyReport, list[ResourceResult]]:
    told: list[ResourceResult] = []
    report = asyncio.run(
        apply_plan(plan, ledger, concurrency=concurrency, stop=stop, on_result=told.append)  # type: ignore[arg-type]
    )
    return report, told


def outcomes(report: ApplyReport) -> dict[str, tuple[Outcome, str | None]]:
    return {r.address: (r.outcome, r.reason) for r in report.results}


# -- before any write ----------------------------------------------------------------------


def test_the_provider_sees_the_whole_plan_before_any_write_and_may_refuse_it() -> None:
    plan = plan_of(update("a", name="A"), update("b", name="B"))
    ledger = Ledger(a={}, b={})
    report, _ = run(plan, ledger)
    assert report.ok
    assert ledger.readied == list(plan.resources)
    refusing = Ledger(a={}, b={})
    refusing.refuse = 'webhook["w"] has nowhere for its secret; nothing was written.'
    with pytest.raises(UnsafePlanError, match="nowhere for its secret"):
        run(plan, refusing)
    assert refusing.writes == []


def test_the_report_says_what_the_rate_limit_cost_the_session() -> None:
    ledger = Ledger(a={})
    ledger.waits = RateLimitWaits(refused=3, seconds=12.4)
    report, _ = run(plan_of(update("a", name="A")), ledger)
    assert report.rate_limit == RateLimitWaits(refused=3, seconds=12.4)
    assert report.summary() == (
        "Apply: 1 applied, 0 failed, 0 skipped. "
        "Waited 12 s for the rate limit (3 answered 429, sent again)."
    )
    assert report.data()["rate_limit"] == {"waited_s": 12.4, "answered_429": 3}


# -- requires ---------------------------------------------------------------------------


def test_a_resource_whose_requirement_failed_is_skipped_and_never_written() -> None:
    ledger = Ledger(a={}, b={})
    ledger.faults["a"] = "api"
    report, _ = run(plan_of(update("a", name="A"), update("b", ("a",), name="B")), ledger)
    assert outcomes(report)["b"] == (Outcome.SKIPPED, "not attempted: a was not applied")
    assert ledger.writes == ["a"]


def test_a_resource_whose_requirement_applied_is_written_after_it() -> None:
    ledger = Ledger(a={}, b={}, c={})
    plan = plan_of(
        update("c", ("b",), name="C"), update("b", ("a",), name="B"), update("a", name="A")
    )
    report, _ = run(plan, ledger)
    assert report.ok
    assert ledger.writes == ["a", "b", "c"]  # each after what it requires, in rounds
    assert [r.address for r in report.results] == ["c", "b", "a"]  # reported in plan order


def test_a_requirement_outside_the_plan_is_already_satisfied() -> None:
    ledger = Ledger(b={})
    report, _ = run(plan_of(update("b", ("workspace.gone",), name="B")), ledger)
    assert outcomes(report)["b"] == (Outcome.APPLIED, None)
    assert ledger.writes == ["b"]


def test_the_requirement_named_in_the_skip_is_the_one_that_failed() -> None:
    ledger = Ledger(a={}, b={}, c={})
    ledger.faults["b"] = "api"
    plan = plan_of(update("a", name="A"), update("b", name="B"), update("c", ("a", "b"), name="C"))
    report, _ = run(plan, ledger)
    assert outcomes(report)["c"] == (Outcome.SKIPPED, "not attempted: b was not applied")


def test_requirements_that_loop_still_end() -> None:
    ledger = Ledger(a={}, b={})
    report, _ = run(plan_of(update("a", ("b",), name="A"), update("b", ("a",), name="B")), ledger)
    assert report.ok
    assert sorted(ledger.writes) == ["a", "b"]


# -- the first write alone, the refused key, the interrupt ----------------------------------


def test_a_refused_key_fails_the_first_write_only_and_skips_the_rest_even_in_parallel() -> None:
    ledger = Ledger(**{name: {} for name in "abcdef"})
    ledger.faults = dict.fromkeys("abcdef", "auth")
    report, _ = run(plan_of(*(update(n, name=n) for n in "abcdef")), ledger, concurrency=8)
    assert ledger.writes == ["a"]
    assert outcomes(report)["a"] == (Outcome.FAILED, REFUSED)
    skipped = "not attempted: the key was refused on the first write"
    assert all(outcomes(report)[n] == (Outcome.SKIPPED, skipped) for n in "bcdef")
    assert report.refused == REFUSED


def test_a_key_refused_in_a_later_round_stops_what_has_not_started() -> None:
    ledger = Ledger(a={}, b={}, c={})
    ledger.faults["b"] = "auth"
    plan = plan_of(update("a", name="A"), update("b", name="B"), update("c", ("b",), name="C"))
    report, _ = run(plan, ledger, concurrency=1)
    assert outcomes(report)["c"][0] is Outcome.SKIPPED
    assert report.refused == REFUSED


def test_an_ordinary_refusal_does_not_stop_the_other_writes() -> None:
    ledger = Ledger(a={}, b={}, c={})
    ledger.faults["a"] = "api"
    report, _ = run(
        plan_of(update("a", name="A"), update("b", name="B"), update("c", name="C")), ledger
    )
    assert ledger.writes == ["a", "b", "c"]
    assert report.refused is None
    assert outcomes(report)["a"] == (Outcome.FAILED, "The API refused a (400: no).")


def test_after_an_interrupt_nothing_new_starts() -> None:
    stop = asyncio.Event()
    ledger = Ledger(a={}, b={}, c={})
    ledger.stop_after = (1, stop)
    report, _ = run(
        plan_of(update("a", name="A"), update("b", name="B"), update("c", name="C")),
        ledger,
        concurrency=1,
        stop=stop,
    )
    assert ledger.writes == ["a"]
    assert outcomes(report)["a"] == (Outcome.APPLIED, None)
    interrupted = (Outcome.SKIPPED, "not attempted: interrupted before it started")
    assert outcomes(report)["b"] == interrupted
    assert outcomes(report)["c"] == interrupted
    assert report.refused is None


def test_eight_writes_run_at_once_unless_told_otherwise() -> None:
    names = "abcdefghij"
    ledger = Ledger(**{n: {} for n in names})
    asyncio.run(apply_plan(plan_of(*(update(n, name=n) for n in names)), ledger))  # type: ignore[arg-type]
    assert ledger.most_in_flight == 8


def test_only_the_very_first_write_goes_alone() -> None:
    ledger = Ledger(root={}, **{n: {} for n in "abcd"})
    plan = plan_of(update("root", name="R"), *(update(n, ("root",), name=n) for n in "abcd"))
    run(plan, ledger, concurrency=8)
    assert ledger.writes[0] == "root"
    assert ledger.most_in_flight == 4  # the second round all at once


def test_writes_run_in_parallel_up_to_the_concurrency_and_no_further() -> None:
    names = "abcdefghij"
    wide, one = Ledger(**{n: {} for n in names}), Ledger(**{n: {} for n in names})
    run(plan_of(*(update(n, name=n) for n in names)), wide, concurrency=4)
    run(plan_of(*(update(n, name=n) for n in names)), one, concurrency=1)
    assert wide.most_in_flight == 4
    assert one.most_in_flight == 1


# -- uncertain writes ------------------------------------------------------------------------


def test_a_write_whose_answer_was_lost_counts_as_applied_once_read_again() -> None:
    ledger = Ledger(a={"name": "old"})
    ledger.faults["a"] = "lost"
    report, _ = run(plan_of(update("a", name="A")), ledger)
    assert outcomes(report)["a"] == (Outcome.APPLIED, None)
    assert report.results[0].etag == '"a-now"'  # the ETag read again, not invented
    assert ledger.writes == ["a"]  # never written twice


def test_someone_elses_edit_is_a_failure_and_never_overwritten() -> None:
    ledger = Ledger(a={"name": "old"})
    ledger.faults["a"] = "conflict"
    report, _ = run(plan_of(update("a", name="A")), ledger)
    assert outcomes(report)["a"] == (Outcome.FAILED, "changed since plan; run plan again")
    assert ledger.live["a"] == {"name": "someone else's"}
    assert ledger.writes == ["a"]


def test_a_write_that_never_landed_fails_with_its_reason() -> None:
    ledger = Ledger(a={"name": "old"})
    ledger.faults["a"] = "unlanded"
    report, _ = run(plan_of(update("a", name="A")), ledger)
    assert outcomes(report)["a"] == (
        Outcome.FAILED,
        "the connection broke before the answer was complete",
    )


def test_an_uncertain_write_that_cannot_be_read_again_fails() -> None:
    ledger = Ledger(a={"name": "old"})
    ledger.faults["a"] = "lost"
    ledger.current_fails = True
    report, _ = run(plan_of(update("a", name="A")), ledger)
    assert outcomes(report)["a"] == (
        Outcome.FAILED,
        "the connection broke before the answer was complete",  # the write's reason
    )


@pytest.mark.parametrize(
    ("action", "left", "done"),
    [
        (Action.DELETE, None, True),
        (Action.ARCHIVE, None, True),
        (Action.DELETE, {"name": "A"}, False),  # a delete that left it there did not happen
        (Action.UPDATE, None, False),  # gone instead of updated
        (Action.UPDATE, {"name": "A"}, True),
        (Action.UPDATE, {"name": "B"}, False),
        (Action.UPDATE, {}, False),  # the field is missing
    ],
)
def test_an_uncertain_write_is_done_only_when_live_is_what_the_plan_wanted(
    action: Action, left: dict[str, Any] | None, done: bool
) -> None:
    ledger = Ledger()
    ledger.faults["a"] = "unlanded"
    if left is not None:
        ledger.live["a"] = left
    change = ResourceChange("a", action, None, {"name": FieldChange("old", "A")})
    report, _ = run(plan_of(change), ledger)
    assert (report.results[0].outcome is Outcome.APPLIED) is done


def test_a_value_of_another_type_is_not_the_value_the_plan_wanted() -> None:
    ledger = Ledger(a={"limit": True})
    ledger.faults["a"] = "unlanded"
    report, _ = run(plan_of(update("a", limit=1)), ledger)  # True == 1 in Python
    assert report.results[0].outcome is Outcome.FAILED


# -- the report ------------------------------------------------------------------------------


def test_what_was_written_is_read_back_and_a_difference_is_a_failure() -> None:
    ledger = Ledger(a={"name": "old", "limit": 1}, b={})
    ledger.drift_after_write["a"] = {"name": "kept by the API as something else"}
    report, _ = run(plan_of(update("a", name="A"), update("b", name="B")), ledger)
    assert outcomes(report)["a"] == (
        Outcome.FAILED,
        "written, but reading it back shows {'name': 'kept by the API as something else'}: "
        "someone else changed it since, or the API did not keep the value; run plan again",
    )
    assert outcomes(report)["b"] == (Outcome.APPLIED, None)
    assert report.results[0].etag == '"a-1"'
    assert report.results[0].changes == {"name": FieldChange("old", "A")}


def test_a_resource_gone_when_read_back_is_shown_absent() -> None:
    ledger = Ledger(a={})
    ledger.drift_after_write["a"] = {}
    plan = plan_of(update("a", name="A"))

    async def vanish(addresses: Sequence[str]) -> Mapping[str, Any]:
        return {"a": None}

    ledger.read_back = vanish  # type: ignore[method-assign]
    report, _ = run(plan, ledger)
    reason = report.results[0].reason or ""
    assert reason.startswith("written, but reading it back shows absent:")


def test_a_failed_read_back_is_a_warning_and_keeps_the_outcomes() -> None:
    ledger = Ledger(a={})
    ledger.read_back_fails = True
    report, _ = run(plan_of(update("a", name="A"), warnings=("from the plan",)), ledger)
    assert outcomes(report)["a"] == (Outcome.APPLIED, None)
    assert report.warnings == (
        "from the plan",
        "could not read the changes back to verify them: GET failed (500: down).",
    )


def test_nothing_applied_is_nothing_read_back() -> None:
    ledger = Ledger(a={})
    ledger.faults["a"] = "api"
    ledger.read_back_fails = True
    report, _ = run(plan_of(update("a", name="A"), warnings=("w",)), ledger)
    assert report.warnings == ("w",)


def test_each_result_is_told_as_it_happens_and_the_report_names_the_api() -> None:
    ledger = Ledger(a={}, b={})
    ledger.faults["a"] = "api"
    report, told = run(plan_of(update("a", name="A"), update("b", ("a",), name="B")), ledger)
    assert [(r.address, r.outcome) for r in told] == [
        ("a", Outcome.FAILED),
        ("b", Outcome.SKIPPED),
    ]
    assert report.api == {"base_url": "http://127.0.0.1:9"}
    assert report.results[1].changes == {"name": FieldChange("old", "B")}


def test_an_applied_write_keeps_the_etag_the_api_answered() -> None:
    report, _ = run(plan_of(update("a", name="A")), Ledger(a={}))
    assert report.results[0].etag == '"a-1"'
