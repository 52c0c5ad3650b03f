"""A workspace's rate-limit overrides of one group (``workspaces.<name>.rate_limits:``),
a field per limiter type. Never deleted: an override is set back, or cleared."""

from reconciler.providers.kinds.spec import Kind, Removal

SPEC = Kind(
    name="rate_limit",
    noun="rate limit",
    section=("workspaces", "*", "rate_limits"),
    fields=(),
    removal=Removal.NONE,
)
