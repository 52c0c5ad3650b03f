"""The Anthropic Admin API provider: organization users (and invites), workspaces
and their members, API keys; through Anthropic's official SDK."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.connection import Connection
from reconciler.model import DesiredState, LiveState, ResourceChange
from reconciler.providers import Proposal
from reconciler.providers.anthropic_admin import planning


class AnthropicAdminProvider:
    name = "anthropic-admin"
    schema_file = "anthropic-admin.schema.json"
    key_variables: tuple[str, ...] = ("ANTHROPIC_ADMIN_KEY",)
    read_scope = write_scope = "organization:admin"
    address_example = '\'user["ada@example.com"]\' or \'member["Research"]["ada@example.com"]\''

    def resources(
        self, data: Mapping[str, Any]
    ) -> tuple[dict[str, dict[str, Any]], frozenset[str]]:
        return planning.resources(data)

    def propose(self, desired: DesiredState, live: LiveState) -> Proposal:
        return planning.propose(desired, live)

    def review(
        self, changes: Sequence[ResourceChange], live: LiveState
    ) -> tuple[list[str], list[str]]:
        return planning.review(changes, live)

    def session(self, connection: Connection) -> Any:
        from reconciler.providers.anthropic_admin.session import AdminSession

        return AdminSession(connection)
