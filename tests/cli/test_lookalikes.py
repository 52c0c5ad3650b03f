"""Look-alikes are named before anything is sent, through the installed command against
a sandbox process: an invite to ``cleo@ex\\u0430mple.com`` (a Cyrillic ``\\u0430``) and a
workspace ``R\\u0435search`` each get a security warning that says
which character is not what it looks like; one found live in a kept section is an
alert. The same file in plain Latin plans with no such word. A role the edit widens
is said too, as the security surface says its own."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from tests.support.sandbox import ADMIN_KEY, ORG_ADMIN_KEY, SandboxProcess, run_cli, shipped_seed

pytestmark = pytest.mark.e2e

CYRILLIC_A = "\u0430"
CYRILLIC_IE = "\u0435"
LOOKALIKE_EMAIL = f"cleo@ex{CYRILLIC_A}mple.com"
LOOKALIKE_WORKSPACE = f"R{CYRILLIC_IE}search"
LOOKALIKE_HOST = "hooks.xn--exmple-4nf.com"  # hooks.ex\u0430mple.com, as IDNA writes it


def env(sandbox: SandboxProcess) -> dict[str, str]:
    return {"ANTHROPIC_ADMIN_KEY": ORG_ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url}


def org_file(tmp_path: Path, email: str, workspace: str) -> Path:
    org = tmp_path / "org.yaml"
    org.write_text(
        "version: 1\nprovider: anthropic-admin\nusers:\n  ada@example.com: admin\n"
        "  cleo@example.com: billing\n  ben@example.com: billing\n"
        f"  {email}: developer\nworkspaces:\n  {workspace}: {{}}\n",
        encoding="utf-8",
    )
    return org


def test_lookalike_email_and_workspace_are_named_before_anything_is_sent(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    org = org_file(tmp_path, LOOKALIKE_EMAIL, LOOKALIKE_WORKSPACE)
    plan = run_cli("plan", str(org), env=env(sandbox))
    assert plan.exit_code == 0, plan.output
    said = plan.stdout
    assert (
        f'user["{LOOKALIKE_EMAIL}"]: its email {LOOKALIKE_EMAIL} may not be what it looks '
        f"like: 'ex{CYRILLIC_A}mple' mixes Cyrillic and Latin letters; U+0430 CYRILLIC SMALL "
        "LETTER A looks like 'a'" in said
    )
    assert (
        f'workspace["{LOOKALIKE_WORKSPACE}"]: its name {LOOKALIKE_WORKSPACE} may not be what '
        f"it looks like: '{LOOKALIKE_WORKSPACE}' mixes Cyrillic and Latin letters; U+0435 "
        "CYRILLIC SMALL LETTER IE looks like 'e'" in said
    )
    # the role the edit widens is said with the look-alikes, not only in the diff; an
    # invite as a developer is everyday work, not a security word of its own
    assert 'user["ben@example.com"]: this edit widens its role from developer to billing' in said
    assert "its role is developer" not in said
    apply = run_cli("apply", str(org), "--auto-approve", env=env(sandbox))
    assert apply.exit_code == 0, apply.output  # a warning, not a refusal: it may be meant
    assert "may not be what it looks like" in apply.output


def test_the_same_file_in_latin_letters_has_no_such_warning(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    org = org_file(tmp_path, "eve@example.com", "Research")
    plan = run_cli("plan", str(org), env=env(sandbox))
    assert plan.exit_code == 0, plan.output
    assert "may not be what it looks like" not in plan.stdout


def test_a_lookalike_user_added_outside_is_an_alert(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    seed = copy.deepcopy(shipped_seed())
    seed["admin"]["users"].append(
        {"email": LOOKALIKE_EMAIL, "name": "Cleo Counts", "role": "developer"}
    )
    assert sandbox.control("POST", "reset", json=seed).status_code == 200
    org = tmp_path / "org.yaml"
    org.write_text(
        "version: 1\nprovider: anthropic-admin\nusers:\n  ada@example.com: admin\n"
        "  cleo@example.com: billing\n  ben@example.com: developer\n  dev@example.com: user\n",
        encoding="utf-8",
    )
    plan = run_cli("plan", str(org), "--detailed-exitcode", env=env(sandbox))
    assert plan.exit_code == 2, plan.output
    assert (
        f'user["{LOOKALIKE_EMAIL}"] is live and not in the file: its email may not be what '
        f"it looks like: 'ex{CYRILLIC_A}mple' mixes Cyrillic and Latin letters" in plan.stdout
    )


def test_a_webhook_to_a_lookalike_host_is_named_as_its_reader_sees_it(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    org = tmp_path / "org.yaml"
    org.write_text(
        "version: 1\nprovider: anthropic-admin\nwebhooks:\n  ops:\n"
        f"    url: https://{LOOKALIKE_HOST}/reconciler\n    events: [external_key.failed]\n",
        encoding="utf-8",
    )
    plan = run_cli("plan", str(org), env=env(sandbox))
    assert plan.exit_code == 0, plan.output
    top = plan.stdout.split("reconciler will make these changes:")[0]
    assert (
        f'webhook["ops"]: its url host hooks.ex{CYRILLIC_A}mple.com may not be what it looks '
        f"like: 'ex{CYRILLIC_A}mple' mixes Cyrillic and Latin letters" in top
    )


def test_a_lookalike_billing_email_is_named_on_the_company_api(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    org = tmp_path / "org.yaml"
    org.write_text(
        f"version: 1\ncompany:\n  billing_email: billing@ex{CYRILLIC_A}mple.com\n",
        encoding="utf-8",
    )
    company = {"CLAUDE_API_KEY": ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url}
    plan = run_cli("plan", str(org), env=company)
    assert plan.exit_code == 0, plan.output
    assert (
        f"company.billing_email: billing@ex{CYRILLIC_A}mple.com may not be what it looks "
        f"like: 'ex{CYRILLIC_A}mple' mixes Cyrillic and Latin letters" in plan.stdout
    )
