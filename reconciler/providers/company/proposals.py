"""The Company API's side of a plan: updates only (its company and projects exist
already and are never created or deleted), and the risky values a reviewer of a
Company plan should see."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from reconciler.core.fielddiff import differing
from reconciler.core.model import Action, DesiredState, LiveState, ResourceChange
from reconciler.providers.base import Proposal

PLAN_ORDER = ("build", "team", "scale", "enterprise")


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
    """Risky values a reviewer should see before approving."""
    tokens_used = live.context.get("tokens_used")
    found = []
    for resource in resources:
        for name, change in resource.changes.items():
            where = f"{resource.address}.{name}"
            if (
                name == "usage_limit"
                and resource.address == "company"
                and isinstance(change.after, int)
                and isinstance(tokens_used, int)
                and change.after < tokens_used
            ):
                found.append(
                    f"{where}: {change.after} is below this month's usage "
                    f"({tokens_used} tokens); requests will be refused until the period ends"
                )
            if (
                name == "plan"
                and change.before in PLAN_ORDER
                and change.after in PLAN_ORDER
                and PLAN_ORDER.index(change.after) < PLAN_ORDER.index(change.before)
            ):
                found.append(f"{where}: downgrade from {change.before} to {change.after}")
            if name == "billing_email":
                before, after = _domain(change.before), _domain(change.after)
                if before and after and before != after:
                    found.append(f"{where}: billing email domain changes from {before} to {after}")
    return found


def _domain(email: Any) -> str | None:
    return email.rsplit("@", 1)[1].lower() if isinstance(email, str) and "@" in email else None
