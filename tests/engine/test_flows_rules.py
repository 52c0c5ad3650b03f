"""What apply may write of a saved or undo plan, decided again from the file and live
state (never from the plan), and the last checks before any write: ``--max-changes``,
guards and ``--force``, the host a plan was made against, ``--target``. In process,
with both providers' live state built here. Each test fails when its rule is mutated."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

import pytest

from reconciler import providers
from reconciler.core.errors import PlanError, PlanFileError, StalePlanError, UnsafePlanError
from reconciler.core.model import Action, DesiredState, FieldChange, LiveState, Plan, ResourceChange
from reconciler.engine import flows
from reconciler.net.connection import Connection
from tests.support.builders import admin_desired, admin_live, desired, live, plan_of, project

COMPANY = providers.get("company")
ADMIN = providers.get("anthropic-admin")
API = {"base_url": "http://127.0.0.1:9", "key_variable": "CLAUDE_API_KEY"}


def change(address: str, n: int = 1) -> ResourceChange:
    return ResourceChange(address, Action.UPDATE, None, {"name": FieldChange("a", f"b{n}")})


# -- --max-changes, guards, --force ----------------------------------------------------------


def test_more_changes_than_allowed_are_refused_with_the_way_out() -> None:
    with pytest.raises(UnsafePlanError) as caught:
        flows.check_safe(Plan((change("a"), change("b"))), max_changes=1)
    assert caught.value.message == (
        "The plan changes 2 resources, more than --max-changes 1 allows; nothing was written. "
        "Review it, then raise the limit or narrow it with --target."
    )
    flows.check_safe(Plan((change("a"),)), max_changes=1)
    flows.check_safe(Plan(()), max_changes=0)


def test_guarded_removals_need_force() -> None:
    guarded = Plan((change("a"),), guards=("removes 2 of 3 users", "removes an admin"))
    with pytest.raises(UnsafePlanError) as caught:
        flows.check_safe(guarded, max_changes=None)
    assert caught.value.message == (
        "The plan removes 2 of 3 users; removes an admin; nothing was written. Review the "
        "removals, then apply with --force if they are meant."
    )
    flows.check_safe(guarded, max_changes=None, force=True)
    with pytest.raises(UnsafePlanError, match="--max-changes"):
        flows.check_safe(guarded, max_changes=0, force=True)  # --force is not a limit


# -- the host a plan was made against ------------------------------------------------------------


def connection(url: str = "http://127.0.0.1:9") -> Connection:
    return Connection(url, "k", "CLAUDE_API_KEY")


def test_a_plan_applies_only_where_it_was_made() -> None:
    flows.check_host(Plan((), api={"base_url": "HTTP://127.0.0.1:9/"}), connection())
    with pytest.raises(PlanFileError) as caught:
        flows.check_host(Plan((), api={"base_url": "http://127.0.0.1:8"}), connection())
    assert caught.value.message == (
        "The saved plan was made against http://127.0.0.1:8, not http://127.0.0.1:9 where this "
        "apply would write; nothing was sent. To apply it to the sandbox it was made against, "
        "add --base-url http://127.0.0.1:8; or run plan again against http://127.0.0.1:9."
    )
    with pytest.raises(PlanFileError) as remote:
        flows.check_host(Plan((), api={"base_url": "https://api.example.com"}), connection())
    assert remote.value.message.endswith(
        "nothing was sent. Run plan again against http://127.0.0.1:9, or pass --base-url "
        "https://api.example.com if that API is meant."
    )


def test_a_plan_that_does_not_say_where_it_was_made_applies_nowhere() -> None:
    with pytest.raises(PlanFileError) as caught:
        flows.check_host(Plan(()), connection())
    assert caught.value.message == (
        "The saved plan was made against an API it does not record, not http://127.0.0.1:9 "
        "where this apply would write; nothing was sent. Run plan again against "
        "http://127.0.0.1:9."
    )


# -- a saved plan reviewed again ------------------------------------------------------------


WANTED = desired(company={"name": "B"}, project__proj_1={"name": "x"})
NOW = live(project("proj_1"))


def saved() -> Plan:
    plan = plan_of(WANTED, NOW)
    return replace(
        plan,
        resources=tuple(replace(r, etag=f'"reviewed-{r.address}"') for r in plan.resources),
        warnings=("a warning the plan claims",),
        guards=(),
        api=API,
    )


def reviewed(
    plan: Plan,
    *,
    targets: tuple[str, ...] = (),
    now: LiveState = NOW,
    wanted: DesiredState = WANTED,
) -> Plan:
    return flows.reviewed_saved(
        plan, wanted, now, COMPANY, api=MappingProxyType(API), made_with=plan, targets=targets
    )


def test_a_saved_plan_is_planned_again_and_keeps_its_reviewed_etags() -> None:
    result = reviewed(saved())
    assert [r.address for r in result.resources] == ["company", "project.proj_1"]
    assert [r.etag for r in result.resources] == ['"reviewed-company"', '"reviewed-project.proj_1"']
    assert "a warning the plan claims" not in result.warnings  # warnings are the provider's
    assert result.api == API
    assert result.source == {"file": "org.yaml", "sha256": "0" * 64}


def test_a_targeted_apply_of_a_saved_plan_records_its_targets() -> None:
    narrowed = replace(saved(), resources=saved().resources[1:])
    result = reviewed(narrowed, targets=("project.proj_1",))
    assert result.targets == ("project.proj_1",)
    assert [r.address for r in result.resources] == ["project.proj_1"]
    assert reviewed(saved()).targets == ()


def test_a_saved_plan_that_moved_is_stale() -> None:
    with pytest.raises(StalePlanError):
        reviewed(saved(), now=live(project("proj_1", name="moved")))


def test_a_saved_plan_claiming_more_than_the_file_is_refused() -> None:
    with pytest.raises(PlanFileError, match=r"does not match org\.yaml: company is not"):
        reviewed(saved(), wanted=desired(project__proj_1={"name": "x"}))


def test_a_saved_plan_of_another_organization_is_refused() -> None:
    pinned = replace(WANTED, organization="org_other")
    with pytest.raises(PlanError, match="pinned to organization"):
        reviewed(saved(), wanted=pinned, now=replace(NOW, organization="org_1"))


def test_a_renamed_workspace_is_matched_under_the_files_name() -> None:
    wanted = admin_desired(workspaces={"Renamed": {"id": "wrkspc_R", "display_color": "#000000"}})
    now = admin_live()
    plan = replace(flows.planning.make_plan(wanted, ADMIN.align(wanted, now), ADMIN), api=API)
    assert plan.resources
    result = flows.reviewed_saved(
        plan, wanted, now, ADMIN, api=MappingProxyType(API), made_with=plan
    )
    assert [r.address for r in result.resources] == [r.address for r in plan.resources]


def test_a_saved_plan_for_another_provider_or_host_is_refused_before_reading() -> None:
    import asyncio

    plan = saved()
    with pytest.raises(PlanFileError, match="is for the anthropic-admin provider"):
        asyncio.run(
            flows.verified_saved(replace(plan, provider="anthropic-admin"), WANTED, connection())
        )
    with pytest.raises(PlanFileError, match="was made against"):
        asyncio.run(flows.verified_saved(plan, WANTED, connection("http://127.0.0.1:8")))


def test_an_empty_selection_of_a_saved_plan_writes_nothing_and_says_nothing() -> None:
    import asyncio

    claimed = {"base_url": "http://127.0.0.1:9", "key_variable": "A_KEY_IT_CLAIMS"}
    plan = replace(saved(), resources=(), warnings=("w",), guards=("g",), api=claimed)
    result = asyncio.run(flows.verified_saved(plan, WANTED, connection()))
    assert (result.resources, result.warnings, result.guards) == ((), (), ())
    assert result.api == {"base_url": "http://127.0.0.1:9", "key_variable": "CLAUDE_API_KEY"}


def test_a_target_outside_the_saved_plan_is_named_as_such() -> None:
    import asyncio

    with pytest.raises(PlanError) as caught:
        asyncio.run(
            flows.verified_saved(saved(), WANTED, connection(), targets=("project.proj_9",))
        )
    assert caught.value.message.startswith(
        "--target project.proj_9 names nothing in the saved plan;"
    )
    assert "like 'company' or 'project.proj_1'" in caught.value.message


# -- an undo plan reviewed again -----------------------------------------------------------


def test_an_undo_plan_is_reviewed_like_any_plan() -> None:
    undo = Plan(
        (ResourceChange("company", Action.UPDATE, None, {"usage_limit": FieldChange(1000, 10)}),),
        warnings=("from the undo plan",),
        guards=("a guard it claims",),
    )
    result = flows.reviewed_undo(undo, live(tokens_used=500), COMPANY, api=MappingProxyType(API))
    assert result.warnings[0] == "from the undo plan"
    assert any("below this month's usage" in w for w in result.warnings[1:])
    assert result.guards == ()  # the provider's review, not the plan's claim
    assert result.api == API
    assert result.resources == undo.resources


def test_an_undo_plan_whose_values_moved_is_stale() -> None:
    undo = Plan((ResourceChange("company", Action.UPDATE, None, {"name": FieldChange("X", "A")}),))
    with pytest.raises(StalePlanError):
        flows.reviewed_undo(undo, live(), COMPANY, api=MappingProxyType(API))


def test_an_undo_plans_removals_are_guarded_again() -> None:
    now = admin_live()
    undo = Plan(
        (
            ResourceChange(
                'workspace["Research"]',
                Action.ARCHIVE,
                None,
                {"archived": FieldChange(False, True)},
            ),
        ),
        provider="anthropic-admin",
    )
    result = flows.reviewed_undo(undo, now, ADMIN, api=MappingProxyType(API))
    assert any("archiving cannot be undone" in w for w in result.warnings)


def test_an_empty_selection_of_an_undo_plan_has_no_guards() -> None:
    import asyncio

    from reconciler.engine import planfile

    plan = Plan((), guards=("g",), api={"base_url": "http://127.0.0.1:9"})
    signature = planfile.undo_signature(plan, planfile.signing_key("k"))
    undo = planfile.SavedPlan(plan, kind="undo", signature=signature)
    result = asyncio.run(flows.verified_undo(undo, connection()))
    assert result.guards == ()
    assert result.api == {"base_url": "http://127.0.0.1:9", "key_variable": "CLAUDE_API_KEY"}


# -- through the sandbox app, in process --------------------------------------------------------


def sandbox_connection(transport: object) -> Connection:
    from reconciler.net.connection import RetryPolicy

    return Connection(
        "http://127.0.0.1:9",
        "sk-sandbox-admin",
        "CLAUDE_API_KEY",
        retry=RetryPolicy(attempts=1),
        transport=transport,  # type: ignore[arg-type]
    )


FILE = desired(company={"billing_email": "f@example.org"}, project__proj_2={"name": "R"})


def test_a_saved_plan_applied_with_targets_keeps_them_and_names_the_api(
    asgi_transport: object,
) -> None:
    import asyncio

    conn = sandbox_connection(asgi_transport)
    plan = asyncio.run(flows.plan_file(FILE, conn))
    result = asyncio.run(flows.verified_saved(plan, FILE, conn, targets=("project.proj_2",)))
    assert [r.address for r in result.resources] == ["project.proj_2"]
    assert result.targets == ("project.proj_2",)
    assert result.api == conn.api


def test_a_saved_plan_is_checked_against_live_as_the_file_keeps_it(
    asgi_transport: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The provider is given the file when live is read for a saved plan's review, so it
    may read what the file keeps (the Admin API: its security sections), as a plan did."""
    import asyncio

    from reconciler.providers.company.session import CompanySession

    conn = sandbox_connection(asgi_transport)
    plan = asyncio.run(flows.plan_file(FILE, conn))
    given: list[object] = []
    read = CompanySession.read_live

    async def reading(self: CompanySession, desired: object = None) -> LiveState:
        given.append(desired)
        return await read(self)

    monkeypatch.setattr(CompanySession, "read_live", reading)
    asyncio.run(flows.verified_saved(plan, FILE, conn))
    asyncio.run(flows.plan_file(FILE, conn))
    assert given == [FILE, FILE]


