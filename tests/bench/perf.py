"""Performance of reconciler against the limit of the network and the hand-written loop.

    python tests/bench/perf.py [--quick] [--json bench-results.json]

Starts real sandboxes (``--generate-projects N --latency-ms 50 [--rate-limit 100]``)
and measures, side by side:

1. ``reconciler plan`` (the installed CLI, wall time) for N = 100, 1,000, 10,000;
2. ``reconciler apply`` of k = 100 and 1,000 changed projects with R = 100 requests/s,
   counting the 429s the sandbox answered;
3. the baseline a user writes today: the guide's sequential loop, one GET and one
   PATCH per project, requests-style over an httpx session, for N = 1,000 with
   k = 100 changes, against ``reconciler apply`` of the same;
4. CPU time per project of load + validate + diff + render (in process, no HTTP),
   and the peak memory (max RSS) of ``reconciler plan`` at N = 10,000.

The limit of a plan: the page walk (a bare client reading every page in turn from
the same sandbox: at least ceil(N/P)·L, P = 1,000, plus the server's own time and
the transport's, measured in the same run), plus the CPU the plan command itself
needs (run in this process, its imports done: reading and checking the file and the
answers, planning, rendering);
applying k changes at least max(ceil(k/C)·L, (k - R)/R (a burst of R, then R a
second), the sandbox's time on every request: it answers one at a time) (C = 8
concurrent requests). Prints a table and
writes it as JSON.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from common import checked, write_results
from common import run_cli as common_run
from work import command as in_process

LATENCY = 0.050
PAGE = 1000
CONCURRENCY = 8
RATE = 100.0
ADMIN_KEY = "sk-sandbox-admin"
CONTROL_KEY = "sk-sandbox-control"


@dataclass
class Row:
    scenario: str
    measured_s: float
    limit_s: float | None
    ratio_to_limit: float | None
    baseline_s: float | None = None
    speedup_vs_baseline: float | None = None
    network_s: float | None = None  # latency the API's contract makes wait, at best
    client_cpu_s: float | None = None  # reconciler's own work (load, validate, diff, render)
    sandbox_s: float | None = None  # the sandbox's own time on the requests that wait
    note: str = ""


class Sandbox:
    def __init__(
        self, workdir: Path, projects: int, *, rate_limit: float = 0, latency: float = LATENCY
    ) -> None:
        db = workdir / f"sandbox-{projects}-{rate_limit:g}-{time.monotonic_ns()}.db"
        args = [
            sys.executable,
            "-m",
            "reconciler",
            "sandbox",
            "--db",
            str(db),
            "--port",
            "0",
            "--generate-projects",
            str(projects),
            "--latency-ms",
            str(latency * 1000),
        ]
        if rate_limit:
            args += ["--rate-limit", str(rate_limit)]
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("Listening on "):
            raise SystemExit(f"sandbox did not start: {line!r}")
        self.url = line.split()[-1]
        self.http = httpx.Client(base_url=self.url, timeout=60)

    def requests(self) -> list[dict[str, Any]]:
        log: list[dict[str, Any]] = self.http.get(
            "/_sandbox/requests", headers={"x-api-key": CONTROL_KEY}
        ).json()["data"]
        return log

    def service(self, path_suffix: str = "") -> float:
        """Seconds the sandbox spent on the logged requests (whose path ends with
        ``path_suffix``), less the injected latency: the server's share of the wait."""
        return (
            sum(r["service_ms"] for r in self.requests() if r["path"].endswith(path_suffix)) / 1000
        )

    def clear(self) -> None:
        self.http.delete("/_sandbox/requests", headers={"x-api-key": CONTROL_KEY})

    def stop(self) -> None:
        self.http.close()
        self.process.terminate()
        self.process.wait(timeout=30)


def project_ids(count: int) -> list[str]:
    width = max(5, len(str(count)))
    return [f"proj_{n:0{width}d}" for n in range(1, count + 1)]


def write_file(path: Path, ids: list[str], changed: int) -> None:
    """Every project managed (usage_limit), the first ``changed`` of them different from live."""
    lines = ["version: 1", "projects:"]
    for index, pid in enumerate(ids):
        value = 1000 + index if index < changed else "null"
        lines.append(f"  {pid}: {{usage_limit: {value}}}")
    path.write_text("\n".join(lines) + "\n")


