"""``reconciler usage``, installed, against a sandbox process: the dashboard
(``--serve``) read over HTTP as a browser would, its polite polling in the
sandbox's request log, the Markdown summary and ``--warn-at``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.sandbox import ADMIN_KEY, CONTROL_KEY, SandboxProcess, dashboard, run_cli, until

pytestmark = pytest.mark.e2e
COMPANY = "/v1/organizations/company"


def env(sandbox: SandboxProcess) -> dict[str, str]:
    return {"CLAUDE_API_KEY": ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url}


def set_usage(sandbox: SandboxProcess, **usage: int) -> None:
    assert sandbox.control("PATCH", "usage", json=usage).status_code == 200


def test_the_dashboard_shows_the_month_and_follows_the_usage(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    set_usage(sandbox, tokens_used=600_000, api_calls=4_321)
    sandbox.control("DELETE", "requests")
    db = tmp_path / "usage.db"
    with dashboard(sandbox, db, "--interval", "1") as board:
        first = until(board.samples, lambda s: len(s["data"]) >= 1)
        assert first["data"][0]["tokens_used"] == 600_000
        shown = board.page()
        assert shown.status_code == 200
        assert "default-src 'none'" in shown.headers["content-security-policy"]
        text = shown.text
        assert "600,000 (60.0% of 1,000,000)" in text  # the shipped seed's limit
        assert "4,321" in text
        assert '<svg id="usage-chart"' in text
        assert "Research Lab" in text
        assert "100,000 tokens" in text  # a project's own limit
        assert '<meta http-equiv="refresh"' in text
        assert "https://" not in text.replace("http://www.w3.org/2000/svg", "")  # nothing loaded

        set_usage(sandbox, tokens_used=900_000)
        moved = until(board.samples, lambda s: s["data"][-1]["tokens_used"] == 900_000)
        assert moved["data"][-1]["tokens_used"] == 900_000
        until(board.samples, lambda s: s["not_modified"] >= 2)

    log = sandbox.requests()
    company = [r["status"] for r in log if r["method"] == "GET" and r["path"] == COMPANY]
    listed = [r["status"] for r in log if r["path"] == f"{COMPANY}/projects"]
    usage = [r["status"] for r in log if r["path"] == f"{COMPANY}/usage"]
    assert company[0] == 200
    assert company[1] == 304
    assert set(company[1:]) == {304}
    assert listed[0] == 200
    assert set(listed[1:]) == {304}
    assert set(usage) == {200}
    assert len(usage) == len(company)
    stored = db.read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("usage.db-*"))
    assert ADMIN_KEY.encode() not in stored
    assert ADMIN_KEY not in text + json.dumps(moved)


def test_a_restart_keeps_the_history_and_a_refused_key_marks_it_stale(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    db = tmp_path / "usage.db"
    with dashboard(sandbox, db, "--interval", "1") as board:
        kept = until(board.samples, lambda s: len(s["data"]) >= 2)["data"]
    # Another key for the organization: the dashboard's key is refused from now on.
    seed = {
        "company": sandbox.api("GET", "").json(),
        "keys": [{"key": CONTROL_KEY, "scopes": ["sandbox:control"]}],
    }
    seed["company"].pop("etag", None)
    assert sandbox.control("POST", "reset", json={**seed, "usage": {"tokens_used": 1}}).is_success
    with dashboard(sandbox, db, "--interval", "1") as board:
        stale = until(board.samples, lambda s: s["error"] is not None)
        assert stale["data"][: len(kept)] == kept  # the month so far, from the database
        assert stale["error"].startswith("The API did not accept the key in CLAUDE_API_KEY")
        text = board.page().text
        assert "<strong>Stale.</strong>" in text
        assert "did not accept the key" in text
        assert '<svg id="usage-chart"' in text  # the last good data stays
        assert ADMIN_KEY not in text


def test_the_dashboard_refuses_a_port_in_use_in_one_sentence(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    port = sandbox.url.rsplit(":", 1)[1]
    result = run_cli(
        "usage", "--serve", "--port", port, "--db", str(tmp_path / "u.db"), env=env(sandbox)
    )
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.output


def test_markdown_summary_with_the_month_from_the_watch_log(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    log = tmp_path / "usage.jsonl"
    watched = run_cli(
        "usage", "--watch", "0.05", "--count", "2", "--log", str(log), env=env(sandbox)
    )
    assert watched.exit_code == 0, watched.output
    result = run_cli("usage", "--format", "markdown", "--log", str(log), env=env(sandbox))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("### Token usage, ")
    assert "| Tokens used | 250,000 (25.0% of 1,000,000) |" in result.stdout
    assert "```mermaid\nxychart-beta\n" in result.stdout
    assert "2 earlier samples from the log and this reading" in result.stdout


def test_the_markdown_chart_has_no_bars_for_days_before_the_log_or_after_today(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    log = tmp_path / "usage.jsonl"
    watched = run_cli(
        "usage", "--watch", "0.05", "--count", "2", "--log", str(log), env=env(sandbox)
    )
    assert watched.exit_code == 0, watched.output
    first = json.loads(log.read_text().splitlines()[0])
    result = run_cli("usage", "--format", "markdown", "--log", str(log), env=env(sandbox))
    assert result.exit_code == 0, result.output
    chart = result.stdout.split("```mermaid\n")[1].split("```")[0].splitlines()
    days = chart[2].split("[")[1].rstrip("]").split(", ")
    series = [line.split("[")[1].rstrip("]").split(", ") for line in chart[4:]]
    # The log began today: the chart starts on today's date, not the 1st with bars of 0,
    # and today's is the only bar while the lines run on to the period's end.
    assert days[0] == str(int(first["time"][8:10]))
    assert series[0] == ["250000"]
    assert [len(values) for values in series[1:]] == [len(days)] * (len(series) - 1)


def test_warn_at_exits_2_when_the_use_crosses_it(sandbox: SandboxProcess) -> None:
    set_usage(sandbox, tokens_used=850_000)
    crossed = run_cli("usage", "--warn-at", "80%", env=env(sandbox))
    assert crossed.exit_code == 2, crossed.output
    assert "Tokens used: 850,000" in crossed.stdout
    assert "Warning: 85.0% of the usage limit (1,000,000 tokens) is used, past --warn-at 80%" in (
        crossed.stderr
    )
    set_usage(sandbox, tokens_used=0)
    assert run_cli("usage", "--warn-at", "80%", env=env(sandbox)).exit_code == 0


def test_warn_at_in_a_watch_warns_once_and_exits_2_at_the_end(sandbox: SandboxProcess) -> None:
    set_usage(sandbox, tokens_used=990_000)
    result = run_cli(
        "usage", "--watch", "0.05", "--count", "3", "--warn-at", "95", env=env(sandbox)
    )
    assert result.exit_code == 2, result.output
    assert result.stderr.count("past --warn-at 95%") == 1
    assert result.stdout.count("Tokens used: 990,000") == 3


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--serve", "--watch"], "--serve is the dashboard"),
        (["--port", "9000"], "go with --serve"),
        (["--format", "markdown", "--watch"], "does not go with --watch"),
        (["--warn-at", "0%"], "not a percentage"),
        (["--log", "x.jsonl"], "--log goes with --watch"),
    ],
)
def test_usage_options_that_do_not_go_together_are_one_sentence(args: list[str], said: str) -> None:
    result = run_cli("usage", *args, env={"CLAUDE_API_KEY": ADMIN_KEY})
    assert result.exit_code == 1
    assert said in result.stderr
    assert "Traceback" not in result.output


def test_the_control_key_sets_usage_and_nothing_else_can(sandbox: SandboxProcess) -> None:
    refused = sandbox.http.patch(
        f"{sandbox.url}/_sandbox/usage", json={"tokens_used": 5}, headers={"x-api-key": ADMIN_KEY}
    )
    assert refused.status_code == 403
    done = sandbox.http.patch(
        f"{sandbox.url}/_sandbox/usage",
        json={"tokens_used": 5},
        headers={"x-api-key": CONTROL_KEY},
    )
    assert done.json()["tokens_used"] == 5
    read = run_cli("usage", "--format", "json", env=env(sandbox))
    assert json.loads(read.stdout)["tokens_used"] == 5
