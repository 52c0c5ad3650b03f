"""An API key (``api_keys:``, keyed by id): reconciler renames and activates or
deactivates keys; it never creates one (its secret is the Console's) nor removes it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.core.edits import Put
from reconciler.providers.anthropic_admin import addresses
from reconciler.providers.anthropic_admin.kinds.planner import EntryKind, Planner
from reconciler.providers.base import Settlement
from reconciler.providers.kinds.spec import Exposure, Kind, Removal

SPEC = Kind(
    name="api_key",
    noun="API key",
    section=("api_keys",),
    fields=("name", "status"),
    removal=Removal.NONE,
    key_field="id",
    security=(Exposure("status", "active", "it signs requests to the organization's API"),),
)


def plan(planner: Planner, address: str, names: tuple[str, ...], fields: Mapping[str, Any]) -> None:
    """The file's key: renamed, activated or deactivated; never created."""
    now = planner.now(address)
    if now is None:
        planner.problems[address] = (
            f"{address} does not exist, and API keys cannot be created through the Admin "
            "API: fix the id or remove it"
        )
        return
    if now["status"] == "archived" and fields.get("status", "archived") != "archived":
        planner.problems[address] = (
            f"{address} is archived, and an archived key cannot be made active again: "
            "write status: archived to record it (reconciler adopt does), or remove it "
            "from the file"
        )
        planner.settlements[address] = Settlement(
            [Put(("api_keys", addresses.parse(address)[1][0], "status"), "archived")],
            "archived live; the file now says status: archived",
        )
        return
    planner.updates[address] = ({n: now.get(n) for n in fields}, dict(fields))


ENTRY = EntryKind(SPEC, plan, counted=True)
