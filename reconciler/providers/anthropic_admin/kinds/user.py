"""An organization user, with the invite that makes one (``users:``, keyed by email).
Created by an invitation email; removed by delete. Its planning is ``proposals``' (an
escape hatch: invites, re-invites with another role)."""

from reconciler.providers.kinds.spec import Kind, Removal

SPEC = Kind(
    name="user",
    noun="user",
    section=("users",),
    fields=("role",),
    removal=Removal.DELETE,
    value_field="role",
)
