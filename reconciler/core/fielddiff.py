"""The field diff every provider plans with: which managed fields of which resources
differ between live and wanted, as ``FieldChange``s. Strict about types (1, 1.0 and
True are not the same value). Scalars (text, numbers, booleans, null: every field of
the Company API) are compared directly; fields holding lists or mappings go to one
deepdiff over every resource that has such a field differing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.core.model import FieldChange

_SCALARS = (str, int, float, bool, type(None))


def differing(
    pairs: Mapping[str, tuple[Mapping[str, Any], Mapping[str, Any]]],
) -> dict[str, dict[str, FieldChange]]:
    """Per address whose ``(current, wanted)`` fields differ, the changed fields as
    ``FieldChange``s, sorted by name; 1, 1.0 and True are not the same value. Both
    mappings hold the same managed fields (the provider's alignment sees to it)."""
    found: dict[str, set[str]] = {}
    nested_current: dict[str, dict[str, Any]] = {}
    nested_wanted: dict[str, dict[str, Any]] = {}
    for address, (now, want) in pairs.items():
        for name, value in want.items():
            live = now[name]
            # A scalar against a list or a mapping differs both ways of comparing: this
            # test only keeps scalars away from deepdiff.
            if _scalar(live) or _scalar(value):  # pragma: no mutate: both ways agree
                if type(live) is not type(value) or live != value:
                    found.setdefault(address, set()).add(name)
            else:
                nested_current.setdefault(address, {})[name] = live
                nested_wanted.setdefault(address, {})[name] = value
    for address, names in _differing_fields(nested_current, nested_wanted).items():
        found.setdefault(address, set()).update(names)
    return {
        address: {n: FieldChange(pairs[address][0][n], pairs[address][1][n]) for n in sorted(names)}
        for address, names in found.items()
    }


def _differing_fields(
    current: dict[str, dict[str, Any]], wanted: dict[str, dict[str, Any]]
) -> dict[str, set[str]]:
    """Per address, the fields holding lists or mappings that deepdiff finds different
    (1, 1.0 and True are not the same value, at any depth); one deepdiff for all.

    Imported here: deepdiff takes 50-80 ms to import (more with numpy installed), and
    only a plan with a nested field differing gets this far."""
    if not current:
        return {}
    from deepdiff import DeepDiff

    found: dict[str, set[str]] = {}
    for change in DeepDiff(current, wanted, view="tree").values():  # order counts
        for leaf in change:
            address, field, *_ = leaf.path(output_format="list")
            found.setdefault(str(address), set()).add(str(field))
    return found


def _scalar(value: Any) -> bool:
    return type(value) in _SCALARS


def same(a: Any, b: Any) -> bool:
    """Equal and of one type: ``1`` is not ``True``, nor ``1.0``, for a reviewer."""
    return bool(a == b and type(a) is type(b))
