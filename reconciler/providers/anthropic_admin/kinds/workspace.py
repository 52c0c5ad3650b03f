"""A workspace (``workspaces:``, keyed by name; renamed by ``id:``). Archived, never
deleted: the Admin API has no delete. Its planning is ``proposals``' (an escape hatch:
the Default workspace, renames that move its members and limits)."""

from collections.abc import Mapping
from typing import Any

from reconciler.core.model import LiveResource
from reconciler.providers.anthropic_admin import addresses
from reconciler.providers.kinds.spec import Kind, Removal


def _exported(resource: LiveResource, context: Mapping[str, Any]) -> dict[str, Any]:
    """By id (so a rename is seen), its colour, key, residency and tags; the Default
    workspace by id alone (its limits are the file's, the rest is not anyone's)."""
    if resource.id == context.get("default_workspace"):
        return {"id": resource.id}
    fields = resource.fields
    key = fields.get("external_key_id")
    return {
        "id": resource.id,
        "display_color": fields["display_color"],
        **({"external_key_id": key} if key else {}),
        "data_residency": addresses.residency(fields),
        "tags": fields["tags"],
    }


SPEC = Kind(
    name="workspace",
    noun="workspace",
    section=("workspaces",),
    fields=("name", "display_color", "data_residency", "tags", "external_key_id"),
    removal=Removal.ARCHIVE,
    removal_loses="its API keys are deactivated",
    exported=_exported,
)
