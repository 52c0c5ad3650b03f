"""Where a webhook's signing secret (answered once) goes, through the installed
command against a sandbox process: a secrets file that cannot be read as
``{name: secret}`` is never overwritten (it may hold secrets kept nowhere else), and a
webhook name a command cannot be given safely is refused; both before any write."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.sandbox import ORG_ADMIN_KEY, SandboxProcess, run_installed

pytestmark = pytest.mark.e2e


def hook_file(path: Path, name: str) -> Path:
    path.write_text(
        f'version: 1\nprovider: anthropic-admin\nwebhooks:\n  "{name}":\n'
        "    url: https://ops.example/hooks\n    events: [external_key.failed]\n"
    )
    return path


def writes(sandbox: SandboxProcess) -> list[str]:
    return [r["path"] for r in sandbox.requests() if r["method"] not in ("GET", "HEAD")]


def test_a_secrets_file_that_is_not_json_is_never_overwritten(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    env = {"ANTHROPIC_ADMIN_KEY": ORG_ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url}
    org = hook_file(tmp_path / "org.yaml", "ops-alerts")
    secrets = tmp_path / "secrets.json"
    kept = '{"old-hook": "whsec_kept_nowhere_else",\n'  # a hand edit cut short
    secrets.write_text(kept)
    for written in (kept, '["not", "an", "object"]'):
        secrets.write_text(written)
        done = run_installed(
            "apply", str(org), "--auto-approve", "--webhook-secrets-file", str(secrets), env=env
        )
        assert done.exit_code == 1
        assert "nothing was written; fix it or move it away" in done.stderr
        assert "Traceback" not in done.stderr
        assert secrets.read_text() == written
        assert writes(sandbox) == []


def test_a_webhook_name_a_command_cannot_be_given_is_refused_before_any_write(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    env = {"ANTHROPIC_ADMIN_KEY": ORG_ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url}
    org = hook_file(tmp_path / "org.yaml", "ops\\u202ealerts")  # a right-to-left override
    done = run_installed(
        "apply", str(org), "--auto-approve", "--webhook-secret-command", "cat", env=env
    )
    assert done.exit_code == 1
    assert "cannot be given to the webhook secret command" in done.stderr
    assert "\u202e" not in done.stderr
    assert writes(sandbox) == []
