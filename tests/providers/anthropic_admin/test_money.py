"""The month's money from what the Admin API answered (``money``): spend by day and
workspace, the projection against each limit, the crossings ``--warn-at`` says, and
answers that cannot be money refused in one sentence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.core.errors import TransportError
from reconciler.providers.anthropic_admin.money import (
    cost_of,
    crossings,
    dollars,
    money_of,
    month_around,
    report_end,
)

NOW = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)  # 9.5 days into a 31-day month
START = datetime(2026, 12, 1, tzinfo=UTC)


def workspace(name: str) -> Any:
    return SimpleNamespace(id=f"wrkspc_{name}", name=name)


def limit(amount: int, workspace_id: str | None = None) -> Any:
    scope = SimpleNamespace(
        type="workspace" if workspace_id else "organization", workspace_id=workspace_id
    )
    return SimpleNamespace(
        amount=str(amount), period="monthly", scope=scope, is_enabled=True, currency="USD"
    )


def rows(workspace_id: str, per_day: Decimal, now: datetime = NOW) -> list[Any]:
    """A steady spender's day buckets up to ``now`` (today's holds the hours passed)."""
    found, day = [], START
    while day < now:
        share = min(now - day, timedelta(days=1)) / timedelta(days=1)
        found.append(
            SimpleNamespace(
                starting_at=day,
                group=SimpleNamespace(workspace_id=workspace_id),
                cost=SimpleNamespace(amount=str(per_day * Decimal(str(share))), currency="USD"),
            )
        )
        day += timedelta(days=1)
    return found


def test_a_steady_spender_is_projected_to_its_rate_times_the_month() -> None:
    spaces = [workspace("Research"), workspace("Quiet")]
    money = money_of(
        spaces,
        [limit(1_000_000), limit(500_000, "wrkspc_Research"), limit(1000, "wrkspc_Quiet")],
        rows("wrkspc_Research", Decimal(25000)),
        NOW,
        NOW,
    )
    research = next(s for s in money.workspaces if s.name == "Research")
    assert research.spent == Decimal(25000) * Decimal("9.5")
    assert research.projection.projected == 25000 * 31
    assert research.projection.reaches_limit == START + timedelta(days=20)
    assert research.daily[-1] == research.spent
    assert len(research.daily) == 10
    quiet = next(s for s in money.workspaces if s.name == "Quiet")
    assert quiet.spent == 0
    assert money.organization.spent == research.spent
    assert money.organization.limit == 1_000_000


def test_crossings_name_each_workspace_past_the_threshold_now_or_by_projection() -> None:
    money = money_of(
        [workspace("Research")],
        [limit(500_000, "wrkspc_Research")],
        rows("wrkspc_Research", Decimal(25000)),
        NOW,
        NOW,
    )
    said = crossings(money, 0.9)
    assert said == [
        "Research: at this rate the month ends at 155.0% of its spend limit ($5,000.00), past 90%"
    ]
    assert crossings(money, 1.6) == []
    assert crossings(money, 0.4)[0].startswith("Research: 47.5% of its spend limit")


def test_the_projection_runs_to_the_moment_the_data_is_as_of() -> None:
    lagging = NOW - timedelta(hours=3)
    money = money_of([workspace("R")], [], rows("wrkspc_R", Decimal(2400), lagging), lagging, NOW)
    assert money.as_of == lagging
    assert money.workspaces[0].projection.projected == 2400 * 31  # not slower for the lag


@pytest.mark.parametrize("text", ["abc", "NaN", "-1", "Infinity", "1e40", ""])
def test_an_amount_that_is_not_money_is_one_sentence(text: str) -> None:
    with pytest.raises(TransportError, match="is --base-url the Admin API"):
        cost_of(text)


def test_money_reads_as_money() -> None:
    assert dollars(Decimal("123456.5"), "USD") == "$1,234.57"
    assert dollars(None, "USD") == "-"
    assert dollars(1234, "JPY") == "¥1,234"


@given(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2030, 12, 31)))
def test_the_report_ends_within_the_month_and_after_now(moment: datetime) -> None:
    now = moment.replace(tzinfo=UTC)
    start, end = month_around(now)
    assert start <= now < end
    assert now < report_end(now) <= end
    assert report_end(now) - start <= timedelta(days=31)  # the reference's longest range
