"""Performance of the Admin API provider on a 1,000-member organization.

    python tests/bench/admin_perf.py [--quick] [--latency-ms 50] [--json admin-bench.json]

Starts a real sandbox seeded with 1,000 users who are all members of one
workspace, with L ms of latency per request, and measures with the installed
CLI (wall time, so Python start-up and the SDK's import are included):

1. ``python -c "import anthropic"``, the SDK's own floor, in the same run (it and the
   plan are medians of five runs, taken in turn);
2. the start-up alone (``reconciler validate``), to tell it apart from the work;
3. ``reconciler plan`` of a file naming all 1,000 users and members, nothing to change;
4. ``reconciler apply`` of 1,000 member role changes (concurrency 8), against the
   loop a user writes with the SDK alone (list, then one update at a time).

5. under a rate limit of R requests a second (4), against the shipped seed: a plan,
   and an apply of 40 invites; each against what it asked of the API at that rate
   (its answered requests / R; the plan's, plus the SDK's import), with how many were
   answered 429 and how many changes failed.

``--quick`` (a smoke run for CI: it proves the benchmark works, not how fast)
uses 100 members and 5 ms of latency, and 10 invites at 8 requests a second.

The limit: a plan reads users, invites, workspaces and keys at once, then every
workspace's members: two round trips of lists of 1,000 (2·L); the plan's target is
the SDK's import plus 0.5 s. An apply of k changes needs the SDK's import, the
writes as a bare client makes them against the same sandbox eight at a time (at
least ceil(k/8)·L, plus the server's own time and the transport's, measured in the
same run), and three reads (the plan, the ids, the read-back: 6·L).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

import httpx
import yaml
from common import checked, run_cli, write_results

ADMIN_API_KEY = "sk-ant-admin01-sandbox"
CONTROL_KEY = "sk-sandbox-control"
MEMBERS = 1000
CONCURRENCY = 8
RUNS = 5  # the import and the plan, each a median of this many runs
RATE, RATE_QUICK = 4.0, 8.0  # requests a second of the rate-limited runs


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
                "keys": [
                    {"key": ADMIN_API_KEY, "scopes": ["organization:admin"]},
                    {"key": CONTROL_KEY, "scopes": ["sandbox:control"]},
                ],
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


def import_seconds() -> float:
    """``python -c "import anthropic"``: the SDK's own floor under every Admin command."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import anthropic"], check=True)
    return time.perf_counter() - started


def plan_against_import(file: Path, url: str, runs: int) -> tuple[float, float, float, float]:
    """Medians of ``runs`` SDK imports and plans, taken in turn: on two shared cores one
    run of either moves by 0.1 s, more than the margin the plan's target is about.
    Also the plan's peak memory and the sandbox's own time for one plan."""
    imports, plans, peaks, served = [], [], [], []
    for _ in range(runs):
        imports.append(import_seconds())
        service(url)
        seconds, rss = timed("plan", str(file), url=url)
        served.append(service(url))
        plans.append(seconds)
        peaks.append(rss)
    return median(imports), median(plans), max(peaks), median(served)


def service(url: str) -> float:
    """Seconds the sandbox spent on the requests logged since the last clear, less the
    injected latency (it answers one request at a time), and clears the log."""
    control = {"x-api-key": CONTROL_KEY}
    log = httpx.get(f"{url}/_sandbox/requests", headers=control).json()["data"]
    httpx.delete(f"{url}/_sandbox/requests", headers=control)
    return float(sum(r["service_ms"] for r in log)) / 1000


