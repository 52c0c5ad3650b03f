"""The sandbox as tests meet it: its well-known keys, a real ``reconciler sandbox``
process on a loopback port with its control API, the installed CLI run as a user
runs it, and the usage dashboard (``usage --serve``) started against a sandbox. A
plain module: tests import from here, never from ``conftest``."""

from __future__ import annotations

import copy
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import httpx
import yaml

ADMIN_KEY = "sk-sandbox-admin"
READER_KEY = "sk-sandbox-reader"
CONTROL_KEY = "sk-sandbox-control"
ORG_ADMIN_KEY = "sk-ant-admin01-sandbox"  # the shipped seed's Admin API key
# A company for seeds that are about the Admin API (a seed must have one).
SEED_COMPANY = {
    "id": "org_harness",
    "name": "Harness",
    "billing_email": "billing@example.com",
    "plan": "enterprise",
    "usage_limit": None,
    "created_at": "2024-01-01T00:00:00Z",
}


def admin_seed(workspaces: list[dict[str, Any]], **admin: Any) -> dict[str, Any]:
    """A seed about the Admin API: the harness company, the Admin API and control keys,
    one admin user, ``workspaces`` and the rest of the ``admin`` section (``admin``)."""
    return {
        "company": SEED_COMPANY,
        "keys": [
            {"key": ORG_ADMIN_KEY, "scopes": ["organization:admin"]},
            {"key": CONTROL_KEY, "scopes": ["sandbox:control"]},
            {"key": ADMIN_KEY, "scopes": ["organization:read", "organization:write"]},
        ],
        "admin": {
            "users": [{"email": "ada@example.com", "name": "Ada", "role": "admin"}],
            "workspaces": workspaces,
            **admin,
        },
    }


# The shipped seed's federation: the rule a job of my-org/org-settings on main signs in
# under, the service account it acts as, and the organization.
RULE_ID = "fdrl_01SandboxOrgSettingsMain"
SERVICE_ACCOUNT_ID = "svac_01SandboxReconcilerCI"
ORGANIZATION_ID = "2f9a1c3e-5b7d-4e6f-8a9b-0c1d2e3f4a5b"
FEDERATION_VARIABLES = (
    "ANTHROPIC_FEDERATION_RULE_ID",
    "ANTHROPIC_ORGANIZATION_ID",
    "ANTHROPIC_SERVICE_ACCOUNT_ID",
    "ANTHROPIC_IDENTITY_TOKEN",
    "ANTHROPIC_IDENTITY_TOKEN_FILE",
    "RECONCILER_AUTH",
)
# The project's root, and the tests' data (hostile files, golden plans, the adopt corpus).
ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
T = TypeVar("T")


def shipped_seed() -> dict[str, Any]:
    """The seed a sandbox starts with when given none: a copy of its own, so a test
    that changes it cannot change the seed every later test restores."""
    return copy.deepcopy(_seed("sandbox-seed.yaml"))


@cache
def _seed(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "reconciler" / "examples" / name).read_text())
    return data


ENTERPRISE_KEY = "sk-ant-api01-sandbox-enterprise"  # the Enterprise seed's Admin key


def enterprise_seed() -> dict[str, Any]:
    """The shipped Claude Enterprise organization (``examples/enterprise-seed.yaml``), a
    copy of its own."""
    return copy.deepcopy(_seed("enterprise-seed.yaml"))


