"""The sandbox as a real process on a loopback port, over real HTTP."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest

from tests.support.sandbox import SandboxProcess, run_installed, start_sandbox


def test_it_listens_on_a_free_port_and_serves_http(sandbox: SandboxProcess) -> None:
    response = sandbox.api("GET", "")
    assert response.status_code == 200
    assert response.json()["id"] == "org_abc123"


def test_changes_survive_a_restart_on_the_same_database(tmp_path: Path) -> None:
    db = tmp_path / "org.db"
    first = start_sandbox(db)
    assert first.api("PATCH", "/projects/proj_1", json={"name": "Kept"}).status_code == 200
    assert first.stop() == 0
    second = start_sandbox(db)
    try:
        assert second.api("GET", "/projects/proj_1").json()["name"] == "Kept"
    finally:
        second.stop()


def test_sigint_ends_it_cleanly(tmp_path: Path) -> None:
    running = start_sandbox(tmp_path / "org.db")
    running.process.send_signal(signal.SIGINT)
    assert running.process.wait(timeout=15) == 0


def test_a_custom_seed_and_generated_projects(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(
        '{"company": {"id": "org_x", "name": "X", "billing_email": "a@x.io",'
        ' "plan": "build", "usage_limit": null, "created_at": "2024-01-01T00:00:00Z"},'
        ' "keys": [{"key": "k1", "scopes": ["organization:read"]}]}'
    )
    running = start_sandbox(tmp_path / "org.db", "--seed", str(seed), "--generate-projects", "1500")
    try:
        page = running.api("GET", "/projects", key="k1", params={"limit": 1000}).json()
        assert page["has_more"] is True
        assert page["first_id"] == "proj_00001"
        assert running.api("GET", "", key="k1").json()["name"] == "X"
    finally:
        running.stop()


def test_a_bad_seed_is_one_clear_error(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text("company: {id: org_x, name: X}\n")
    result = run_installed(
        "sandbox", "--db", str(tmp_path / "x.db"), "--seed", str(seed), "--port", "0"
    )
    assert result.exit_code == 1
    assert "seed" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("kind", ["drop", "drop-after-write"])
def test_dropped_connections_break_mid_answer(sandbox: SandboxProcess, kind: str) -> None:
    sandbox.control("PATCH", "settings", json={"fault_rate": 1.0, "fault_kinds": [kind]})
    # Depending on timing the client sees the answer cut short or the connection reset.
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        sandbox.api("PATCH", "/projects/proj_1", json={"name": "Dropped"})
    sandbox.control("PATCH", "settings", json={"fault_rate": 0.0})
    name = sandbox.api("GET", "/projects/proj_1").json()["name"]
    assert name == ("Dropped" if kind == "drop-after-write" else "Search")


def test_faults_can_be_switched_on_at_runtime(sandbox: SandboxProcess) -> None:
    assert sandbox.api("GET", "").status_code == 200
    sandbox.control("PATCH", "settings", json={"fault_rate": 1.0, "fault_kinds": ["529"]})
    assert sandbox.api("GET", "").status_code == 529
