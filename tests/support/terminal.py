"""A command run on a pseudo-terminal, as a user at a terminal runs it: what shows
only there (progress lines, the approval prompt) is tested through it."""

from __future__ import annotations


def run_on_a_terminal(args: list[str], answer: str, environment: dict[str, str]) -> tuple[int, str]:
    """Run the command with a pseudo-terminal as its stdin/stdout and type ``answer``."""
    import os
    import pty
    import subprocess

    from tests.support.sandbox import reconciler_executable

    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [reconciler_executable(), *args],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env={**os.environ, **environment},
    )
    os.close(follower)
    os.write(leader, answer.encode() + b"\n")
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return process.wait(timeout=60), b"".join(chunks).decode(errors="replace")
