"""A provider's file schema, composed: its frame (``file.schema.json``: the file's
top-level settings and where each kind's section goes, a ``{"$kind": name}`` slot)
and each kind's fragment beside its module (``kinds/<name>.schema.json``: the schema of
its section, with the ``$defs`` only it uses). A slot must stand where its kind's spec
says the file keeps it, and every kind fills exactly one, so the schema, the codec and
the plan agree on where a kind lives."""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources
from typing import Any

from reconciler.providers.kinds.codec import EACH
from reconciler.providers.kinds.spec import Kind

SLOT = "$kind"
FRAME = "file.schema.json"


def composed(package: str, kinds: Sequence[Kind]) -> dict[str, Any]:
    """The schema of ``package``'s files (the provider's package: its frame, and its
    ``kinds`` subpackage's fragments)."""
    root = resources.files(package)
    frame: dict[str, Any] = json.loads(root.joinpath(FRAME).read_text(encoding="utf-8"))
    fragments = {
        k.name: json.loads(root.joinpath(f"kinds/{k.name}.schema.json").read_text(encoding="utf-8"))
        for k in kinds
    }
    defs = frame.setdefault("$defs", {})
    for name, fragment in fragments.items():
        for shared, value in fragment.pop("$defs", {}).items():
            if shared in defs:
                raise ValueError(f"{name}.schema.json: $defs/{shared} is defined twice")
            defs[shared] = value
    sections = {k.name: k.section for k in kinds}
    filled = _filled(frame, (), fragments, sections)
    if fragments:
        raise ValueError(f"{FRAME} has no slot for {', '.join(sorted(fragments))}")
    return filled  # type: ignore[no-any-return]


def _filled(
    node: Any,
    path: tuple[str, ...],
    fragments: dict[str, Any],
    sections: dict[str, tuple[str, ...]],
) -> Any:
    """``node`` (at ``path`` in the file) with each slot filled by its kind's fragment."""
    if isinstance(node, list):
        return [_filled(n, path, fragments, sections) for n in node]
    if not isinstance(node, dict):
        return node
    if SLOT in node:
        name = node[SLOT]
        if name not in fragments:
            raise ValueError(f"a slot for {name}, which is no kind (or is slotted twice)")
        if sections[name] != path:
            raise ValueError(
                f"{name} is slotted at {path}, but its spec keeps it at {sections[name]}"
            )
        return _filled(fragments.pop(name), path, fragments, sections)
    found: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties" and isinstance(value, dict):
            found[key] = {n: _filled(v, (*path, n), fragments, sections) for n, v in value.items()}
        elif key == "additionalProperties":
            found[key] = _filled(value, (*path, EACH), fragments, sections)
        else:
            found[key] = value
    return found
