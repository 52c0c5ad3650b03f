"""The work reconciler does for fixed scenarios, counted rather than timed, and
compared with a committed baseline: a check that does not need a quiet machine.

    python tests/bench/work.py --check tests/bench/work-baseline.json   # what CI runs
    python tests/bench/work.py --write tests/bench/work-baseline.json   # after a change
                                                                        # meant to move it

Each scenario runs the command line in this process (its imports done by a first,
uncounted run) against a real sandbox process with no latency, and counts:

- **requests** the sandbox answered, and **writes** among them (its request log):
  these are exact, so any rise fails;
- **refused**: requests it answered 429, in the scenarios under a rate limit. When a
  429 comes is a matter of timing, so it fails only past ``REFUSED_SHARE`` of the
  requests (and the baseline): a change that brings back a storm of 429s fails on
  any machine;
- **calls**: Python and built-in function calls in the client process during the
  command (cProfile's count). Event-loop scheduling moves it by a few per cent
  from run to run, so it fails only past ``CALLS_TOLERANCE`` times the baseline: a
  change that doubles the work fails however noisy the machine, a change that
  adds a little passes until the baseline is written again.

A scenario that does less than its baseline passes and says so: write the
baseline again to hold the gain.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

CALLS_TOLERANCE = 1.25
REFUSED_SHARE = 0.05
RATE = 20  # requests a second, in the scenarios under a rate limit
CONTROL_KEY = "sk-sandbox-control"
COMPANY_KEY = "sk-sandbox-admin"
ADMIN_API_KEY = "sk-ant-admin01-sandbox"


@dataclass(frozen=True)
class Sizes:
    """How big the fixed scenarios are: the committed baseline is for the defaults."""

    projects: int = 1000
    project_changes: int = 100
    people: int = 300
    member_changes: int = 100
    invites: int = 60  # under a rate limit of RATE a second


@dataclass(frozen=True)
class Work:
    requests: int
    writes: int
    calls: int
    refused: int = 0

    def data(self) -> dict[str, int]:
        return {
            "requests": self.requests,
            "writes": self.writes,
            "calls": self.calls,
            "refused": self.refused,
        }


class Sandbox:
    """A ``reconciler sandbox`` process on a free loopback port, and its request log."""

    def __init__(self, workdir: Path, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "sandbox", "--port", "0", *args],
            stdout=subprocess.PIPE,
            text=True,
            cwd=workdir,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("Listening on "):
            raise SystemExit(f"sandbox did not start: {line!r}")
        self.url = line.split()[-1]
        self.http = httpx.Client(
            base_url=f"{self.url}/_sandbox", headers={"x-api-key": CONTROL_KEY}, timeout=60
        )

    def log(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.http.get("/requests").json()["data"]
        return found

    def clear(self) -> None:
        self.http.delete("/requests").raise_for_status()

    def stop(self) -> None:
        self.http.close()
        self.process.terminate()
        self.process.wait(timeout=30)


@contextlib.contextmanager
def sandbox(workdir: Path, *args: str) -> Iterator[Sandbox]:
    running = Sandbox(workdir, *args)
    try:
        yield running
    finally:
        running.stop()


def command(args: list[str], env: dict[str, str]) -> int:
    """The command line in this process, its output kept from the terminal."""
    from reconciler.cli.main import main

    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            main(args)
    except SystemExit as exit:
        return exit.code if isinstance(exit.code, int) else 1
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return 0


def counted(
    server: Sandbox, args: list[str], env: dict[str, str], exits: tuple[int, ...] = (0, 2)
) -> Work:
    """One command's requests, writes and function calls; an exit code not in ``exits``
    stops the check (a storm of 429s may fail changes: its 429s then fail it)."""
    server.clear()
    profile = cProfile.Profile()
    profile.enable()
    try:
        code = command(args, env)
    finally:
        profile.disable()
    if code not in exits:
        raise SystemExit(f"reconciler {' '.join(args)} exited {code}")
    log = server.log()
    calls = pstats.Stats(profile).total_calls  # type: ignore[attr-defined]
    answered = [r for r in log if r["status"] != 429]
    writes = sum(1 for r in answered if r["method"] != "GET")
    return Work(len(answered), writes, int(calls), refused=len(log) - len(answered))


def company_file(path: Path, projects: int, changes: int) -> None:
    width = max(5, len(str(projects)))
    lines = ["version: 1", "projects:"]
    for n in range(1, projects + 1):
        value = 1000 + n if n <= changes else "null"
        lines.append(f"  proj_{n:0{width}d}: {{usage_limit: {value}}}")
    path.write_text("\n".join(lines) + "\n")


def admin_seed(path: Path, people: list[str]) -> None:
    company = {
        "id": "org_work",
        "name": "Work",
        "billing_email": "b@example.com",
        "plan": "enterprise",
        "usage_limit": None,
        "created_at": "2024-01-01T00:00:00Z",
    }
    members = [{"email": e, "workspace_role": "workspace_user"} for e in people]
    seed = {
        "company": company,
        "keys": [
            {"key": ADMIN_API_KEY, "scopes": ["organization:admin"]},
            {"key": CONTROL_KEY, "scopes": ["sandbox:control"]},
        ],
        "admin": {
            "users": [{"email": e, "role": "user"} for e in people],
            "workspaces": [{"name": "Everyone", "members": members}],
        },
    }
    path.write_text(json.dumps(seed))


def admin_file(path: Path, people: list[str], changes: int) -> None:
    roles = {
        e: "workspace_developer" if i < changes else "workspace_user" for i, e in enumerate(people)
    }
    data = {
        "version": 1,
        "provider": "anthropic-admin",
        "users": dict.fromkeys(people, "user"),
        "workspaces": {"Everyone": {"members": roles}},
    }
    path.write_text(yaml.safe_dump(data))


def measure(
    sizes: Sizes, providers: tuple[str, ...] = ("company", "admin")
) -> dict[str, dict[str, int]]:
    """Every scenario's work: plan and apply, for each provider."""
    found: dict[str, dict[str, int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if "company" in providers:
            found |= _company(workdir, sizes)
        if "admin" in providers:
            found |= _admin(workdir, sizes)
    return found


def _company(workdir: Path, sizes: Sizes) -> dict[str, dict[str, int]]:
    org = workdir / "company.yaml"
    company_file(org, sizes.projects, sizes.project_changes)
    projects = str(sizes.projects)
    with sandbox(workdir, "--db", "company.db", "--generate-projects", projects) as server:
        env = {"CLAUDE_API_KEY": COMPANY_KEY, "RECONCILER_BASE_URL": server.url}
        command(["plan", str(org)], env)  # imports and caches: not the work
        plan = counted(server, ["plan", str(org)], env)
        apply = counted(server, ["apply", str(org), "--auto-approve"], env)
    return {"company plan": plan.data(), "company apply": apply.data()}


def _admin(workdir: Path, sizes: Sizes) -> dict[str, dict[str, int]]:
    org = workdir / "admin.yaml"
    people = [f"person{n:04d}@example.com" for n in range(sizes.people)]
    admin_seed(workdir / "seed.json", people)
    admin_file(org, people, sizes.member_changes)
    with sandbox(workdir, "--db", "admin.db", "--seed", "seed.json") as server:
        env = {"ANTHROPIC_ADMIN_KEY": ADMIN_API_KEY, "RECONCILER_BASE_URL": server.url}
        command(["plan", str(org)], env)  # the SDK's import: not the work
        plan = counted(server, ["plan", str(org)], env)
        apply = counted(server, ["apply", str(org), "--auto-approve"], env)
    invites = workdir / "invites.yaml"
    invites.write_text(
        "version: 1\nprovider: anthropic-admin\nusers:\n  ada@example.com: admin\n"
        + "".join(f"  invited{n:03d}@example.com: developer\n" for n in range(sizes.invites))
    )
    with sandbox(workdir, "--db", "limited.db", "--rate-limit", str(RATE)) as server:
        env = {"ANTHROPIC_ADMIN_KEY": ADMIN_API_KEY, "RECONCILER_BASE_URL": server.url}
        limited = counted(server, ["apply", str(invites), "--auto-approve"], env, (0, 1))
    return {
        "admin plan": plan.data(),
        "admin apply": apply.data(),
        "admin apply, rate limited": limited.data(),
    }


def compare(
    measured: dict[str, dict[str, int]], baseline: dict[str, dict[str, int]]
) -> tuple[list[str], list[str]]:
    """What is over the baseline (failures) and what is under it (notes)."""
    over: list[str] = []
    under: list[str] = []
    for scenario, wanted in baseline.items():
        got = measured.get(scenario)
        if got is None:
            over.append(f"{scenario}: not measured")
            continue
        for name in ("requests", "writes"):
            if got[name] > wanted[name]:
                over.append(f"{scenario}: {got[name]} {name}, the baseline has {wanted[name]}")
            elif got[name] < wanted[name]:
                under.append(f"{scenario}: {got[name]} {name}, the baseline has {wanted[name]}")
        refused, allowed = got.get("refused", 0), wanted.get("refused", 0)
        if refused > max(allowed, REFUSED_SHARE * got["requests"]):
            over.append(
                f"{scenario}: {refused} requests answered 429, more than "
                f"{REFUSED_SHARE:.0%} of its {got['requests']} (a storm of 429s)"
            )
        ratio = got["calls"] / wanted["calls"]
        if ratio > CALLS_TOLERANCE:
            over.append(
                f"{scenario}: {got['calls']:,} function calls, {ratio:.2f} times the "
                f"baseline's {wanted['calls']:,} (more than {CALLS_TOLERANCE} times)"
            )
        elif ratio < 1 / CALLS_TOLERANCE:
            under.append(f"{scenario}: {got['calls']:,} function calls, {ratio:.2f} times")
    return over, under


def main(measure_work: Callable[[Sizes], dict[str, dict[str, int]]] = measure) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--check", type=Path, metavar="BASELINE")
    action.add_argument("--write", type=Path, metavar="BASELINE")
    args = parser.parse_args()
    measured = measure_work(Sizes())
    for scenario, work in measured.items():
        print(f"{scenario:<14} " + "  ".join(f"{k} {v:>9,}" for k, v in work.items()))
    if args.write:
        args.write.write_text(json.dumps(measured, indent=2) + "\n")
        print(f"wrote {args.write}")
        return
    over, under = compare(measured, json.loads(args.check.read_text()))
    for line in under:
        print(f"less work than the baseline (write it again to keep the gain): {line}")
    for line in over:
        print(f"MORE WORK THAN THE BASELINE: {line}", file=sys.stderr)
    if over:
        raise SystemExit(
            f"{len(over)} scenarios did more work than {args.check}; if that is meant, "
            f"run: python tests/bench/work.py --write {args.check}"
        )


if __name__ == "__main__":
    main()
