"""The installed ``reconciler`` command against a real sandbox process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.desired import holds
from tests.support.sandbox import ADMIN_KEY, DATA, READER_KEY, SandboxProcess, run_cli
from tests.support.terminal import run_on_a_terminal

pytestmark = pytest.mark.e2e

ORG = """\
version: 1
company:
  billing_email: finance@example.com
  usage_limit: 2000000
projects:
  proj_1:
    billing_email: ml-billing@example.com
  proj_2:
    name: Research
"""


@pytest.fixture
def org(tmp_path: Path) -> Path:
    path = tmp_path / "org.yaml"
    path.write_text(ORG)
    return path


def env(sandbox: SandboxProcess, key: str = ADMIN_KEY) -> dict[str, str]:
    return {"CLAUDE_API_KEY": key, "RECONCILER_BASE_URL": sandbox.url}


def test_plan_shows_the_changes_and_exits_2_with_detailed_exitcode(
    sandbox: SandboxProcess, org: Path
) -> None:
    result = run_cli("plan", str(org), "--detailed-exitcode", env=env(sandbox))
    assert result.exit_code == 2, result.output
    assert '  ~ company\n      billing_email: "billing@example.com" → "finance@example.com"' in (
        result.stdout
    )
    assert 'name: "Research Lab" → "Research"' in result.stdout
    assert "Plan: 3 resources to change (4 fields). 1 unmanaged project." in result.stdout
    assert sandbox.writes() == []


def test_plan_reads_projects_through_the_list_never_one_get_each(
    sandbox: SandboxProcess, org: Path
) -> None:
    run_cli("plan", str(org), env=env(sandbox))
    paths = [r["path"] for r in sandbox.requests()]
    assert not any(p.startswith("/v1/organizations/company/projects/") for p in paths)
    assert paths.count("/v1/organizations/company/projects") == 1


def test_apply_converges_and_the_next_plan_is_empty(
    sandbox: SandboxProcess, org: Path, tmp_path: Path
) -> None:
    report = tmp_path / "report.json"
    result = run_cli("apply", str(org), "--auto-approve", "--report", str(report), env=env(sandbox))
    assert result.exit_code == 0, result.output
    assert "Apply: 3 applied, 0 failed, 0 skipped." in result.stdout
    assert json.loads(report.read_text())["summary"] == {"applied": 3, "failed": 0, "skipped": 0}
    patches = sandbox.writes()
    assert len(patches) == 3
    again = run_cli("plan", str(org), "--detailed-exitcode", env=env(sandbox))
    assert again.exit_code == 0, again.output
    assert "No changes" in again.stdout


def test_a_saved_plan_goes_stale_after_an_out_of_band_edit_and_nothing_is_written(
    sandbox: SandboxProcess, org: Path, tmp_path: Path
) -> None:
    saved = tmp_path / "plan.json"
    assert run_cli("plan", str(org), "--out", str(saved), env=env(sandbox)).exit_code == 0
    assert ADMIN_KEY not in saved.read_text()
    sandbox.api("PATCH", "", json={"billing_email": "console@example.com"})
    before = len(sandbox.writes())
    result = run_cli("apply", str(saved), "--auto-approve", env=env(sandbox))
    assert result.exit_code == 1
    assert "stale" in result.stderr
    assert "company.billing_email" in result.stderr
    assert len(sandbox.writes()) == before
    assert sandbox.api("GET", "").json()["billing_email"] == "console@example.com"


def test_a_saved_plan_applies_exactly_what_was_reviewed(
    sandbox: SandboxProcess, org: Path, tmp_path: Path
) -> None:
    saved = tmp_path / "plan.json"
    run_cli("plan", str(org), "--out", str(saved), env=env(sandbox))
    org.write_text(ORG + "  proj_3:\n    name: Not reviewed\n")
    moved = run_cli("apply", str(saved), "--auto-approve", env=env(sandbox))
    assert moved.exit_code == 1
    assert "was not made from" in moved.stderr
    assert "Run plan again" in moved.stderr
    assert sandbox.writes() == []
    org.write_text(ORG)
    result = run_cli("apply", str(saved), "--auto-approve", env=env(sandbox))
    assert result.exit_code == 0, result.output
    assert sandbox.api("GET", "/projects/proj_3").json()["name"] == "Support Bot"


def test_a_read_only_key_gets_the_scope_it_needs(sandbox: SandboxProcess, org: Path) -> None:
    result = run_cli("apply", str(org), "--auto-approve", env=env(sandbox, READER_KEY))
    assert result.exit_code == 1
    assert "organization:write" in result.output
    assert "CLAUDE_API_KEY" in result.output
    assert "Traceback" not in result.output
    assert READER_KEY not in result.output


def test_an_unknown_key_names_the_variable_read(sandbox: SandboxProcess, org: Path) -> None:
    result = run_cli(
        "plan",
        str(org),
        env={"ANTHROPIC_ADMIN_KEY": "sk-ant-admin-nope", "RECONCILER_BASE_URL": sandbox.url},
    )
    assert result.exit_code == 1
    assert "ANTHROPIC_ADMIN_KEY" in result.stderr
    assert "sk-ant-admin-nope" not in result.output


def test_a_missing_key_is_one_sentence(org: Path) -> None:
    result = run_cli("plan", str(org))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: No API key: set CLAUDE_API_KEY")


def test_the_file_can_name_its_own_key_variable(sandbox: SandboxProcess, tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(
        f"version: 1\napi: {{base_url: '{sandbox.url}', api_key_env: ORG_B_ADMIN_KEY}}\n"
        "company: {name: B}\n"
    )
    here = {"RECONCILER_BASE_URL": sandbox.url}  # the file's loopback URL, named by the operator
    missing = run_cli("plan", str(path), env={"CLAUDE_API_KEY": ADMIN_KEY, **here})
    assert "ORG_B_ADMIN_KEY, the variable the file's api.api_key_env names," in missing.stderr
    found = run_cli("plan", str(path), env={"ORG_B_ADMIN_KEY": ADMIN_KEY, **here})
    assert found.exit_code == 0, found.output
    assert 'name: "My Awesome Team" → "B"' in found.stdout


def test_apply_without_a_terminal_needs_auto_approve(sandbox: SandboxProcess, org: Path) -> None:
    result = run_cli("apply", str(org), env=env(sandbox))
    assert result.exit_code == 1
    assert "--auto-approve" in result.stderr
    assert sandbox.writes() == []


def test_max_changes_refuses_a_larger_plan(sandbox: SandboxProcess, org: Path) -> None:
    result = run_cli("apply", str(org), "--auto-approve", "--max-changes", "2", env=env(sandbox))
    assert result.exit_code == 1
    assert "--max-changes 2" in result.stderr
    assert sandbox.writes() == []


def test_targets_apply_only_what_they_name(sandbox: SandboxProcess, org: Path) -> None:
    result = run_cli(
        "apply", str(org), "--auto-approve", "--target", "project.proj_2", env=env(sandbox)
    )
    assert result.exit_code == 0, result.output
    assert [w["path"] for w in sandbox.writes()] == ["/v1/organizations/company/projects/proj_2"]


def test_a_project_that_does_not_exist_is_named(sandbox: SandboxProcess, tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text("version: 1\nprojects:\n  proj_404: {name: x}\n")
    result = run_cli("plan", str(path), env=env(sandbox))
    assert result.exit_code == 1
    assert "project.proj_404" in result.stderr


@pytest.mark.parametrize("bad", sorted(p.name for p in (DATA / "bad").glob("*.yaml")))
def test_bad_files_end_in_exit_1_with_a_position_and_no_request(
    sandbox: SandboxProcess, bad: str
) -> None:
    result = run_cli("plan", str(DATA / "bad" / bad), env=env(sandbox))
    assert result.exit_code == 1
    assert f"{bad}:" in result.stderr
    assert "Traceback" not in result.output
    assert sandbox.requests() == []


def test_validate_is_offline_and_reports_every_file(tmp_path: Path, org: Path) -> None:
    good = run_cli("validate", str(org))
    assert good.exit_code == 0
    bad = run_cli(
        "validate",
        str(org),
        str(DATA / "bad" / "tabs.yaml"),
        str(DATA / "bad" / "yaml11-boolean.yaml"),
    )
    assert bad.exit_code == 1
    assert "tabs.yaml:3:1" in bad.stderr
    assert "yaml11-boolean.yaml:3:9" in bad.stderr


@pytest.mark.parametrize("fmt", ["json", "markdown"])
def test_plan_formats(sandbox: SandboxProcess, org: Path, fmt: str) -> None:
    result = run_cli("plan", str(org), "--format", fmt, env=env(sandbox))
    assert result.exit_code == 0
    if fmt == "json":
        assert json.loads(result.stdout)["summary"]["to_change"] == 3
    else:
        assert "| field | before | after |" in result.stdout


def test_export_plans_to_no_changes(sandbox: SandboxProcess, tmp_path: Path) -> None:
    exported = tmp_path / "exported.yaml"
    result = run_cli("export", "--out", str(exported), env=env(sandbox))
    assert result.exit_code == 0, result.output
    assert run_cli("validate", str(exported)).exit_code == 0
    plan = run_cli("plan", str(exported), "--detailed-exitcode", env=env(sandbox))
    assert plan.exit_code == 0, plan.output


def test_undo_out_puts_everything_back(sandbox: SandboxProcess, org: Path, tmp_path: Path) -> None:
    before = sandbox.api("GET", "").json()
    undo = tmp_path / "undo.json"
    assert (
        run_cli(
            "apply", str(org), "--auto-approve", "--undo-out", str(undo), env=env(sandbox)
        ).exit_code
        == 0
    )
    result = run_cli("apply", str(undo), "--auto-approve", env=env(sandbox))
    assert result.exit_code == 0, result.output
    assert sandbox.api("GET", "").json() == before
    assert sandbox.api("GET", "/projects/proj_2").json()["name"] == "Research Lab"


def test_usage_and_its_watch_log(sandbox: SandboxProcess, tmp_path: Path) -> None:
    once = run_cli("usage", "--format", "json", env=env(sandbox))
    assert json.loads(once.stdout)["tokens_remaining"] == 750000
    log = tmp_path / "usage.jsonl"
    watched = run_cli(
        "usage", "--watch", "0.05", "--count", "3", "--log", str(log), env=env(sandbox)
    )
    assert watched.exit_code == 0, watched.output
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(lines) == 3
    assert all(line["tokens_used"] == 250000 for line in lines)


def test_plain_http_to_another_host_is_refused_before_any_byte(org: Path) -> None:
    result = run_cli(
        "plan", str(org), "--base-url", "http://api.example.com", env={"CLAUDE_API_KEY": ADMIN_KEY}
    )
    assert result.exit_code == 1
    assert "plain http://" in result.stderr


def test_a_dead_server_is_one_clear_sentence(org: Path) -> None:
    result = run_cli(
        "plan",
        str(org),
        env={"CLAUDE_API_KEY": ADMIN_KEY, "RECONCILER_BASE_URL": "http://127.0.0.1:9"},
    )
    assert result.exit_code == 1
    assert "Nothing is listening at http://127.0.0.1:9 (from RECONCILER_BASE_URL)" in (
        result.stderr
    )
    assert "is the sandbox running?" in result.stderr
    assert "Traceback" not in result.output


def test_demo_runs_plan_apply_plan(tmp_path: Path) -> None:
    result = run_cli("demo", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert "Apply: 4 applied, 0 failed, 0 skipped." in result.stdout
    assert result.stdout.rstrip().endswith("0 unmanaged projects.")
    assert "No changes" in result.stdout.split("again")[-1]


def test_demo_runs_the_installed_sandbox_not_a_checkouts(tmp_path: Path) -> None:
    """A directory holding its own ``reconciler/__main__.py`` (a cloned pull request)
    does not run in the demo's place, and is never handed the operator's key."""
    marker = tmp_path / "ran"
    (tmp_path / "reconciler").mkdir()
    (tmp_path / "reconciler" / "__init__.py").write_text("")
    (tmp_path / "reconciler" / "__main__.py").write_text(
        "import os, pathlib\n"
        f"pathlib.Path({str(marker)!r}).write_text(os.environ.get('ANTHROPIC_ADMIN_KEY', ''))\n"
    )
    result = run_cli("demo", cwd=tmp_path, env={"ANTHROPIC_ADMIN_KEY": "sk-ant-admin-operator"})
    assert result.exit_code == 0, result.output
    assert "Apply: 4 applied, 0 failed, 0 skipped." in result.stdout
    assert not marker.exists()


def test_help_says_a_files_loopback_base_url_is_refused() -> None:
    for command in ("plan", "apply", "adopt"):
        shown = " ".join(run_cli(command, "--help").stdout.split())
        assert "used only when it is loopback" not in shown, command
        assert "(loopback is no exception)" in shown, command


@pytest.mark.parametrize(("answer", "applied"), [("yes", True), ("no", False)])
def test_interactive_apply_shows_the_plan_and_asks(
    sandbox: SandboxProcess, org: Path, answer: str, applied: bool
) -> None:
    code, output = run_on_a_terminal(["apply", str(org)], answer, env(sandbox))
    assert "Apply these changes? Only 'yes' will be accepted" in output
    assert "finance@example.com" in output
    assert (code == 0) is applied, output
    assert bool(sandbox.writes()) is applied
    if not applied:
        assert "cancelled; nothing was written" in output


def test_in_github_actions_validation_errors_are_also_annotations() -> None:
    bad = DATA / "bad" / "yaml11-boolean.yaml"
    result = run_cli("validate", str(bad), env={"GITHUB_ACTIONS": "true"})
    assert result.exit_code == 1
    assert f"::error file={bad},line=3,col=9::company.name: 'no' is a YAML 1.1 boolean" in (
        result.stdout
    )
    plain = run_cli("validate", str(bad))
    assert "::error" not in plain.output


def test_compare_to_splits_the_plan_into_this_edit_and_drift(
    sandbox: SandboxProcess, org: Path, tmp_path: Path
) -> None:
    base = tmp_path / "base.yaml"
    base.write_text("version: 1\nprojects:\n  proj_2:\n    name: Research\n")
    result = run_cli(
        "plan", str(org), "--compare-to", str(base), "--format", "json", env=env(sandbox)
    )
    assert result.exit_code == 0, result.output
    sections = json.loads(result.stdout)["sections"]
    assert [r["address"] for r in sections["drift"]] == ["project.proj_2"]
    assert [r["address"] for r in sections["change"]] == ["company", "project.proj_1"]
    missing = run_cli(
        "plan", str(org), "--compare-to", str(tmp_path / "none.yaml"), env=env(sandbox)
    )
    assert "None." in missing.stdout.split("== Drift already present")[1]


@pytest.mark.parametrize(
    "args",
    [
        ["plan"],
        ["plan", "org.yaml", "--format", "yaml"],
        ["nonsense"],
        ["sandbox", "--fault-kinds", "teapot"],
    ],
)
def test_usage_errors_exit_1_so_that_2_always_means_changes(args: list[str]) -> None:
    result = run_cli(*args)
    assert result.exit_code == 1, result.output
    assert "Error" in result.stderr
    assert "Traceback" not in result.output


def test_help_exits_0() -> None:
    result = run_cli("--help")
    assert result.exit_code == 0
    assert "plan" in result.stdout


def test_show_renders_a_saved_plan_and_a_report_offline(
    sandbox: SandboxProcess, org: Path, tmp_path: Path
) -> None:
    saved, report = tmp_path / "plan.json", tmp_path / "report.json"
    run_cli("plan", str(org), "--out", str(saved), env=env(sandbox))
    shown = run_cli("show", str(saved), "--format", "markdown", "--title", "Reviewed")
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.startswith("### Reviewed")
    assert "| `billing_email` |" in shown.stdout
    run_cli("apply", str(saved), "--auto-approve", "--report", str(report), env=env(sandbox))
    shown = run_cli("show", str(report), "--format", "markdown")
    assert "**Apply: 3 applied, 0 failed, 0 skipped.**" in shown.stdout


def test_schema_prints_the_shipped_schema_with_holds_allowed() -> None:
    result = run_cli("schema")
    assert result.exit_code == 0
    shipped = json.loads(Path("reconciler/schemas/org.schema.json").read_text())
    printed = json.loads(result.stdout)
    assert printed == holds.published(shipped)
    limit = printed["properties"]["company"]["properties"]["usage_limit"]
    assert limit["anyOf"][0] == shipped["properties"]["company"]["properties"]["usage_limit"]
    assert limit["anyOf"][1]["required"] == ["value", "until", "then"]


def test_expect_file_refuses_a_plan_of_another_version_before_any_request(
    sandbox: SandboxProcess, org: Path, tmp_path: Path
) -> None:
    saved = tmp_path / "plan.json"
    run_cli("plan", str(org), "--out", str(saved), env=env(sandbox))
    org.write_text(ORG + "  proj_3: {name: later}\n")
    sandbox.control("DELETE", "requests")
    result = run_cli(
        "apply", str(saved), "--auto-approve", "--expect-file", str(org), env=env(sandbox)
    )
    assert result.exit_code == 1
    assert "was not made from" in result.stderr
    assert sandbox.requests() == []


def test_a_saved_plan_still_applies_after_an_unrelated_resource_changed(
    sandbox: SandboxProcess, org: Path, tmp_path: Path
) -> None:
    saved = tmp_path / "plan.json"
    run_cli("plan", str(org), "--out", str(saved), env=env(sandbox))
    sandbox.api("PATCH", "/projects/proj_3", json={"name": "Changed in the console"})
    result = run_cli("apply", str(saved), "--auto-approve", env=env(sandbox))
    assert result.exit_code == 0, result.output
    assert sandbox.api("GET", "/projects/proj_3").json()["name"] == "Changed in the console"


def test_an_edit_of_another_field_fails_only_that_resource_and_names_it(
    sandbox: SandboxProcess, org: Path, tmp_path: Path
) -> None:
    saved, report = tmp_path / "plan.json", tmp_path / "report.json"
    run_cli("plan", str(org), "--out", str(saved), env=env(sandbox))
    sandbox.api("PATCH", "/projects/proj_1", json={"description": "theirs"})
    result = run_cli(
        "apply", str(saved), "--auto-approve", "--report", str(report), env=env(sandbox)
    )
    assert result.exit_code == 1
    assert "✗ project.proj_1: failed (changed since plan; run plan again" in result.stdout
    outcomes = {r["address"]: r["outcome"] for r in json.loads(report.read_text())["results"]}
    assert outcomes == {
        "company": "applied",
        "project.proj_1": "failed",
        "project.proj_2": "applied",
    }
    project = sandbox.api("GET", "/projects/proj_1").json()
    assert project["description"] == "theirs"
    assert project["billing_email"] is None