def run_cli(*args: str, url: str) -> tuple[float, float]:
    """Wall time and peak RSS (MB) of one CLI run."""
    env = {"CLAUDE_API_KEY": ADMIN_KEY, "RECONCILER_BASE_URL": url}
    measured = checked(common_run(*args, env=env), *args)
    return measured.seconds, measured.peak_rss_mb


def cpu_per_project(workdir: Path, count: int) -> float:
    """CPU seconds per project for load + validate + diff + render, no HTTP."""
    from reconciler import providers
    from reconciler.core.model import LiveResource, LiveState
    from reconciler.desired import document
    from reconciler.engine import render
    from reconciler.engine.planning import make_plan

    ids = project_ids(count)
    path = workdir / f"cpu-{count}.yaml"
    write_file(path, ids, changed=count // 10)
    live = LiveState(
        {
            f"project.{pid}": LiveResource(
                {
                    "id": pid,
                    "name": pid,
                    "description": "",
                    "billing_email": None,
                    "usage_limit": None,
                    "created_at": "2024-01-15T10:30:00Z",
                },
                '"e"',
            )
            for pid in ids
        }
        | {"company": LiveResource({"id": "org_abc123", "name": "X"}, '"c"')},
        context={"tokens_used": 0},
    )
    started = time.process_time()
    desired = document.load(path)
    plan = make_plan(desired, live, providers.get("company"))
    render.plan_text(plan)
    return (time.process_time() - started) / count


def command_cpu(args: list[str], *, url: str) -> float:
    """CPU seconds of one command run in this process, its imports done by a first run:
    everything the client must compute (read the file, check it, read and check the
    answers, plan, render), none of the interpreter's start-up."""
    env = {"CLAUDE_API_KEY": ADMIN_KEY, "RECONCILER_BASE_URL": url}
    in_process(args, env)
    started = time.process_time()
    in_process(args, env)
    return time.process_time() - started


def page_walk(url: str) -> float:
    """The fastest read of every project from this sandbox: a bare client walking the
    cursor, nothing checked or kept. Latency, the server's own time and the transport:
    the floor under any client's plan, measured in the same run."""
    started = time.perf_counter()
    with httpx.Client(base_url=url, headers={"x-api-key": ADMIN_KEY}, timeout=60) as http:
        after: str | None = None
        while True:
            params: dict[str, Any] = {"limit": PAGE, **({"after_id": after} if after else {})}
            page = http.get("/v1/organizations/company/projects", params=params).json()
            if not page["has_more"]:
                return time.perf_counter() - started
            after = page["last_id"]


def baseline(url: str, ids: list[str], changed: int) -> float:
    """The guide's loop: one GET and, where it differs, one PATCH per project, in turn."""
    wanted = {pid: (1000 + i if i < changed else None) for i, pid in enumerate(ids)}
    started = time.perf_counter()
    with httpx.Client(base_url=url, headers={"x-api-key": ADMIN_KEY}, timeout=60) as session:
        for pid, limit in wanted.items():
            current = session.get(f"/v1/organizations/company/projects/{pid}").json()
            if current["usage_limit"] != limit:
                session.patch(
                    f"/v1/organizations/company/projects/{pid}", json={"usage_limit": limit}
                ).raise_for_status()
    return time.perf_counter() - started


def read_limit(count: int) -> float:
    return math.ceil(count / PAGE) * LATENCY


def apply_limit(changes: int, rate: float) -> float:
    """Writes C at a time, each a round trip; at most R a second after a burst of R (the
    sandbox's token bucket holds one second of requests)."""
    paced = max(0.0, (changes - rate) / rate) if rate else 0.0
    return max(math.ceil(changes / CONCURRENCY) * LATENCY, paced)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=Path("bench-results.json"))
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args()
    plan_sizes = [100, 1000] if args.quick else [100, 1000, 10_000]
    apply_sizes = [20] if args.quick else [100, 1000]
    synced = 100 if args.quick else 1000  # the baseline loop is sequential: N round trips
    rows: list[Row] = []
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        cpu_per_project(workdir, 50)  # imports and first-use caches: not per-project work
        cpu = {n: cpu_per_project(workdir, n) for n in plan_sizes}
        figures["cpu_ms_per_project"] = {str(n): round(c * 1000, 4) for n, c in cpu.items()}

        small = workdir / "startup.yaml"
        write_file(small, project_ids(10), changed=0)
        run_cli("validate", str(small), url="http://127.0.0.1:9")  # bytecode cached
        startup, _ = run_cli("validate", str(small), url="http://127.0.0.1:9")
        rows.append(Row("start-up (validate, no HTTP)", startup, None, None, note="target < 0.3 s"))

        for count in plan_sizes:
            sandbox = Sandbox(workdir, count)
            try:
                file = workdir / f"plan-{count}.yaml"
                write_file(file, project_ids(count), changed=count // 10)
                run_cli("plan", str(file), url=sandbox.url)  # warm the page cache
                work = command_cpu(["plan", str(file)], url=sandbox.url)
                walk = page_walk(sandbox.url)
                elapsed, rss = run_cli("plan", str(file), url=sandbox.url)
                network = read_limit(count)
                limit = walk + work
                rows.append(
                    Row(
                        f"plan N={count:,}",
                        elapsed,
                        limit,
                        elapsed / limit,
                        network_s=network,
                        client_cpu_s=work,
                        sandbox_s=walk - network,
                        note=f"limit = the page walk ({walk:.2f} s) + client CPU; peak RSS "
                        f"{rss:.0f} MB",
                    )
                )
                figures[f"plan_peak_rss_mb_{count}"] = round(rss, 1)
            finally:
                sandbox.stop()

        for changes in apply_sizes:
            sandbox = Sandbox(workdir, changes, rate_limit=RATE)
            try:
                file = workdir / f"apply-{changes}.yaml"
                write_file(file, project_ids(changes), changed=changes)
                time.sleep(1.5)  # let the bucket refill after start-up requests: a fair start
                sandbox.clear()
                elapsed, _ = run_cli("apply", str(file), "--auto-approve", url=sandbox.url)
                log = sandbox.requests()
                refused = sum(1 for r in log if r["status"] == 429)
                served = sandbox.service()
                network = apply_limit(changes, RATE)
                # The sandbox answers one request at a time: its own time is a floor too.
                limit = max(network, served)
                rows.append(
                    Row(
                        f"apply k={changes:,} (R={RATE:g}/s)",
                        elapsed,
                        limit,
                        elapsed / limit,
                        network_s=network,
                        sandbox_s=served,
                        note=f"{len(log)} requests, {refused} answered 429",
                    )
                )
                figures[f"apply_{changes}_429s"] = refused
            finally:
                sandbox.stop()

        sandbox = Sandbox(workdir, synced)
        try:
            ids = project_ids(synced)
            changed = synced // 10
            slow = baseline(sandbox.url, ids, changed=changed)
            # reset the changed values, then the same work through reconciler
            for pid in ids[:changed]:
                sandbox.http.patch(
                    f"/v1/organizations/company/projects/{pid}",
                    json={"usage_limit": None},
                    headers={"x-api-key": ADMIN_KEY},
                )
            file = workdir / "baseline.yaml"
            write_file(file, ids, changed=changed)
            fast, _ = run_cli("apply", str(file), "--auto-approve", url=sandbox.url)
            limit = read_limit(synced) + apply_limit(changed, 0) + read_limit(synced)
            rows.append(
                Row(
                    f"sync N={synced:,}, k={changed:,} (plan + apply)",
                    fast,
                    limit,
                    fast / limit,
                    baseline_s=slow,
                    speedup_vs_baseline=slow / fast,
                    note="limit = read + write + read-back; baseline = the loop",
                )
            )
        finally:
            sandbox.stop()

    print(
        f"{'scenario':<36} {'measured':>10} {'limit':>8} {'x limit':>8} {'baseline':>9} "
        f"{'speed-up':>9}  note"
    )
    for row in rows:
        base = f"{row.baseline_s:8.2f}s" if row.baseline_s else f"{'':>9}"
        gain = f"{row.speedup_vs_baseline:8.1f}x" if row.speedup_vs_baseline else f"{'':>9}"
        limit = f"{row.limit_s:7.2f}s" if row.limit_s else f"{'':>8}"
        ratio = f"{row.ratio_to_limit:7.2f}x" if row.ratio_to_limit else f"{'':>8}"
        print(
            f"{row.scenario:<36} {row.measured_s:9.2f}s {limit} {ratio} {base} {gain}  {row.note}"
        )
    for name, value in figures.items():
        print(f"{name}: {value}")
    write_results(args.json, [asdict(r) for r in rows], figures)


if __name__ == "__main__":
    main()
