"""The usage dashboard in a real browser: Debian's Chromium, headless, loads the page
from ``usage --serve`` on loopback, finds the chart in the rendered DOM, reports no
Content Security Policy refusal (the page loads nothing it does not serve itself),
and saves a screenshot as a test artifact (``RECONCILER_ARTIFACTS``, default
``.ci/artifacts``).

``.ci/run`` installs Chromium when it is missing and sets
``RECONCILER_REQUIRE_BROWSER``, under which a missing browser is a failure; on
another machine without it this test is skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.sandbox import ORG_ADMIN_KEY, SandboxProcess, dashboard, until

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
# As the machine's notes advise: no sandbox as root, and no background connections
# (the network here is closed, and a test reaches nothing beyond loopback).
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("RECONCILER_REQUIRE_BROWSER"):
            pytest.fail("Chromium is not installed; .ci/run installs Debian's chromium package")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    return found


def browse(url: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chromium(), *FLAGS, f"--user-data-dir={profile}", *args, url],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_browser_renders_the_chart_under_the_pages_policy(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    assert sandbox.control("PATCH", "usage", json={"tokens_used": 640_000}).is_success
    with dashboard(sandbox, tmp_path / "usage.db", "--interval", "1") as board:
        until(board.samples, lambda s: len(s["data"]) >= 2)
        dom = browse(board.url, tmp_path / "profile", "--dump-dom")
        assert dom.returncode == 0, dom.stderr[-2000:]
        assert '<svg id="usage-chart"' in dom.stdout
        assert '<polyline class="used"' in dom.stdout
        assert "640,000 (64.0% of 1,000,000)" in dom.stdout
        assert "Content Security Policy" not in dom.stderr  # nothing refused: all served here

        artifacts = Path(os.environ.get("RECONCILER_ARTIFACTS", ROOT / ".ci" / "artifacts"))
        artifacts.mkdir(parents=True, exist_ok=True)
        shot = artifacts / "dashboard.png"
        shot.unlink(missing_ok=True)
        taken = browse(
            board.url, tmp_path / "profile", "--window-size=900,1000", f"--screenshot={shot}"
        )
        assert taken.returncode == 0, taken.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 10_000  # a rendered page, not a blank one


def test_a_browser_shows_each_workspace_against_its_spend_limit(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    # The shipped seed: Research spends $20 a day against $500, past it by the month's
    # end; the Default workspace is made to spend a little against no limit of its own.
    assert sandbox.control(
        "PATCH", "spend", json={"workspaces": {"Default": {"cost_per_day": 100}}}
    ).is_success
    with dashboard(
        sandbox,
        tmp_path / "unused.db",
        "--provider",
        "anthropic-admin",
        key=("ANTHROPIC_ADMIN_KEY", ORG_ADMIN_KEY),
    ) as board:
        until(lambda: board.page().text, lambda page: "Last successful poll" in page)
        dom = browse(board.url, tmp_path / "profile", "--dump-dom")
        assert dom.returncode == 0, dom.stderr[-2000:]
        rows = dom.stdout.split('<table id="workspaces">')[1].split("</table>")[0]
        research = rows.split("<strong>Research</strong>")
        assert len(research) == 2
        assert research[0].rsplit("<tr", 1)[1].startswith(' class="risk-red" data-risk="red"')
        assert "$500.00" in research[1].split("</tr>")[0]
        assert "<strong>Default</strong>" in rows
        assert "<strong>Organization</strong>" in rows
        assert "Content Security Policy" not in dom.stderr
