"""The Anthropic Admin API provider: organization users (and invites), workspaces
and their members, API keys, spend limits and workspace rate limits; through
Anthropic's official SDK."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import click

from reconciler.core.edits import Edit
from reconciler.core.model import Action, DesiredState, LiveState, ResourceChange
from reconciler.net.connection import Connection
from reconciler.providers.anthropic_admin import addresses, adopting, proposals, surface
from reconciler.providers.base import (
    CommandKit,
    Proposal,
    UsageRequest,
    packaged_schema,
    undoing,
)

if TYPE_CHECKING:
    from reconciler.providers.anthropic_admin.session import AdminSession


class AnthropicAdminProvider:
    name = "anthropic-admin"
    display_name = "Admin API"
    key_variables: tuple[str, ...] = ("ANTHROPIC_ADMIN_KEY",)
    read_scope = write_scope = "organization:admin"
    address_example = '\'user["ada@example.com"]\' or \'member["Research"]["ada@example.com"]\''
    demo_example = "examples/anthropic-admin.yaml"
    sandbox_key = "sk-ant-admin01-sandbox"
    adoptable: tuple[tuple[str, ...], ...] = (
        ("users",),
        ("workspaces",),
        ("workspaces", "*", "members"),
        ("api_keys",),
        ("service_accounts",),
        ("federation", "issuers"),
        ("federation", "rules"),
        ("webhooks",),
        ("telemetry_destinations",),
    )

    def schema(self) -> Mapping[str, Any]:
        return packaged_schema("reconciler", "anthropic-admin.schema.json")

    def resources(
        self, data: Mapping[str, Any]
    ) -> tuple[dict[str, dict[str, Any]], frozenset[str]]:
        return proposals.resources(data)

    def path_of(self, address: str) -> tuple[str, ...]:
        kind, names = addresses.parse(address)
        inside = {
            addresses.MEMBER: "members",
            addresses.WORKSPACE_SPEND_LIMIT: "spend_limits",
            addresses.RATE_LIMIT: "rate_limits",
        }
        if kind in inside:
            return ("workspaces", names[0], inside[kind], names[1])
        if kind in surface.SECTIONS:
            return (*surface.SECTIONS[kind], *names)
        section = {
            addresses.USER: "users",
            addresses.WORKSPACE: "workspaces",
            addresses.SPEND_LIMIT: "spend_limits",
        }
        return (section.get(kind, "api_keys"), *names)

    def align(self, desired: DesiredState, live: LiveState) -> LiveState:
        return addresses.aligned(desired.resources, live)

    def propose(self, desired: DesiredState, live: LiveState) -> Proposal:
        return proposals.propose(desired, live)

    def review(
        self, changes: Sequence[ResourceChange], live: LiveState
    ) -> tuple[list[str], list[str]]:
        return proposals.review(changes, live)

    def adoption(self, change: ResourceChange) -> Sequence[Edit]:
        return adopting.adoption(change, self.path_of(change.address))

    def session(self, connection: Connection) -> AdminSession:
        # Imported when a session opens, not with the provider: Anthropic's SDK takes
        # about two seconds to import, which no other command should pay.
        from reconciler.providers.anthropic_admin.session import AdminSession

        return AdminSession(connection)

    def reversal(self, applied: ResourceChange) -> tuple[ResourceChange | None, str | None]:
        address, action = applied.address, applied.action
        if action is Action.ARCHIVE:
            return None, f"{address} was archived; archiving cannot be undone"
        if action is Action.CREATE and address.startswith(f"{addresses.WORKSPACE}["):
            # The Admin API has no delete for workspaces: undoing a create archives it.
            return undoing(applied, Action.ARCHIVE), (
                f"{address}: undoing its creation archives it (the Admin API cannot delete a "
                "workspace), and archiving cannot be undone"
            )
        if address.startswith(f"{addresses.RATE_LIMIT}["):
            # Overrides are set back, or cleared: never deleted.
            return undoing(applied, Action.UPDATE), None
        reverse = {Action.CREATE: Action.DELETE, Action.DELETE: Action.CREATE}
        undo = undoing(applied, reverse.get(action, action))
        key = undo.changes.get("external_key_id")
        if key is None:
            return undo, None
        kept = {n: c for n, c in undo.changes.items() if n != "external_key_id"}
        warning = (
            f"{address}: external_key_id {key.before} stays attached (it is write-once: a key "
            "is never detached or replaced)"
        )
        return (replace(undo, changes=kept) if kept else None), warning

    def commands(self, kit: CommandKit) -> Sequence[click.Command]:
        return ()

    def admits(
        self, desired: DesiredState, claims: Mapping[str, Any]
    ) -> Sequence[tuple[str, str, str | None]]:
        return surface.admitted(desired.resources, claims)

    def usage(self, kit: CommandKit, ctx: click.Context, request: UsageRequest) -> None:
        # Imported when asked for, like the session: a plan never pays for it.
        from reconciler.providers.anthropic_admin.spend_usage import run_usage

        run_usage(kit, ctx, request)
