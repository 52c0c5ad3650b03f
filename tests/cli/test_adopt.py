"""``reconciler adopt`` through the installed command against a real sandbox: drift
made through the API is written into the file, comments and layout kept, and the
plan afterwards is empty; bad input is refused with one sentence and the file
left as it was."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support.sandbox import ADMIN_KEY, ORG_ADMIN_KEY, SandboxProcess, run_cli

pytestmark = pytest.mark.e2e

COMPANY_FILE = """\
# yaml-language-server: $schema=org.schema.json
version: 1
company:
  name: My Awesome Team           # the Console name
  billing_email: billing@example.com   # finance reads this inbox

projects:
  proj_2: {usage_limit: 100000}   # research budget
"""

ADMIN_FILE = """\
version: 1
provider: anthropic-admin
users:
  ada@example.com: admin
  ben@example.com: developer      # platform team
  cleo@example.com: billing
workspaces:
  Research:
    members:
      prune: true                 # exactly these
      ben@example.com: workspace_developer
      dev@example.com: workspace_user
"""


def company_env(sandbox: SandboxProcess) -> dict[str, str]:
    return {"CLAUDE_API_KEY": ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url}


def admin_env(sandbox: SandboxProcess) -> dict[str, str]:
    return {"ANTHROPIC_ADMIN_KEY": ORG_ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url}


def test_company_drift_is_adopted_line_for_line(sandbox: SandboxProcess, tmp_path: Path) -> None:
    org = tmp_path / "org.yaml"
    org.write_text(COMPANY_FILE)
    sandbox.api("PATCH", "", json={"billing_email": "ap@example.com"})
    sandbox.api("PATCH", "/projects/proj_2", json={"usage_limit": 150000})
    dry = run_cli("adopt", str(org), "--dry-run", env=company_env(sandbox))
    assert dry.exit_code == 0, dry.output
    assert "-  billing_email: billing@example.com   # finance reads this inbox" in dry.stdout
    assert "+  billing_email: ap@example.com        # finance reads this inbox" in dry.stdout
    assert '~ company.billing_email: "billing@example.com" in the file, "ap@example.com" live' in (
        dry.stdout
    )
    assert org.read_text() == COMPANY_FILE  # a dry run writes nothing
    done = run_cli("adopt", str(org), env=company_env(sandbox))
    assert done.exit_code == 0, done.output
    assert org.read_text() == COMPANY_FILE.replace(
        "billing@example.com   #", "ap@example.com        #"
    ).replace("{usage_limit: 100000}", "{usage_limit: 150000}")
    plan = run_cli("plan", str(org), "--detailed-exitcode", env=company_env(sandbox))
    assert plan.exit_code == 0, plan.output


def test_admin_drift_removed_and_pruned_members_are_adopted(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    org = tmp_path / "admin.yaml"
    org.write_text(ADMIN_FILE)
    research = next(w["id"] for w in sandbox.admin_list("workspaces") if w["name"] == "Research")
    users = {u["email"]: u["id"] for u in sandbox.admin_list("users")}
    sandbox.admin_call("POST", f"users/{users['ben@example.com']}", json={"role": "billing"})
    sandbox.admin_call("DELETE", f"workspaces/{research}/members/{users['dev@example.com']}")
    sandbox.admin_call(
        "POST",
        f"workspaces/{research}/members",
        json={"user_id": users["cleo@example.com"], "workspace_role": "workspace_user"},
    )
    done = run_cli("adopt", str(org), env=admin_env(sandbox))
    assert done.exit_code == 0, done.output
    assert org.read_text() == ADMIN_FILE.replace(
        "ben@example.com: developer      #", "ben@example.com: billing        #"
    ).replace("      dev@example.com: workspace_user\n", "      cleo@example.com: workspace_user\n")
    assert '+ member["Research"]["cleo@example.com"]: live, and pruned by the file' in done.stdout
    assert '- member["Research"]["dev@example.com"]: not live' in done.stdout
    plan = run_cli("plan", str(org), "--detailed-exitcode", env=admin_env(sandbox))
    assert plan.exit_code == 0, plan.output


def test_a_company_limit_removed_live_is_adopted_as_null(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    """The Company API's null is a value (no limit): adopt writes it, and the file
    keeps managing the field, rather than dropping the line."""
    org = tmp_path / "org.yaml"
    org.write_text(COMPANY_FILE)
    sandbox.api("PATCH", "/projects/proj_2", json={"usage_limit": None})
    done = run_cli("adopt", str(org), env=company_env(sandbox))
    assert done.exit_code == 0, done.output
    assert org.read_text() == COMPANY_FILE.replace("{usage_limit: 100000}", "{usage_limit: null}")
    plan = run_cli("plan", str(org), "--detailed-exitcode", env=company_env(sandbox))
    assert plan.exit_code == 0, plan.output


def test_no_drift_leaves_the_file_untouched(sandbox: SandboxProcess, tmp_path: Path) -> None:
    org = tmp_path / "org.yaml"
    org.write_text(COMPANY_FILE)
    os.utime(org, (1_000_000, 1_000_000))
    done = run_cli("adopt", str(org), env=company_env(sandbox))
    assert done.exit_code == 0, done.output
    assert done.stdout == f"No drift: {org} already says what is live; it was not touched.\n"
    assert org.stat().st_mtime == 1_000_000


def test_add_unmanaged_brings_in_live_projects(sandbox: SandboxProcess, tmp_path: Path) -> None:
    org = tmp_path / "org.yaml"
    org.write_text(COMPANY_FILE)
    done = run_cli("adopt", str(org), "--add-unmanaged", env=company_env(sandbox))
    assert done.exit_code == 0, done.output
    text = org.read_text()
    # Everything written stays, comments included; the new projects go where they sort.
    head, rest = text.split("projects:\n")
    assert head + "projects:\n" == COMPANY_FILE.split("  proj_2")[0]
    assert rest.startswith("  proj_1:\n    name: Search\n")
    assert "  proj_2: {usage_limit: 100000}   # research budget\n  proj_3:\n" in rest
    assert "    name: Support Bot\n" in rest
    plan = run_cli("plan", str(org), "--format", "json", env=company_env(sandbox))
    assert json.loads(plan.stdout)["summary"]["unmanaged"] == {"project": 0}


@pytest.mark.parametrize("case", ["symlink", "read-only", "invalid", "not-a-mapping"])
def test_a_file_adopt_cannot_write_is_refused_before_any_request(
    sandbox: SandboxProcess, tmp_path: Path, case: str
) -> None:
    real = tmp_path / "real.yaml"
    real.write_text(COMPANY_FILE)
    org = real
    if case == "symlink":
        org = tmp_path / "link.yaml"
        org.symlink_to(real)
    elif case == "read-only":
        real.chmod(0o444)
    elif case == "invalid":
        real.write_text("version: 1\ncompany: [a list]\n")
    else:
        real.write_text("- version: 1\n")
    before = real.read_bytes()
    sandbox.control("DELETE", "requests")
    done = run_cli("adopt", str(org), env=company_env(sandbox))
    assert done.exit_code == 1, done.output
    assert "Traceback" not in done.output
    assert done.stderr.startswith("Error: ")
    assert real.read_bytes() == before
    assert sandbox.requests() == []


def test_adopting_from_a_plan_of_another_version_of_the_file_is_refused(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    org = tmp_path / "org.yaml"
    org.write_text(COMPANY_FILE)
    sandbox.api("PATCH", "", json={"billing_email": "ap@example.com"})
    saved = tmp_path / "drift.json"
    planned = run_cli("plan", str(org), "--out", str(saved), env=company_env(sandbox))
    assert planned.exit_code == 0, planned.output
    org.write_text(COMPANY_FILE.replace("# the Console name", "# edited since"))
    before = org.read_bytes()
    done = run_cli("adopt", str(org), "--plan", str(saved), env=company_env(sandbox))
    assert done.exit_code == 1, done.output
    assert "changed since the saved plan was made; nothing was adopted" in done.stderr
    assert org.read_bytes() == before
    org.write_text(COMPANY_FILE)
    adopted = run_cli("adopt", str(org), "--plan", str(saved), env=company_env(sandbox))
    assert adopted.exit_code == 0, adopted.output
    assert "ap@example.com" in org.read_text()


def test_a_file_with_an_anchor_is_refused_as_validate_refuses_it(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    org = tmp_path / "org.yaml"
    org.write_text(
        "version: 1\ncompany:\n  billing_email: &mail billing@example.com\n"
        "projects:\n  proj_3:\n    billing_email: *mail\n"
    )
    before = org.read_bytes()
    done = run_cli("adopt", str(org), env=company_env(sandbox))
    assert done.exit_code == 1, done.output
    assert "anchor" in done.stderr
    assert org.read_bytes() == before


def test_adopting_from_a_plan_that_claims_more_than_its_file_is_refused(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    """A saved plan holding a change its file does not ask for (true to live state, so
    not stale) would bring an unreviewed resource into the file: refused."""
    org = tmp_path / "org.yaml"
    org.write_text(COMPANY_FILE)
    sandbox.api("PATCH", "", json={"billing_email": "ap@example.com"})
    saved = tmp_path / "drift.json"
    planned = run_cli("plan", str(org), "--out", str(saved), env=company_env(sandbox))
    assert planned.exit_code == 0, planned.output
    data = json.loads(saved.read_text())
    data["resources"].append(
        {
            "address": "project.proj_3",
            "action": "update",
            "etag": None,
            "changes": {"usage_limit": {"before": 50000, "after": 1}},
        }
    )
    saved.write_text(json.dumps(data))
    done = run_cli("adopt", str(org), "--plan", str(saved), env=company_env(sandbox))
    assert done.exit_code == 1, done.output
    assert "does not match" in done.stderr
    assert org.read_text() == COMPANY_FILE


def test_adopting_from_a_plan_made_against_another_api_is_refused_before_any_request(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    """As apply: a saved plan speaks only of the API it read; adopt --plan against
    another one is refused before anything is read or written."""
    org = tmp_path / "org.yaml"
    org.write_text(COMPANY_FILE)
    sandbox.api("PATCH", "", json={"billing_email": "ap@example.com"})
    saved = tmp_path / "drift.json"
    planned = run_cli("plan", str(org), "--out", str(saved), env=company_env(sandbox))
    assert planned.exit_code == 0, planned.output
    data = json.loads(saved.read_text())
    data["api"]["base_url"] = "http://127.0.0.1:9"  # another API than the one adopted from
    saved.write_text(json.dumps(data))
    sandbox.control("DELETE", "requests")
    done = run_cli("adopt", str(org), "--plan", str(saved), env=company_env(sandbox))
    assert done.exit_code == 1, done.output
    assert done.stderr.startswith("Error: The saved plan was made against http://127.0.0.1:9, not ")
    assert org.read_text() == COMPANY_FILE
    assert sandbox.requests() == []


def test_adopt_writes_a_hostile_live_name_as_visible_text(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    """A right-to-left override in a live name reordered the rest of the line (its
    comment included) in a terminal ``git diff``, and ``1e3`` was written plain, which
    YAML 1.2 tools read as a number. Now both are quoted, the override as an escape."""
    org = tmp_path / "org.yaml"
    org.write_text(COMPANY_FILE.replace("{usage_limit: 100000}", "{usage_limit: 100000, name: x}"))
    sandbox.api("PATCH", "", json={"name": "Acme\u202e\u2028exe.txt\u00a0"})
    sandbox.api("PATCH", "/projects/proj_2", json={"name": "1e3"})
    done = run_cli("adopt", str(org), env=company_env(sandbox))
    assert done.exit_code == 0, done.output
    text = org.read_text()
    assert '  name: "Acme\\u202E\\u2028exe.txt\\u00A0"  # the Console name\n' in text
    assert (
        "{usage_limit: 100000, name: '1e3'}" in text or '{usage_limit: 100000, name: "1e3"}' in text
    )
    assert all(c.isprintable() for line in text.splitlines() for c in line)
    assert all(c.isprintable() or c == "\n" for c in done.stdout)  # the diff shown too
    plan = run_cli("plan", str(org), "--detailed-exitcode", env=company_env(sandbox))
    assert plan.exit_code == 0, plan.output
