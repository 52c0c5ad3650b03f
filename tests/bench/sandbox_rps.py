"""Requests per second the sandbox sustains on this machine.

Starts ``reconciler sandbox`` as a real process (1,000 generated projects, no
latency, no limit) and drives it over loopback with a bounded number of
concurrent keep-alive connections, for a fixed number of requests:

    python bench/sandbox_rps.py [--requests 3000] [--concurrency 8]

Prints one line per scenario and a JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

KEY = "sk-sandbox-admin"


def start(db: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reconciler",
            "sandbox",
            "--db",
            str(db),
            "--port",
            "0",
            "--generate-projects",
            "1000",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("Listening on "):
        raise SystemExit(f"sandbox did not start: {line!r}")
    return process, line.split()[-1]


async def measure(
    url: str, path: str, params: dict[str, str], requests: int, concurrency: int
) -> float:
    async with httpx.AsyncClient(
        base_url=url, headers={"x-api-key": KEY}, limits=httpx.Limits(max_connections=concurrency)
    ) as client:
        queue = iter(range(requests))

        async def worker() -> None:
            for _ in queue:
                response = await client.get(path, params=params)
                response.raise_for_status()

        await client.get(path, params=params)  # warm up
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return requests / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        process, url = start(Path(tmp) / "bench.db")
        try:
            results = {
                "get_company_rps": asyncio.run(
                    measure(url, "/v1/organizations/company", {}, args.requests, args.concurrency)
                ),
                "page_of_1000_rps": asyncio.run(
                    measure(
                        url,
                        "/v1/organizations/company/projects",
                        {"limit": "1000"},
                        max(50, args.requests // 20),
                        args.concurrency,
                    )
                ),
            }
        finally:
            process.terminate()
            process.wait(timeout=15)
    for name, rps in results.items():
        print(f"{name:>20}: {rps:8.1f} requests/s")
    print(json.dumps({k: round(v, 1) for k, v in results.items()}))


if __name__ == "__main__":
    main()
