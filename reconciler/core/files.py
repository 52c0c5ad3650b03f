"""Files reconciler reads and writes. Inputs (desired-state files, saved plans) are the
repository's own: never a link, never reached through one out of the directory they
were named in, since a pull request can commit links. Outputs (plans, reports, undo
plans, exports, usage logs): checked before the first request, written whole or not
at all, never through a link.

Output paths are the operator's (flags), but the directories they land in may hold
what others left there: a planted symlink where a temporary file will be, or a
link in place of the log. Temporary files are created exclusively (``O_EXCL``,
which refuses an existing name and does not follow a link) with an unguessable
name in the target's own directory, then renamed over the target, which replaces
a link rather than writing through it.

Modes are the operator's: a new file gets the umask's (as ``open`` gives it), a file
replaced keeps its own (an adopted ``org.yaml`` made readable to a CI step's user stays
so). None of these files holds a secret.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from reconciler.core.errors import InputPathError, OutputPathError


def read_input(path: Path, *, what: str) -> bytes:
    """The bytes of an input file, refused before it is read when it is a symbolic link
    or, named relatively, when its real path leaves the working directory through a
    linked directory (``orgs -> ~``): what it points at is nobody's to choose but the
    operator's, who can name that file itself."""
    if path.is_symlink():
        raise InputPathError(
            f"{what} {path} is a symbolic link; reconciler reads only files themselves, so "
            "name the file it points to if it is yours. Nothing was read."
        )
    if not path.is_absolute() and not path.resolve().is_relative_to(Path.cwd().resolve()):
        raise InputPathError(
            f"{what} {path} is reached through a linked directory that leads out of the "
            "directory it was named in; name the file itself. Nothing was read."
        )
    return path.read_bytes()


def check_writable(
    path: Path, *, option: str, inputs: Iterable[Path] = (), append: bool = False
) -> None:
    """Refuse, before the first request, an output path that could only fail after the
    writes: a directory, a missing or unwritable directory, one of the inputs, or (for
    a log appended to, or a database written in place) a symbolic link."""
    if append and path.is_symlink():
        raise OutputPathError(
            f"{option} {path} is a symbolic link; name the file itself. Nothing was sent."
        )
    if path.is_dir():
        raise OutputPathError(f"{option} {path} is a directory; name a file. Nothing was sent.")
    target = path.resolve()
    for given in inputs:
        if given.resolve() == target:
            raise OutputPathError(
                f"{option} {path} is also the input {given}; writing it would replace what is "
                "being read. Name another file. Nothing was sent."
            )
    folder = path.parent
    try:
        handle, probe = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".probe")
    except OSError as exc:
        raise OutputPathError(
            f"cannot write {option} {path}: {exc.strerror or exc} (in {folder}); choose a "
            "writable place. Nothing was sent."
        ) from exc
    os.close(handle)
    os.unlink(probe)


def write_text(path: Path, text: str) -> None:
    """Write through an exclusive temporary sibling and rename, so a crash or an
    interrupt never leaves half a file where a reader (or a later apply) expects a
    whole one, and a planted link is replaced, never followed."""
    mode = _mode_for(path)
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        os.fchmod(handle, mode)  # mkstemp's is 0600, whatever the umask
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise


def _mode_for(path: Path) -> int:
    """The mode ``path`` is written with: its own when it is a regular file already,
    else what the umask leaves of 0666."""
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        found = None
    if found is not None and stat.S_ISREG(found.st_mode):
        return stat.S_IMODE(found.st_mode)
    return 0o666 & ~_umask()


def _umask() -> int:
    """The process's umask, read without changing it where the system says it (Linux);
    elsewhere set and restored at once, to the more private value meanwhile."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    current = os.umask(0o077)
    os.umask(current)
    return current


def write_json(path: Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def append_line(path: Path, line: str) -> None:
    """Append one line to a log, refusing to write through a link planted in its place."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    try:
        handle = os.open(path, flags, 0o644)
    except OSError as exc:
        raise OutputPathError(
            f"cannot append to {path}: {exc.strerror or exc}"
            f"{' (it is a symbolic link)' if path.is_symlink() else ''}; choose another log."
        ) from exc
    with os.fdopen(handle, "a", encoding="utf-8") as stream:
        stream.write(line + "\n")
