"""The key never shows: every command, every format, with and without --debug,
on success, on 401/403 and on errors; in output, plan files, reports, logs."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import figures
from tests.support.hostile import hostile_server
from tests.support.sandbox import SandboxProcess, run_installed, start_sandbox

pytestmark = pytest.mark.e2e

ADMIN = "sk-ant-admin01-CANARY-ADMIN-7f3a9c1e5d"
READER = "sk-ant-admin01-CANARY-READER-0b8e2a4c6f"
UNKNOWN = "sk-ant-admin01-CANARY-UNKNOWN-9d1f3b5a7c"
ORG_ADMIN = "sk-ant-admin01-CANARY-ORGADMIN-5e7c9a1b3d"
CANARIES = (ADMIN, READER, UNKNOWN, ORG_ADMIN)
MARK = "CANARY"  # any piece of a key that names it


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("secrets")


@pytest.fixture(scope="module")
def server(workdir: Path) -> Iterator[SandboxProcess]:
    seed = workdir.parent / "canary-seed.json"
    example = json.loads(
        json.dumps(
            __import__("yaml").safe_load(Path("reconciler/examples/sandbox-seed.yaml").read_text())
        )
    )
    example["keys"] = [
        {"key": ADMIN, "scopes": ["organization:read", "organization:write"]},
        {"key": READER, "scopes": ["organization:read"]},
        {"key": ORG_ADMIN, "scopes": ["organization:admin"]},
        {"key": "sk-sandbox-control", "scopes": ["sandbox:control"]},
    ]
    seed.write_text(json.dumps(example))
    running = start_sandbox(workdir.parent / "canary.db", "--seed", str(seed))
    yield running
    running.stop()


def commands(work: Path) -> list[tuple[list[str], str]]:
    org, plan, report, undo = (
        str(work / n) for n in ("org.yaml", "plan.json", "report.json", "undo.json")
    )
    return [
        (["validate", org], ADMIN),
        (["plan", org], ADMIN),
        (["plan", org, "--format", "json"], ADMIN),
        (["plan", org, "--format", "markdown", "--out", plan], ADMIN),
        (["show", plan, "--format", "text"], ADMIN),
        (["show", plan, "--format", "json"], ADMIN),
        (["show", plan, "--format", "markdown"], ADMIN),
        (["apply", plan, "--auto-approve", "--report", report, "--undo-out", undo], ADMIN),
        (["show", report, "--format", "markdown"], ADMIN),
        (["apply", undo, "--auto-approve"], ADMIN),
        (["apply", org, "--auto-approve"], ADMIN),
        (["export"], ADMIN),
        (["export", "--out", str(work / "exported.yaml")], ADMIN),
        (["usage"], ADMIN),
        (["usage", "--format", "json"], ADMIN),
        (["usage", "--watch", "0.05", "--count", "2", "--log", str(work / "usage.jsonl")], ADMIN),
        (["usage", "--format", "markdown", "--log", str(work / "usage.jsonl")], ADMIN),
        (["usage", "--warn-at", "1%"], ADMIN),  # exit 2 and a warning
        (["usage", "--format", "markdown"], UNKNOWN),  # 401
        (["plan", org], UNKNOWN),  # 401
        (["apply", org, "--auto-approve"], READER),  # 403
        (["plan", org, "--base-url", "http://api.example.com"], ADMIN),  # refused http://
        (["plan", org, "--base-url", "http://127.0.0.1:9"], ADMIN),  # dead server
        (["schema"], ADMIN),
    ]


def leaked(text: str) -> int:
    """Bytes of key found: whole keys, and any fragment carrying the canary mark."""
    return sum(text.count(k) * len(k) for k in CANARIES) + text.count(MARK) * len(MARK)


def run_all(
    to_run: list[tuple[list[str], str]],
    key_variable: str,
    server: SandboxProcess,
    debug: bool,
    *,
    hostile: tuple[str, ...],
    hostile_args: list[str],
) -> tuple[int, int]:
    """Run every command (with ``--debug`` or not), then ``hostile_args`` against each
    hostile scenario; how many runs, and how many bytes of key their output held."""
    prefix = ["--debug"] if debug else []
    runs = total = 0
    for args, key in to_run:
        env = {key_variable: key, "RECONCILER_BASE_URL": server.url}
        result = run_installed(*prefix, "--timeout", "0.5", *args, env=env, timeout=120)
        runs += 1
        total += leaked(result.stdout) + leaked(result.stderr)
    with hostile_server() as (base, _):
        for scenario in hostile:
            result = run_installed(
                *prefix,
                "--timeout",
                "0.5",
                *hostile_args,
                "--base-url",
                f"{base}/{scenario}",
                env={key_variable: to_run[0][1]},
            )
            runs += 1
            total += leaked(result.stdout) + leaked(result.stderr)
            if debug:
                assert "Traceback" in result.stderr  # --debug really shows the traceback
    return runs, total


def leaked_in_files(work: Path) -> int:
    return sum(leaked(f.read_text(errors="replace")) for f in work.rglob("*") if f.is_file())


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_no_command_shows_the_key(server: SandboxProcess, workdir: Path, debug: bool) -> None:
    work = workdir / ("debug" if debug else "plain")
    work.mkdir()
    (work / "org.yaml").write_text(
        "version: 1\ncompany:\n  billing_email: finance@example.com\n"
        "projects:\n  proj_1: {usage_limit: 7}\n"
    )
    runs, total = run_all(
        commands(work),
        "CLAUDE_API_KEY",
        server,
        debug,
        hostile=("malformed-json", "wrong-types", "redirect", "error-without-json"),
        hostile_args=["plan", str(work / "org.yaml")],
    )
    total += leaked_in_files(work)
    figures.add("command runs checked for the key", runs)
    figures.add("bytes of key leaked", total)
    assert total == 0


def admin_commands(work: Path) -> list[tuple[list[str], str]]:
    org, plan, report, undo = (
        str(work / n) for n in ("admin.yaml", "plan.json", "report.json", "undo.json")
    )
    return [
        (["plan", org], ORG_ADMIN),
        (["plan", org, "--format", "json"], ORG_ADMIN),
        (["plan", org, "--format", "markdown", "--out", plan], ORG_ADMIN),
        (["show", plan], ORG_ADMIN),
        (["apply", plan, "--auto-approve", "--report", report, "--undo-out", undo], ORG_ADMIN),
        (["apply", undo, "--auto-approve"], ORG_ADMIN),
        (["apply", org, "--auto-approve"], ORG_ADMIN),
        (["export", "--provider", "anthropic-admin"], ORG_ADMIN),
        (["export", "--provider", "anthropic-admin", "--out", str(work / "out.yaml")], ORG_ADMIN),
        (["usage", org, "--format", "markdown", "--warn-at", "1%"], ORG_ADMIN),
        (["usage", org, "--format", "json"], ORG_ADMIN),
        (["usage", org], UNKNOWN),  # 401
        (["plan", org], UNKNOWN),  # 401
        (["apply", org, "--auto-approve"], ADMIN),  # 403: a Company key
        (["plan", org, "--base-url", "http://api.example.com"], ORG_ADMIN),  # refused http://
        (["plan", org, "--base-url", "http://127.0.0.1:9"], ORG_ADMIN),  # dead server
    ]


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_no_admin_provider_command_shows_the_key(
    server: SandboxProcess, workdir: Path, debug: bool
) -> None:
    """The same for the Admin API provider, whose errors come from Anthropic's SDK."""
    work = workdir / ("admin-debug" if debug else "admin-plain")
    work.mkdir()
    (work / "admin.yaml").write_text(
        "version: 1\nprovider: anthropic-admin\nspend_limits: {monthly: 123400}\n"
        "users:\n  ben@example.com: billing\n"
        "  someone@example.com: user\nworkspaces:\n  Canaries:\n    members:\n"
        "      ben@example.com: workspace_user\n"
        "    spend_limits: {monthly: 5000}\n    display_color: '#0A0B0C'\n"
        "    rate_limits:\n      rlg_01VPTCmyiu5ZLsWkcxYG2pY8: {requests_per_minute: 9}\n"
    )
    runs, total = run_all(
        admin_commands(work),
        "ANTHROPIC_ADMIN_KEY",
        server,
        debug,
        hostile=("malformed-json", "redirect"),
        hostile_args=["plan", str(work / "admin.yaml")],
    )
    total += leaked_in_files(work)
    figures.add("command runs checked for the key", runs)
    figures.add("bytes of key leaked", total)
    assert total == 0


