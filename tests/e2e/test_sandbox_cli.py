"""The sandbox and the demo as a new user meets them: a busy port is one sentence,
start-up shows the keys to use, --log-requests shows each request, and the
demo's commands can be copied and run against the sandbox it kept."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.support.sandbox import (
    SandboxProcess,
    reconciler_executable,
    run_installed,
    start_sandbox,
)

pytestmark = pytest.mark.e2e


def test_a_busy_port_is_one_sentence_and_exit_1(sandbox: SandboxProcess, tmp_path: Path) -> None:
    port = sandbox.url.rsplit(":", 1)[1]
    result = run_installed("sandbox", "--db", str(tmp_path / "b.db"), "--port", port, timeout=30)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: cannot listen on 127.0.0.1:{port}")
    assert "--port 0 for any free one" in result.stderr
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_start_up_shows_the_keys_and_log_requests_each_request(tmp_path: Path) -> None:
    running = start_sandbox(tmp_path / "s.db", "--log-requests")
    try:
        assert running.process.stdout is not None
        lines = [running.process.stdout.readline() for _ in range(5)]
        assert lines[0].startswith("Keys (from the seed")
        assert any(
            "sk-sandbox-admin  (organization:read, organization:write)" in line for line in lines
        )
        assert any("sk-ant-admin01-sandbox  (organization:admin)" in line for line in lines)
        keyless = [running.process.stdout.readline() for _ in range(4)]
        assert keyless[0].startswith("Keyless (workload identity federation;")
        assert [line.strip() for line in keyless[1:]] == [
            "ANTHROPIC_FEDERATION_RULE_ID=fdrl_01SandboxOrgSettingsMain",
            "ANTHROPIC_ORGANIZATION_ID=2f9a1c3e-5b7d-4e6f-8a9b-0c1d2e3f4a5b",
            "ANTHROPIC_SERVICE_ACCOUNT_ID=svac_01SandboxReconcilerCI",
        ]
        running.api("GET", "")
        logged = running.process.stdout.readline()
        assert logged.strip() == "GET /v1/organizations/company -> 200"
        running.http.get(f"{running.url}/v1/x%1b%5b2J")  # a client's control sequence
        hostile = running.process.stdout.readline()
        assert "\x1b" not in hostile
        assert "/v1/x\\u001b[2J -> " in hostile
    finally:
        running.stop()


def test_the_demo_commands_run_as_printed_against_the_kept_sandbox() -> None:
    demo = run_installed("demo", "--keep", "--no-color", timeout=180)
    assert demo.exit_code == 0, demo.output
    commands = [line[2:] for line in demo.stdout.splitlines() if line.startswith("$ ")]
    assert len(commands) == 3
    restart = next(
        line.strip() for line in demo.stdout.splitlines() if "reconciler sandbox --db" in line
    )
    args = shlex.split(restart)[1:]
    server = subprocess.Popen(
        [reconciler_executable(), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        assert server.stdout.readline().startswith("Listening on http://127.0.0.1:")
        again = commands[2].split("#")[0]
        done = subprocess.run(
            ["bash", "-c", again], capture_output=True, text=True, timeout=120, env=os.environ
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "No changes: the live organization matches the file." in done.stdout
    finally:
        server.terminate()
        server.wait(timeout=15)
        db = Path(args[args.index("--db") + 1])
        for leftover in db.parent.glob("*"):
            leftover.unlink()
        db.parent.rmdir()
