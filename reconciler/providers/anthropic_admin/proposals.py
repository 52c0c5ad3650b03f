"""The Admin API's side of a plan.

Users are matched by email: a listed email that is not a member gets an invite
(``create``), a pending invite with another role is ``replace``d, a member with
another role is updated. A workspace that does not exist is created, and its
listed members are planned with it (they ``require`` the create). Nothing the
file does not list is removed unless its section says ``prune: true``, and the
removals a prune plans are guarded: more than 25% of a section, or any
organization admin, and apply refuses without ``--force``.

Limits: a spend limit (the organization's, or a workspace's) is created, updated,
or deleted when the file says ``null``; a workspace's rate-limit overrides are set
type by type (``null`` clears one). A workspace the file pins by ``id`` is matched
by it, so a new name renames it; ``external_key_id`` is write-once.

Over 400 lines and one job: the Admin API's planning rules (what a file asks of each
kind of resource, and the review of removals), which read one another's results.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.core.edits import Put
from reconciler.core.errors import ConfigError, Problem
from reconciler.core.fielddiff import differing
from reconciler.core.model import Action, DesiredState, FieldChange, LiveState, ResourceChange
from reconciler.providers.anthropic_admin import addresses, limits, surface, surface_plan
from reconciler.providers.anthropic_admin.addresses import (
    API_KEY,
    MEMBER,
    RATE_LIMIT,
    SPEND_LIMIT,
    USER,
    WORKSPACE,
    WORKSPACE_SPEND_LIMIT,
)
from reconciler.providers.anthropic_admin.kinds import BY_NAME, SPECS
from reconciler.providers.base import Proposal, Settlement
from reconciler.providers.kinds import undo

PRUNE_SHARE = 0.25
# Changes in the registry's order of kinds (workspaces before their members...).
_KIND_ORDER = {spec.name: order for order, spec in enumerate(SPECS)}
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
        spend = dict(spec.pop("spend_limits", None) or {})
        rates = dict(spec.pop("rate_limits", None) or {})
        fields: dict[str, Any] = {}
        for key, value in (spec.pop("data_residency", None) or {}).items():
            fields[f"{addresses.RESIDENCY}{key}"] = value
        fields.update(spec)
        found[addresses.make(WORKSPACE, name)] = fields
        if members.pop("prune", False):
            prune.add(addresses.prefix(MEMBER, name))
        for email, role in _by_email(members, f"workspaces.{name}.members").items():
            found[addresses.make(MEMBER, name, email)] = {"workspace_role": role}
        # After the workspace itself: what is planned inside it may wait for its creation.
        for period, amount in spend.items():
            found[addresses.make(WORKSPACE_SPEND_LIMIT, name, period)] = {"amount": amount}
        for group, types in rates.items():
            found[addresses.make(RATE_LIMIT, name, group)] = dict(types or {})
    for key_id, fields in (data.get("api_keys") or {}).items():
        found[addresses.make(API_KEY, key_id)] = dict(fields or {})
    for period, amount in (data.get("spend_limits") or {}).items():
        found[addresses.make(SPEND_LIMIT, period)] = {"amount": amount}
    guarded, pruned = surface.file_resources(data)
    found.update(guarded)
    return found, frozenset(prune | pruned)


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
        elif kind in (SPEND_LIMIT, WORKSPACE_SPEND_LIMIT):
            planner.spend_limit(
                address, names[0] if kind == WORKSPACE_SPEND_LIMIT else None, fields
            )
        elif kind == RATE_LIMIT:
            planner.rate_limit(address, names[0], names[1], fields)
    planner.expire()
    planner.prune()
    planner.notes += [("", w) for w in live.context.get("sign_in_warnings", ())]
    return _joined(planner.proposal(), surface_plan.propose(desired, live))


def _joined(first: Proposal, second: Proposal) -> Proposal:
    """The people, workspaces and limits' proposal with the security surface's."""
    changes = [*first.changes, *second.changes]
    changes.sort(key=lambda c: (_KIND_ORDER[addresses.parse(c.address)[0]], c.address))
    return Proposal(
        changes,
        unmanaged={**first.unmanaged, **second.unmanaged},
        problems={**first.problems, **second.problems},
        settlements={**first.settlements, **second.settlements},
        notes=[*first.notes, *second.notes],
        about={**first.about, **second.about},
        alerts=[*first.alerts, *second.alerts],
        security=[*first.security, *second.security],
    )


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
        self.archived_on: Mapping[str, str] = live.context.get("archived_on", {})
        self.default: str | None = live.context.get("default_workspace")
        self.settlements: dict[str, Settlement] = {}
        self.created_workspaces: set[str] = set()
        self.renamed_workspaces: set[str] = set()
        self.archiving: set[str] = set()
        self.about: dict[str, str] = {}
        self.spend_skipped: list[str] = []

    def _now(self, address: str) -> Mapping[str, Any] | None:
        found = self.live.resources.get(address)
        return found.fields if found else None

    def _add(
        self,
        address: str,
        action: Action,
        changes: dict[str, FieldChange],
        *requires: str,
        verb: str | None = None,
    ) -> None:
        change = ResourceChange(address, action, None, changes, tuple(requires), verb=verb)
        self.changes.append(change)

    # -- sections -------------------------------------------------------------------------

    def _requires(self, workspace: str) -> list[str]:
        """What a change inside ``workspace`` waits for: its creation or its rename."""
        waits = self.created_workspaces | self.renamed_workspaces
        return [addresses.make(WORKSPACE, workspace)] if workspace in waits else []

    def workspace(self, address: str, name: str, fields: Mapping[str, Any]) -> None:
        now = self._now(address)
        wanted = {k: v for k, v in fields.items() if k not in ("archived", "id", "recreate")}
        if "id" in fields and not self._pinned(address, name, fields["id"]):
            return
        if self._is_default(address):
            self._default_workspace(address, name, fields)
            return
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
        if now is None and name in self.archived:
            archived = (
                f"the workspace of this name ({self.archived[name]}) was archived on "
                f"{self.archived_on.get(name, 'an unknown date')}"
            )
            if fields.get("recreate") is not True:
                self.archiving.add(name)  # nothing inside it is planned either
                self.problems[address] = (
                    f"{address}: {archived}, and archived is a decision reconciler does not "
                    "undo unless the file says so: write archived: true to record it "
                    "(reconciler adopt does), or recreate: true to create a new workspace of "
                    "this name"
                )
                self.settlements[address] = Settlement(
                    [Put(("workspaces", name, "archived"), True)],
                    f"{archived}; the file now says archived: true",
                )
                return
            self.notes.append(
                (
                    address,
                    f"{address}: {archived}; a new workspace of this name is created, as the "
                    "file's recreate: true says",
                )
            )
        if now is None:
            self.created_workspaces.add(name)
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
        key = now.get("external_key_id")
        if wanted.get("external_key_id", key) != key and key is not None:
            self.problems[address] = (
                f"{address}: external_key_id is {key!r} live and {wanted['external_key_id']!r} "
                "in the file, and it is write-once (a key is never detached or replaced): "
                "write the live one, or remove the line"
            )
            return
        if now["name"] != name:  # pinned by id under another name: rename it
            self.renamed_workspaces.add(name)
            wanted["name"] = name
        self.updates[address] = ({n: now.get(n) for n in wanted}, wanted)

    def _is_default(self, address: str) -> bool:
        found = self.live.resources.get(address)
        return found is not None and self.default is not None and found.id == self.default

    def _default_workspace(self, address: str, name: str, fields: Mapping[str, Any]) -> None:
        """Of the Default workspace, the API manages its limits only: anything else the
        file says of it is a problem, never a call the API would refuse."""
        now = self._now(address) or {}
        asked = sorted(
            k for k, v in fields.items() if k not in ("id", "recreate") and now.get(k, v) != v
        )
        if now.get("name") != name:
            asked.insert(0, "name")
        if asked:
            self.problems[address] = (
                f"{address} is the organization's Default workspace, whose "
                f"{', '.join(asked)} cannot be changed through the API; of it, reconciler "
                "manages spend_limits and rate_limits only"
            )

    def _pinned(self, address: str, name: str, workspace_id: str) -> bool:
        """Whether the live workspace at ``address`` is the one the file pins by id;
        otherwise a problem says which it is, or why there is none."""
        found = self.live.resources.get(address)
        if found is not None and found.id == workspace_id:
            return True
        if found is not None:
            why = f"the active workspace named {name!r} is {found.id}; rename or archive one"
        elif workspace_id in self.archived.values():
            why = "that workspace is archived, and archived workspaces cannot be changed"
        else:
            why = "no workspace of this organization has that id (is it another organization's?)"
        self.problems[address] = f"{address} is pinned to id {workspace_id}, but {why}"
        return False

    def user(self, address: str, email: str, fields: Mapping[str, Any]) -> None:
        now = self._now(address)
        role = fields["role"]
        if role == "admin":  # a check, never a write: admins are made in the Console
            if now is None or now["role"] != "admin":
                live = "is not a member" if now is None else f"is {now['role']} live"
                self.notes.append(
                    (
                        address,
                        f"{address} is listed as an organization admin but {live}; admins "
                        "are made and removed in the Console, so reconciler changes nothing",
                    )
                )
            return
        if now is None:
            self._add(address, Action.CREATE, {"role": FieldChange(None, role)}, verb="invite")
        elif now["role"] == role:
            return
        elif email in self.invited:
            changed = {"role": FieldChange(now["role"], role)}
            self._add(address, Action.REPLACE, changed, verb="re-invite")
        elif now["role"] == "admin":
            self.problems[address] = (
                f"{address} is an organization admin, and an admin's role cannot be changed "
                "through the API: change it in the Console, or write admin"
            )
        else:
            self.updates[address] = ({"role": now["role"]}, {"role": role})

    def member(self, address: str, workspace: str, email: str, fields: Mapping[str, Any]) -> None:
        if workspace in self.archiving:
            return
        if self._is_default(addresses.make(WORKSPACE, workspace)):
            self.problems[address] = (
                f"{address}: the members of the organization's Default workspace are not "
                "managed through the API; remove the line"
            )
            return
        role = fields["workspace_role"]
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
            self._add(
                address,
                Action.CREATE,
                {"workspace_role": FieldChange(None, role)},
                *self._requires(workspace),
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
                "write status: archived to record it (reconciler adopt does), or remove it "
                "from the file"
            )
            self.settlements[address] = Settlement(
                [Put(("api_keys", addresses.parse(address)[1][0], "status"), "archived")],
                "archived live; the file now says status: archived",
            )
            return
        self.updates[address] = ({n: now.get(n) for n in fields}, dict(fields))

    # -- limits ---------------------------------------------------------------------------

    def spend_limit(self, address: str, workspace: str | None, fields: Mapping[str, Any]) -> None:
        if workspace in self.archiving:
            return
        if not self.live.context.get("spend_limits_readable", True):
            self.spend_skipped.append(address)
            return
        now = self._now(address)
        before, after = (now or {}).get("amount"), fields["amount"]
        self.about[address] = limits.spend_about(before, after, self.live.context.get("currency"))
        waits = self._requires(workspace) if workspace else []
        if now is None:
            if after is not None:
                self._add(address, Action.CREATE, {"amount": FieldChange(None, after)}, *waits)
        elif after is None:
            self._add(address, Action.DELETE, {"amount": FieldChange(before, None)})
        else:
            self.updates[address] = ({"amount": before}, {"amount": after})

    def rate_limit(
        self, address: str, workspace: str, group: str, fields: Mapping[str, Any]
    ) -> None:
        if workspace in self.archiving:
            return
        groups: Mapping[str, Any] = self.live.context.get("rate_limit_groups", {})
        if self.live.context.get("rate_limits_unreadable"):
            why = self.live.context["rate_limits_unreadable"]
            self.problems[address] = (
                f"{address}: the organization's rate limits could not be read ({why}), so "
                "the file's overrides cannot be planned"
            )
            return
        if group not in groups:
            self.problems[address] = limits.unknown_group(address, group, groups)
            return
        unknown = [t for t in fields if t not in groups[group]["limits"]]
        if unknown:
            self.problems[address] = limits.unknown_types(address, unknown, groups[group])
            return
        self.about[address] = limits.rate_about(groups[group], list(fields))
        now = self._now(address)
        if now is not None:
            self.updates[address] = ({t: now.get(t) for t in fields}, dict(fields))
            return
        wanted = {t: FieldChange(None, v) for t, v in fields.items() if v is not None}
        if wanted:  # a workspace this plan creates: its overrides come with it
            self._add(address, Action.CREATE, wanted, *self._requires(workspace))

    # -- removals -------------------------------------------------------------------------

    def expire(self) -> None:
        """A removal for each grant whose hold has ended (pruned section or not), but an
        organization admin's: the API cannot remove one."""
        for address in sorted(self.desired.expired):
            resource = self.live.resources.get(address)
            if resource is not None and _is_admin(address, resource.fields):
                self.notes.append(
                    (
                        address,
                        f"{address}: the hold has ended, but an organization admin cannot be "
                        "removed through the API; remove them in the Console",
                    )
                )
            elif resource is not None:
                self._add(
                    address,
                    Action.DELETE,
                    {n: FieldChange(v, None) for n, v in resource.fields.items() if n != "status"},
                )

    def prune(self) -> None:
        """A removal for each live user, invite or member a pruned section does not list;
        never an organization admin, whom the API cannot remove (nor a file add)."""
        for address, resource in self.live.resources.items():
            kind, names = addresses.parse(address)
            if kind not in (USER, MEMBER) or address in self.desired.resources:
                continue
            if _is_admin(address, resource.fields):
                continue
            if address in self.desired.expired:
                continue  # removed by expire()
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
            ResourceChange(address, Action.UPDATE, None, changes, self._update_requires(address))
            for address, changes in found.items()
        ]
        if self.spend_skipped:
            shown = ", ".join(self.spend_skipped)
            self.notes.append(
                (self.spend_skipped[0], f"{shown} not planned: {limits.NO_SPEND_ACCESS}")
            )
        self.changes.sort(key=lambda c: (_KIND_ORDER[addresses.parse(c.address)[0]], c.address))
        return Proposal(
            self.changes,
            unmanaged=self._unmanaged(),
            problems=self.problems,
            settlements=self.settlements,
            notes=self.notes,
            about=self.about,
        )

    def _update_requires(self, address: str) -> tuple[str, ...]:
        """An update inside a renamed workspace waits for the rename."""
        kind, names = addresses.parse(address)
        if kind in (MEMBER, WORKSPACE_SPEND_LIMIT, RATE_LIMIT):
            return tuple(self._requires(names[0]))
        return ()

    def _unmanaged(self) -> dict[str, int]:
        removed = {c.address for c in self.changes if c.action is Action.DELETE}
        counts: dict[str, int] = {}
        names = {USER: "user", WORKSPACE: "workspace", API_KEY: "API key"}
        for address in self.live.resources:
            kind = addresses.parse(address)[0]
            if self._is_default(address):
                continue  # not a workspace anyone made: never counted as left out
            if kind in names and address not in self.desired.resources and address not in removed:
                counts[names[kind]] = counts.get(names[kind], 0) + 1
        return counts


