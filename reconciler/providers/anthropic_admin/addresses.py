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

USER, WORKSPACE, MEMBER, API_KEY = "user", "workspace", "member", "api_key"
SPEND_LIMIT, WORKSPACE_SPEND_LIMIT = "spend_limit", "workspace_spend_limit"
RATE_LIMIT = "rate_limit"
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
