"""Limits and the rest of what the Admin API writes, planned in process: spend limits
shown as money, rate-limit overrides beside the organization's own limits, the
warnings they deserve, workspaces pinned and renamed by id, the write-once
external key, the organization pin (both providers), and how apply's undo plan
puts each of them back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler import providers
from reconciler.core.errors import PlanError
from reconciler.core.model import (
    Action,
    DesiredState,
    FieldChange,
    LiveResource,
    LiveState,
    Outcome,
    Plan,
    ResourceChange,
    ResourceResult,
)
from reconciler.engine import planfile, planning
from reconciler.providers.anthropic_admin import limits
from tests.support.builders import BATCH, SONNET
from tests.support.builders import admin_desired as desired
from tests.support.builders import admin_live as live

ADMIN = providers.get("anthropic-admin")


def plan(want: DesiredState, now: LiveState) -> Plan:
    return planning.make_plan(want, ADMIN.align(want, now), ADMIN)


def changes(made: Plan) -> dict[str, tuple[str, dict[str, Any], tuple[str, ...]]]:
    return {
        r.address: (
            str(r.action),
            {n: (c.before, c.after) for n, c in r.changes.items()},
            r.requires,
        )
        for r in made.resources
    }


# -- money ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (50000, "USD", "$500.00"),
        (123456789, "USD", "$1,234,567.89"),
        (5, "EUR", "€0.05"),
        (50000, "JPY", "¥50,000"),
        (50000, "CHF", "500.00 CHF"),
        (50000, None, "50,000 minor units of the billing currency"),
        (None, "USD", "no limit"),
        (0, "USD", "$0.00"),
    ],
)
def test_money_is_shown_in_the_organizations_currency(
    amount: int | None, currency: str | None, shown: str
) -> None:
    assert limits.money(amount, currency) == shown


# -- spend limits ----------------------------------------------------------------------------


def test_spend_limits_are_created_updated_and_removed_with_null() -> None:
    want = desired(
        spend_limits={"monthly": 600000},
        workspaces={
            "Research": {"spend_limits": {"monthly": None}},
            "Fresh": {"spend_limits": {"monthly": 1000}},
        },
    )
    now = live(
        spend={
            'spend_limit["monthly"]': 500000,
            'workspace_spend_limit["Research"]["monthly"]': 50000,
        }
    )
    made = plan(want, now)
    assert changes(made) == {
        'workspace["Fresh"]': ("create", {"name": (None, "Fresh")}, ()),
        'spend_limit["monthly"]': ("update", {"amount": (500000, 600000)}, ()),
        'workspace_spend_limit["Fresh"]["monthly"]': (
            "create",
            {"amount": (None, 1000)},
            ('workspace["Fresh"]',),  # waits for its workspace
        ),
        'workspace_spend_limit["Research"]["monthly"]': ("delete", {"amount": (50000, None)}, ()),
    }
    assert made.about['spend_limit["monthly"]'] == "$5,000.00 → $6,000.00 a month"
    assert made.about['workspace_spend_limit["Research"]["monthly"]'] == (
        "$500.00 → no limit a month"
    )


def test_a_spend_limit_already_as_written_plans_nothing() -> None:
    want = desired(spend_limits={"monthly": 500000})
    assert plan(want, live(spend={'spend_limit["monthly"]': 500000})).is_empty
    assert plan(desired(spend_limits={"monthly": None}), live()).is_empty


def test_without_spend_limit_access_they_are_skipped_with_a_sentence() -> None:
    want = desired(spend_limits={"monthly": 600000}, users={"ben@x.io": "developer"})
    made = plan(want, live(readable=False))
    assert [r.address for r in made.resources if "spend" in r.address] == []
    (warning,) = [w for w in made.warnings if "spend_limit" in w]
    assert warning.startswith('spend_limit["monthly"] not planned: ')
    assert "ask your Anthropic account team for access" in warning


# -- rate limits -------------------------------------------------------------------------------


def test_rate_limit_overrides_are_set_and_cleared_type_by_type() -> None:
    want = desired(
        workspaces={
            "Research": {
                "rate_limits": {
                    SONNET: {"requests_per_minute": None, "output_tokens_per_minute": 1000}
                }
            }
        }
    )
    now = live(overrides={("Research", SONNET): {"requests_per_minute": 100}})
    made = plan(want, now)
    address = f'rate_limit["Research"]["{SONNET}"]'
    assert changes(made) == {
        address: (
            "update",
            {"requests_per_minute": (100, None), "output_tokens_per_minute": (None, 1000)},
            (),
        )
    }
    assert made.about[address] == (
        "Claude Sonnet 4.x; the organization's limits: requests_per_minute 4,000, "
        "output_tokens_per_minute 400,000"
    )
    assert made.warnings == (limits.TAKES_EFFECT,)  # said once, no override above the org's


def test_an_override_above_the_organizations_limit_is_a_warning() -> None:
    want = desired(
        workspaces={"Research": {"rate_limits": {SONNET: {"requests_per_minute": 5000}, BATCH: {}}}}
    )
    made = plan(want, live())
    assert made.warnings == (
        limits.TAKES_EFFECT,
        f'rate_limit["Research"]["{SONNET}"]: requests_per_minute 5,000 is above the '
        "organization's 4,000; the lower one applies",
    )
    assert plan(desired(workspaces={"Research": {"rate_limits": {}}}), live()).warnings == ()


def test_an_unknown_group_or_limiter_type_fails_the_plan_listing_the_valid_ones() -> None:
    with pytest.raises(PlanError) as caught:
        plan(desired(workspaces={"Research": {"rate_limits": {"rlg_nope": {}}}}), live())
    assert f"{BATCH} (batch), {SONNET} (Claude Sonnet 4.x)" in str(caught.value)
    with pytest.raises(PlanError) as caught:
        plan(
            desired(workspaces={"Research": {"rate_limits": {BATCH: {"tokens_per_day": 1}}}}),
            live(),
        )
    assert "tokens_per_day is not a limiter type of batch; its types are requests_per_minute" in (
        str(caught.value)
    )


def test_a_new_workspaces_overrides_are_created_after_it() -> None:
    want = desired(workspaces={"Fresh": {"rate_limits": {BATCH: {"requests_per_minute": 5}}}})
    made = plan(want, live())
    assert changes(made)[f'rate_limit["Fresh"]["{BATCH}"]'] == (
        "create",
        {"requests_per_minute": (None, 5)},
        ('workspace["Fresh"]',),
    )


# -- workspaces: id, colour, external key --------------------------------------------------------


def test_a_workspace_pinned_by_id_is_renamed_and_what_is_in_it_follows() -> None:
    want = desired(
        workspaces={
            "Research Lab": {
                "id": "wrkspc_R",
                "display_color": "#112233",
                "rate_limits": {SONNET: {"requests_per_minute": 7}},
            }
        }
    )
    now = live(overrides={("Research", SONNET): {"requests_per_minute": 100}})
    made = plan(want, now)
    assert changes(made) == {
        'workspace["Research Lab"]': (
            "update",
            {"display_color": ("#6C5BB9", "#112233"), "name": ("Research", "Research Lab")},
            (),
        ),
        f'rate_limit["Research Lab"]["{SONNET}"]': (
            "update",
            {"requests_per_minute": (100, 7)},
            ('workspace["Research Lab"]',),  # after the rename
        ),
    }
    assert plan(desired(workspaces={"Research": {"id": "wrkspc_R"}}), live()).is_empty


@pytest.mark.parametrize(
    ("now", "why"),
    [
        (live(workspaces={"Other": "wrkspc_O"}), "no workspace of this organization has that id"),
        (live(archived={"Research": "wrkspc_R"}, workspaces={}), "that workspace is archived"),
        (
            live(workspaces={"Research": "wrkspc_R", "Lab": "wrkspc_L"}),
            "the active workspace named 'Lab' is wrkspc_L; rename or archive one",
        ),
    ],
)
def test_a_pinned_id_that_cannot_be_matched_fails_the_plan(now: LiveState, why: str) -> None:
    with pytest.raises(PlanError) as caught:
        plan(desired(workspaces={"Lab": {"id": "wrkspc_R"}}), now)
    assert why in str(caught.value)


def test_a_different_external_key_is_refused_as_write_once() -> None:
    want = desired(workspaces={"Research": {"external_key_id": "cmk_new"}})
    with pytest.raises(PlanError) as caught:
        plan(want, live(key={"Research": "cmk_old"}))
    assert "external_key_id is 'cmk_old' live and 'cmk_new' in the file" in str(caught.value)
    assert changes(plan(want, live())) == {
        'workspace["Research"]': ("update", {"external_key_id": (None, "cmk_new")}, ())
    }


# -- the organization pin ------------------------------------------------------------------------


def test_a_key_of_another_organization_is_refused_before_anything_is_planned() -> None:
    want = desired(organization="org-1", spend_limits={"monthly": 1})
    assert not plan(want, live()).is_empty
    with pytest.raises(PlanError) as caught:
        plan(want, live(organization="org-2"))
    assert str(caught.value) == (
        'org.yaml is pinned to organization "org-1" (organization.id), but the key belongs to '
        'organization "org-2"; nothing was planned or written. Use a key of the pinned '
        "organization, or correct the pin."
    )


def test_the_company_file_is_pinned_by_the_companys_id() -> None:
    company = providers.get("company")
    want = DesiredState(
        "org.yaml", "d", {"company": {"name": "A"}}, provider="company", organization="org_abc"
    )
    now = LiveState(
        {"company": LiveResource({"id": "org_xyz", "name": "B"}, '"1"')}, organization="org_xyz"
    )
    with pytest.raises(PlanError, match='belongs to organization "org_xyz"'):
        planning.make_plan(want, now, company)
    right = LiveState(now.resources, organization="org_abc")
    assert planning.make_plan(want, right, company).to_change == 1


# -- undo ------------------------------------------------------------------------------------------


def test_undo_keeps_the_write_once_key_and_clears_overrides_it_set(tmp_path: Path) -> None:
    applied = Plan(
        resources=(
            ResourceChange(
                'workspace["Research"]',
                Action.UPDATE,
                None,
                {
                    "external_key_id": FieldChange(None, "cmk_1"),
                    "display_color": FieldChange("#000000", "#FFFFFF"),
                },
            ),
            ResourceChange(
                'workspace["Fresh"]', Action.CREATE, None, {"name": FieldChange(None, "Fresh")}
            ),
            ResourceChange(
                f'rate_limit["Fresh"]["{BATCH}"]',
                Action.CREATE,
                None,
                {"requests_per_minute": FieldChange(None, 5)},
                ('workspace["Fresh"]',),
            ),
            ResourceChange(
                f'rate_limit["Research"]["{BATCH}"]',
                Action.CREATE,
                None,
                {"requests_per_minute": FieldChange(None, 5)},
            ),
            ResourceChange(
                'spend_limit["monthly"]', Action.CREATE, None, {"amount": FieldChange(None, 9)}
            ),
        ),
        provider="anthropic-admin",
        api={"base_url": "http://127.0.0.1:1"},
    )
    recorder = planfile.UndoRecorder(tmp_path / "undo.json", applied, api_key="k")
    for change in applied.resources:
        recorder.record(ResourceResult(change.address, Outcome.APPLIED, change.changes))
    undo = planfile.load_saved(tmp_path / "undo.json").plan
    assert {
        r.address: (str(r.action), {n: (c.before, c.after) for n, c in r.changes.items()})
        for r in undo.resources
    } == {
        'workspace["Research"]': ("update", {"display_color": ("#FFFFFF", "#000000")}),
        'workspace["Fresh"]': ("archive", {"name": ("Fresh", None)}),
        # the new workspace's override goes with it; an existing one's is cleared
        f'rate_limit["Research"]["{BATCH}"]': ("update", {"requests_per_minute": (5, None)}),
        'spend_limit["monthly"]': ("delete", {"amount": (9, None)}),
    }
    assert any("cmk_1 stays attached (it is write-once" in w for w in undo.warnings)


def test_the_pin_passes_only_the_pinned_organization() -> None:
    planning.check_organization(desired(), live(organization="any"))  # no pin: any key
    planning.check_organization(desired(organization="org-1"), live(organization="org-1"))
    unknown = LiveState({}, organization=None)
    with pytest.raises(PlanError, match="the key does not say which organization it belongs to"):
        planning.check_organization(desired(organization="org-1"), unknown)
