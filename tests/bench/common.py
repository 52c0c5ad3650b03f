"""What every benchmark shares: running the installed CLI as its own process and
measuring that process alone (wall time, and its peak memory from the kernel's
accounting of that one child, ``wait4``), the machine the numbers come from,
and the JSON every benchmark writes (the documentation's performance page is
generated from it)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str, env: dict[str, str]) -> Measured:
    """``python -m reconciler ARGS`` (not a console-script shim, which adds a shell),
    timed, with the peak resident memory of that process alone."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "reconciler", *args],
            env={**os.environ, **env},
            stdout=out,
            stderr=err,
            text=True,
        )
        # Reap the child ourselves: wait4 reports that one process's rusage, where
        # RUSAGE_CHILDREN would be the peak of every child so far.
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        process.returncode = code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    return Measured(elapsed, usage.ru_maxrss * scale / 2**20, code, stdout, stderr)


def checked(measured: Measured, *args: str) -> Measured:
    if measured.returncode not in (0, 2):
        raise SystemExit(f"reconciler {' '.join(args)} failed: {measured.stderr}")
    return measured


def machine() -> dict[str, Any]:
    """Where the numbers were measured: they mean little without it."""
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "processor": platform.machine(),
        "cpus": os.cpu_count(),
    }


def write_results(path: Path, rows: list[dict[str, Any]], figures: dict[str, Any]) -> None:
    data = {"machine": machine(), "rows": rows, "figures": figures}
    path.write_text(json.dumps(data, indent=2) + "\n")
    print(f"wrote {path}")
