"""A new user's first hour, second pass (issue 30), through the command line: what
got in the way of someone following the README and the docs' walkthroughs."""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.support.sandbox import ADMIN_KEY, SandboxProcess, run_cli

pytestmark = pytest.mark.e2e
ORG = "version: 1\ncompany:\n  billing_email: finance@example.com\n"


def env(sandbox: SandboxProcess) -> dict[str, str]:
    return {"CLAUDE_API_KEY": ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_new_files_take_the_umask_and_replaced_files_keep_their_mode(
    sandbox: SandboxProcess, tmp_path: Path, umask_022: None
) -> None:
    """A CI step running as another user must be able to read what reconciler wrote
    (none of these files holds a secret)."""
    org = tmp_path / "org.yaml"
    assert run_cli("init", str(tmp_path / "starter.yaml"), "--template").exit_code == 0
    assert mode(tmp_path / "starter.yaml") == 0o644
    assert mode(tmp_path / "company.schema.json") == 0o644
    assert run_cli("export", "--out", str(org), env=env(sandbox)).exit_code == 0
    assert mode(org) == 0o644
    org.write_text(ORG)
    plan, report, undo = tmp_path / "plan.json", tmp_path / "report.json", tmp_path / "undo.json"
    assert run_cli("plan", str(org), "--out", str(plan), env=env(sandbox)).exit_code == 0
    applied = run_cli(
        "apply",
        str(org),
        "--auto-approve",
        "--report",
        str(report),
        "--undo-out",
        str(undo),
        env=env(sandbox),
    )
    assert applied.exit_code == 0, applied.output
    assert [mode(p) for p in (plan, report, undo)] == [0o644, 0o644, 0o644]

    org.chmod(0o640)  # the operator's choice for this file
    sandbox.api("PATCH", "", json={"billing_email": "drifted@example.com"})
    adopted = run_cli("adopt", str(org), env=env(sandbox))
    assert adopted.exit_code == 0, adopted.output
    assert "drifted@example.com" in org.read_text()
    assert mode(org) == 0o640
    os.umask(0o077)
    private = run_cli("plan", str(org), "--out", str(tmp_path / "private.json"), env=env(sandbox))
    assert private.exit_code == 0, private.output
    assert mode(tmp_path / "private.json") == 0o600


def test_every_problem_of_a_file_with_holds_is_told_at_once_with_did_you_mean(
    tmp_path: Path,
) -> None:
    """A misspelt key of a hold is named as one (not as a value of the wrong type), and
    a broken hold does not hide the other problems of the file."""
    org = tmp_path / "org.yaml"
    org.write_text(
        "version: 1\n"
        "company:\n"
        "  usage_limit: {value: 5000000, untill: 2026-12-30, then: 1}\n"
        "projects:\n"
        "  proj_1:\n"
        "    usage_limit: {value: 5, until: 2026-12-30}\n"
        "  proj_2:\n"
        '    usage_limit: {value: "x", until: 2026-12-30, then: 3}\n'
    )
    result = run_cli("validate", str(org))
    assert result.exit_code == 1
    assert (
        f"{org}:3:33: company.usage_limit.untill: unknown key 'untill'; did you mean 'until'?"
    ) in result.stderr
    assert f"{org}:6:5: projects.proj_1.usage_limit: a held value is" in result.stderr
    assert "it needs then" in result.stderr
    assert f'{org}:8:26: projects.proj_2.usage_limit: "x" is not a whole number' in result.stderr
    assert "3 problems" in result.stderr
    admin = tmp_path / "admin.yaml"
    admin.write_text(
        "version: 1\nprovider: anthropic-admin\nusers:\n"
        "  ada@example.com: {role: developer, untill: 2026-12-30}\n"
    )
    grant = run_cli("validate", str(admin))
    assert "users.ada@example.com.untill: unknown key 'untill'; did you mean 'until'?" in (
        grant.stderr
    )
    assert "is not text" not in grant.stderr


def test_warn_at_reads_a_percentage_and_refuses_a_bare_share(sandbox: SandboxProcess) -> None:
    """``--warn-at 0.8`` could mean 80 % or 0.8 %: it is refused with both spellings;
    80 and 80% are eighty percent; 0.5% is half a percent."""
    sandbox.control("PATCH", "usage", json={"tokens_used": 10_000})  # 1 % of 1,000,000
    ambiguous = run_cli("usage", "--warn-at", "0.8", env=env(sandbox))
    assert ambiguous.exit_code == 1
    assert "write 80% for 80 percent of the limit, or 0.8% for 0.8 percent" in ambiguous.stderr
    assert sandbox.requests() == []  # refused before any request
    assert run_cli("usage", "--warn-at", "80", env=env(sandbox)).exit_code == 0
    assert run_cli("usage", "--warn-at", "80%", env=env(sandbox)).exit_code == 0
    tiny = run_cli("usage", "--warn-at", "0.5%", env=env(sandbox))
    assert tiny.exit_code == 2
    assert "past --warn-at 0.5%" in tiny.stderr
    assert "0.5% of the limit" not in run_cli("usage", "--help").stdout
    assert "needs its % sign" in run_cli("usage", "--help").stdout


def test_plan_json_is_one_shape_for_one_file_or_several(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    """A plan object per file, naming its file, one per line: the same reader for one
    file and for two."""
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text(ORG)
    second.write_text("version: 1\ncompany:\n  name: Renamed\n")
    one = run_cli("plan", str(first), "--format", "json", env=env(sandbox))
    two = run_cli("plan", str(first), str(second), "--format", "json", env=env(sandbox))
    read = [[json.loads(line) for line in r.stdout.splitlines()] for r in (one, two)]
    assert [p["file"] for p in read[0]] == [str(first)]
    assert [p["file"] for p in read[1]] == [str(first), str(second)]
    assert {k for k in read[0][0] if k != "file"} == {k for k in read[1][1] if k != "file"}
    assert read[1][1]["resources"][0]["changes"]["name"]["after"] == "Renamed"
    assert json.loads(one.stdout)["file"] == str(first)  # one file's output is one document


ADMIN_FILE = """\
version: 1
provider: anthropic-admin
users:
  ada@example.com: admin
  ben@example.com: developer
  cleo@example.com: billing
  dev@example.com: user
  new.hire@example.com: billing
  zed@example.com: user
"""


def test_the_admin_plan_says_it_sends_invitations(sandbox: SandboxProcess, tmp_path: Path) -> None:
    """A new email is an invitation email, and a pending invite with another role is
    sent again: the plan says invite and re-invite, in every format and in a saved plan,
    where it said create and replace."""
    org = tmp_path / "admin.yaml"
    org.write_text(ADMIN_FILE)
    admin_env = {
        "ANTHROPIC_ADMIN_KEY": "sk-ant-admin01-sandbox",
        "RECONCILER_BASE_URL": sandbox.url,
    }
    saved = tmp_path / "plan.json"
    text = run_cli("plan", str(org), "--out", str(saved), env=admin_env)
    assert text.exit_code == 0, text.output
    assert '+ user["zed@example.com"] (invite)' in text.stdout
    assert '-/+ user["new.hire@example.com"] (re-invite)' in text.stdout
    assert "(create)" not in text.stdout
    assert "(replace)" not in text.stdout
    markdown = run_cli("plan", str(org), "--format", "markdown", env=admin_env)
    assert "(invite, 1 field)" in markdown.stdout
    plan = json.loads(run_cli("plan", str(org), "--format", "json", env=admin_env).stdout)
    verbs = {r["address"]: (r["action"], r.get("verb")) for r in plan["resources"]}
    assert verbs['user["zed@example.com"]'] == ("create", "invite")
    assert verbs['user["new.hire@example.com"]'] == ("replace", "re-invite")
    assert "(re-invite)" in run_cli("show", str(saved)).stdout

    tampered = json.loads(saved.read_text())
    for resource in tampered["resources"]:
        resource["action"], resource["verb"] = "delete", "invite"  # a removal dressed up
    saved.write_text(json.dumps(tampered))
    shown = run_cli("show", str(saved))
    assert "(invite)" not in shown.stdout
    assert "(delete)" in shown.stdout


def test_a_sandbox_plan_applied_without_its_url_offers_the_flag(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    org, saved = tmp_path / "org.yaml", tmp_path / "plan.json"
    org.write_text(ORG)
    assert run_cli("plan", str(org), "--out", str(saved), env=env(sandbox)).exit_code == 0
    alone = run_cli("apply", str(saved), "--auto-approve", env={"CLAUDE_API_KEY": ADMIN_KEY})
    assert alone.exit_code == 1
    assert f"add --base-url {sandbox.url}; or run plan again" in alone.stderr
    assert sandbox.writes() == []
    again = run_cli(
        "apply",
        str(saved),
        "--auto-approve",
        "--base-url",
        sandbox.url,
        env={"CLAUDE_API_KEY": ADMIN_KEY},
    )
    assert again.exit_code == 0, again.output


def test_init_writes_several_files_beside_one_schema_and_makes_their_folder(
    tmp_path: Path,
) -> None:
    """The layout ci.md recommends (orgs/acme.yaml, orgs/beta.yaml): a second file
    beside the first shares its schema; a missing folder is made; a schema that differs
    from this version's is not replaced unless asked."""
    first = run_cli("init", str(tmp_path / "orgs" / "acme.yaml"), "--template")
    assert first.exit_code == 0, first.output
    second = run_cli("init", str(tmp_path / "orgs" / "beta.yaml"), "--template")
    assert second.exit_code == 0, second.output
    assert sorted(p.name for p in (tmp_path / "orgs").iterdir()) == [
        "acme.yaml",
        "beta.yaml",
        "company.schema.json",
    ]
    assert run_cli("validate", str(tmp_path / "orgs" / "beta.yaml")).exit_code == 0
    (tmp_path / "orgs" / "company.schema.json").write_text("{}\n")
    old = run_cli("init", str(tmp_path / "orgs" / "gamma.yaml"), "--template")
    assert old.exit_code == 1
    assert "holds another schema" in old.stderr
    assert "'reconciler schema > " in old.stderr
    assert not (tmp_path / "orgs" / "gamma.yaml").exists()
    again = run_cli("init", str(tmp_path / "orgs" / "acme.yaml"), "--template")
    assert again.exit_code == 1  # a file there is never replaced unless asked
    assert "acme.yaml" in again.stderr


def test_an_admin_api_key_brought_to_the_company_api_is_told_where_to_go(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    """Only ANTHROPIC_ADMIN_KEY set (an Admin API key): usage and init say this is the
    Company API, and how to use the Admin API instead, beside the scope refused."""
    admin_only = {
        "ANTHROPIC_ADMIN_KEY": "sk-ant-admin01-sandbox",
        "RECONCILER_BASE_URL": sandbox.url,
    }
    for args in (["usage"], ["init", str(tmp_path / "new.yaml")]):
        result = run_cli(*args, env=admin_only)
        assert result.exit_code == 1
        assert "lacks the scope organization:read" in result.stderr
        assert (
            "This is the Company API; if ANTHROPIC_ADMIN_KEY holds an Anthropic Admin API key"
            in (result.stderr)
        )
        assert "reconciler init --provider anthropic-admin" in result.stderr
    company_key = run_cli(
        "usage", env={"CLAUDE_API_KEY": "sk-wrong", "RECONCILER_BASE_URL": sandbox.url}
    )
    assert "This is the Company API" not in company_key.stderr  # only for the Admin API's variable


def test_help_reads_as_a_newcomer_needs_it() -> None:
    """Bare reconciler is the help (exit 0), main commands first, each short help a
    whole sentence; offline commands do not offer network options; every option of
    apply and the sandbox says what it does."""
    bare = run_cli()
    assert bare.exit_code == 0
    assert "Error" not in bare.output
    assert "(see 'reconciler --help')" not in bare.output
    main_at, other_at = bare.stdout.index("Main commands:"), bare.stdout.index("Other commands:")
    assert main_at < other_at
    listed = bare.stdout[main_at:other_at]
    assert [line.split()[0] for line in listed.splitlines()[1:] if line.strip()] == [
        "init",
        "validate",
        "plan",
        "apply",
        "show",
    ]
    for line in bare.stdout[main_at:].splitlines():
        if line.startswith("  ") and line.strip():
            assert not line.rstrip().endswith("..."), line  # never cut mid-sentence
    for offline in ("validate", "schema", "show"):
        text = run_cli(offline, "--help").stdout
        assert "--timeout" not in text
        assert "--insecure" not in text
        assert "--debug" in text
    apply_help = run_cli("apply", "--help").stdout
    assert "Make the changes of SOURCES" in apply_help
    assert "Writes in flight at once" in apply_help
    sandbox_help = run_cli("sandbox", "--help").stdout
    assert "Added to every API request" in sandbox_help
    assert "Up to this much more latency" in sandbox_help


def test_a_plan_apply_would_refuse_is_shown_saved_and_fails(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    """As Terraform fails a plan that breaks prevent_destroy: the plan is shown in full
    and saved, then the command fails naming the guard, with or without
    --detailed-exitcode."""
    org, saved = tmp_path / "org.yaml", tmp_path / "plan.json"
    org.write_text(
        "version: 1\nprovider: anthropic-admin\nworkspaces:\n  Research:\n"
        "    members:\n      prune: true\n      ben@example.com: workspace_developer\n"
    )
    admin_env = {
        "ANTHROPIC_ADMIN_KEY": "sk-ant-admin01-sandbox",
        "RECONCILER_BASE_URL": sandbox.url,
    }
    for extra in ([], ["--detailed-exitcode"]):
        result = run_cli("plan", str(org), "--out", str(saved), *extra, env=admin_env)
        assert result.exit_code == 1
        assert '- member["Research"]["dev@example.com"] (delete)' in result.stdout
        assert "Apply refuses this plan without --force (" in result.stderr
        assert "removes 1 of 2 members of workspace" in result.stderr
        assert saved.exists()
    assert "Apply refuses this plan without --force" in run_cli("show", str(saved)).stdout
    assert sandbox.writes() == []


def test_usage_names_the_periods_days_and_json_has_the_projection(
    sandbox: SandboxProcess,
) -> None:
    text = run_cli("usage", env=env(sandbox)).stdout
    assert "T00:00:00" not in text
    found = re.search(r"period (\d{4}-\d\d-\d\d) to (\d{4}-\d\d-\d\d)", text)
    assert found is not None
    first, last = (date.fromisoformat(d) for d in found.groups())
    assert first.day == 1
    assert (last + timedelta(days=1)).day == 1  # the last day of the month, inside it
    assert last.month == first.month
    data = json.loads(run_cli("usage", "--format", "json", env=env(sandbox)).stdout)
    assert set(data["projection"]) == {"projected", "reaches_limit", "over"}
    summary = run_cli("usage", "--format", "markdown", env=env(sandbox)).stdout
    assert f"| Period | {first.isoformat()} to {last.isoformat()} |" in summary


def test_show_names_the_plans_file_and_the_report_shows_what_changed(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    org, saved, report = tmp_path / "org.yaml", tmp_path / "artifact-123.json", tmp_path / "r.json"
    org.write_text(ORG)
    assert run_cli("plan", str(org), "--out", str(saved), env=env(sandbox)).exit_code == 0
    shown = run_cli("show", str(saved), "--format", "markdown").stdout
    assert shown.startswith(f"### reconciler: `{org}`")
    assert "artifact-123" not in shown.splitlines()[0]
    applied = run_cli(
        "apply", str(saved), "--auto-approve", "--report", str(report), env=env(sandbox)
    )
    assert applied.exit_code == 0, applied.output
    table = run_cli("show", str(report), "--format", "markdown").stdout
    assert "| resource | outcome | changes | why |" in table
    assert '`billing_email`: `"billing@example.com"` → `"finance@example.com"`' in table


def test_adopt_keeps_the_files_spacing_and_quoting(sandbox: SandboxProcess, tmp_path: Path) -> None:
    """A longer value keeps the two spaces written before its comment; an empty text in
    a file that quotes with '' is written ''."""
    org = tmp_path / "org.yaml"
    org.write_text(
        "version: 1\ncompany:\n  name: 'Acme'\nprojects:\n  proj_2:\n"
        "    name: 'R'  # renamed\n    description: x\n"
    )
    sandbox.api("PATCH", "/projects/proj_2", json={"description": ""})
    adopted = run_cli("adopt", str(org), env=env(sandbox))
    assert adopted.exit_code == 0, adopted.output
    text = org.read_text()
    assert "    name: 'Research Lab'  # renamed\n" in text
    assert "    description: ''\n" in text


def test_warn_at_goes_with_the_dashboard() -> None:
    refused = run_cli("usage", "--serve", "--watch")
    assert "goes with --port, --interval, --db and --warn-at" in refused.stderr
    help_text = run_cli("usage", "--help").stdout
    assert "with --warn-at, its threshold is drawn" in " ".join(help_text.split())


def test_the_served_dashboard_draws_warn_at_and_turns_amber(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    from tests.support.sandbox import dashboard, until

    sandbox.control("PATCH", "usage", json={"tokens_used": 10_000})  # 1 % of the limit
    with dashboard(sandbox, tmp_path / "usage.db", "--interval", "1", "--warn-at", "0.5%") as board:
        until(board.samples, lambda s: len(s["data"]) >= 1)
        shown = board.page().text
    assert '<p class="risk risk-amber" id="risk" role="alert">' in shown
    assert 'class="threshold"' in shown
