"""A project (``projects.<id>:``, keyed by its id): it exists already and is never
created or removed by this API, only updated field by field."""

from __future__ import annotations

from reconciler.providers.company.kinds import company
from reconciler.providers.company.kinds.kind import (
    CompanyKind,
    billing_domain_moved,
    lookalike_named,
)
from reconciler.providers.kinds.spec import Kind, Removal

SPEC = Kind(
    name="project",
    noun="project",
    section=("projects",),
    fields=("name", "description", "billing_email", "usage_limit"),
    removal=Removal.NONE,
    null_is_value=True,  # usage_limit null: no limit; billing_email null: the company's
    key_field="id",
)

KIND = CompanyKind(
    SPEC,
    "Project",
    lambda names: f"{company.PATH}/projects/{names[0]}",
    keyed=True,
    rules=(billing_domain_moved, lookalike_named),
)
