"""A workspace (``workspaces:``, keyed by name; renamed by ``id:``). Archived, never
deleted: the Admin API has no delete. Its planning is ``proposals``' (an escape hatch:
the Default workspace, renames that move its members and limits)."""

from reconciler.providers.kinds.spec import Kind, Removal

SPEC = Kind(
    name="workspace",
    noun="workspace",
    section=("workspaces",),
    fields=("name", "display_color", "data_residency", "tags", "external_key_id"),
    removal=Removal.ARCHIVE,
)
