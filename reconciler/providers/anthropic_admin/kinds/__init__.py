"""The Admin API's kinds, one module each, registered here: one line per kind.

Every kind is one module: its spec (section, fields, removal verb, security meaning,
codec) and its rules. The security surface's kinds (``SURFACE``) are planned by the
shared ``surface_plan`` and read and written through their modules; the people,
workspaces and limits (``ENTRIES``) are planned entry by entry through the shared
``planner``, each by its module's ``plan``, and read and written by the session.
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
from reconciler.providers.anthropic_admin.kinds.planner import EntryKind
from reconciler.providers.kinds.spec import Kind

SURFACE: tuple[AdminKind, ...] = (
    service_account.KIND,
    federation_issuer.KIND,
    federation_rule.KIND,
    webhook.KIND,
    telemetry_destination.KIND,
)
ENTRIES: tuple[EntryKind, ...] = (
    workspace.ENTRY,
    user.ENTRY,
    member.ENTRY,
    api_key.ENTRY,
    spend_limit.ENTRY,
    spend_limit.WORKSPACE_ENTRY,
    rate_limit.ENTRY,
)
SPECS: tuple[Kind, ...] = (*(k.spec for k in ENTRIES), *(k.spec for k in SURFACE))
BY_NAME: dict[str, Kind] = {spec.name: spec for spec in SPECS}
SURFACE_BY_NAME: dict[str, AdminKind] = {k.spec.name: k for k in SURFACE}
ENTRIES_BY_NAME: dict[str, EntryKind] = {k.spec.name: k for k in ENTRIES}
# The kinds kept under each workspace: they follow it when it is renamed.
UNDER_WORKSPACE = frozenset(k.spec.name for k in ENTRIES if k.inside_workspace())
