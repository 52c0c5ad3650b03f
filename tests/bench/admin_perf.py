"""Performance of the Admin API provider on a 1,000-member organization.

    python tests/bench/admin_perf.py [--quick] [--latency-ms 50] [--json admin-bench.json]

Starts a real sandbox seeded with 1,000 users who are all members of one
workspace, with L ms of latency per request, and measures with the installed
CLI (wall time, so Python start-up and the SDK's import are included):

1. ``reconciler plan`` of a file naming all 1,000 users and members, nothing to change;
2. ``reconciler apply`` of 1,000 member role changes (concurrency 8);
3. the start-up alone (``reconciler validate``), to tell it apart from the work.

``--quick`` (a smoke run for CI: it proves the benchmark works, not how fast)
uses 100 members and 5 ms of latency.

The limit: a plan reads users, invites, workspaces and keys at once, then every
workspace's members: two round trips of lists of 1,000 (2·L). An apply of k
changes needs at least ceil(k/8)·L for the writes, plus three reads (the plan,
the ids, the read-back: 6·L).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from common import checked, run_cli, write_results

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


def timed(*args: str, url: str) -> tuple[float, float]:
    """Wall time and peak RSS (MB) of one CLI run."""
    env = {"ANTHROPIC_ADMIN_KEY": ADMIN_API_KEY, "RECONCILER_BASE_URL": url}
    measured = checked(run_cli(*args, env=env), *args)
    return measured.seconds, measured.peak_rss_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency-ms", type=float, default=None)
    parser.add_argument("--json", type=Path, default=Path("admin-bench.json"))
    parser.add_argument("--quick", action="store_true", help="100 members, 5 ms: a smoke run")
    args = parser.parse_args()
    members = 100 if args.quick else MEMBERS
    latency_ms = args.latency_ms if args.latency_ms is not None else 5.0 if args.quick else 50.0
    latency = latency_ms / 1000
    people = [f"person{n:04d}@example.com" for n in range(members)]
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
                str(latency_ms),
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
            startup, startup_rss = timed("validate", str(unchanged), url=url)
            plan, plan_rss = timed("plan", str(unchanged), url=url)
            apply, apply_rss = timed("apply", str(changed), "--auto-approve", url=url)
        finally:
            process.terminate()
            process.wait(timeout=30)
    rows = [
        ("start-up (validate, no HTTP)", startup, None, startup_rss),
        (f"plan, {members} users + {members} members", plan, 2 * latency, plan_rss),
        (
            f"apply, {members} member changes",
            apply,
            math.ceil(members / CONCURRENCY) * latency + 6 * latency,
            apply_rss,
        ),
    ]
    print(f"{'scenario':<44} {'measured s':>10} {'limit s':>8} {'ratio':>6} {'peak MB':>8}")
    for name, measured, limit, rss in rows:
        ratio = f"{measured / limit:6.2f}" if limit else "      "
        shown = f"{limit:8.2f}" if limit else "        "
        print(f"{name:<44} {measured:10.2f} {shown} {ratio} {rss:8.1f}")
    write_results(
        args.json,
        [
            {
                "scenario": name,
                "measured_s": measured,
                "limit_s": limit,
                "ratio_to_limit": measured / limit if limit else None,
                "note": f"peak RSS {rss:.0f} MB; L = {latency_ms:g} ms",
            }
            for name, measured, limit, rss in rows
        ],
        {"members": members, "latency_ms": latency_ms},
    )


if __name__ == "__main__":
    main()
