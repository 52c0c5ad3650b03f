"""The Company API's planning rules: updates only, ``company`` first, a project that is
not live named with its nearest ids, unmanaged projects counted, and the risky values
a reviewer must see (a limit below this month's use, a downgrade, a billing domain
moving), each at its edge. Each test fails when its rule is mutated."""

from __future__ import annotations

import pytest

from reconciler.core.errors import PlanError
from reconciler.core.model import Action, FieldChange, ResourceChange
from reconciler.providers.company.proposals import warnings_for
from tests.support.builders import desired, live, plan_of, project


def test_changes_are_updates_company_first_then_projects_by_id() -> None:
    wanted = desired(
        project__proj_2={"name": "b"}, company={"name": "B"}, project__proj_10={"name": "c"}
    )
    plan = plan_of(wanted, live(project("proj_2"), project("proj_10"), project("proj_3")))
    assert [r.address for r in plan.resources] == ["company", "project.proj_10", "project.proj_2"]
    assert {r.action for r in plan.resources} == {Action.UPDATE}
    assert [r.etag for r in plan.resources] == ['"c1"', '"proj_10"', '"proj_2"']
    assert plan.unmanaged == {"project": 1}


def test_a_project_that_is_not_live_is_named_with_the_nearest_ids() -> None:
    with pytest.raises(PlanError) as caught:
        plan_of(
            desired(project__proj_11={"name": "x"}),
            live(project("proj_1"), project("proj_10"), project("proj_12"), project("other")),
        )
    assert caught.value.message == (
        "org.yaml: project.proj_11 does not exist in the live organization (nearest live ids: "
        "proj_1, proj_12, proj_10), and projects cannot be created through this API: fix the "
        "id or remove it."
    )
    with pytest.raises(PlanError) as far:
        plan_of(desired(project__zzzzzz={"name": "x"}), live(project("proj_1")))
    assert "organization, and projects cannot" in far.value.message  # no near id: none shown


def change(address: str, name: str, before: object, after: object) -> ResourceChange:
    return ResourceChange(address, Action.UPDATE, None, {name: FieldChange(before, after)})


@pytest.mark.parametrize(
    ("after", "used", "warned"),
    [(499, 500, True), (500, 500, False), (None, 500, False), (499, None, False)],
)
def test_a_limit_below_this_months_use_is_a_warning(
    after: int | None, used: int | None, warned: bool
) -> None:
    now = live(tokens_used=used) if used is not None else live()
    if used is None:
        now = type(now)(now.resources, context={})
    found = warnings_for([change("company", "usage_limit", 1000, after)], now)
    expected = [
        f"company.usage_limit: {after} is below this month's usage ({used} tokens); requests "
        "will be refused until the period ends"
    ]
    assert found == (expected if warned else [])


def test_a_projects_limit_below_the_companys_use_is_not_that_warning() -> None:
    assert warnings_for([change("project.p", "usage_limit", 1000, 1)], live(tokens_used=500)) == []


@pytest.mark.parametrize(
    ("before", "after", "warned"),
    [
        ("scale", "team", True),
        ("enterprise", "build", True),
        ("team", "scale", False),
        ("team", "team", False),
        ("gold", "team", False),  # an unknown plan: no order to compare
        ("team", "gold", False),
    ],
)
def test_a_downgrade_is_a_warning(before: str, after: str, warned: bool) -> None:
    found = warnings_for([change("company", "plan", before, after)], live())
    assert found == ([f"company.plan: downgrade from {before} to {after}"] if warned else [])


@pytest.mark.parametrize(
    ("before", "after", "warned"),
    [
        ("a@example.com", "b@Example.COM", False),  # the same domain, in another case
        ("a@example.com", "a@example.org", True),
        ("a@x@example.com", "a@other.com", True),  # the domain after the last @
        (None, "a@example.org", False),
        ("a@example.com", None, False),
        ("not an email", "a@example.org", False),
    ],
)
def test_a_billing_email_moving_to_another_domain_is_a_warning(
    before: str | None, after: str | None, warned: bool
) -> None:
    found = warnings_for([change("project.p", "billing_email", before, after)], live())
    if warned:
        domain_before = str(before).rsplit("@", 1)[1].lower()
        domain_after = str(after).rsplit("@", 1)[1].lower()
        assert found == [
            f"project.p.billing_email: billing email domain changes from {domain_before} to "
            f"{domain_after}"
        ]
    else:
        assert found == []