def _is_admin(address: str, fields: Mapping[str, Any]) -> bool:
    return addresses.parse(address)[0] == USER and fields.get("role") == "admin"


def review(changes: Sequence[ResourceChange], live: LiveState) -> tuple[list[str], list[str]]:
    """Warnings (archives cannot be undone) and the guards on removals: more than 25% of
    a section (the organization's users and invites; one workspace's members), or any
    organization admin."""
    removals = (undo.removal_warning(BY_NAME[addresses.parse(c.address)[0]], c) for c in changes)
    warnings = [w for w in removals if w is not None] + limits.review(changes, live)
    guards: list[str] = []
    sections: dict[str, list[str]] = {}
    for change in changes:
        kind, names = addresses.parse(change.address)
        if not change.action.removes or kind in (WORKSPACE, SPEND_LIMIT, WORKSPACE_SPEND_LIMIT):
            continue
        section = addresses.prefix(MEMBER, names[0]) if kind == MEMBER else addresses.prefix(kind)
        sections.setdefault(section, []).append(change.address)
        if kind == USER and change.changes.get("role", FieldChange(None, None)).before == "admin":
            guards.append(f"removes the organization admin {names[0]}")
    for section, removed in sections.items():
        total = sum(1 for a in live.resources if a.startswith(section))
        if total and len(removed) / total > PRUNE_SHARE:
            kind = addresses.parse(removed[0])[0]
            what = (
                f"members of workspace {json.dumps(addresses.parse(removed[0])[1][0])}"
                if kind == MEMBER
                else "users and invites"
                if kind == USER
                else f"{kind.replace('_', ' ')}s"
            )
            guards.append(
                f"removes {len(removed)} of {total} {what} ({len(removed) / total:.0%}), "
                f"more than {PRUNE_SHARE:.0%}"
            )
    return warnings, guards
