"""Under the API's rate limit, through the installed command against a sandbox process
that enforces one: every change of an apply is applied (a 429 is waited out, never
a failure), the API is not hammered (at most 5 % of requests answered 429, where
the SDK's own backoff had most of them refused), the report says what the limit
cost, and a terminal gets one line for it, not one a request. The Company API's
client goes through the same pacer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.sandbox import ADMIN_KEY, ORG_ADMIN_KEY, SandboxProcess, run_installed
from tests.support.terminal import run_on_a_terminal

pytestmark = pytest.mark.e2e
RATE = 8  # requests a second, with a burst of as many
INVITES = 24


def test_an_apply_under_a_rate_limit_applies_everything_without_a_storm(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    env = {"ANTHROPIC_ADMIN_KEY": ORG_ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url}
    org = tmp_path / "org.yaml"
    org.write_text(
        "version: 1\nprovider: anthropic-admin\nusers:\n  ada@example.com: admin\n"
        + "".join(f"  new{n:03d}@example.com: developer\n" for n in range(INVITES))
    )
    sandbox.control("PATCH", "settings", json={"rate_limit": RATE}).raise_for_status()
    sandbox.control("DELETE", "requests").raise_for_status()
    report = tmp_path / "report.json"
    applied = run_installed("apply", str(org), "--auto-approve", "--report", str(report), env=env)
    assert applied.exit_code == 0, applied.output
    assert f"Apply: {INVITES} applied, 0 failed, 0 skipped. Waited " in applied.stdout
    assert "s for the rate limit" in applied.stdout
    log = sandbox.requests()
    refused = [r for r in log if r["status"] == 429]
    assert len(refused) <= 0.05 * len(log), f"{len(refused)} of {len(log)} answered 429"
    invited = [r for r in log if r["method"] == "POST" and r["status"] < 300]
    assert len(invited) == INVITES  # each invite sent once: none twice, none lost
    saved = json.loads(report.read_text())["rate_limit"]
    assert saved["answered_429"] == len(refused)
    assert saved["waited_s"] > 0
    assert "no usable answer" not in applied.output  # a 429 is not a server's failure


def test_a_storm_of_429s_is_one_line_on_a_terminal_and_a_clear_end(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    """Every answer a 429 (the sandbox's, asking for no wait at all): each request waits
    with a growing backoff within the operator's RECONCILER_RATE_LIMIT_WAIT, the
    terminal is told once, and the command ends in one sentence."""
    env = {
        "ANTHROPIC_ADMIN_KEY": ORG_ADMIN_KEY,
        "RECONCILER_BASE_URL": sandbox.url,
        "RECONCILER_RATE_LIMIT_WAIT": "3",
    }
    org = tmp_path / "org.yaml"
    org.write_text("version: 1\nprovider: anthropic-admin\nusers:\n  ada@example.com: admin\n")
    storm = {"fault_rate": 1.0, "fault_kinds": ["429"], "fault_retry_after": 0}
    sandbox.control("PATCH", "settings", json=storm).raise_for_status()
    code, shown = run_on_a_terminal(["plan", str(org)], "", env)
    assert code == 1
    assert shown.count("rate limited (429): waiting") == 1
    assert "The API rate limited reconciler (429) when asked to" in shown
    assert "past the 3 s a request waits. Wait a little and run again" in shown
    assert "Traceback" not in shown
    sent = len(sandbox.requests())
    assert sent < 20  # backed off, not hammered: 0.5 s, then 1 s, then 2 s past 3 s


def test_an_operators_rate_limit_wait_that_is_not_seconds_is_one_sentence(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    env = {"CLAUDE_API_KEY": ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url}
    org = tmp_path / "org.yaml"
    org.write_text("version: 1\ncompany:\n  name: Renamed Co\n")
    for given in ("soon", "-1", "86400"):
        done = run_installed("plan", str(org), env={**env, "RECONCILER_RATE_LIMIT_WAIT": given})
        assert done.exit_code == 1
        assert f"RECONCILER_RATE_LIMIT_WAIT is '{given}', not a number of seconds" in done.stderr
    assert sandbox.requests() == []
