"""Secrets only the operator holds: where one the API answers once goes (``SecretSink``),
and where write-only values come from, each bound to the host the operator gave it for
(``BoundValues``). Only where the operator said, never a plan, report, log or
terminal; which kinds have which is their providers' business.

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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.core.errors import ReconcilerError
from reconciler.core.escape import visible

COMMAND_SECONDS = 60


class SecretSinkError(ReconcilerError):
    """The secret could not be put where the operator said."""


@dataclass(frozen=True)
class SecretSink:
    """The operator's destination: a file path or a command (exactly one)."""

    file: Path | None = None
    command: str | None = None
    # What the secrets are, for the sentences about this destination.
    what: str = "secret"

    @property
    def described(self) -> str:
        return f"the file {self.file}" if self.file else "the operator's command"

    def put(self, name: str, secret: str) -> None:
        if self.file is not None:
            _into_file(self.file, name, secret)
        elif self.command is not None:
            _into_command(self.command, name, secret, self.what)

    def check(self, names: list[str] | None = None) -> None:
        """Refuse, before any write, a destination that cannot take a secret: a file
        that is not a plain file, or holds anything but a JSON object of names to
        secrets (it may hold secrets kept nowhere else: it is never overwritten
        unread); for a command, a name (the desired-state file's) it cannot be given
        safely in ``RECONCILER_SECRET_NAME``."""
        if self.file is not None:
            parent = self.file.parent
            if not parent.is_dir():
                raise SecretSinkError(
                    f"The {self.what}s file's directory {parent} does not exist; create it, "
                    "or name another file."
                )
            if self.file.is_symlink() or (self.file.exists() and not self.file.is_file()):
                raise SecretSinkError(f"The {self.what}s file {self.file} is not a plain file.")
            if self.file.exists():
                _secrets_in(self.file, self.what)
        elif self.command is not None:
            if not shlex.split(self.command):
                raise SecretSinkError(f"The {self.what} command is empty.")
            for name in names or ():
                if not safe_name(name):
                    raise SecretSinkError(
                        f"The name {visible(name)!r} cannot be given to the {self.what} "
                        f"command (RECONCILER_SECRET_NAME takes printable text of at most "
                        f"{MOST_NAME_CHARS} characters); rename it in the file. Nothing was "
                        "written."
                    )


MOST_NAME_CHARS = 256


def safe_name(name: str) -> bool:
    """A name a command may receive in its environment: printable, no control or
    bidirectional characters that would change what a log or terminal shows, short."""
    return 0 < len(name) <= MOST_NAME_CHARS and name.isprintable() and visible(name) == name


def _secrets_in(path: Path, what: str) -> dict[str, str]:
    """The secrets file's ``{name: secret}``, or an error: it is never replaced by a
    file that lost what it held."""
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise SecretSinkError(
            f"The {what}s file {path} cannot be read as JSON ({type(exc).__name__}), and it "
            "may hold secrets kept nowhere else: nothing was written; fix it or move it away."
        ) from None
    if not isinstance(loaded, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in loaded.items()
    ):
        raise SecretSinkError(
            f"The {what}s file {path} is not a JSON object of names to secrets: nothing was "
            "written; fix it or move it away."
        )
    return loaded


def _into_file(path: Path, name: str, secret: str) -> None:
    found: dict[str, str] = {}
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise SecretSinkError(f"The secrets file {path} is not a plain file.")
    if path.exists():
        found = _secrets_in(path, "secret")
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


def _into_command(command: str, name: str, secret: str, what: str) -> None:
    if not safe_name(name):
        raise SecretSinkError(f"The name {visible(name)!r} cannot be given to the {what} command.")
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
            f"The {what} command could not be run ({type(exc).__name__})."
        ) from None
    if done.returncode != 0:
        raise SecretSinkError(f"The {what} command exited with {done.returncode}.")


@dataclass(frozen=True)
class Bound:
    """One resource's write-only values and the host the operator gave them for (None:
    an entry that names no host, which may go only where the resource already is)."""

    host: str | None
    values: Mapping[str, str]


@dataclass(frozen=True)
class BoundValues:
    """The operator's JSON file of write-only values, by resource name, each bound to a
    host: ``{"honeycomb": {"host": "api.honeycomb.io", "values": {"x-team": "..."}}}``
    (``{"honeycomb": {"x-team": "..."}}`` names no host). Read when a write needs it;
    ``flag`` is how the operator gave it, for the sentences that name it."""

    file: Path
    flag: str

    def of(self, name: str) -> Bound:
        """The values for one resource (names in lower case); none when it has none."""
        try:
            loaded = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SecretSinkError(
                f"The file {self.file} ({self.flag}) could not be read as JSON "
                f"({type(exc).__name__})."
            ) from None
        found = loaded.get(name) if isinstance(loaded, dict) else None
        if found is None:
            return Bound(None, {})
        host: Any = None
        if isinstance(found, dict) and set(found) == {"host", "values"}:
            host, found = found["host"], found["values"]
        if (
            not isinstance(found, dict)
            or not isinstance(host, str | None)
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in found.items())
        ):
            raise SecretSinkError(
                f"The file {self.file} ({self.flag}): each entry is an object of names and "
                'text values, or {"host": HOST, "values": {...}}.'
            )
        return Bound(host.lower() if host else None, {k.lower(): v for k, v in found.items()})


@dataclass(frozen=True)
class OperatorSecrets:
    """What the operator said of secrets on ``apply``: both None for every other command
    (and then a write that needs one is refused before any write)."""

    sink: SecretSink | None = None
    values: BoundValues | None = None