def test_the_sandbox_keeps_no_key_in_its_database_or_output(server: SandboxProcess) -> None:
    assert MARK.encode() not in server.db.read_bytes()
    wal = server.db.with_name(server.db.name + "-wal")
    if wal.exists():
        assert MARK.encode() not in wal.read_bytes()


def test_the_leak_counter_sees_a_key_when_there_is_one() -> None:
    assert leaked(f"x-api-key: {ADMIN}") == len(ADMIN) + len(MARK)
    assert leaked("...CANARY-ADMIN-7f3a...") == len(MARK)


ACCESS_TOKEN_PREFIX = "sk-ant-oat01-"  # every access token the sandbox mints starts so


def token_bytes(text: str, identity_tokens: list[str]) -> int:
    """Bytes of token found: an identity token's payload or signature (the header is the
    same for every token and says nothing), or any access token."""
    pieces = [p for token in identity_tokens for p in token.split(".")[1:]]
    return sum(text.count(p) * len(p) for p in pieces) + text.count(ACCESS_TOKEN_PREFIX) * len(
        ACCESS_TOKEN_PREFIX
    )


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_no_federated_command_shows_a_token(
    server: SandboxProcess, workdir: Path, debug: bool
) -> None:
    """Signed in by federation: no identity token and no access token in any output,
    plan, report or file, on success, on refusals, on a dead server, with tokens
    expiring under an apply; and none in the sandbox's database."""
    work = workdir / ("federated-debug" if debug else "federated-plain")
    work.mkdir()
    org, plan, report = (str(work / n) for n in ("admin.yaml", "plan.json", "report.json"))
    (work / "admin.yaml").write_text(
        "version: 1\nprovider: anthropic-admin\nusers:\n  ben@example.com: billing\n"
        "workspaces:\n  Federated:\n    members:\n      ben@example.com: workspace_user\n"
    )
    now = int(time.time())
    good = server.identity_token()
    refused = {
        "wrong repository": server.identity_token(repository="someone/fork"),
        "expired": server.identity_token(iat=now - 900, nbf=now - 900, exp=now - 600),
    }
    runs = [
        ["plan", org],
        ["plan", org, "--format", "json"],
        ["plan", org, "--format", "markdown", "--out", plan],
        ["show", plan],
        ["show", plan, "--format", "json"],
        ["apply", plan, "--auto-approve", "--report", report],
        ["show", report, "--format", "markdown"],
        ["apply", org, "--auto-approve", "--undo-out", str(work / "undo.json")],  # refused
        ["export", "--provider", "anthropic-admin", "--out", str(work / "out.yaml")],
        ["plan", org, "--base-url", "http://127.0.0.1:9"],  # dead server
    ]
    prefix = ["--debug"] if debug else []
    outputs = [run_installed(*prefix, *args, env=server.federated(good)) for args in runs]
    outputs += [
        run_installed(*prefix, "plan", org, env=server.federated(t)) for t in refused.values()
    ]
    server.control("PATCH", "settings", json={"access_token_requests": 5})
    try:
        (work / "admin.yaml").write_text(
            (work / "admin.yaml").read_text().replace("billing", "developer")
        )
        outputs.append(
            run_installed(*prefix, "apply", org, "--auto-approve", env=server.federated(good))
        )
    finally:
        server.control("PATCH", "settings", json={"access_token_requests": None})
    assert outputs[5].exit_code == 0, outputs[5].output  # the apply that wrote
    assert outputs[-1].exit_code == 0, outputs[-1].output
    tokens = [good, *refused.values()]
    total = sum(token_bytes(r.stdout + r.stderr, tokens) for r in outputs)
    total += sum(
        token_bytes(f.read_text(errors="replace"), tokens) for f in work.rglob("*") if f.is_file()
    )
    database = server.db.read_bytes().decode("latin-1")
    wal = server.db.with_name(server.db.name + "-wal")
    database += wal.read_bytes().decode("latin-1") if wal.exists() else ""
    total += token_bytes(database, tokens)
    figures.add("federated command runs checked for tokens", len(outputs))
    figures.add("bytes of identity or access token leaked", total)
    assert total == 0


