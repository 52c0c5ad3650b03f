"""A workspace member (``workspaces.<name>.members:``, keyed by email): a user's role
in one workspace. Removed by delete."""

from reconciler.providers.kinds.spec import Kind, Removal

SPEC = Kind(
    name="member",
    noun="workspace member",
    section=("workspaces", "*", "members"),
    fields=("workspace_role",),
    removal=Removal.DELETE,
    value_field="workspace_role",
)
