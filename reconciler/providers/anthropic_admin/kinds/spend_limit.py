"""Spend limits: the organization's (``spend_limits:``) and a workspace's
(``workspaces.<name>.spend_limits:``), each by period. Set by one upsert; removed by
delete."""

from reconciler.providers.kinds.spec import Kind, Removal

SPEC = Kind(
    name="spend_limit",
    noun="spend limit",
    section=("spend_limits",),
    fields=("amount",),
    removal=Removal.DELETE,
)
WORKSPACE_SPEC = Kind(
    name="workspace_spend_limit",
    noun="workspace spend limit",
    section=("workspaces", "*", "spend_limits"),
    fields=("amount",),
    removal=Removal.DELETE,
)
