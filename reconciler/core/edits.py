"""The edits a provider proposes to make a desired-state file say what is live
(``adopt``): plain values, so a provider names them without knowing how the file's
text is edited (``engine.adoption`` does that)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Put:
    """Make the value at ``path`` be ``value`` (adding the key when it is missing).
    ``ordered``: the key is a new entry of a list of resources (``adopt
    --add-unmanaged``), placed where it sorts among the entries written when those are in
    order, rather than after them."""

    path: tuple[str, ...]
    value: Any
    ordered: bool = False


@dataclass(frozen=True)
class Drop:
    """Remove the entry at ``path``, with its lines."""

    path: tuple[str, ...]


@dataclass(frozen=True)
class Rename:
    """Give the key at ``path`` another name; its value stays where it is."""

    path: tuple[str, ...]
    key: str


Edit = Put | Drop | Rename
