"""The Company API provider (the default): one company and its projects, updated
field by field with ETags."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import click

from reconciler.core.edits import Edit
from reconciler.core.model import Action, DesiredState, LiveState, ResourceChange
from reconciler.net.connection import Connection
from reconciler.providers.base import (
    CommandKit,
    Proposal,
    SecretFlag,
    UsageRequest,
    undoing,
)
from reconciler.providers.company import proposals
from reconciler.providers.company.commands import run_usage
from reconciler.providers.company.kinds import KINDS, kind_of
from reconciler.providers.company.session import CompanySession
from reconciler.providers.kinds import codec, schema


class CompanyProvider:
    name = "company"
    display_name = "Company API"
    key_variables: tuple[str, ...] = ("CLAUDE_API_KEY", "ANTHROPIC_ADMIN_KEY")
    read_scope = "organization:read"
    write_scope = "organization:write"
    address_example = "'company' or 'project.proj_1'"
    demo_example = "examples/org.yaml"
    sandbox_key = "sk-sandbox-admin"
    adoptable: tuple[tuple[str, ...], ...] = (("projects",),)
    secret_flags: tuple[SecretFlag, ...] = ()

    def schema(self) -> Mapping[str, Any]:
        return schema.composed(__name__, [k.spec for k in KINDS])

    def resources(
        self, data: Mapping[str, Any]
    ) -> tuple[dict[str, dict[str, Any]], frozenset[str]]:
        found: dict[str, dict[str, Any]] = {}
        for kind in KINDS:
            (section,) = kind.spec.section
            written = data.get(section) or {}
            if kind.keyed:
                found.update({kind.address((i,)): dict(f or {}) for i, f in written.items()})
            elif written:
                found[kind.address(())] = dict(written)
        return found, frozenset()

    def path_of(self, address: str) -> tuple[str, ...]:
        kind, names = kind_of(address)
        return codec.path_of(kind.spec, names)

    def align(self, desired: DesiredState, live: LiveState) -> LiveState:
        return live  # projects are addressed by id already

    def propose(self, desired: DesiredState, live: LiveState) -> Proposal:
        return proposals.propose(desired, live)

    def review(
        self, changes: Sequence[ResourceChange], live: LiveState
    ) -> tuple[list[str], list[str]]:
        return proposals.warnings_for(changes, live), []

    def adoption(self, change: ResourceChange) -> Sequence[Edit]:
        kind, names = kind_of(change.address)
        return codec.adoption(kind.spec, change, codec.path_of(kind.spec, names))

    def session(self, connection: Connection) -> CompanySession:
        return CompanySession(connection)

    def reversal(self, applied: ResourceChange) -> tuple[ResourceChange | None, str | None]:
        return undoing(applied, Action.UPDATE), None  # the Company API only updates

    def commands(self, kit: CommandKit) -> Sequence[click.Command]:
        return ()

    def admits(
        self, desired: DesiredState, claims: Mapping[str, Any]
    ) -> Sequence[tuple[str, str, str | None]]:
        return ()  # the Company API signs in with keys only

    def usage(self, kit: CommandKit, ctx: click.Context, request: UsageRequest) -> None:
        run_usage(kit, ctx, request)
