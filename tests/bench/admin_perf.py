"""Performance of the Admin API provider on a 1,000-member organization.

    python tests/bench/admin_perf.py [--latency-ms 50] [--json admin-bench.json]

Starts a real sandbox seeded with 1,000 users who are all members of one
workspace, with L ms of latency per request, and measures with the installed
CLI (wall time, so Python start-up and the SDK's import are included):

1. ``reconciler plan`` of a file naming all 1,000 users and members, nothing to change;
2. ``reconciler apply`` of 1,000 member role changes (concurrency 8);
3. the start-up alone (``reconciler validate``), to tell it apart from the work.

The limit: a plan reads users, invites, workspaces and keys at once, then every
workspace's members: two round trips of lists of 1,000 (2·L). An apply of k
changes needs at least ceil(k/8)·L for the writes, plus three reads (the plan,
the ids, the read-back: 6·L).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ADMIN_API_KEY = "sk-ant-admin01-sandbox"
MEMBERS = 1000
CONCURRENCY = 8


def seed(path: Path, people: list[str]) -> None:
    path.write_text(
        json.dumps(
            {
                "company": {
                    "id": "org_bench",
                    "name": "Bench",
                    "billing_email": "b@example.com",
                    "plan": "enterprise",
                    "usage_limit": None,
                    "created_at": "2024-01-01T00:00:00Z",
                },
                "keys": [{"key": ADMIN_API_KEY, "scopes": ["organization:admin"]}],
                "admin": {
                    "users": [{"email": e, "role": "user"} for e in people],
                    "workspaces": [
                        {
                            "name": "Everyone",
                            "members": [
                                {"email": e, "workspace_role": "workspace_user"} for e in people
                            ],
                        }
                    ],
                },
            }
        )
    )


def org_file(path: Path, people: list[str], role: str) -> None:
    path.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "provider": "anthropic-admin",
                "users": dict.fromkeys(people, "user"),
                "workspaces": {"Everyone": {"members": dict.fromkeys(people, role)}},
            }
        )
    )


def timed(*args: str, url: str) -> float:
    env = {**os.environ, "ANTHROPIC_ADMIN_KEY": ADMIN_API_KEY, "RECONCILER_BASE_URL": url}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", *args], env=env, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 2):
        raise SystemExit(f"reconciler {' '.join(args)} failed: {done.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    people = [f"person{n:04d}@example.com" for n in range(MEMBERS)]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        seed(work / "seed.json", people)
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "reconciler",
                "sandbox",
                "--db",
                str(work / "b.db"),
                "--port",
                "0",
                "--seed",
                str(work / "seed.json"),
                "--latency-ms",
                str(args.latency_ms),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        url = process.stdout.readline().split()[-1]
        try:
            unchanged, changed = work / "same.yaml", work / "changed.yaml"
            org_file(unchanged, people, "workspace_user")
            org_file(changed, people, "workspace_developer")
            startup = timed("validate", str(unchanged), url=url)
            plan = timed("plan", str(unchanged), url=url)
            apply = timed("apply", str(changed), "--auto-approve", url=url)
        finally:
            process.terminate()
            process.wait(timeout=30)
    rows = [
        ("start-up (validate, no HTTP)", startup, None),
        (f"plan, {MEMBERS} users + {MEMBERS} members", plan, 2 * latency),
        (
            f"apply, {MEMBERS} member changes",
            apply,
            math.ceil(MEMBERS / CONCURRENCY) * latency + 6 * latency,
        ),
    ]
    print(f"{'scenario':<44} {'measured s':>10} {'limit s':>8} {'ratio':>6}")
    for name, measured, limit in rows:
        ratio = f"{measured / limit:6.2f}" if limit else "      "
        shown = f"{limit:8.2f}" if limit else "        "
        print(f"{name:<44} {measured:10.2f} {shown} {ratio}")
    if args.json:
        args.json.write_text(
            json.dumps([{"scenario": n, "measured_s": m, "limit_s": lim} for n, m, lim in rows])
        )


if __name__ == "__main__":
    main()
