"""The field diff every provider plans with: which managed fields of which resources
differ between live and wanted, as ``FieldChange``s. Strict about types (1, 1.0 and
True are not the same value), and one deepdiff over every resource that differs at
all."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.core.model import FieldChange


def differing(
    pairs: Mapping[str, tuple[Mapping[str, Any], Mapping[str, Any]]],
) -> dict[str, dict[str, FieldChange]]:
    """Per address whose ``(current, wanted)`` fields differ, the changed fields as
    ``FieldChange``s, sorted by name; 1, 1.0 and True are not the same value."""
    current: dict[str, dict[str, Any]] = {}
    wanted: dict[str, dict[str, Any]] = {}
    for address, (now, want) in pairs.items():
        if now != want or not _same_types(now, want):
            current[address], wanted[address] = dict(now), dict(want)
    found = _differing_fields(current, wanted)
    return {
        address: {
            n: FieldChange(current[address][n], wanted[address][n]) for n in sorted(found[address])
        }
        for address in found
    }


def _differing_fields(
    current: dict[str, dict[str, Any]], wanted: dict[str, dict[str, Any]]
) -> dict[str, set[str]]:
    """Per address, the managed fields deepdiff finds different (1, 1.0 and True are
    not the same value); one deepdiff over every resource that differs at all.

    Imported here: deepdiff pulls in numpy and pydantic (a quarter of a second), and
    only plans with a difference ever get this far."""
    if not current:
        return {}
    from deepdiff import DeepDiff

    found: dict[str, set[str]] = {}
    for change in DeepDiff(current, wanted, ignore_order=False, view="tree").values():
        for leaf in change:
            address, field, *_ = leaf.path(output_format="list")
            found.setdefault(str(address), set()).add(str(field))
    return found


def _same_types(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    return all(type(current[k]) is type(wanted[k]) for k in wanted)
