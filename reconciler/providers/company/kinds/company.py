"""The company (``company:``): the organization's own settings, one of it. It exists
already and is never created or removed, only updated field by field."""

from __future__ import annotations

from reconciler.core.model import FieldChange, LiveState
from reconciler.providers.company.kinds.kind import (
    CompanyKind,
    billing_domain_moved,
    lookalike_named,
)
from reconciler.providers.kinds.spec import Kind, Removal

PATH = "/v1/organizations/company"
PLAN_ORDER = ("build", "team", "scale", "enterprise")

SPEC = Kind(
    name="company",
    noun="company",
    section=("company",),
    fields=("name", "billing_email", "plan", "usage_limit"),
    removal=Removal.NONE,
    null_is_value=True,  # usage_limit null: no limit
    many="company",
    key_field="id",  # one of it: its name is a field like any other
)


def below_usage(where: str, name: str, change: FieldChange, live: LiveState) -> list[str]:
    """A usage limit under this month's usage refuses requests until the period ends."""
    used = live.context.get("tokens_used")
    after = change.after
    if name == "usage_limit" and isinstance(after, int) and isinstance(used, int) and after < used:
        return [
            f"{where}: {after} is below this month's usage ({used} tokens); "
            "requests will be refused until the period ends"
        ]
    return []


def downgrade(where: str, name: str, change: FieldChange, live: LiveState) -> list[str]:
    before, after = change.before, change.after
    ranked = name == "plan" and before in PLAN_ORDER and after in PLAN_ORDER
    if ranked and PLAN_ORDER.index(after) < PLAN_ORDER.index(before):
        return [f"{where}: downgrade from {before} to {after}"]
    return []


KIND = CompanyKind(
    SPEC,
    "Company",
    lambda names: PATH,
    keyed=False,
    rules=(below_usage, downgrade, billing_domain_moved, lookalike_named),
)
