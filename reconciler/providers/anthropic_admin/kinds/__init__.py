"""The Admin API's kinds, one module each, registered here: one line per kind.

The security surface's kinds (``SURFACE``) are whole modules (spec, read, live
fields, writes, rules) planned by the shared ``surface_plan``; the others declare
their spec here and are planned by ``proposals`` (their escape hatch), until their
code moves into their modules too.
"""

from reconciler.providers.anthropic_admin.kinds import (
    api_key,
    federation_issuer,
    federation_rule,
    member,
    rate_limit,
    service_account,
    spend_limit,
    telemetry_destination,
    user,
    webhook,
    workspace,
)
from reconciler.providers.anthropic_admin.kinds.kind import AdminKind
from reconciler.providers.kinds.spec import Kind

SURFACE: tuple[AdminKind, ...] = (
    service_account.KIND,
    federation_issuer.KIND,
    federation_rule.KIND,
    webhook.KIND,
    telemetry_destination.KIND,
)
SPECS: tuple[Kind, ...] = (
    workspace.SPEC,
    user.SPEC,
    member.SPEC,
    api_key.SPEC,
    spend_limit.SPEC,
    spend_limit.WORKSPACE_SPEC,
    rate_limit.SPEC,
    *(k.spec for k in SURFACE),
)
BY_NAME: dict[str, Kind] = {spec.name: spec for spec in SPECS}
SURFACE_BY_NAME: dict[str, AdminKind] = {k.spec.name: k for k in SURFACE}
