"""The month's projection for the usage dashboard and --warn-at: a straight line from
the start of the period through the use so far, at the edges a reader meets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reconciler.core.projection import project
from reconciler.providers.company.usage import usage_text

START = datetime(2026, 11, 1, tzinfo=UTC)
END = datetime(2026, 12, 1, tzinfo=UTC)


def test_halfway_through_the_month_the_line_doubles_and_finds_the_day() -> None:
    found = project(500_000, 800_000, START, END, START + (END - START) / 2)
    assert found.projected == 1_000_000
    assert found.reaches_limit == START + (END - START) * 0.8  # 24 November
    assert found.share() == 0.625
    assert found.share(of_projected=True) == 1.25
    assert not found.already_over


def test_at_the_start_of_the_month_it_is_too_early_to_say() -> None:
    found = project(10, 800_000, START, END, START + timedelta(minutes=5))
    assert (found.projected, found.reaches_limit) == (None, None)
    assert found.share(of_projected=True) is None


def test_at_the_end_of_the_month_the_projection_is_the_use() -> None:
    assert project(700_000, 800_000, START, END, END).projected == 700_000
    assert project(700_000, 800_000, START, END, END + timedelta(days=2)).projected == 700_000


def test_no_usage_never_reaches_the_limit() -> None:
    found = project(0, 800_000, START, END, START + timedelta(days=10))
    assert (found.projected, found.reaches_limit) == (0, None)


def test_no_limit_has_no_day_and_no_share() -> None:
    found = project(500_000, None, START, END, START + timedelta(days=15))
    assert found.projected == 1_000_000
    assert (found.reaches_limit, found.share()) == (None, None)


def test_a_limit_already_passed_says_so() -> None:
    now = START + timedelta(days=10)
    found = project(900_000, 800_000, START, END, now)
    assert found.already_over
    assert found.reaches_limit is not None
    assert found.reaches_limit <= now


def test_a_period_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="ends after it starts"):
        project(1, 1, END, START, END)


def test_usage_says_where_the_month_is_heading() -> None:
    found = {
        "time": "2026-11-16T00:00:00+00:00",
        "tokens_used": 500_000,
        "tokens_remaining": 300_000,
        "api_calls": 7,
        "period_start": "2026-11-01T00:00:00.000Z",
        "period_end": "2026-12-01T00:00:00.000Z",
        "usage_limit": 800_000,
    }
    assert usage_text(found, "text").endswith(
        "; at this rate: 1,000,000 by the period's end, the limit on 2026-11-25\n"
    )
    early = {**found, "time": "2026-11-01T00:10:00+00:00"}
    assert "at this rate" not in usage_text(early, "text")
    assert "at this rate" not in usage_text({**found, "period_end": "soon"}, "text")
