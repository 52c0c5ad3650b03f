"""Requests per second the sandbox sustains on this machine.

Starts ``reconciler sandbox`` as a real process (1,000 generated projects, no
latency, no limit) and drives it over loopback with a bounded number of
concurrent keep-alive connections, for a fixed number of requests:

    python tests/bench/sandbox_rps.py [--quick] [--requests 3000] [--concurrency 8]
        [--json sandbox-rps.json]

Prints one line per scenario and writes them as JSON (``--quick``: 300 requests,
a smoke run).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import httpx
from common import write_results
from perf import Sandbox  # the benchmark's sandbox process, beside this file

KEY = "sk-sandbox-admin"


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
    parser.add_argument("--requests", type=int, default=None)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--json", type=Path, default=Path("sandbox-rps.json"))
    parser.add_argument("--quick", action="store_true", help="300 requests: a smoke run")
    args = parser.parse_args()
    args.requests = args.requests or (300 if args.quick else 3000)
    with tempfile.TemporaryDirectory() as tmp:
        sandbox = Sandbox(Path(tmp), 1000, latency=0)
        try:
            results = {
                "get_company_rps": asyncio.run(
                    measure(
                        sandbox.url,
                        "/v1/organizations/company",
                        {},
                        args.requests,
                        args.concurrency,
                    )
                ),
                "page_of_1000_rps": asyncio.run(
                    measure(
                        sandbox.url,
                        "/v1/organizations/company/projects",
                        {"limit": "1000"},
                        max(50, args.requests // 20),
                        args.concurrency,
                    )
                ),
            }
        finally:
            sandbox.stop()
    for name, rps in results.items():
        print(f"{name:>20}: {rps:8.1f} requests/s")
    rows = [
        {"scenario": name, "requests_per_s": round(rps, 1), "note": f"{args.concurrency} at once"}
        for name, rps in results.items()
    ]
    write_results(args.json, rows, {"requests": args.requests})


if __name__ == "__main__":
    main()
