"""Spend limits: the organization's (``spend_limits:``) and a workspace's
(``workspaces.<name>.spend_limits:``), each by period. Set by one upsert; removed by
delete. A period with no limit is written as null."""

from reconciler.providers.kinds.spec import Kind, Removal

SPEC = Kind(
    name="spend_limit",
    noun="spend limit",
    section=("spend_limits",),
    fields=("amount",),
    removal=Removal.DELETE,
    value_field="amount",
    absent_as_null=True,
)
WORKSPACE_SPEC = Kind(
    name="workspace_spend_limit",
    noun="workspace spend limit",
    section=("workspaces", "*", "spend_limits"),
    fields=("amount",),
    removal=Removal.DELETE,
    value_field="amount",
    absent_as_null=True,
)
