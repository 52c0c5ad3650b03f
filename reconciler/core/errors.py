"""Every failure reconciler reports, as one small tree.

    ReconcilerError            exit 1, one clear sentence plus what to do
    ├── ConfigError            a desired-state file is invalid (all its problems, with positions)
    ├── PlanFileError          a saved plan cannot be read or is not a plan
    ├── PlanError              the file asks for something the live organization cannot give
    ├── UnsafePlanError        the plan is larger than --max-changes allows
    ├── StalePlanError         live values moved since the saved plan was made
    ├── PolicyError            the operator's policy denies the plan, or awaits an owner
    ├── ApprovalError          apply was not approved (or could not be asked)
    ├── CredentialsError       no key, or a key refused before any request (http://, a host
    │                          or key variable the operator did not allow)
    ├── OutputPathError        an output path that cannot be written, found before any request
    ├── InputPathError         an input file that is a link, or reached through one out of
    │                          the directory it was named in: refused before it is read
    ├── AdoptionError          adopt cannot write the file so it says what is live; the file
    │                          is left as it was
    └── ApiError               the API answered with an error (status, request id)
        ├── AuthError          401 or 403: names the variable read and the scope needed
        ├── ConflictError      412: the resource changed since it was read
        └── TransportError     no usable answer: network failure, timeout, not the API

Only ``cli/main.py`` turns these into text and exit codes; the other modules raise
them with structured fields and let the message be built here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class ReconcilerError(Exception):
    """Root of everything reconciler reports to a user."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# How a run stopped by a signal exits, as shells expect: 128 plus the signal's number.
INTERRUPTED_EXIT = 130  # SIGINT (Ctrl-C)


class StoppedBySignal(ReconcilerError):
    """Stopped by a signal (Ctrl-C, SIGTERM): the sentence says what was done; the exit
    code is 128 plus the signal's number."""

    def __init__(self, message: str, exit_code: int = INTERRUPTED_EXIT) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Problem:
    """One problem in a file, at a 1-based line and column, at a dotted path."""

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.file}:{self.line}:{self.column}: {where}{self.message}"


class ConfigError(ReconcilerError):
    """A desired-state file is invalid; carries every problem found, in file order."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.column))
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        files = sorted({p.file for p in self.problems})
        lines = "\n".join(str(p) for p in self.problems)
        super().__init__(
            f"{lines}\n{', '.join(files)}: {count} {noun}; fix {'it' if count == 1 else 'them'} "
            "and run again (nothing was sent to the API)."
        )


class PlanFileError(ReconcilerError):
    """A saved plan cannot be read, or is not a reconciler plan."""


class PlanError(ReconcilerError):
    """The desired state cannot be planned against the live organization."""


class UnsafePlanError(ReconcilerError):
    """The plan changes more than the caller allowed."""


class PolicyError(ReconcilerError):
    """The policy denies the plan, or a rule awaits its owners' approval; nothing was
    written (``plan`` says so after showing the plan)."""


class StalePlanError(ReconcilerError):
    """Live values differ from a saved plan's ``before`` values; nothing was written."""


class ApprovalError(ReconcilerError):
    """Apply was declined, or cannot ask for approval without a terminal."""


class CancelledAtPrompt(ApprovalError):
    """Ctrl-C at the approval prompt: declined, and exits as an interrupt does."""

    exit_code = INTERRUPTED_EXIT


class CredentialsError(ReconcilerError):
    """The key is missing, or would be sent where it must not go."""


class OutputPathError(ReconcilerError):
    """An output path (``--out``, ``--report``, ...) that cannot be written."""


class InputPathError(ReconcilerError):
    """A desired-state file or a saved plan that is a symbolic link, or whose real path
    leaves the directory it was named in (a linked directory): not the repository's own."""


class ApiError(ReconcilerError):
    """The API answered with an error; ``code`` is its stable ``error_code`` when it gave
    one (what a caller branches on, never the message), ``details`` the fields beside it."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
        code: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.status = status
        self.request_id = request_id
        self.code = code
        self.details = details or {}
        suffix = f" (request-id {request_id})" if request_id else ""
        super().__init__(message + suffix)


class AuthError(ApiError):
    """401 or 403: the key is unknown or lacks a scope."""


class ConflictError(ApiError):
    """412: the resource changed since it was read."""


class TransportError(ApiError):
    """No usable answer: the network failed, it timed out, or the answer was not the API's."""


class AdoptionError(ReconcilerError):
    """``adopt`` cannot write the file faithfully; the file is left as it was."""