def raw_writes(url: str, role: str) -> float:
    """The fastest the sandbox takes every member's change: a bare client, no SDK, the
    same eight at a time. Latency, the server's own time and the transport: the floor
    under any client's writes, measured in the same run."""

    async def writes() -> float:
        headers = {"x-api-key": ADMIN_API_KEY, "anthropic-version": "2023-06-01"}
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as http:
            found = (await http.get("/v1/organizations/workspaces", params={"limit": 100})).json()
            workspace = next(w["id"] for w in found["data"] if w["name"] == "Everyone")
            path = f"/v1/organizations/workspaces/{workspace}/members"
            members = (await http.get(path, params={"limit": 1000})).json()["data"]
            queue: asyncio.Queue[str] = asyncio.Queue()
            for member in members:
                queue.put_nowait(member["user_id"])
            started = time.perf_counter()

            async def worker() -> None:
                while not queue.empty():
                    user = queue.get_nowait()
                    answer = await http.post(f"{path}/{user}", json={"workspace_role": role})
                    answer.raise_for_status()

            await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
            return time.perf_counter() - started

    return asyncio.run(writes())


def sdk_loop(url: str, role: str) -> float:
    """What a user writes with the SDK alone: list the members, then update each one in
    turn, one request at a time."""
    import anthropic

    started = time.perf_counter()
    client = anthropic.Anthropic(api_key=ADMIN_API_KEY, base_url=url, max_retries=0)
    org = client.beta.organization
    workspace = next(w for w in org.workspaces.list(limit=100) if w.name == "Everyone")
    for member in org.workspaces.members.list(workspace.id, limit=1000):
        if member.workspace_role != role:
            org.workspaces.members.update(
                member.user_id, workspace_id=workspace.id, workspace_role=role
            )
    client.close()
    return time.perf_counter() - started