def test_the_token_counter_sees_a_token_when_there_is_one() -> None:
    token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    assert token_bytes(f"token={token}", [token]) == len("eyJzdWIiOiJ4In0.c2lnbmF0dXJl") - 1
    assert token_bytes("Bearer sk-ant-oat01-abc", []) == len(ACCESS_TOKEN_PREFIX)


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_webhook_secrets_and_header_values_stay_where_the_operator_said(
    server: SandboxProcess, workdir: Path, debug: bool
) -> None:
    """A webhook's signing secret (answered once) reaches only the operator's secrets
    file, and a telemetry header value (write-only) only the API: never any output, plan,
    report, undo plan, export, the sandbox's request log or its database."""
    work = workdir / ("hooks-debug" if debug else "hooks-plain")
    work.mkdir()
    secrets, values = work.parent / f"{work.name}-secrets.json", work / "headers.json"
    header = f"hv-{MARK}-{work.name}"  # a header value carrying the canary mark
    bound = {"host": "otel.example", "values": {"x-team": header}}
    values.write_text(json.dumps({f"otel-{work.name}": bound}))
    org, plan, report, undo = (
        str(work / n) for n in ("admin.yaml", "plan.json", "report.json", "undo.json")
    )
    Path(org).write_text(
        f"version: 1\nprovider: anthropic-admin\nwebhooks:\n  hooks-{work.name}:\n"
        "    url: https://ops.example/hooks\n    events: [external_key.failed]\n"
        f"telemetry_destinations:\n  otel-{work.name}:\n"
        "    endpoint_url: https://otel.example\n    workspaces: all\n"
        "    header_names: [x-team]\n"
    )
    prefix = ["--debug"] if debug else []
    env = {"ANTHROPIC_ADMIN_KEY": ORG_ADMIN, "RECONCILER_BASE_URL": server.url}
    outputs = []
    for args in (
        ["plan", org, "--format", "json", "--out", plan],
        [
            "apply",
            plan,
            "--auto-approve",
            "--report",
            report,
            "--undo-out",
            undo,
            "--webhook-secrets-file",
            str(secrets),
            "--telemetry-headers-file",
            str(values),
        ],
        ["show", report, "--format", "markdown"],
        ["plan", org, "--format", "markdown"],
        ["export", "--provider", "anthropic-admin", "--out", str(work / "out.yaml")],
    ):
        result = run_installed(*prefix, *args, env=env)
        assert result.exit_code == 0, result.output
        outputs += [result.stdout, result.stderr]
    secret = json.loads(secrets.read_text())[f"hooks-{work.name}"]
    assert secret.startswith("whsec_")
    requests = server.http.get(
        f"{server.url}/_sandbox/requests", headers={"x-api-key": "sk-sandbox-control"}
    ).text
    places = [*outputs, requests] + [
        f.read_text(errors="replace") for f in work.rglob("*") if f != values and f.is_file()
    ]
    database = server.db.read_bytes()
    wal = server.db.with_name(server.db.name + "-wal")
    database += wal.read_bytes() if wal.exists() else b""
    found = sum(p.count(secret) * len(secret) + p.count(header) * len(header) for p in places)
    found += database.count(secret.encode()) * len(secret)
    found += database.count(header.encode()) * len(header)
    figures.add("bytes of webhook secret or header value leaked", found)
    assert found == 0
