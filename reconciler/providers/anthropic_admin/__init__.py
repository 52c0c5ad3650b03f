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
from reconciler.providers.anthropic_admin import addresses, adopting, proposals
from reconciler.providers.anthropic_admin.kinds import (
    BY_NAME,
    SPECS,
    SURFACE,
    UNDER_WORKSPACE,
    workspace,
)
from reconciler.providers.anthropic_admin.kinds.federation_rule import admitted
from reconciler.providers.base import (
    CommandKit,
    Proposal,
    SecretFlag,
    UsageRequest,
)
from reconciler.providers.kinds import codec, schema
from reconciler.providers.kinds import undo as kinds_undo

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
        *(kind.spec.section for kind in SURFACE),
    )
    secret_flags: tuple[SecretFlag, ...] = tuple(f for kind in SURFACE for f in kind.flags)

    def schema(self) -> Mapping[str, Any]:
        return schema.composed(__name__, SPECS)

    def resources(
        self, data: Mapping[str, Any]
    ) -> tuple[dict[str, dict[str, Any]], frozenset[str]]:
        return proposals.resources(data)

    def path_of(self, address: str) -> tuple[str, ...]:
        kind, names = addresses.parse(address)
        return codec.path_of(BY_NAME[kind], names)

    def align(self, desired: DesiredState, live: LiveState) -> LiveState:
        return workspace.aligned(desired.resources, live, UNDER_WORKSPACE)

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
        undo, warning = kinds_undo.reversal(BY_NAME[addresses.parse(applied.address)[0]], applied)
        # Write-once: an update's undo leaves the key (an archive takes it all).
        key = undo.changes.get("external_key_id") if undo and undo.action is Action.UPDATE else None
        if undo is None or key is None:
            return undo, warning
        kept = {n: c for n, c in undo.changes.items() if n != "external_key_id"}
        warning = (
            f"{applied.address}: external_key_id {key.before} stays attached (it is write-once: "
            "a key is never detached or replaced)"
        )
        return (replace(undo, changes=kept) if kept else None), warning

    def commands(self, kit: CommandKit) -> Sequence[click.Command]:
        return ()

    def admits(
        self, desired: DesiredState, claims: Mapping[str, Any]
    ) -> Sequence[tuple[str, str, str | None]]:
        return admitted(desired.resources, claims)

    def usage(self, kit: CommandKit, ctx: click.Context, request: UsageRequest) -> None:
        # Imported when asked for, like the session: a plan never pays for it.
        from reconciler.providers.anthropic_admin.spend_usage import run_usage

        run_usage(kit, ctx, request)
