"""The Admin API's side of a plan.

Users are matched by email: a listed email that is not a member gets an invite
(``create``), a pending invite with another role is ``replace``d, a member with
another role is updated. A workspace that does not exist is created, and its
listed members are planned with it (they ``require`` the create). Nothing the
file does not list is removed unless its section says ``prune: true``, and the
removals a prune plans are guarded: more than 25% of a section, or any
organization admin, and apply refuses without ``--force``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.errors import ConfigError, Problem
from reconciler.fielddiff import differing
from reconciler.model import Action, DesiredState, FieldChange, LiveState, ResourceChange
from reconciler.provider import Proposal
from reconciler.providers.anthropic_admin import addresses
from reconciler.providers.anthropic_admin.addresses import API_KEY, MEMBER, USER, WORKSPACE

PRUNE_SHARE = 0.25
_KIND_ORDER = {WORKSPACE: 0, USER: 1, MEMBER: 2, API_KEY: 3}
WORKSPACE_GEO = f"{addresses.RESIDENCY}workspace_geo"


def resources(data: Mapping[str, Any]) -> tuple[dict[str, dict[str, Any]], frozenset[str]]:
    """A valid file's sections as resources by address, and the prefixes it prunes.
    Emails are compared without case (as mail is delivered), so addresses hold them
    in lower case; two spellings of one email in a section are a problem."""
    found: dict[str, dict[str, Any]] = {}
    prune: set[str] = set()
    users = dict(data.get("users") or {})
    if users.pop("prune", False):
        prune.add(addresses.prefix(USER))
    for email, role in _by_email(users, "users").items():
        found[addresses.make(USER, email)] = {"role": role}
    for name, spec in (data.get("workspaces") or {}).items():
        spec = dict(spec or {})
        members = dict(spec.pop("members", None) or {})
        fields: dict[str, Any] = {}
        for key, value in (spec.pop("data_residency", None) or {}).items():
            fields[f"{addresses.RESIDENCY}{key}"] = value
        fields.update(spec)
        found[addresses.make(WORKSPACE, name)] = fields
        if members.pop("prune", False):
            prune.add(addresses.prefix(MEMBER, name))
        for email, role in _by_email(members, f"workspaces.{name}.members").items():
            found[addresses.make(MEMBER, name, email)] = {"workspace_role": role}
    for key_id, fields in (data.get("api_keys") or {}).items():
        found[addresses.make(API_KEY, key_id)] = dict(fields or {})
    return found, frozenset(prune)


def _by_email(section: Mapping[str, Any], where: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    spelled: dict[str, str] = {}
    for email, value in section.items():
        key = email.lower()
        if key in spelled:
            raise ConfigError(
                [
                    Problem(
                        "",
                        1,
                        1,
                        f"{where}.{email}",
                        f"{email} and {spelled[key]} are the same email (case does not "
                        "count); keep one",
                    )
                ]
            )
        spelled[key] = email
        found[key] = value
    return found


def propose(desired: DesiredState, live: LiveState) -> Proposal:
    planner = _Planner(desired, live)
    for address, fields in desired.resources.items():
        kind, names = addresses.parse(address)
        if kind == WORKSPACE:
            planner.workspace(address, names[0], fields)
        elif kind == USER:
            planner.user(address, names[0], fields)
        elif kind == MEMBER:
            planner.member(address, names[0], names[1], fields)
        elif kind == API_KEY:
            planner.api_key(address, fields)
    planner.prune()
    return planner.proposal()


class _Planner:
    def __init__(self, desired: DesiredState, live: LiveState) -> None:
        self.desired = desired
        self.live = live
        self.changes: list[ResourceChange] = []
        self.updates: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        self.problems: dict[str, str] = {}
        self.notes: list[tuple[str, str]] = []
        self.org_roles: Mapping[str, str] = live.context.get("org_roles", {})
        self.invited: frozenset[str] = frozenset(live.context.get("invited", ()))
        self.archived: Mapping[str, str] = live.context.get("archived_workspaces", {})
        self.created_workspaces: set[str] = set()
        self.archiving: set[str] = set()

    def _now(self, address: str) -> Mapping[str, Any] | None:
        found = self.live.resources.get(address)
        return found.fields if found else None

    def _add(
        self, address: str, action: Action, changes: dict[str, FieldChange], *requires: str
    ) -> None:
        self.changes.append(ResourceChange(address, action, None, changes, tuple(requires)))

    # -- sections -------------------------------------------------------------------------

    def workspace(self, address: str, name: str, fields: Mapping[str, Any]) -> None:
        now = self._now(address)
        wanted = {k: v for k, v in fields.items() if k != "archived"}
        if fields.get("archived") is True:
            self.archiving.add(name)
            if now is not None:
                self._add(address, Action.ARCHIVE, {"archived": FieldChange(False, True)})
            elif name not in self.archived:
                self.notes.append(
                    (
                        address,
                        f"{address} is marked archived: true but no workspace of this name "
                        "exists, active or archived; there is nothing to archive (is the name "
                        "spelled as in the Console?)",
                    )
                )
            return
        if now is None:
            self.created_workspaces.add(name)
            if name in self.archived:
                self.notes.append(
                    (
                        address,
                        f"{address}: an archived workspace of this name exists "
                        f"({self.archived[name]}); archived workspaces cannot be restored, so a "
                        "new one is created",
                    )
                )
            self._add(
                address,
                Action.CREATE,
                {n: FieldChange(None, v) for n, v in {"name": name, **wanted}.items()},
            )
            return
        if WORKSPACE_GEO in wanted and wanted[WORKSPACE_GEO] != now.get(WORKSPACE_GEO):
            self.notes.append(
                (
                    address,
                    f"{address}: workspace_geo is {now.get(WORKSPACE_GEO)!r} live and "
                    f"{wanted[WORKSPACE_GEO]!r} in the file; it is set only when a workspace is "
                    "created, so reconciler leaves it",
                )
            )
        wanted.pop(WORKSPACE_GEO, None)
        self.updates[address] = ({n: now.get(n) for n in wanted}, wanted)

    def user(self, address: str, email: str, fields: Mapping[str, Any]) -> None:
        now = self._now(address)
        role = fields["role"]
        if now is None:
            self._add(address, Action.CREATE, {"role": FieldChange(None, role)})
        elif now["role"] == role:
            return
        elif email in self.invited:
            self._add(address, Action.REPLACE, {"role": FieldChange(now["role"], role)})
        elif now["role"] == "admin":
            self.problems[address] = (
                f"{address} is an organization admin, and an admin's role cannot be changed "
                "through the API: change it in the Console, or remove the line"
            )
        else:
            self.updates[address] = ({"role": now["role"]}, {"role": role})

    def member(self, address: str, workspace: str, email: str, fields: Mapping[str, Any]) -> None:
        if workspace in self.archiving:
            return
        role = fields["workspace_role"]
        workspace_address = addresses.make(WORKSPACE, workspace)
        if email not in self.org_roles:
            invited = (
                email in self.invited
                or any(c.address == addresses.make(USER, email) for c in self.changes)
                or addresses.make(USER, email) in self.desired.resources
            )
            self.notes.append(
                (
                    address,
                    f"{address}: {email} is not a member of the organization"
                    + (
                        " yet; it joins the workspace on a plan after the invite is accepted"
                        if invited
                        else "; list it under users to invite it"
                    ),
                )
            )
            return
        now = self._now(address)
        org_role = self.org_roles[email]
        if now is None and org_role == "admin":
            if role != "workspace_admin":
                self.notes.append(
                    (
                        address,
                        f"{address}: {email} is an organization admin and has workspace_admin "
                        f"in every workspace; {role} is not applied",
                    )
                )
            return
        if now is None and org_role == "billing" and role == "workspace_billing":
            return  # inherited: billing users have workspace_billing everywhere
        if now is None:
            if role == "workspace_billing":
                self.problems[address] = (
                    f"{address}: workspace_billing cannot be given to a new member through the "
                    "API; add the member with another role, or make the user a billing user"
                )
                return
            requires = [workspace_address] if workspace in self.created_workspaces else []
            self._add(
                address, Action.CREATE, {"workspace_role": FieldChange(None, role)}, *requires
            )
            return
        self.updates[address] = ({"workspace_role": now["workspace_role"]}, dict(fields))

    def api_key(self, address: str, fields: Mapping[str, Any]) -> None:
        now = self._now(address)
        if now is None:
            self.problems[address] = (
                f"{address} does not exist, and API keys cannot be created through the Admin "
                "API: fix the id or remove it"
            )
            return
        if now["status"] == "archived" and fields.get("status", "archived") != "archived":
            self.problems[address] = (
                f"{address} is archived, and an archived key cannot be made active again: "
                "remove it from the file"
            )
            return
        self.updates[address] = ({n: now.get(n) for n in fields}, dict(fields))

    # -- removals -------------------------------------------------------------------------

    def prune(self) -> None:
        """A removal for each live user, invite or member a pruned section does not list."""
        for address, resource in self.live.resources.items():
            kind, names = addresses.parse(address)
            if kind not in (USER, MEMBER) or address in self.desired.resources:
                continue
            if kind == MEMBER and names[0] in self.archiving:
                continue
            if any(address.startswith(p) for p in self.desired.prune):
                self._add(
                    address,
                    Action.DELETE,
                    {n: FieldChange(v, None) for n, v in resource.fields.items() if n != "status"},
                )

    def proposal(self) -> Proposal:
        found = differing(self.updates)
        self.changes += [
            ResourceChange(address, Action.UPDATE, None, changes)
            for address, changes in found.items()
        ]
        self.changes.sort(key=lambda c: (_KIND_ORDER[addresses.parse(c.address)[0]], c.address))
        return Proposal(
            self.changes,
            unmanaged=self._unmanaged(),
            problems=self.problems,
            notes=self.notes,
        )

    def _unmanaged(self) -> dict[str, int]:
        removed = {c.address for c in self.changes if c.action is Action.DELETE}
        counts: dict[str, int] = {}
        names = {USER: "user", WORKSPACE: "workspace", API_KEY: "API key"}
        for address in self.live.resources:
            kind = addresses.parse(address)[0]
            if kind in names and address not in self.desired.resources and address not in removed:
                counts[names[kind]] = counts.get(names[kind], 0) + 1
        return counts


def review(changes: Sequence[ResourceChange], live: LiveState) -> tuple[list[str], list[str]]:
    """Warnings (archives cannot be undone) and the guards on removals: more than 25% of
    a section (the organization's users and invites; one workspace's members), or any
    organization admin."""
    warnings = [
        f"{c.address}: archiving cannot be undone, and deactivates the workspace's API keys"
        for c in changes
        if c.action is Action.ARCHIVE
    ]
    guards: list[str] = []
    sections: dict[str, list[str]] = {}
    for change in changes:
        if change.action is not Action.DELETE:
            continue
        kind, names = addresses.parse(change.address)
        section = addresses.prefix(USER) if kind == USER else addresses.prefix(MEMBER, names[0])
        sections.setdefault(section, []).append(change.address)
        if kind == USER and change.changes.get("role", FieldChange(None, None)).before == "admin":
            guards.append(f"removes the organization admin {names[0]}")
    for section, removed in sections.items():
        total = sum(1 for a in live.resources if a.startswith(section))
        if total and len(removed) / total > PRUNE_SHARE:
            what = (
                "users and invites"
                if section == addresses.prefix(USER)
                else (f"members of workspace {json.dumps(addresses.parse(removed[0])[1][0])}")
            )
            guards.append(
                f"removes {len(removed)} of {total} {what} ({len(removed) / total:.0%}), "
                f"more than {PRUNE_SHARE:.0%}"
            )
    return warnings, guards
