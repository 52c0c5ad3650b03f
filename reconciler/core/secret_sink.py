"""Secrets only the operator holds: where one the API answers once goes (a webhook's
signing secret), and where write-only values come from (a telemetry destination's
header values, ``HeaderValues``). Only where the operator said, never a plan, report,
log or terminal.

- ``file``: a JSON object ``{name: secret}`` at the operator's path, created ``0600``,
  updated whole (a temporary file created exclusively beside it, then renamed over it,
  which replaces a link rather than writing through it).
- ``command``: the operator's command (split like a shell would, never run by one),
  which receives the secret on standard input and the resource's name in
  ``RECONCILER_SECRET_NAME``.

The names come from the desired-state file, so they choose a key in the JSON object
or an environment value, never a path or a command.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from reconciler.core.errors import ReconcilerError

COMMAND_SECONDS = 60


class SecretSinkError(ReconcilerError):
    """The secret could not be put where the operator said."""


@dataclass(frozen=True)
class SecretSink:
    """The operator's destination: a file path or a command (exactly one)."""

    file: Path | None = None
    command: str | None = None

    @property
    def described(self) -> str:
        return f"the file {self.file}" if self.file else "the operator's command"

    def put(self, name: str, secret: str) -> None:
        if self.file is not None:
            _into_file(self.file, name, secret)
        elif self.command is not None:
            _into_command(self.command, name, secret)

    def check(self) -> None:
        """Refuse, before any write, a destination that cannot take a secret."""
        if self.file is not None:
            parent = self.file.parent
            if not parent.is_dir():
                raise SecretSinkError(
                    f"The webhook secrets file's directory {parent} does not exist; create it, "
                    "or name another file."
                )
            if self.file.is_symlink() or (self.file.exists() and not self.file.is_file()):
                raise SecretSinkError(f"The webhook secrets file {self.file} is not a plain file.")
        elif self.command is not None and not shlex.split(self.command):
            raise SecretSinkError("The webhook secret command is empty.")


def _into_file(path: Path, name: str, secret: str) -> None:
    found: dict[str, str] = {}
    if path.is_file() and not path.is_symlink():
        with contextlib.suppress(ValueError, OSError):
            loaded = json.loads(path.read_text(encoding="utf-8"))
            found = {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}
    found[name] = secret
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".secrets-")
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(found, out, indent=2, sort_keys=True)
            out.write("\n")
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _into_command(command: str, name: str, secret: str) -> None:
    argv = shlex.split(command)
    try:
        done = subprocess.run(
            argv,
            input=secret.encode(),
            env={**os.environ, "RECONCILER_SECRET_NAME": name},
            capture_output=True,
            timeout=COMMAND_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SecretSinkError(
            f"The webhook secret command could not be run ({type(exc).__name__})."
        ) from None
    if done.returncode != 0:
        raise SecretSinkError(f"The webhook secret command exited with {done.returncode}.")


@dataclass(frozen=True)
class HeaderValues:
    """The operator's JSON file of write-only header values, by destination name:
    ``{"honeycomb": {"x-honeycomb-team": "..."}}``. Read when a write needs them."""

    file: Path

    def of(self, name: str) -> dict[str, str]:
        """The values for one destination (names in lower case); empty when it has none."""
        try:
            loaded = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SecretSinkError(
                f"The telemetry headers file {self.file} could not be read as JSON "
                f"({type(exc).__name__})."
            ) from None
        found = loaded.get(name) if isinstance(loaded, dict) else None
        if found is None:
            return {}
        if not isinstance(found, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in found.items()
        ):
            raise SecretSinkError(
                f"The telemetry headers file {self.file}: each destination's entry is an "
                "object of header names and text values."
            )
        return {k.lower(): v for k, v in found.items()}


@dataclass(frozen=True)
class OperatorSecrets:
    """What the operator said of secrets on ``apply``: both None for every other command
    (and then a write that needs one is refused before any write)."""

    sink: SecretSink | None = None
    header_values: HeaderValues | None = None
