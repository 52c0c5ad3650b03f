"""A workspace's rate-limit overrides of one group (``workspaces.<name>.rate_limits:``),
a field per limiter type. Never deleted: an override is set back, or cleared."""

from collections.abc import Mapping
from typing import Any

from reconciler.core.model import LiveResource
from reconciler.providers.kinds.spec import Kind, Removal


def _overrides(resource: LiveResource, context: Mapping[str, Any]) -> dict[str, Any] | None:
    """The limiter types the workspace overrides (None: it inherits every one)."""
    return {t: v for t, v in resource.fields.items() if v is not None} or None


SPEC = Kind(
    name="rate_limit",
    noun="rate limit",
    section=("workspaces", "*", "rate_limits"),
    fields=(),
    removal=Removal.NONE,
    exported=_overrides,
)
