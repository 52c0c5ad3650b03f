"""SIGINT/SIGTERM during apply: no new PATCH starts, those in flight finish, the
report says what was applied, the exit is non-zero, and a re-run converges."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import figures
from tests.support.sandbox import ADMIN_KEY, SandboxProcess, reconciler_executable, run_installed

pytestmark = pytest.mark.e2e
PROJECTS = 12


def wait_for(condition: Callable[[], bool], what: str, limit: float = 60) -> None:
    """Poll for an event (bounded); correctness never depends on how long this takes."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.02)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_new_writes_and_reports_what_was_applied(
    sandbox: SandboxProcess, tmp_path: Path, signum: int
) -> None:
    seed = {
        "company": sandbox.api("GET", "").json(),
        "projects": [
            {
                "id": f"proj_{n:02d}",
                "name": f"P{n}",
                "description": "",
                "billing_email": None,
                "usage_limit": None,
                "created_at": "2024-01-01T00:00:00Z",
            }
            for n in range(PROJECTS)
        ],
    }
    sandbox.control("POST", "reset", json=seed)
    org = tmp_path / "org.yaml"
    org.write_text(
        "version: 1\nprojects:\n"
        + "".join(f"  proj_{n:02d}: {{usage_limit: {n + 1}}}\n" for n in range(PROJECTS))
    )
    sandbox.control("DELETE", "requests")
    sandbox.control("PATCH", "settings", json={"latency_ms": 250})
    report = tmp_path / "report.json"
    env = {"CLAUDE_API_KEY": ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url}
    process = subprocess.Popen(
        [
            reconciler_executable(),
            "apply",
            str(org),
            "--auto-approve",
            "--concurrency",
            "2",
            "--report",
            str(report),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(lambda: bool(sandbox.writes()), "the first PATCH")
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=60)
    sandbox.control("PATCH", "settings", json={"latency_ms": 0})

    assert process.returncode == 128 + signum, stdout + stderr  # 130 for Ctrl-C, 143
    assert "Traceback" not in stderr
    results = json.loads(report.read_text())["results"]
    applied = [r["address"] for r in results if r["outcome"] == "applied"]
    skipped = [r for r in results if r["outcome"] == "skipped"]
    assert skipped, "the signal came early: some writes must not have started"
    assert all("interrupted" in (r["reason"] or "") for r in skipped)
    assert not [r for r in results if r["outcome"] == "failed"]
    patched = ["project." + w["path"].rsplit("/", 1)[1] for w in sandbox.writes()]
    assert sorted(patched) == sorted(applied)  # in flight finished, nothing new started
    for address in applied:
        n = int(address.rsplit("_", 1)[1])
        assert sandbox.api("GET", f"/projects/proj_{n:02d}").json()["usage_limit"] == n + 1
    figures.add("interrupted applies: writes finished in flight", len(applied))
    figures.add("interrupted applies: writes not started", len(skipped))

    again = run_installed("apply", str(org), "--auto-approve", env=env)
    assert again.exit_code == 0, again.output
    assert run_installed("plan", str(org), "--detailed-exitcode", env=env).exit_code == 0
