"""``reconciler demo``: the whole loop against a throwaway sandbox.

It starts ``reconciler sandbox`` as a real process on a free port (the same
server the tests and benchmarks use), runs plan → apply → plan with the
provider's shipped example (its ``demo_example``, with its sandbox key) and stops
the sandbox, so
a new user sees what reconciler does without a key or a network.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import replace
from importlib import resources
from pathlib import Path

from reconciler import providers
from reconciler.core.errors import ReconcilerError
from reconciler.desired import document
from reconciler.engine import flows, render
from reconciler.net.connection import Connection

# What the sandbox process is given of the operator's environment: where programs
# and temporary files are, and the locale; never a key or token.
_PASSED = frozenset({"PATH", "HOME", "TMPDIR", "TEMP", "TMP", "LANG", "LC_ALL", "SYSTEMROOT"})


def run_demo(
    *, show: Callable[[str], None], color: bool, keep: bool = False, provider: str
) -> None:
    chosen = providers.get(provider)
    example_name, key = chosen.demo_example, chosen.sandbox_key
    workdir = Path(tempfile.mkdtemp(prefix="reconciler-demo-"))
    db = workdir / "sandbox.db"
    # The installed package (-P: no current directory on the path; -E: no PYTHON*
    # variables), given none of the operator's environment: a checkout holding its own
    # reconciler/ must not run instead, and no key reaches the sandbox. Not -I, which
    # also drops the user's site-packages, where `pip install --user` puts reconciler.
    process = subprocess.Popen(
        [sys.executable, "-E", "-P", "-m", "reconciler", "sandbox", "--db", str(db), "--port", "0"],
        env={k: v for k, v in os.environ.items() if k in _PASSED},
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = ""
    try:
        url = _wait_for_listening(process)
        show(f"Started a sandbox {chosen.display_name} at {url} (database {db}).\n\n")
        variable = chosen.key_variables[0]
        connection = Connection(url, key, variable, provider=provider)
        example = resources.files("reconciler").joinpath(example_name)
        with resources.as_file(example) as path:
            desired = replace(document.load(path), source=example_name)
            # Each step as a command to copy: the sandbox's key and where it listens.
            shown = shlex.quote(str(path))
            command = f"{variable}={key} reconciler {{}} {shown} --base-url {url}"

        show(f"$ {command.format('plan')}\n")
        first = asyncio.run(flows.plan_file(desired, connection))
        show(render.plan_text(first, color=color) + "\n")

        show(f"$ {command.format('apply')} --auto-approve\n")
        report = asyncio.run(flows.apply(first, connection))
        show(render.report_text(report, color=color) + "\n")

        show(f"$ {command.format('plan')}   # again: nothing left to do\n")
        second = asyncio.run(flows.plan_file(desired, connection))
        show(render.plan_text(second, color=color))
        if not report.ok or not second.is_empty:
            raise ReconcilerError("The demo did not converge; run it with --debug and report it.")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        if keep:
            port = url.rsplit(":", 1)[-1] if url else "0"
            show(
                f"\nThe sandbox database is kept at {db}. Start that sandbox again with\n"
                f"    reconciler sandbox --db {shlex.quote(str(db))} --port {port}\n"
                "and the commands above run against it as shown.\n"
            )
        else:
            for leftover in workdir.glob("*"):
                leftover.unlink()
            workdir.rmdir()


def _wait_for_listening(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    assert process.stderr is not None
    line = process.stdout.readline()  # the sandbox prints this line once it accepts connections
    if not line.startswith("Listening on "):
        process.wait(timeout=10)
        raise ReconcilerError(f"The sandbox did not start: {process.stderr.read().strip()[:500]}")
    return line.split()[-1]