def test_an_undo_plan_is_read_against_live_and_narrowed_by_targets(asgi_transport: object) -> None:
    import asyncio

    from reconciler.engine import planfile

    conn = sandbox_connection(asgi_transport)
    live_now = asyncio.run(flows.plan_file(FILE, conn))
    undo_plan = replace(live_now, warnings=(), guards=())  # puts back what live is not now
    signature = planfile.undo_signature(undo_plan, planfile.signing_key(conn.api_key))
    undo = planfile.SavedPlan(undo_plan, kind="undo", signature=signature)
    result = asyncio.run(flows.verified_undo(undo, conn, targets=("company",)))
    assert [r.address for r in result.resources] == ["company"]
    assert result.targets == ("company",)
    assert result.api == conn.api
    with pytest.raises(PlanError, match="names nothing in the undo plan"):
        asyncio.run(flows.verified_undo(undo, conn, targets=("project.proj_9",)))
    moved = replace(
        undo_plan,
        resources=(
            ResourceChange(
                "company", Action.UPDATE, None, {"billing_email": FieldChange("x@y.org", "a@b.org")}
            ),
        ),
    )
    signed = planfile.SavedPlan(
        moved,
        kind="undo",
        signature=planfile.undo_signature(moved, planfile.signing_key(conn.api_key)),
    )
    with pytest.raises(StalePlanError):
        asyncio.run(flows.verified_undo(signed, conn))


def test_a_targeted_saved_plan_is_planned_again_with_its_targets() -> None:
    wanted = desired(company={"name": "B"}, project__proj_9={"name": "not live"})
    plan = replace(plan_of(wanted, NOW, targets=["company"]), api=API)
    result = flows.reviewed_saved(
        plan, wanted, NOW, COMPANY, api=MappingProxyType(API), made_with=plan
    )
    assert [r.address for r in result.resources] == ["company"]  # proj_9 was never chosen
    untargeted = replace(plan, targets=())
    with pytest.raises(PlanError, match="proj_9 does not exist"):
        flows.reviewed_saved(
            untargeted, wanted, NOW, COMPANY, api=MappingProxyType(API), made_with=untargeted
        )
