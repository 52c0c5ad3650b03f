"""The sandbox's cost and usage reports, read through the official SDK with strict
response validation: a month of money per workspace, the filters and groupings
reconciler uses, cursor pages, the reference's rules on a report's range, and the
control endpoint that moves the money at runtime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import anthropic
import httpx
import pytest

from tests.support.sandbox import ORG_ADMIN_KEY, SandboxProcess, admin_seed

ADMIN_KEY = ORG_ADMIN_KEY
DAY = timedelta(days=1)


@pytest.fixture
def org(server: SandboxProcess) -> Any:
    """Two workspaces spending $250 and $40 a day, the default workspace nothing."""
    seed = admin_seed(
        [
            {"name": "Research", "cost_per_day": "25000", "tokens_per_day": 2_400_000},
            {"name": "Support", "cost_per_day": 4000, "requests_per_day": 960},
        ]
    )
    assert server.control("POST", "reset", json=seed).status_code == 200
    client = anthropic.Anthropic(
        api_key=ADMIN_KEY, base_url=server.url, max_retries=0, _strict_response_validation=True
    )
    return client.beta.organization


def accepted(obj: Any) -> Any:
    """The SDK builds objects without validating; validate each one for real."""
    return type(obj).model_validate(obj.to_dict())


def month_start() -> datetime:
    return datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def workspace_ids(org: Any) -> dict[str, str]:
    return {w.name: w.id for w in org.workspaces.list()}


def test_the_month_to_date_cost_by_workspace_in_day_buckets(org: Any) -> None:
    start = month_start()
    tomorrow = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + DAY
    page = org.analytics.cost.list(
        starting_at=start,
        ending_at=tomorrow,
        group_by=["workspace_id"],
        time_bucket_width="1d",
        limit=1000,
    )
    rows = [accepted(row) for row in page]
    refreshed = page.data_refreshed_at
    assert refreshed is not None
    assert refreshed.minute == refreshed.second == 0  # reports cover whole hours
    ids = workspace_ids(org)
    passed = Decimal((refreshed - start) // timedelta(hours=1)) / 24  # days of spending
    for name, per_day in (("Research", 25000), ("Support", 4000)):
        mine = [r for r in rows if r.group.workspace_id == ids[name]]
        total = sum(Decimal(r.cost.amount) for r in mine)
        assert abs(total - per_day * passed) < Decimal("0.01")
        assert {r.cost.currency for r in mine} == {"USD"}
        assert all(r.ending_at - r.starting_at == DAY for r in mine)
    # The default workspace spent nothing: no rows for it (only rows with cost).
    assert {r.group.workspace_id for r in rows} == {ids["Research"], ids["Support"]}


def test_pages_filters_and_a_total_without_grouping(org: Any) -> None:
    start = month_start()
    end = start + timedelta(days=3)
    ids = workspace_ids(org)
    every = list(
        org.analytics.cost.list(
            starting_at=start,
            ending_at=end,
            group_by=["workspace_id"],
            time_bucket_width="1d",
            limit=1,
        )
    )
    assert len(every) == len({(r.starting_at, r.group.workspace_id) for r in every})
    only = list(
        org.analytics.cost.list(
            starting_at=start,
            ending_at=end,
            group_by=["workspace_id"],
            workspace_ids=[ids["Support"]],
            time_bucket_width="1d",
        )
    )
    assert {r.group.workspace_id for r in only} <= {ids["Support"]}
    whole = [accepted(r) for r in org.analytics.cost.list(starting_at=start)]
    assert len(whole) <= 1
    assert all(r.group.workspace_id is None for r in whole)


def test_the_usage_report_validates_and_counts_tokens(org: Any) -> None:
    start = month_start()
    rows = [
        accepted(r)
        for r in org.analytics.usage.list(
            starting_at=start,
            ending_at=start + timedelta(days=31),
            group_by=["workspace_id"],
            time_bucket_width="1d",
            limit=1000,
        )
    ]
    ids = workspace_ids(org)
    tokens = {r.group.workspace_id for r in rows if r.usage.total_tokens > 0}
    requests = {r.group.workspace_id for r in rows if r.usage.requests}
    assert tokens == {ids["Research"]}  # Support sends requests, counted without tokens
    assert requests == {ids["Support"]}


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        ({"starting_at": "2025-12-31T00:00:00Z"}, "no earlier than 2026-01-01"),
        ({"starting_at": "2026-12-01T00:00:00"}, "time zone"),
        ({"starting_at": "2026-11-01T00:00:00Z", "time_bucket_width": "1d"}, "ending_at"),
        (
            {
                "starting_at": "2026-11-01T00:00:00Z",
                "ending_at": "2026-12-03T00:00:00Z",
                "time_bucket_width": "1d",
            },
            "at most 31 days",
        ),
        ({"starting_at": "2026-11-01T00:00:00Z", "group_by": ["colour"]}, "not a dimension"),
    ],
)
def test_a_report_outside_the_references_rules_is_a_400(
    org: Any, arguments: dict[str, Any], said: str
) -> None:
    with pytest.raises(anthropic.BadRequestError) as refused:
        list(org.analytics.cost.list(**arguments))
    assert said in str(refused.value)


def test_the_control_key_moves_a_workspaces_spending(server: SandboxProcess, org: Any) -> None:
    moved = server.control("PATCH", "spend", json={"workspaces": {"Support": {"cost_per_day": 0}}})
    assert moved.status_code == 200
    assert moved.json()["workspaces"]["Support"]["cost_per_day"] == "0"
    ids = workspace_ids(org)
    rows = list(
        org.analytics.cost.list(starting_at=month_start(), group_by=["workspace_id"], limit=100)
    )
    assert ids["Support"] not in {r.group.workspace_id for r in rows}
    refused: list[dict[str, Any]] = [
        {"workspaces": {"Nowhere": {}}},
        {"workspaces": {"Support": {"cost_per_day": -1}}},
    ]
    for bad in refused:
        assert server.control("PATCH", "spend", json=bad).status_code == 400
    admin = httpx.patch(
        f"{server.url}/_sandbox/spend",
        headers={"x-api-key": ADMIN_KEY},
        json={"workspaces": {"Support": {"cost_per_day": 1}}},
    )
    assert admin.status_code == 403  # an Admin API key is no control key
