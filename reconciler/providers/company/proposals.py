"""The Company API's side of a plan: updates only (its company and projects exist
already and are never created or deleted), reviewed by each kind's rules."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from reconciler.core.fielddiff import differing
from reconciler.core.model import Action, DesiredState, LiveState, ResourceChange
from reconciler.providers.base import Proposal
from reconciler.providers.company.kinds import kind_of


def _nearest(address: str, live_ids: list[str]) -> str:
    """``(nearest live ids: proj_1, proj_10)`` for a project id that is not live."""
    close = difflib.get_close_matches(address.removeprefix("project."), live_ids, n=3, cutoff=0.5)
    return f" (nearest live ids: {', '.join(close)})" if close else ""


def propose(desired: DesiredState, live: LiveState) -> Proposal:
    """An update per resource whose managed fields differ, ``company`` first. A project
    the file names that does not exist live is a problem (this API cannot create
    projects); live projects the file does not name are counted as unmanaged."""
    live_ids = [a.removeprefix("project.") for a in live.resources if a.startswith("project.")]
    problems = {
        address: f"{address} does not exist in the live organization{_nearest(address, live_ids)}, "
        "and projects cannot be created through this API: fix the id or remove it"
        for address in desired.resources
        if address not in live.resources
    }
    pairs = {
        address: ({name: live.resources[address].fields.get(name) for name in fields}, fields)
        for address, fields in desired.resources.items()
        if address in live.resources
    }
    found = differing(pairs)
    changes = [
        ResourceChange(address, Action.UPDATE, live.resources[address].etag, found[address])
        for address in sorted(found, key=lambda a: (a != "company", a))
    ]
    unmanaged = sum(
        1 for a in live.resources if a.startswith("project.") and a not in desired.resources
    )
    return Proposal(changes, unmanaged={"project": unmanaged}, problems=problems)


def warnings_for(resources: Iterable[ResourceChange], live: LiveState) -> list[str]:
    """Risky values a reviewer should see before approving: each kind's own rules."""
    found: list[str] = []
    for resource in resources:
        kind, _ = kind_of(resource.address)
        found.extend(kind.warnings(resource.address, resource.changes, live))
    return found
