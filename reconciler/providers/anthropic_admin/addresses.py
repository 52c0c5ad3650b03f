"""Names of Admin API resources and fields. Addresses, Terraform style: ``user["ada@example.com"]``,
``workspace["Research"]``, ``member["Research"]["ada@example.com"]``,
``api_key["apikey_01"]``, ``spend_limit["monthly"]`` (the organization's),
``workspace_spend_limit["Research"]["monthly"]``,
``rate_limit["Research"]["rlg_01..."]`` (a workspace's overrides of one
rate-limit group, a field per limiter type), and each security surface kind by the
name a reader knows it by (``webhook["ops-alerts"]``: see ``kinds``). Names are JSON
strings, so any workspace name (dots, quotes, brackets) makes an address that reads
back to the same names. A
workspace's ``data_residency`` settings are fields of their own
(``data_residency.default_inference_geo``), so each is compared on its own."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from reconciler.core.model import LiveState

USER, WORKSPACE, MEMBER, API_KEY = "user", "workspace", "member", "api_key"
SPEND_LIMIT, WORKSPACE_SPEND_LIMIT = "spend_limit", "workspace_spend_limit"
RATE_LIMIT = "rate_limit"
# The kinds addressed under a workspace's name: all of them follow it when it is renamed.
IN_WORKSPACE = (WORKSPACE, MEMBER, WORKSPACE_SPEND_LIMIT, RATE_LIMIT)
_PART = re.compile(r'\[("(?:[^"\\]|\\.)*")\]')


def make(kind: str, *names: str) -> str:
    return kind + "".join(f"[{json.dumps(name, ensure_ascii=False)}]" for name in names)


@lru_cache(maxsize=1 << 16)
def parse(address: str) -> tuple[str, tuple[str, ...]]:
    """``(kind, names)`` of an address made by ``make``. Cached: a plan of 1,000
    members asks for each address's parts about seven times (bounded: a long `--watch`)."""
    kind, _, rest = address.partition("[")
    names = tuple(json.loads(m) for m in _PART.findall("[" + rest)) if rest else ()
    return kind, names


def prefix(kind: str, *names: str) -> str:
    """What every address of ``kind`` under ``names`` starts with (a pruned section)."""
    return make(kind, *names) + "["


RESIDENCY = "data_residency."


def residency(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The ``data_residency`` object of a workspace's fields."""
    return {n.removeprefix(RESIDENCY): v for n, v in fields.items() if n.startswith(RESIDENCY)}


def aligned(desired: Mapping[str, Mapping[str, Any]], live: LiveState) -> LiveState:
    """Live state with each workspace the file pins by ``id`` under the file's name, with
    its members and limits: a rename is then an update of ``name``. A pinned id whose
    new name another live workspace holds stays where it is (the plan says why)."""
    pins = {
        fields["id"]: parse(address)[1][0]
        for address, fields in desired.items()
        if parse(address)[0] == WORKSPACE and "id" in fields
    }
    names_by_id = {
        resource.id: parse(address)[1][0]
        for address, resource in live.resources.items()
        if parse(address)[0] == WORKSPACE
    }
    taken = set(names_by_id.values())
    renames = {
        names_by_id[i]: name
        for i, name in pins.items()
        if i in names_by_id and names_by_id[i] != name and name not in taken
    }
    if not renames:
        return live
    moved = {}
    for address, resource in live.resources.items():
        kind, names = parse(address)
        if kind in IN_WORKSPACE and names[0] in renames:
            address = make(kind, renames[names[0]], *names[1:])
        moved[address] = resource
    return LiveState(moved, live.context, live.organization)