def started(db: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    """A ``reconciler sandbox`` process on a free port, and its URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "sandbox", "--db", str(db), "--port", "0", *args],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    return process, process.stdout.readline().split()[-1]


def under_rate_limit(work: Path, rate: float, invites: int, sdk_import: float) -> list[Measured]:
    """A plan and an apply of ``invites`` invites against the shipped seed at ``rate``
    requests a second (a burst of as many). The bound of each is what it asked of the
    API at that rate (its answered requests / R), and for the plan the SDK's import
    too: at 4 a second its 11 reads take less time than the import; how many were
    answered 429 and how many changes failed are in the note."""
    process, url = started(work / "limited.db", "--rate-limit", str(rate))
    file = work / "invites.yaml"
    file.write_text(
        "version: 1\nprovider: anthropic-admin\nusers:\n  ada@example.com: admin\n"
        + "".join(f"  invited{n:03d}@example.com: developer\n" for n in range(invites))
    )
    rows = []
    try:
        for command in (("plan",), ("apply", "--auto-approve")):
            time.sleep(1.5)  # the bucket full again after the last run: a fair start
            service(url)
            env = {"ANTHROPIC_ADMIN_KEY": ADMIN_API_KEY, "RECONCILER_BASE_URL": url}
            measured = checked(run_cli(command[0], str(file), *command[1:], env=env), *command)
            log = requests(url)
            refused = sum(1 for r in log if r["status"] == 429)
            answered = len(log) - refused
            failed = measured.stdout.count(": failed")
            planned = command[0] == "plan"
            what = "plan" if planned else f"apply, {invites} invites"
            rows.append(
                Measured(
                    f"{what} at {rate:g} requests/s",
                    measured.seconds,
                    answered / rate + (sdk_import if planned else 0.0),
                    answered / rate,
                    None,
                    measured.peak_rss_mb,
                    note=f"limit = {'import anthropic + ' if planned else ''}its {answered} "
                    f"answered requests / R; {refused} of "
                    f"{len(log)} answered 429 ({100 * refused / max(1, len(log)):.1f} %), "
                    f"{failed} changes failed",
                )
            )
    finally:
        process.terminate()
        process.wait(timeout=30)
    return rows


def requests(url: str) -> list[dict[str, Any]]:
    """The sandbox's request log since it was last cleared."""
    answer = httpx.get(f"{url}/_sandbox/requests", headers={"x-api-key": CONTROL_KEY})
    log: list[dict[str, Any]] = answer.json()["data"]
    return log


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
        process, url = started(
            work / "b.db", "--seed", str(work / "seed.json"), "--latency-ms", str(latency_ms)
        )
        try:
            unchanged, changed = work / "same.yaml", work / "changed.yaml"
            org_file(unchanged, people, "workspace_user")
            org_file(changed, people, "workspace_developer")
            import_seconds()  # the SDK's bytecode cached, as on a user's machine
            startup, startup_rss = timed("validate", str(unchanged), url=url)
            sdk_import, plan, plan_rss, plan_served = plan_against_import(
                unchanged, url, 1 if args.quick else RUNS
            )
            apply, apply_rss = timed("apply", str(changed), "--auto-approve", url=url)
            service(url)  # the log emptied: the bare writes are measured on their own
            loop = sdk_loop(url, "workspace_user")  # the same changes, back again
            floor = raw_writes(url, "workspace_developer")  # and once more, bare
        finally:
            process.terminate()
            process.wait(timeout=30)
        rate, invites = (RATE_QUICK, 10) if args.quick else (RATE, 40)
        limited = under_rate_limit(work, rate, invites, sdk_import)
    writes = math.ceil(members / CONCURRENCY) * latency + 6 * latency
    # What the writes cost any client here, the reads at their latency, and the SDK's
    # import (the floor of every Admin command while reconciler uses the SDK).
    apply_limit = sdk_import + floor + 6 * latency
    rows = [
        Measured("import anthropic (python -c)", sdk_import, None, None, None, None),
        Measured("start-up (validate, no HTTP)", startup, None, None, None, startup_rss),
        Measured(
            f"plan, {members} users + {members} members",
            plan,
            sdk_import + 0.5,
            2 * latency,
            plan_served,
            plan_rss,
            note=f"limit = import anthropic + 0.5 s; plan minus import = {plan - sdk_import:.2f} s"
            f" (medians of {1 if args.quick else RUNS} runs each, in turn)",
        ),
        Measured(
            f"apply, {members} member changes",
            apply,
            apply_limit,
            writes,
            floor - math.ceil(members / CONCURRENCY) * latency,
            apply_rss,
            baseline=loop,
            note=f"limit = import anthropic + the bare writes ({floor:.2f} s, 8 at once) + "
            "6·L of reads; baseline = the SDK loop, one request at a time",
        ),
        *limited,
    ]
    print(f"{'scenario':<44} {'measured s':>10} {'limit s':>8} {'ratio':>6} {'peak MB':>8}")
    for row in rows:
        ratio = f"{row.seconds / row.limit:6.2f}" if row.limit else "      "
        shown = f"{row.limit:8.2f}" if row.limit else "        "
        rss = f"{row.rss:8.1f}" if row.rss else ""
        print(f"{row.name:<44} {row.seconds:10.2f} {shown} {ratio} {rss}")
    write_results(
        args.json,
        [row.data(latency_ms) for row in rows],
        {
            "members": members,
            "latency_ms": latency_ms,
            "plan_minus_import_s": round(plan - sdk_import, 3),
        },
    )


@dataclass(frozen=True)
class Measured:
    name: str
    seconds: float
    limit: float | None
    network: float | None
    sandbox: float | None
    rss: float | None
    baseline: float | None = None
    note: str = ""

    def data(self, latency_ms: float) -> dict[str, Any]:
        return {
            "scenario": self.name,
            "measured_s": self.seconds,
            "limit_s": self.limit,
            "ratio_to_limit": self.seconds / self.limit if self.limit else None,
            "baseline_s": self.baseline,
            "speedup_vs_baseline": self.baseline / self.seconds if self.baseline else None,
            "network_s": self.network,
            "sandbox_s": self.sandbox,
            "note": "; ".join(
                n
                for n in (
                    self.note,
                    f"peak RSS {self.rss:.0f} MB" if self.rss else "",
                    f"L = {latency_ms:g} ms",
                )
                if n
            ),
        }


if __name__ == "__main__":
    main()
