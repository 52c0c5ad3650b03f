"""Bad input at each boundary ends as a clear refusal, never a crash or a stored
value that breaks later reads: the sandbox (every bad body is its documented 4xx),
the desired-state file (control characters at their position), output paths
(checked before the first request, never written through a link), and what is
printed (escaped for terminals, CI logs, markdown and its HTML)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from reconciler.core import escape
from reconciler.core.model import Action, FieldChange, Plan, ResourceChange
from reconciler.engine import render
from tests.support import figures
from tests.support.sandbox import ADMIN_KEY, ORG_ADMIN_KEY, SandboxProcess, run_cli

ADMIN_HEADERS = {"x-api-key": ORG_ADMIN_KEY, "anthropic-version": "2023-06-01"}
BAD_COMPANY_REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/v1/organizations/company/projects?limit=%C2%B2", {}),  # superscript two
    ("GET", "/v1/organizations/company/projects?limit=%D9%A1%D9%A2", {}),  # Arabic-Indic 12
    ("PATCH", "/v1/organizations/company", {"content": b'{"name": "\\ud800"}'}),
    ("PATCH", "/v1/organizations/company", {"json": {"name": "Acme\n"}}),
    ("PATCH", "/v1/organizations/company", {"json": {"name": "Acme\u001b[2J"}}),
    ("PATCH", "/v1/organizations/company", {"content": b'{"usage_limit": 1e400}'}),
]
BAD_ADMIN_BODIES: list[tuple[str, dict[str, Any]]] = [
    ("invites", {"email": "not-an-email", "role": "user"}),
    ("invites", {"email": ["a@b.co"], "role": "user"}),
    ("invites", {"email": "a@b.co", "role": ["user"]}),
    ("workspaces", {"name": "x" * 41}),
    ("workspaces", {"name": 7}),
    ("workspaces", {"name": "W", "tags": ["a"]}),
    ("workspaces", {"name": "W", "tags": {"team": 1}}),
    ("workspaces", {"name": "W", "data_residency": "us"}),
    ("workspaces", {"name": "W", "external_key_id": 5}),
    ("api_keys/apikey_01Rj2N8SVvo6BePZj99NhmiT", {"name": None}),
    ("api_keys/apikey_01Rj2N8SVvo6BePZj99NhmiT", {"status": 1}),
    ("spend_limits", {"amount": "1e9", "scope": {"type": "organization"}}),
    ("spend_limits", {"amount": 500, "scope": {"type": "organization"}}),
    ("spend_limits", {"amount": "5", "scope": {"type": "galaxy"}}),
    ("spend_limits", {"amount": "5", "scope": {"type": "organization"}, "period": "yearly"}),
    ("workspaces", {"name": "W", "display_color": "red"}),
]


def test_the_sandbox_answers_bad_company_input_with_a_4xx(api: TestClient) -> None:
    for method, path, kwargs in BAD_COMPANY_REQUESTS:
        if "content" in kwargs:
            kwargs = {**kwargs, "headers": {"content-type": "application/json"}}
        answer = api.request(method, path, **kwargs)
        figures.add("hostile sandbox requests tried")
        assert 400 <= answer.status_code < 500, (path, kwargs, answer.text)
        assert "request_id" in answer.text
    assert api.get("/v1/organizations/company").json()["name"] == "My Awesome Team"


def test_the_sandbox_admin_api_refuses_what_the_real_api_refuses(api: TestClient) -> None:
    for path, body in BAD_ADMIN_BODIES:
        answer = api.post(f"/v1/organizations/{path}", json=body, headers=ADMIN_HEADERS)
        figures.add("hostile sandbox requests tried")
        assert answer.status_code == 400, (path, body, answer.text)
    workspace = api.get("/v1/organizations/workspaces", headers=ADMIN_HEADERS).json()["data"][0]
    entry = api.get("/v1/organizations/rate_limits", headers=ADMIN_HEADERS).json()["data"][0]
    for limits in (
        [{"type": "requests_per_minute", "value": -1}],
        [{"type": "requests_per_minute", "value": "10"}],
        [{"type": "requests_per_hour", "value": 1}],
        [{"type": "requests_per_minute", "value": 1}] * 2,
        [],
    ):
        answer = api.post(
            f"/v1/organizations/workspaces/{workspace['id']}/rate_limits/{entry['id']}",
            json={"limits": limits},
            headers=ADMIN_HEADERS,
        )
        figures.add("hostile sandbox requests tried")
        assert answer.status_code == 400, (limits, answer.text)
    for listing in ("users", "invites", "workspaces", "api_keys", "rate_limits"):
        assert api.get(f"/v1/organizations/{listing}", headers=ADMIN_HEADERS).status_code == 200


def test_the_sandbox_refuses_a_rate_limit_that_is_not_a_number(tmp_path: Path) -> None:
    result = run_cli("sandbox", "--db", str(tmp_path / "s.db"), "--rate-limit", "nan")
    assert result.exit_code == 1
    assert "is not a finite number" in result.output
    assert "Traceback" not in result.output


@pytest.mark.e2e
def test_validate_refuses_control_characters_at_their_position(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(
        'version: 1\napi: {api_key_env: "ORG_ADMIN_KEY\\n"}\ncompany:\n'
        '  name: "Acme\\e[31m"\n  billing_email: |\n    a@b.co\n'
    )
    result = run_cli("validate", str(path))
    assert result.exit_code == 1
    assert "org.yaml:2:20: api.api_key_env: 'ORG_ADMIN_KEY\\u000a' holds a control" in (
        result.stderr
    )
    assert "org.yaml:4:9: company.name:" in result.stderr
    assert "org.yaml:5:18: company.billing_email:" in result.stderr
    assert "\x1b" not in result.stderr.replace("\x1b[31m\x1b[1mError: \x1b[0m", "")


@pytest.mark.e2e
def test_output_paths_are_checked_before_the_first_request(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    org = tmp_path / "org.yaml"
    org.write_text("version: 1\ncompany: {billing_email: finance@example.com}\n")
    env = {"CLAUDE_API_KEY": ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url}
    cases = [
        (
            ["apply", str(org), "--auto-approve", "--report", str(tmp_path / "no/r.json")],
            "cannot write --report",
        ),
        (["apply", str(org), "--auto-approve", "--undo-out", str(tmp_path)], "is a directory"),
        (["plan", str(org), "--out", str(org)], "is also the input"),
        (["export", "--out", str(tmp_path / "missing" / "x.yaml")], "cannot write --out"),
    ]
    for args, says in cases:
        result = run_cli(*args, env=env)
        figures.add("hostile output paths tried")
        assert result.exit_code == 1, result.output
        assert says in result.stderr
    assert sandbox.requests() == []
    assert org.read_text().startswith("version: 1")


@pytest.mark.e2e
def test_files_are_never_written_through_a_planted_link(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    org = tmp_path / "org.yaml"
    org.write_text("version: 1\ncompany: {billing_email: finance@example.com}\n")
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    (tmp_path / ".plan.json.partial").symlink_to(victim)  # the old fixed temporary name
    (tmp_path / "plan.json").symlink_to(victim)
    (tmp_path / "usage.jsonl").symlink_to(victim)
    env = {"CLAUDE_API_KEY": ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url}
    made = run_cli("plan", str(org), "--out", str(tmp_path / "plan.json"), env=env)
    assert made.exit_code == 0, made.output
    assert victim.read_text() == "precious\n"
    assert not (tmp_path / "plan.json").is_symlink()
    assert json.loads((tmp_path / "plan.json").read_text())["format_version"] == 2
    log = run_cli(
        "usage", "--watch", "0.01", "--count", "1", "--log", str(tmp_path / "usage.jsonl"), env=env
    )
    assert log.exit_code == 1
    assert "is a symbolic link" in log.stderr
    assert victim.read_text() == "precious\n"


HOSTILE = "x\x1b[2J\x9b31m\u202e\n::set-output name=leak::1\n##[error]x"
HTML = "<img src=x onerror=alert(1)>|`a`"


def hostile_plan() -> dict[str, Any]:
    resources = [
        ResourceChange(
            f"project.proj_{i}{HOSTILE + HTML if i == 0 else ''}",
            Action.UPDATE,
            None,
            {"name": FieldChange(HTML, HOSTILE)},
        )
        for i in range(12)
    ]
    plan = Plan(
        resources=tuple(resources),
        warnings=(HOSTILE + HTML,),
        about={resources[1].address: HOSTILE + HTML},
        source={"file": "org.yaml", "sha256": "0" * 64},
        api={"base_url": "http://127.0.0.1:9", "key_variable": HOSTILE},
    )
    return {**plan.data(), "source": dict(plan.source)}


def assert_harmless(text: str, *, markdown: bool = False) -> None:
    figures.add("hostile outputs checked")
    assert not any(c in text for c in "\x1b\x9b\u202e"), repr(text)
    for line in text.splitlines():
        assert not line.lstrip().startswith(("::", "##[")), line
    if markdown:  # a "<" shows as text: in a code span, escaped in prose, an entity in HTML
        outside_code = re.sub(r"`[^`\n]*`", "", text)
        assert not re.search(r"(?<!\\)<img", outside_code), outside_code


@pytest.mark.e2e
def test_what_files_and_servers_say_reaches_no_terminal_log_or_page_raw(tmp_path: Path) -> None:
    """A saved plan (untrusted) shown in every format: no control sequence, no line a
    CI runner would take as a command, no HTML from a name in the markdown."""
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(hostile_plan()))
    for fmt in ("text", "markdown"):
        shown = run_cli("show", str(path), "--format", fmt, env={"NO_COLOR": "1"})
        assert shown.exit_code == 0, shown.output
        assert_harmless(shown.stdout, markdown=fmt == "markdown")
    assert "&lt;img" in run_cli("show", str(path), "--format", "markdown").stdout
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({**hostile_plan(), "resources": [{"address": HOSTILE}]}))
    failed = run_cli("show", str(broken))
    assert failed.exit_code == 1
    assert_harmless(failed.stderr.replace("\x1b[31m\x1b[1mError: \x1b[0m", ""))


def test_escaping_keeps_every_character_visible() -> None:
    assert escape.visible("a\nb\x1b") == "a\\u000ab\\u001b"
    assert (
        escape.no_workflow_commands("ok\n  ::stop-commands::x") == "ok\n  \\u003a:stop-commands::x"
    )
    assert "\\|" in escape.markdown_code("a|b")
    assert escape.html_code("<b>") == "&lt;b&gt;"
    text = render.plan_text(Plan(resources=(ResourceChange(HOSTILE, Action.UPDATE, None, {}),)))
    assert_harmless(escape.no_workflow_commands(text))
    assert os.linesep not in escape.visible(HOSTILE)


def test_schema_patterns_end_at_the_end_of_the_text_everywhere(api: TestClient) -> None:
    """A trailing newline passes Python's ``$``: the file checker refuses it, and the
    sandbox refuses it too (its own check, on every body's text)."""
    from reconciler.core.validators import validator_for

    assert list(validator_for({"pattern": "^[A-Z_]+$"}).iter_errors("KEY\n"))
    assert not list(validator_for({"pattern": "^[A-Z_]+$"}).iter_errors("KEY"))
    invite = {"email": "a@b.co\n", "role": "user"}
    answer = api.post("/v1/organizations/invites", json=invite, headers=ADMIN_HEADERS)
    assert answer.status_code == 400, answer.text
    patched = api.patch("/v1/organizations/company", json={"billing_email": "a@b.co\n"})
    assert patched.status_code == 400, patched.text
