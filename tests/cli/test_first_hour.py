"""A new user's first hour, through the installed CLI: global options where
Terraform users put them, usage errors as one sentence, files never replaced by
surprise and never written in silence, help that names the variables read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.sandbox import ADMIN_KEY, SandboxProcess, run_cli
from tests.support.terminal import run_on_a_terminal

pytestmark = pytest.mark.e2e
ORG = "version: 1\ncompany:\n  billing_email: finance@example.com\n"


@pytest.fixture
def org(tmp_path: Path) -> Path:
    path = tmp_path / "org.yaml"
    path.write_text(ORG)
    return path


def env(sandbox: SandboxProcess) -> dict[str, str]:
    return {"CLAUDE_API_KEY": ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url}


def test_global_options_work_after_the_command(sandbox: SandboxProcess, org: Path) -> None:
    after = run_cli("plan", str(org), "--no-color", "--timeout", "5", "--debug", env=env(sandbox))
    assert after.exit_code == 0, after.output
    assert "\x1b[" not in after.output
    broken = run_cli("plan", str(org), "--debug", env={"RECONCILER_BASE_URL": sandbox.url})
    assert "Traceback" in broken.stderr  # --debug after the command counts
    before = run_cli("--timeout", "5", "plan", str(org), "--no-color", env=env(sandbox))
    assert before.exit_code == 0, before.output


def test_usage_errors_are_one_sentence(org: Path) -> None:
    for args, says in (
        (["plan"], "Error: Missing argument 'FILES...' (see 'reconciler plan --help')."),
        (["plan", str(org), "--no-such"], "Error: No such option '--no-such'."),
        (["frob"], "Error: No such command 'frob' (see 'reconciler --help')."),
    ):
        result = run_cli(*args)
        assert result.exit_code == 1
        assert result.stderr.startswith(says), result.stderr
        assert "Usage:" not in result.output
        assert len(result.stderr.strip().splitlines()) == 1


def test_export_never_replaces_a_file_without_force(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text("# written by hand\n")
    refused = run_cli("export", "--out", str(mine), env=env(sandbox))
    assert refused.exit_code == 1
    assert "exists and may be a file written by hand" in refused.stderr
    assert mine.read_text() == "# written by hand\n"
    assert sandbox.requests() == []
    forced = run_cli("export", "--out", str(mine), "--force", env=env(sandbox))
    assert forced.exit_code == 0, forced.output
    assert "company:" in mine.read_text()


def test_saved_files_are_named_with_the_next_command(
    sandbox: SandboxProcess, org: Path, tmp_path: Path
) -> None:
    plan, report, undo = tmp_path / "plan.json", tmp_path / "report.json", tmp_path / "undo.json"
    made = run_cli("plan", str(org), "--out", str(plan), env=env(sandbox))
    assert f"Saved the plan to {plan}. To apply exactly this plan, run:" in made.stderr
    assert f"reconciler apply {plan}" in made.stderr
    applied = run_cli(
        "apply",
        str(plan),
        "--auto-approve",
        "--report",
        str(report),
        "--undo-out",
        str(undo),
        env=env(sandbox),
    )
    assert applied.exit_code == 0, applied.output
    assert f"Wrote the apply report to {report}." in applied.stderr
    assert f"Wrote the undo plan to {undo}" in applied.stderr
    assert json.loads(report.read_text())["summary"]["applied"] == 1


def test_help_names_the_variables_each_command_reads() -> None:
    for command in ("plan", "apply"):
        shown = run_cli(command, "--help").stdout
        assert "RECONCILER_KEY_VARIABLES" in shown
        assert "CLAUDE_API_KEY" in shown
        assert "RECONCILER_BASE_URL" in shown
    for command in ("usage", "export"):
        shown = run_cli(command, "--help").stdout
        assert "api.base_url" not in shown
        assert "CLAUDE_API_KEY" in shown


def test_a_mistyped_target_gets_a_did_you_mean(sandbox: SandboxProcess, org: Path) -> None:
    result = run_cli("plan", str(org), "--target", "compnay", env=env(sandbox))
    assert result.exit_code == 1
    assert "--target compnay names nothing in" in result.stderr
    assert "did you mean company?" in result.stderr


def test_applying_an_applied_plan_says_so(
    sandbox: SandboxProcess, org: Path, tmp_path: Path
) -> None:
    plan = tmp_path / "plan.json"
    assert run_cli("plan", str(org), "--out", str(plan), env=env(sandbox)).exit_code == 0
    assert run_cli("apply", str(plan), "--auto-approve", env=env(sandbox)).exit_code == 0
    again = run_cli("apply", str(plan), "--auto-approve", env=env(sandbox))
    assert again.exit_code == 1
    assert "looks applied already" in again.stderr
    assert "stale" not in again.stderr


def test_show_of_a_desired_state_file_says_what_it_wants(org: Path) -> None:
    result = run_cli("show", str(org))
    assert result.exit_code == 1
    assert "is a desired-state file; this takes a saved plan" in result.stderr
    assert f"reconciler plan {org}" in result.stderr


def test_every_yaml_1_1_number_form_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(
        "version: 1\ncompany:\n  usage_limit: 1_000_000\nprojects:\n  proj_1: {usage_limit: 0x10}\n"
    )
    result = run_cli("validate", str(path))
    assert result.exit_code == 1
    assert "org.yaml:3:16: company.usage_limit: '1_000_000' is a YAML 1.1" in result.stderr
    assert "org.yaml:5:25: projects.proj_1.usage_limit: '0x10' is a YAML 1.1" in result.stderr


def test_usage_watch_needs_no_value_and_stamps_each_poll(sandbox: SandboxProcess) -> None:
    watched = run_cli("usage", "--watch", "--count", "1", env=env(sandbox))
    assert watched.exit_code == 0, watched.output
    assert watched.stdout[:4].isdigit()  # the year of the poll leads the line
    assert "+00:00  Tokens used: " in watched.stdout
    alone = run_cli("usage", "--count", "2", env=env(sandbox))
    assert alone.exit_code == 1
    assert "--count goes with --watch (reconciler usage --watch --count 10)" in alone.stderr


def test_a_cut_plan_points_at_workflow_artifacts_only_in_github(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(
        "version: 1\nprojects:\n"
        + "".join(f"  proj_{n}: {{description: '{'x' * 400}'}}\n" for n in (1, 2, 3))
    )
    args = ("plan", str(path), "--format", "markdown", "--max-chars", "1200")
    local = run_cli(*args, env=env(sandbox))
    assert "This plan was cut to fit" in local.stdout
    assert "The full plan is in the saved plan (`reconciler plan --out`)." in local.stdout
    in_ci = run_cli(*args, env={**env(sandbox), "GITHUB_ACTIONS": "true"})
    assert "The full plan is in this workflow run's artifacts." in in_ci.stdout


def test_archiving_a_workspace_that_does_not_exist_is_a_note(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    path = tmp_path / "admin.yaml"
    path.write_text(
        "version: 1\nprovider: anthropic-admin\nworkspaces:\n  Ghost: {archived: true}\n"
    )
    result = run_cli(
        "plan",
        str(path),
        env={"ANTHROPIC_ADMIN_KEY": "sk-ant-admin01-sandbox", "RECONCILER_BASE_URL": sandbox.url},
    )
    assert result.exit_code == 0, result.output
    assert 'workspace["Ghost"] is marked archived: true but no workspace of this name exists' in (
        result.stdout
    )


def test_an_undo_plan_is_reviewed_like_a_plan(sandbox: SandboxProcess, tmp_path: Path) -> None:
    """Undoing an upgrade is a downgrade, and the undo plan says so before it asks."""
    path, undo = tmp_path / "org.yaml", tmp_path / "undo.json"
    path.write_text("version: 1\ncompany:\n  plan: enterprise\n")
    applied = run_cli(
        "apply", str(path), "--auto-approve", "--undo-out", str(undo), env=env(sandbox)
    )
    assert applied.exit_code == 0, applied.output
    shown = run_cli("show", str(undo))  # a reviewer reading the undo plan sees it too
    assert "downgrade from enterprise to" in shown.stdout
    undone = run_cli("apply", str(undo), "--auto-approve", env=env(sandbox))
    assert undone.exit_code == 0, undone.output
    planned = undone.stdout.split("  ✓ ")[0]  # the plan, before the report's lines
    assert planned.count("downgrade from enterprise to") == 1  # said once, not twice
    assert sandbox.api("GET", "").json()["plan"] != "enterprise"


def test_undoing_a_workspace_create_archives_it(sandbox: SandboxProcess, tmp_path: Path) -> None:
    admin = {"ANTHROPIC_ADMIN_KEY": "sk-ant-admin01-sandbox", "RECONCILER_BASE_URL": sandbox.url}
    path, undo = tmp_path / "admin.yaml", tmp_path / "undo.json"
    path.write_text("version: 1\nprovider: anthropic-admin\nworkspaces:\n  Temp: {}\n")
    created = run_cli("apply", str(path), "--auto-approve", "--undo-out", str(undo), env=admin)
    assert created.exit_code == 0, created.output
    assert "Temp" in [w["name"] for w in sandbox.admin_list("workspaces")]
    undone = run_cli("apply", str(undo), "--auto-approve", env=admin)
    assert undone.exit_code == 0, undone.output
    assert 'workspace["Temp"] (archive)' in undone.stdout
    assert "undoing its creation archives it" in undone.stdout
    assert "Temp" not in [w["name"] for w in sandbox.admin_list("workspaces")]


def test_retries_show_progress_on_a_terminal(sandbox: SandboxProcess, org: Path) -> None:
    """With stderr on a terminal, each wait before a retry of a server's failure is a
    line: attempt n of m, and why. (A pseudo-terminal stands in for the user's.)"""
    sandbox.control(
        "PATCH",
        "settings",
        json={"fault_rate": 1.0, "fault_kinds": ["500"], "fault_retry_after_ms": 1},
    )
    code, shown = run_on_a_terminal(["plan", str(org)], "", env(sandbox))
    assert code == 1
    assert "attempt 2 of 6 in " in shown
    assert "(500: Injected fault." in shown
    assert "attempt 6 of 6" in shown


def test_a_read_only_key_is_refused_once_and_the_rest_is_not_attempted(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    from tests.support.sandbox import READER_KEY

    path = tmp_path / "org.yaml"
    path.write_text(
        "version: 1\nprojects:\n"
        + "".join(f"  proj_{n}: {{description: d{n}}}\n" for n in (1, 2, 3))
    )
    result = run_cli(
        "apply",
        str(path),
        "--auto-approve",
        env={"CLAUDE_API_KEY": READER_KEY, "RECONCILER_BASE_URL": sandbox.url},
    )
    assert result.exit_code == 1
    assert result.stdout.count("failed (") == 1
    assert result.stdout.count("skipped (not attempted: the key was refused") == 2
    assert result.stderr.count("organization:write") == 1
    assert "0 applied, 2 not attempted" in result.stderr
    assert len([r for r in sandbox.requests() if r["method"] == "PATCH"]) == 1


def test_init_writes_a_starter_file_and_its_schema(sandbox: SandboxProcess, tmp_path: Path) -> None:
    template = run_cli("init", cwd=tmp_path)
    assert template.exit_code == 0, template.output
    org = tmp_path / "org.yaml"
    assert org.read_text().startswith("# yaml-language-server: $schema=./company.schema.json\n")
    assert json.loads((tmp_path / "company.schema.json").read_text())["type"] == "object"
    assert run_cli("validate", str(org)).exit_code == 0
    again = run_cli("init", cwd=tmp_path)
    assert again.exit_code == 1
    assert "already exist" in again.stderr
    live = run_cli("init", "--force", cwd=tmp_path, env=env(sandbox))
    assert live.exit_code == 0, live.output
    assert f"the live organization at {sandbox.url}" in live.stderr
    assert "proj_1:" in org.read_text()
    planned = run_cli("plan", str(org), env=env(sandbox))
    assert "No changes: the live organization matches the file." in planned.stdout
    admin = run_cli("init", "--provider", "anthropic-admin", cwd=tmp_path)
    assert admin.exit_code == 0, admin.output
    assert run_cli("validate", str(tmp_path / "anthropic-admin.yaml")).exit_code == 0


def test_several_files_plan_and_apply_in_one_run(sandbox: SandboxProcess, tmp_path: Path) -> None:
    company, admin, broken = tmp_path / "org.yaml", tmp_path / "admin.yaml", tmp_path / "bad.yaml"
    company.write_text(ORG)
    admin.write_text(
        "version: 1\nprovider: anthropic-admin\napi: {api_key_env: ANTHROPIC_ADMIN_KEY}\n"
        "users:\n  ada@example.com: admin\n  cleo@example.com: billing\n  dev@example.com: user\n"
    )
    broken.write_text("version: 1\ncompany: {plan: gold}\n")
    both = {**env(sandbox), "ANTHROPIC_ADMIN_KEY": "sk-ant-admin01-sandbox"}
    planned = run_cli("plan", str(company), str(admin), "--detailed-exitcode", env=both)
    assert planned.exit_code == 2, planned.output
    assert f"== {company} ==" in planned.stdout
    assert f"== {admin} ==" in planned.stdout
    assert "(key from ANTHROPIC_ADMIN_KEY)" in planned.stdout
    assert "(key from CLAUDE_API_KEY)" in planned.stdout
    one_bad = run_cli("plan", str(broken), str(company), env=both)
    assert one_bad.exit_code == 1
    assert f"== {company} ==" in one_bad.stdout  # the good file is still planned
    assert "1 of 2 files could not be planned" in one_bad.stderr
    as_json = run_cli("plan", str(company), str(admin), "--format", "json", env=both)
    lines = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [(p["file"], p["provider"]) for p in lines] == [
        (str(company), "company"),
        (str(admin), "anthropic-admin"),
    ]
    applied = run_cli("apply", str(company), str(admin), "--auto-approve", env=both)
    assert applied.exit_code == 0, applied.output
    again = run_cli("plan", str(company), str(admin), "--detailed-exitcode", env=both)
    assert again.exit_code == 0, again.output
    assert again.stdout.count("No changes") == 2
    refused = run_cli("plan", str(company), str(admin), "--out", str(tmp_path / "p.json"))
    assert "--out and --compare-to go with one FILE" in refused.stderr


def test_a_project_that_does_not_exist_is_named_at_its_line_with_the_nearest_ids(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    path = tmp_path / "org.yaml"
    path.write_text("version: 1\nprojects:\n  proj_1: {name: A}\n  proj_9: {name: B}\n")
    result = run_cli("plan", str(path), env=env(sandbox))
    assert result.exit_code == 1
    assert f"{path}:4:3: project.proj_9 does not exist in the live organization" in result.stderr
    assert "(nearest live ids: proj_" in result.stderr


def test_max_changes_counts_one_resource_in_the_singular(
    sandbox: SandboxProcess, org: Path
) -> None:
    result = run_cli("apply", str(org), "--auto-approve", "--max-changes", "0", env=env(sandbox))
    assert result.exit_code == 1
    assert "The plan changes 1 resource, more than --max-changes 0 allows" in result.stderr


def test_ctrl_c_at_the_approval_prompt_says_nothing_was_started(
    sandbox: SandboxProcess, org: Path
) -> None:
    """On a real terminal (a pseudo-terminal here): Ctrl-C at "Apply these changes?"."""
    import os
    import pty
    import signal

    from tests.support.sandbox import reconciler_executable

    pid, fd = pty.fork()
    if pid == 0:  # the child: the CLI on the terminal
        os.execve(
            reconciler_executable(),
            [reconciler_executable(), "apply", str(org), "--no-color"],
            {**os.environ, **env(sandbox)},
        )
    seen = read_until(fd, b"Only 'yes' will be accepted", deadline=60)
    assert b"Only 'yes' will be accepted" in seen, seen
    os.write(fd, b"\x03")
    seen += read_until(fd, None, deadline=10)
    if b"Apply cancelled" not in seen:
        # The ^C reached the terminal before the prompt read from it (a race under load):
        # a terminal's ^C is SIGINT to the foreground process, so send that.
        os.kill(pid, signal.SIGINT)
        seen += read_until(fd, None, deadline=30)
    done, status = os.waitpid(pid, os.WNOHANG)
    if done == 0:  # still running: fail, never hang the suite
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 130  # as a shell expects of Ctrl-C
    assert "Apply cancelled at the prompt; nothing was started." in seen.decode()
    assert sandbox.writes() == []


def read_until(fd: int, wanted: bytes | None, *, deadline: float) -> bytes:
    """What a pseudo-terminal prints until ``wanted`` appears (None: until it closes) or
    ``deadline`` seconds pass, so a test that waits on a terminal never hangs."""
    import os
    import select
    import time

    seen = b""
    end = time.monotonic() + deadline
    while (wanted is None or wanted not in seen) and time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], max(0.0, end - time.monotonic()))
        if not ready:
            break
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    return seen
