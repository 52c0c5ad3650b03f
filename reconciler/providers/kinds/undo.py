"""Undo and removal words, derived from a kind's removal verb: an archive cannot be
undone and says so wherever it is planned (a prune, or the undo of a create); a kind
that is never removed is set back instead."""

from __future__ import annotations

from reconciler.core.model import Action, ResourceChange
from reconciler.providers.base import undoing
from reconciler.providers.kinds.spec import Kind, Removal


def reversal(kind: Kind, applied: ResourceChange) -> tuple[ResourceChange | None, str | None]:
    """How ``apply --undo-out`` undoes ``applied``: the change, and what a reader must
    know of it."""
    address, action = applied.address, applied.action
    if action is Action.ARCHIVE:
        return None, f"{address} was archived; archiving cannot be undone"
    if action is Action.CREATE and kind.removal is Removal.ARCHIVE:
        return undoing(applied, Action.ARCHIVE), (
            f"{address}: undoing its creation archives it (the API cannot delete a "
            f"{kind.noun}), and archiving cannot be undone"
        )
    if action is Action.CREATE and kind.removal is Removal.NONE:
        return undoing(applied, Action.UPDATE), None  # set back, or cleared
    reverse = {Action.CREATE: Action.DELETE, Action.DELETE: Action.CREATE}
    return undoing(applied, reverse.get(action, action)), None


def removal_warning(kind: Kind, change: ResourceChange) -> str | None:
    """The warning beside a planned removal, in the kind's own words."""
    loses = f": {kind.removal_loses}" if kind.removal_loses else ""
    if change.action is Action.ARCHIVE:
        return f"{change.address}: archiving cannot be undone{loses}"
    if change.action is Action.DELETE and kind.removal_loses:
        return f"{change.address}: deleting it cannot be undone{loses}"
    return None