@dataclass
class SandboxProcess:
    """A real ``reconciler sandbox`` process and a way to talk to its control API."""

    url: str
    db: Path
    process: subprocess.Popen[str]
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))

    def control(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(
            method, f"{self.url}/_sandbox/{path}", headers={"x-api-key": CONTROL_KEY}, **kwargs
        )

    def restore(self, settings: dict[str, Any]) -> None:
        """The process as it started: the shipped seed (its keys included), ``settings``
        (read when it started), an empty request log. What a fresh process per test
        gave, for the cost of three requests."""
        self.control("POST", "reset", json=shipped_seed()).raise_for_status()
        self.control("PATCH", "settings", json=settings).raise_for_status()
        self.control("DELETE", "requests").raise_for_status()

    def requests(self) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = self.control("GET", "requests").json()["data"]
        return data

    def writes(self) -> list[dict[str, Any]]:
        return [r for r in self.requests() if r["method"] == "PATCH"]

    def api(self, method: str, path: str, key: str = ADMIN_KEY, **kwargs: Any) -> httpx.Response:
        return self.http.request(
            method,
            f"{self.url}/v1/organizations/company{path}",
            headers={"x-api-key": key, **kwargs.pop("headers", {})},
            **kwargs,
        )

    def admin_call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One Admin API request (``users``, ``workspaces/ID/members``...) with the seed's
        Admin key; its JSON, after checking it succeeded."""
        response = self.http.request(
            method,
            f"{self.url}/v1/organizations/{path}",
            headers={
                "x-api-key": ORG_ADMIN_KEY,
                "anthropic-version": "2023-06-01",
                "anthropic-beta": "spend-limit-reads-2026-09-26",
            },
            **kwargs,
        )
        response.raise_for_status()
        return response.json()

    def admin_list(self, path: str) -> list[dict[str, Any]]:
        """Every item of an Admin API list (one page of 1,000 is all a test makes)."""
        data: list[dict[str, Any]] = self.admin_call("GET", path, params={"limit": 1000})["data"]
        return data

    def identity_token(self, **claims: Any) -> str:
        """An identity token the sandbox signs: a GitHub Actions job the shipped rule
        accepts, with ``claims`` changed (None leaves a claim out)."""
        response = self.control("POST", "oidc/token", json=claims)
        response.raise_for_status()
        token: str = response.json()["token"]
        return token

    def federated(self, token: str, **changes: str) -> dict[str, str]:
        """The environment of a CI job signed in by federation: no key anywhere."""
        return {
            "RECONCILER_BASE_URL": self.url,
            "ANTHROPIC_FEDERATION_RULE_ID": RULE_ID,
            "ANTHROPIC_ORGANIZATION_ID": ORGANIZATION_ID,
            "ANTHROPIC_SERVICE_ACCOUNT_ID": SERVICE_ACCOUNT_ID,
            "ANTHROPIC_IDENTITY_TOKEN": token,
            **changes,
        }

    def stop(self) -> int:
        self.http.close()
        self.process.terminate()
        try:
            return self.process.wait(timeout=15)
        finally:
            if self.process.stdout:
                self.process.stdout.close()
            if self.process.stderr:
                self.process.stderr.close()


def reconciler_executable() -> str:
    found = shutil.which("reconciler")
    assert found, "the reconciler console script is not installed (pip install -e '.[test]')"
    return found


def start_sandbox(db: Path, *args: str) -> SandboxProcess:
    process = subprocess.Popen(
        [reconciler_executable(), "sandbox", "--db", str(db), "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("Listening on http://127.0.0.1:"):
        process.kill()
        raise AssertionError(f"sandbox did not start: {line!r} {process.stderr.read()}")
    return SandboxProcess(line.split()[-1], db, process)


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


CLEAN_KEY_ENVIRONMENT = (
    "CLAUDE_API_KEY",
    "ANTHROPIC_ADMIN_KEY",
    "RECONCILER_BASE_URL",
    "GITHUB_ACTIONS",
    *FEDERATION_VARIABLES,
)


def run_cli(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    input: str | None = None,
) -> Run:
    """The command line run in this process, through ``main`` (the installed
    command's own entry point), with click's ``CliRunner`` isolation: arguments,
    environment (a clean key environment plus ``env``), working directory, standard
    input, and standard output and error apart, as a user's pipe receives them. What
    only a process shows (its start-up, signals, what the installed script finds on
    disk) is tested through ``run_installed``."""
    from click.testing import CliRunner

    from reconciler.cli.main import main

    overrides: dict[str, str | None] = dict.fromkeys(CLEAN_KEY_ENVIRONMENT)
    with CliRunner().isolation(input=input, env={**overrides, **(env or {})}) as streams:
        stdout, stderr, _ = streams
        previous = Path.cwd()
        try:
            if cwd is not None:
                os.chdir(cwd)
            main(list(args))
            code: int | str | None = 0
        except SystemExit as exit:
            code = exit.code
        finally:
            os.chdir(previous)
            sys.stdout.flush()
            sys.stderr.flush()
        out, err = stdout.getvalue(), stderr.getvalue()
    if not isinstance(code, int):  # sys.exit("text") prints the text and exits 1
        err += "" if code is None else f"{code}\n"
        code = 0 if code is None else 1
    return Run(code, out.decode(), err.decode("utf-8", "backslashreplace"))


def run_installed(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    input: str | None = None,
    timeout: float = 120,
) -> Run:
    """The installed ``reconciler`` command as a process, with a clean key environment."""
    base = {k: v for k, v in os.environ.items() if k not in CLEAN_KEY_ENVIRONMENT}
    done = subprocess.run(
        [reconciler_executable(), *args],
        env={**base, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        input=input,
        timeout=timeout,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def until(read: Callable[[], T], done: Callable[[T], bool], timeout: float = 60) -> T:
    """``read()`` again until ``done`` says yes: the dashboard polls on its own clock,
    so a test waits for what it expects to see (or fails after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        found = read()
        if done(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


@dataclass
class Dashboard:
    url: str
    process: subprocess.Popen[str]

    def samples(self) -> dict[str, Any]:
        found: dict[str, Any] = httpx.get(f"{self.url}/samples.json").json()
        return found

    def page(self) -> httpx.Response:
        return httpx.get(f"{self.url}/")


@contextmanager
def dashboard(
    sandbox: SandboxProcess,
    db: Path,
    *args: str,
    key: tuple[str, str] = ("CLAUDE_API_KEY", ADMIN_KEY),
) -> Iterator[Dashboard]:
    """``usage --serve`` against ``sandbox`` (the Company API's, unless ``args`` name
    another provider and ``key`` its variable and key), stopped by SIGTERM."""
    variable, value = key
    process = subprocess.Popen(
        [reconciler_executable(), "usage", "--serve", "--port", "0", "--db", str(db), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, variable: value, "RECONCILER_BASE_URL": sandbox.url},
    )
    assert process.stdout is not None
    assert process.stderr is not None
    line = process.stdout.readline()
    try:
        assert line.startswith("Listening on http://127.0.0.1:"), process.stderr.read()
        yield Dashboard(line.split()[-1], process)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, process.stderr.read()
        process.stdout.close()
        process.stderr.close()
