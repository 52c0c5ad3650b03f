"""What ``reconciler adopt`` writes into an Admin API file for one change of a plan:
the live value where the file writes it, by the kind's codec (a role is an entry's
value, a workspace's fields are keys under it, a rename renames its key)."""

from __future__ import annotations

from reconciler.core.edits import Edit
from reconciler.core.model import ResourceChange
from reconciler.providers.anthropic_admin import addresses
from reconciler.providers.anthropic_admin.kinds import BY_NAME
from reconciler.providers.kinds import codec


def adoption(change: ResourceChange, path: tuple[str, ...]) -> list[Edit]:
    """The edits that make the entry at ``path`` say what is live (each ``before``)."""
    return codec.adoption(BY_NAME[addresses.parse(change.address)[0]], change, path)
