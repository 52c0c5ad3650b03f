"""The usage dashboard's parts in process: samples kept and read strictly, the chart
(SVG and Mermaid), the --warn-at sentence, the page, and the app's poller against
the sandbox app over ASGI (conditional reads answered 304)."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from reconciler.core.projection import project
from reconciler.net.board import poll_forever
from reconciler.net.connection import Connection, RetryPolicy
from reconciler.providers.company.chart import daily, mermaid, month_of, svg, top_of_scale
from reconciler.providers.company.dashboard import create_dashboard, poll_once
from reconciler.providers.company.page import Board, Overview, Project, page
from reconciler.providers.company.projection import crossing
from reconciler.providers.company.samples import Sample, SampleStore, read_log
from reconciler.providers.company.session import CompanySession
from reconciler.providers.company.usage import usage_markdown, warning_for
from reconciler.sandbox.store import Store
from tests.support import hostile
from tests.support.sandbox import ADMIN_KEY

START = datetime(2026, 11, 1, tzinfo=UTC)
END = datetime(2026, 12, 1, tzinfo=UTC)
HALF = START + (END - START) / 2


def sample(at: datetime, used: int, limit: int | None = 1_000_000, calls: int = 10) -> Sample:
    return Sample(
        time=at,
        tokens_used=used,
        tokens_remaining=None if limit is None else max(0, limit - used),
        api_calls=calls,
        usage_limit=limit,
        period_start=START,
        period_end=END,
    )


def reading(used: int, limit: int | None, at: datetime) -> dict[str, Any]:
    return {**sample(at, used, limit).as_json(), "time": at.isoformat()}


# -- samples --------------------------------------------------------------------------


def test_a_sample_survives_the_store_and_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "usage.db"
    store = SampleStore(db)
    store.add(sample(HALF, 400_000))
    store.add(sample(START + timedelta(days=2), 50_000))
    store.close()
    again = SampleStore(db)
    assert [s.tokens_used for s in again.all()] == [50_000, 400_000]  # oldest first
    assert again.all()[1] == sample(HALF, 400_000)
    again.close()


def test_a_row_that_is_not_a_sample_is_skipped_not_shown(tmp_path: Path) -> None:
    db = tmp_path / "usage.db"
    SampleStore(db).close()
    with sqlite3.connect(db) as raw:  # another run's (or someone's) database
        raw.execute(
            "INSERT INTO samples VALUES ('<script>', -1, NULL, 1, NULL, 'x', 'y')",
        )
    assert SampleStore(db).all() == []


@pytest.mark.parametrize(
    "line",
    [
        {"tokens_used": True},  # a bool is not a count
        {"tokens_used": -5},
        {"time": "2026-11-15T00:00:00"},  # no time zone
        {"period_end": 17},
    ],
)
def test_a_sample_is_read_strictly(line: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="not a usage sample"):
        Sample.from_json({**reading(10, 100, HALF), **line})


def test_the_watch_log_gives_its_samples_and_counts_what_is_not_one(tmp_path: Path) -> None:
    log = tmp_path / "usage.jsonl"
    lines = [
        json.dumps(reading(100, 1000, START + timedelta(days=1))),
        json.dumps({"time": "2026-11-02T00:00:00Z", "error": "The API refused"}),
        "not json",
        json.dumps(["a list"]),
        json.dumps(reading(200, 1000, START + timedelta(days=2))),
    ]
    log.write_text("\n".join(lines) + "\n")
    samples, skipped = read_log(log)
    assert [s.tokens_used for s in samples] == [100, 200]
    assert skipped == 2  # the failed poll's line is a poll, not junk


# -- the chart --------------------------------------------------------------------------


def test_the_chart_draws_use_projection_limit_and_the_day_it_is_reached() -> None:
    month = month_of([sample(START + timedelta(days=5), 100_000), sample(HALF, 500_000, 800_000)])
    assert month is not None
    drawn = svg(month)
    assert drawn.startswith('<svg id="usage-chart"')
    assert drawn.endswith("</svg>")
    assert 'class="used"' in drawn
    assert 'class="projection"' in drawn
    assert "limit 800,000" in drawn  # the newest sample's limit
    assert 'class="reaches-limit"' in drawn
    assert ">Nov 25<" in drawn  # 80 % of 30 days
    assert "<script" not in drawn
    assert "style=" not in drawn  # renders under the CSP


def test_no_limit_no_limit_line_and_no_day() -> None:
    month = month_of([sample(HALF, 500_000, None)])
    assert month is not None
    drawn = svg(month)
    assert 'class="limit"' not in drawn
    assert 'class="reaches-limit"' not in drawn
    assert 'class="projection"' in drawn


def test_the_scale_has_room_for_the_projection_and_the_limit() -> None:
    month = month_of([sample(HALF, 600_000, 1_000_000)])
    assert month is not None
    top, step = top_of_scale(month)
    assert top >= 1_200_000 * 1.05
    assert top % step == 0
    assert top / step <= 6


def test_early_in_the_month_no_projection_is_drawn() -> None:
    month = month_of([sample(START + timedelta(minutes=20), 10)])
    assert month is not None
    assert 'class="projection"' not in svg(month)


def test_a_month_of_minute_samples_draws_one_point_a_pixel_column() -> None:
    minutes = [sample(START + timedelta(minutes=m), m * 10) for m in range(1, 60 * 24 * 20)]
    month = month_of(minutes)
    assert month is not None
    points = svg(month).split('points="')[1].split('"')[0].split()
    assert 400 < len(points) <= 666 * 10 + 1


def test_daily_bars_carry_the_last_sample_from_the_first_sampled_day_to_today() -> None:
    samples = [
        sample(START + timedelta(days=2, hours=3), 100),
        sample(START + timedelta(days=2, hours=20), 150),
        sample(START + timedelta(days=5, hours=1), 400),
    ]
    month = month_of(samples)
    assert month is not None
    # Days 3 to 6 of the month: nothing before the first sample, nothing after today.
    assert daily(month) == [150, 150, 150, 400]


def _series(chart: list[str]) -> list[list[int]]:
    return [
        [int(v) for v in line.split("[")[1].rstrip("]").split(",")]
        for line in chart
        if line.strip().startswith(("bar", "line"))
    ]


def test_the_mermaid_chart_starts_on_the_first_sampled_day_and_bars_stop_today() -> None:
    samples = [
        sample(START + timedelta(days=9, hours=2), 200_000, 800_000),
        sample(HALF, 500_000, 800_000),
    ]
    month = month_of(samples)
    assert month is not None
    chart = mermaid(month).splitlines()
    assert chart[0] == "xychart-beta"
    days = chart[2].split("[")[1].rstrip("]").split(", ")
    assert days == [str(d) for d in range(10, 31)]  # Nov 10 to Nov 30
    used, projection, limit = _series(chart)
    # Nov 10 to Nov 16 (today): the log's numbers; no bar of 0 before or after.
    assert used == [200_000] * 6 + [500_000]
    assert 0 not in used
    assert len(projection) == len(limit) == len(days)  # the lines run to the period's end
    assert projection[-1] == 1_000_000  # 500,000 at half time
    assert projection[0] == round(1_000_000 / 30 * 10)  # the line's value on day 10
    assert set(limit) == {800_000}


def test_the_markdown_summary_uses_the_log_and_the_reading() -> None:
    history = [sample(START + timedelta(days=d), d * 10_000) for d in range(1, 10)]
    found = reading(200_000, 1_000_000, HALF)
    del found["time"]
    text = usage_markdown(found, history, skipped=1)
    assert text.startswith("### Token usage, November 2026\n")
    assert "| Tokens used | 200,000 (20.0% of 1,000,000) |" in text
    assert "```mermaid\nxychart-beta\n" in text
    assert "9 earlier samples from the log" in text
    assert "1 lines of the log" in text


# -- --warn-at -----------------------------------------------------------------------


def test_a_limit_reached_millennia_from_now_is_not_reached_this_period() -> None:
    """5 tokens in half a month against a million: the day would be past year 9999."""
    ahead = project(5, 1_000_000, START, END, HALF)
    assert (ahead.projected, ahead.reaches_limit) == (10, None)


def test_the_threshold_is_crossed_by_use_or_by_projection() -> None:
    assert crossing(project(850, 1000, START, END, HALF), 0.8) == (
        "85.0% of the usage limit (1,000 tokens) is used, past --warn-at 80%"
    )
    heading = crossing(project(450, 1000, START, END, HALF), 0.8)
    assert heading is not None
    assert heading.startswith("at this rate the period ends at 90.0%")
    assert crossing(project(350, 1000, START, END, HALF), 0.8) is None  # 70 % by the end
    assert crossing(project(400, 1000, START, END, HALF), 0.8) is not None  # exactly 80 %
    assert crossing(project(10**9, None, START, END, HALF), 0.01) is None  # no limit


def test_a_reading_without_a_threshold_never_warns() -> None:
    assert warning_for(reading(999, 1000, HALF), None) is None
    assert warning_for(reading(999, 1000, HALF), 0.9) is not None


# -- the page ---------------------------------------------------------------------------


def board_with(tmp_path: Path, samples: list[Sample], **fields: Any) -> Board:
    store = SampleStore(tmp_path / "usage.db")
    for found in samples:
        store.add(found)
    return Board(samples=store, interval=30, **fields)


def test_the_page_escapes_what_the_api_named(tmp_path: Path) -> None:
    hostile = "<img src=x onerror=alert(1)>\u202e"
    board = board_with(
        tmp_path,
        [sample(HALF, 10)],
        overview=Overview(hostile, "team", 100, [Project("proj_<b>", hostile, None)]),
        error=f"The API refused GET / (500: {hostile})",
        error_at=HALF,
    )
    shown = page(board)
    assert hostile not in shown
    assert "proj_<b>" not in shown
    assert "&lt;img src=x onerror=alert(1)&gt;\\u202e" in shown  # a bidi override shown


def test_a_failed_poll_keeps_the_data_and_says_it_is_stale(tmp_path: Path) -> None:
    board = board_with(
        tmp_path,
        [sample(HALF, 400_000)],
        last_success=HALF,
        error="The API did not accept the key in CLAUDE_API_KEY (Invalid x-api-key.); set ...",
        error_at=HALF + timedelta(minutes=1),
    )
    shown = page(board)
    assert '<div class="state stale" id="state" role="alert"><strong>Stale.</strong>' in shown
    assert "The API did not accept the key in CLAUDE_API_KEY" in shown
    assert "400,000 (40.0% of 1,000,000)" in shown
    assert '<svg id="usage-chart"' in shown


def test_before_any_sample_the_page_says_so(tmp_path: Path) -> None:
    shown = page(board_with(tmp_path, []))
    assert "No usage read yet." in shown
    assert "<svg" not in shown
    assert '<meta http-equiv="refresh" content="30">' in shown


# -- the app and its poller ---------------------------------------------------------------


def connection(transport: httpx.AsyncBaseTransport, key: str = ADMIN_KEY) -> Connection:
    return Connection(
        "http://127.0.0.1:9",
        key,
        "CLAUDE_API_KEY",
        retry=RetryPolicy(attempts=1),
        transport=transport,
    )


def test_the_second_poll_of_unchanged_company_data_is_304(
    tmp_path: Path, store: Store, asgi_transport: httpx.ASGITransport
) -> None:
    board = board_with(tmp_path, [])

    async def three_polls() -> None:
        session = CompanySession(connection(asgi_transport), conditional=True)
        await poll_once(board, session)
        store.set_usage({"tokens_used": 300_000})
        await poll_once(board, session)
        assert board.politeness.reads == 4
        assert board.politeness.not_modified == 2
        store.update_project("proj_2", {"usage_limit": 7}, None)  # the list changed: a 200
        await poll_once(board, session)
        await session.__aexit__(None, None, None)

    asyncio.run(three_polls())
    assert [s.tokens_used for s in board.samples.all()][-1] == 300_000
    assert board.politeness.reads == 6
    assert board.politeness.not_modified == 3
    assert board.overview is not None
    assert {p.id: p.usage_limit for p in board.overview.projects}["proj_2"] == 7


def test_a_refused_key_is_the_clis_sentence_and_the_data_stays(
    tmp_path: Path, asgi_transport: httpx.ASGITransport
) -> None:
    board = board_with(tmp_path, [sample(HALF, 5)], last_success=HALF)
    session = CompanySession(connection(asgi_transport, key="sk-wrong"), conditional=True)
    asyncio.run(poll_once(board, session))
    assert board.error is not None
    assert board.error.startswith("The API did not accept the key in CLAUDE_API_KEY")
    assert len(board.samples.all()) == 1
    assert board.last_success == HALF


def test_the_app_serves_under_a_strict_policy_to_loopback_names_only(
    tmp_path: Path, asgi_transport: httpx.ASGITransport
) -> None:
    board = board_with(tmp_path, [sample(HALF, 5)])
    app = create_dashboard(board, connection(asgi_transport))
    with TestClient(app, base_url="http://127.0.0.1:8780") as client:
        shown = client.get("/")
        assert shown.status_code == 200
        policy = shown.headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "style-src 'self'" in policy
        assert client.get("/dashboard.css").headers["content-type"].startswith("text/css")
        data = client.get("/samples.json").json()
        assert data["data"][0]["tokens_used"] == 5
        rebound = client.get("/samples.json", headers={"host": "attacker.example"})
        assert rebound.status_code == 400
    assert ADMIN_KEY not in shown.text + json.dumps(data)


def test_a_page_whose_last_good_poll_is_two_intervals_old_is_stale(tmp_path: Path) -> None:
    """A poller that stopped leaves no error behind: the age of the data says it."""
    now = datetime.now(UTC).replace(microsecond=0)
    # 45 s old (an interval and a half): fresh however slowly the page is drawn after
    # ``now``, which is up to a second behind the page's own clock once truncated.
    fresh = board_with(tmp_path, [sample(HALF, 5)], last_success=now - timedelta(seconds=45))
    assert '<p class="state fresh" id="state">' in page(fresh)
    old = replace(fresh, last_success=now - timedelta(seconds=61))  # interval 30 s
    shown = page(old)
    assert '<div class="state stale" id="state" role="alert"><strong>Stale.</strong>' in shown
    assert "No poll has succeeded for more than two intervals (60 s)." in shown
    assert '<p class="state fresh"' in page(board_with(tmp_path, []))  # none yet: polling


@pytest.mark.parametrize("scenario", ["huge-count", "not-finite", "lone-surrogate"])
def test_an_unbounded_answer_is_a_failed_poll_and_the_data_stays(
    tmp_path: Path, scenario: str
) -> None:
    """A usage count of 2**63 stopped the poller for good while the page said fresh."""
    board = board_with(tmp_path, [sample(HALF, 5)], last_success=HALF)
    transport = httpx.ASGITransport(app=hostile.app(hostile.Hostile()))
    session = CompanySession(
        Connection(
            f"http://127.0.0.1:9/{scenario}",
            ADMIN_KEY,
            "CLAUDE_API_KEY",
            retry=RetryPolicy(attempts=1),
            transport=transport,
        ),
        conditional=True,
    )
    asyncio.run(poll_once(board, session))
    assert board.error is not None
    assert "with a malformed answer" in board.error
    assert [s.tokens_used for s in board.samples.all()] == [5]
    assert "<strong>Stale.</strong>" in page(board)


def test_the_poller_survives_any_exception_and_polls_again(
    tmp_path: Path, asgi_transport: httpx.ASGITransport
) -> None:
    """A poll that raises what no one foresaw (here: its sample store closed under it)
    is said on the page, and the poller goes on to the next poll."""
    board = board_with(tmp_path, [])
    board.interval = 0
    board.samples.close()
    session = CompanySession(connection(asgi_transport), conditional=True)
    polls = 0

    async def counted() -> None:
        nonlocal polls
        polls += 1
        await poll_once(board, session)

    async def until_three_polls() -> None:
        poller = asyncio.create_task(poll_forever(board, counted))
        while polls < 3:
            await asyncio.sleep(0)
        assert not poller.done()  # the first two raised; it polled again each time
        poller.cancel()
        await session.__aexit__(None, None, None)

    asyncio.run(until_three_polls())
    assert board.error is not None
    assert board.error.startswith("Unexpected error (ProgrammingError); the poller goes on")


def risk_of(shown: str) -> str:
    found = re.search(r'<p class="risk risk-(\w+)" id="risk"[^>]*>([^<]*)</p>', shown)
    assert found is not None, shown
    return f"{found.group(1)}: {found.group(2)}"


def test_the_page_turns_amber_then_red_as_the_month_heads_for_its_limit(tmp_path: Path) -> None:
    """Risk before any figure: green within the limit at this rate, amber past --warn-at
    (80 % when not given), red when the limit is or would be reached in the period."""
    early = START + timedelta(days=3)
    for name in "abcd":
        (tmp_path / name).mkdir()
    calm = board_with(tmp_path / "a", [sample(early, 10_000)])
    assert risk_of(page(calm)).startswith("green: Within the usage limit")
    warned = board_with(tmp_path / "b", [sample(early, 10_000)], warn_at=0.05)
    assert risk_of(page(warned)).startswith("amber: At this rate the period ends at")
    assert 'class="threshold"' in page(warned)
    assert "--warn-at 5%" in page(warned)
    assert 'class="threshold"' not in page(calm)  # drawn only when asked for
    heading = board_with(tmp_path / "c", [sample(HALF, 880_000)])  # 88 % at mid-month
    assert risk_of(page(heading)).startswith("red: At this rate the usage limit is reached on")
    over = board_with(tmp_path / "d", [sample(HALF, 1_000_000)])
    assert risk_of(page(over)).startswith("red: The usage limit was reached on")


def test_a_stale_page_says_it_tries_again_by_itself(tmp_path: Path) -> None:
    board = board_with(
        tmp_path, [sample(HALF, 10)], error="Nothing is listening; run it again.", error_at=HALF
    )
    assert "The dashboard tries again by itself every 30 s" in page(board)
