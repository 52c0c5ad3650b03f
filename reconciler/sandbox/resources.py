"""The Admin API resources the sandbox serves each from a module of its own: the one
tuple the store, the app and the seed iterate over.

Adding one is a module declaring its ``resource.Resource`` and a line here (see
docs/architecture.md, "Writing a kind"). Users, invites, workspaces, members and keys
are ``admin_store``'s, and service accounts and federation ``federation_app``'s: their
rules reach across each other (an archived workspace deactivates its keys; a rule
names an account).
"""

from __future__ import annotations

from reconciler.sandbox import (
    admin_managed_settings,
    admin_rbac_groups,
    admin_telemetry,
    admin_webhooks,
)
from reconciler.sandbox.resource import Resource

RESOURCES: tuple[Resource, ...] = (
    admin_webhooks.RESOURCE,
    admin_telemetry.RESOURCE,
    admin_rbac_groups.RESOURCE,
    admin_managed_settings.RESOURCE,
)
