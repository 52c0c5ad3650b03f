"""``reconciler usage`` on an Admin file (or ``--provider anthropic-admin``), against a
sandbox process whose workspaces spend at a steady rate: month-to-date cost, limit and
projection per workspace and for the organization; ``--warn-at`` exiting 2 exactly
when a workspace is past it now or by projection; the Markdown summary; hostile
workspace names; an organization whose key cannot read spend limits.

The sandbox's reports are as of the start of the hour, so what a workspace has spent
depends on the hour a test runs; what it will have spent by the month's end (the
projection) does not: the rate times the month's days. Tests assert that."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.support.sandbox import (
    ORG_ADMIN_KEY,
    SandboxProcess,
    admin_seed,
    run_cli,
    run_installed,
)

pytestmark = pytest.mark.e2e
ADMIN_FILE = "version: 1\nprovider: anthropic-admin\nusers: {}\n"


def seed(workspaces: list[dict[str, Any]], *, spend_api: Any = True) -> dict[str, Any]:
    return admin_seed(workspaces, spend_limits={"organization": 2_000_000, "admin_api": spend_api})


@pytest.fixture
def money(server: SandboxProcess) -> SandboxProcess:
    """Research at $250 a day against $4,900 (past it by the month's end), Support at
    $40 a day against $9,000, Idle spending nothing against $100."""
    organization = seed(
        [
            {"name": "Research", "cost_per_day": "25000", "spend_limit": 490_000},
            {"name": "Support", "cost_per_day": "4000", "spend_limit": 900_000},
            {"name": "Idle", "spend_limit": 10_000},
        ]
    )
    assert server.control("POST", "reset", json=organization).status_code == 200
    return server


def env(server: SandboxProcess) -> dict[str, str]:
    return {"ANTHROPIC_ADMIN_KEY": ORG_ADMIN_KEY, "RECONCILER_BASE_URL": server.url}


def days_in_month() -> int:
    now = datetime.now(UTC)
    following = datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=UTC)
    return (following - now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)).days


def usage_json(server: SandboxProcess, *args: str) -> dict[str, Any]:
    done = run_cli(
        "usage", "--provider", "anthropic-admin", "--format", "json", *args, env=env(server)
    )
    assert done.exit_code in (0, 2), done.output
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def test_each_workspace_month_to_date_against_its_limit_and_projection(
    money: SandboxProcess, tmp_path: Path
) -> None:
    admin_file = tmp_path / "admin.yaml"
    admin_file.write_text(ADMIN_FILE)
    done = run_installed("usage", str(admin_file), env=env(money))  # the file picks the API
    assert done.exit_code == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Spend this month (")
    research = next(line for line in lines if line.strip().startswith("Research"))
    month = days_in_month()
    assert "$4,900.00" in research
    assert f"${250 * month:,}.00" in research  # the projection: $250 a day, every day
    # $4,900 at $250 a day: 19.6 days, so in the afternoon of the 20th.
    reaches = datetime.now(UTC).replace(day=20).strftime("%Y-%m-%d")
    assert research.rstrip().endswith(reaches)
    organization = next(line for line in lines if line.strip().startswith("Organization"))
    assert "$20,000.00" in organization
    assert f"${290 * month:,}.00" in organization

    found = usage_json(money)
    as_of = datetime.fromisoformat(found["as_of"])
    hours = (as_of - as_of.replace(day=1, hour=0)).total_seconds() / 3600
    by_name = {w["name"]: w for w in found["workspaces"]}
    assert abs(Decimal(by_name["Research"]["spent"]) - Decimal(25000 * hours / 24)) < 1
    assert by_name["Research"]["projected"] == str(25000 * month)
    assert by_name["Idle"]["spent"] == "0"
    assert found["organization"]["limit"] == "2000000"


@pytest.mark.parametrize(
    ("warn_at", "crossed"),
    [
        ("90%", {"Research"}),  # by projection only: 158 % of its limit by the month's end
        ("160%", set()),  # past nothing, now or by projection
    ],
)
def test_warn_at_exits_2_exactly_when_a_workspace_is_past_it(
    money: SandboxProcess, warn_at: str, crossed: set[str]
) -> None:
    done = run_cli("usage", "--provider", "anthropic-admin", "--warn-at", warn_at, env=env(money))
    assert done.exit_code == (2 if crossed else 0), done.output
    named = {line.split(":")[1].strip() for line in done.stderr.splitlines() if line}
    assert named == crossed
    if crossed:
        share = Decimal(25000 * days_in_month()) / 490_000
        assert f"at this rate the month ends at {share:.1%} of its spend limit" in done.stderr


def test_warn_at_just_under_the_projected_share_crosses_and_just_over_it_does_not(
    money: SandboxProcess,
) -> None:
    # Support by the month's end: $40 x days against $9,000.
    share = (Decimal(4000 * days_in_month()) / 900_000 * 100).quantize(
        Decimal("0.0001"), rounding=ROUND_DOWN
    )
    below = run_cli(
        "usage", "--provider", "anthropic-admin", "--warn-at", f"{share}%", env=env(money)
    )
    above = run_cli(
        "usage",
        "--provider",
        "anthropic-admin",
        "--warn-at",
        f"{share + Decimal('0.01'):.4f}%",
        env=env(money),
    )
    assert "Support" in below.stderr
    assert "Support" not in above.stderr


def test_a_limit_already_spent_is_said_as_spent(money: SandboxProcess) -> None:
    moved = money.control(
        "PATCH", "spend", json={"workspaces": {"Idle": {"cost_per_day": "1000000"}}}
    )
    assert moved.status_code == 200
    done = run_cli("usage", "--provider", "anthropic-admin", "--warn-at", "80%", env=env(money))
    assert done.exit_code == 2
    assert "Idle: " in done.stderr
    assert "of its spend limit ($100.00) is spent" in done.stderr
    assert "reached: requests are refused" in done.stdout


def test_the_markdown_summary_charts_the_workspaces_near_their_limits(
    money: SandboxProcess,
) -> None:
    done = run_cli("usage", "--provider", "anthropic-admin", "--format", "markdown", env=env(money))
    assert done.exit_code == 0, done.output
    text = done.stdout
    assert text.startswith("### Spend, ")
    assert "| `Research` | $" in text
    assert "#### `Research`\n\n```mermaid\nxychart-beta\n" in text
    assert "#### `Support`" not in text  # 14 % of its limit by the month's end: no chart
    chart = text.split("```mermaid\n")[1].split("```")[0].splitlines()
    assert chart[-1] == f"    line [{', '.join(['4900'] * days_in_month())}]"  # the limit, $


def test_hostile_workspace_names_are_shown_visible_and_cut(server: SandboxProcess) -> None:
    name = "Ops\u202e|`x"  # a bidi override, a pipe and a backtick
    organization = seed([{"name": name, "cost_per_day": "100", "spend_limit": 1000}])
    assert server.control("POST", "reset", json=organization).status_code == 200
    text = run_cli("usage", "--provider", "anthropic-admin", env=env(server))
    assert "\u202e" not in text.stdout
    assert "Ops\\u202e|`x" in text.stdout
    markdown = run_cli(
        "usage", "--provider", "anthropic-admin", "--format", "markdown", env=env(server)
    )
    assert "| `Ops\\u202e\\|\u02cbx` |" in markdown.stdout


def test_a_key_that_cannot_read_spend_limits_still_shows_the_spend(server: SandboxProcess) -> None:
    organization = seed([{"name": "Research", "cost_per_day": "25000"}], spend_api=False)
    assert server.control("POST", "reset", json=organization).status_code == 200
    done = run_cli("usage", "--provider", "anthropic-admin", env=env(server))
    assert done.exit_code == 0, done.output
    assert "spend limits are not readable with this key" in done.stdout
    assert "Research" in done.stdout


def test_log_is_the_company_apis_and_refused_for_the_admin_api(money: SandboxProcess) -> None:
    done = run_cli(
        "usage",
        "--provider",
        "anthropic-admin",
        "--format",
        "markdown",
        "--log",
        "x.jsonl",
        env=env(money),
    )
    assert done.exit_code == 1
    assert "no --log" in done.stderr
    assert "Traceback" not in done.output


def test_a_watch_says_each_crossing_once_and_exits_2_at_the_end(money: SandboxProcess) -> None:
    done = run_cli(
        "usage",
        "--provider",
        "anthropic-admin",
        "--watch",
        "0.05",
        "--count",
        "3",
        "--warn-at",
        "90%",
        env=env(money),
    )
    assert done.exit_code == 2, done.output
    assert done.stdout.count("Spend this month (") == 3  # a table every poll
    assert done.stderr.count("Research: at this rate the month ends at") == 1


def test_a_currency_that_is_not_a_code_reaches_no_chart_or_terminal(server: SandboxProcess) -> None:
    hostile = 'E" --> 9 ``` <b>'  # a Mermaid label closed, a fence, markup
    organization = admin_seed(
        [{"name": "Research", "cost_per_day": "25000", "spend_limit": 100_000}],
        spend_limits={"organization": 2_000_000, "currency": hostile},
    )
    assert server.control("POST", "reset", json=organization).status_code == 200
    done = run_cli(
        "usage", "--provider", "anthropic-admin", "--format", "markdown", env=env(server)
    )
    assert done.exit_code == 0, done.output
    assert hostile not in done.stdout
    assert done.stdout.count("```") == 2  # the one chart's fence, never closed early
    assert done.stdout.startswith("### Spend, ")
    assert " (USD)\n" in done.stdout.splitlines()[0] + "\n"  # the cost report's code instead
