"""A workspace (``workspaces:``, keyed by name; renamed by ``id:``). Archived, never
deleted: the Admin API has no delete. Its planning is ``proposals``' (an escape hatch:
the Default workspace, renames that move its members and limits)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from types import MappingProxyType
from typing import Any

from reconciler.core.edits import Put
from reconciler.core.model import Action, FieldChange, LiveResource, LiveState
from reconciler.providers.anthropic_admin import addresses
from reconciler.providers.anthropic_admin.kinds.planner import EntryKind, Planner
from reconciler.providers.base import Settlement
from reconciler.providers.kinds.spec import Kind, Named, Removal

WORKSPACE_GEO = f"{addresses.RESIDENCY}workspace_geo"


def _exported(resource: LiveResource, context: Mapping[str, Any]) -> dict[str, Any]:
    """By id (so a rename is seen), its colour, key, residency and tags; the Default
    workspace by id alone (its limits are the file's, the rest is not anyone's)."""
    if resource.id == context.get("default_workspace"):
        return {"id": resource.id}
    fields = resource.fields
    key = fields.get("external_key_id")
    return {
        "id": resource.id,
        "display_color": fields["display_color"],
        **({"external_key_id": key} if key else {}),
        "data_residency": addresses.residency(fields),
        "tags": fields["tags"],
    }


def _wanted(fields: dict[str, Any]) -> dict[str, Any]:
    """Its own fields: what it keeps (members, limits) are kinds of their own, and its
    ``data_residency`` settings are fields each (``data_residency.default_inference_geo``)."""
    for kept in ("members", "spend_limits", "rate_limits"):
        fields.pop(kept, None)
    residency = fields.pop("data_residency", None) or {}
    return {**{f"{addresses.RESIDENCY}{k}": v for k, v in residency.items()}, **fields}


SPEC = Kind(
    name="workspace",
    noun="workspace",
    section=("workspaces",),
    fields=("name", "display_color", "data_residency", "tags", "external_key_id"),
    removal=Removal.ARCHIVE,
    removal_loses="its API keys are deactivated",
    security=(Named("name"),),
    exported=_exported,
    wanted=_wanted,
)


def plan(planner: Planner, address: str, names: tuple[str, ...], fields: Mapping[str, Any]) -> None:
    """The file's workspace: created, updated, renamed by its pinned id, archived when the
    file says so; the Default workspace's limits only."""
    name = names[0]
    now = planner.now(address)
    wanted = {k: v for k, v in fields.items() if k not in ("archived", "id", "recreate")}
    if "id" in fields and not _pinned(planner, address, name, fields["id"]):
        return
    if planner.is_default(address):
        _default_workspace(planner, address, name, fields)
        return
    if fields.get("archived") is True:
        planner.archiving.add(name)
        if now is not None:
            planner.add(address, Action.ARCHIVE, {"archived": FieldChange(False, True)})
        elif name not in planner.archived:
            planner.notes.append(
                (
                    address,
                    f"{address} is marked archived: true but no workspace of this name "
                    "exists, active or archived; there is nothing to archive (is the name "
                    "spelled as in the Console?)",
                )
            )
        return
    if now is None and name in planner.archived:
        archived = (
            f"the workspace of this name ({planner.archived[name]}) was archived on "
            f"{planner.archived_on.get(name, 'an unknown date')}"
        )
        if fields.get("recreate") is not True:
            planner.archiving.add(name)  # nothing inside it is planned either
            planner.problems[address] = (
                f"{address}: {archived}, and archived is a decision reconciler does not "
                "undo unless the file says so: write archived: true to record it "
                "(reconciler adopt does), or recreate: true to create a new workspace of "
                "this name"
            )
            planner.settlements[address] = Settlement(
                [Put(("workspaces", name, "archived"), True)],
                f"{archived}; the file now says archived: true",
            )
            return
        planner.notes.append(
            (
                address,
                f"{address}: {archived}; a new workspace of this name is created, as the "
                "file's recreate: true says",
            )
        )
    if now is None:
        planner.created_workspaces.add(name)
        planner.add(
            address,
            Action.CREATE,
            {n: FieldChange(None, v) for n, v in {"name": name, **wanted}.items()},
        )
        return
    if WORKSPACE_GEO in wanted and wanted[WORKSPACE_GEO] != now.get(WORKSPACE_GEO):
        planner.notes.append(
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
        planner.problems[address] = (
            f"{address}: external_key_id is {key!r} live and {wanted['external_key_id']!r} "
            "in the file, and it is write-once (a key is never detached or replaced): "
            "write the live one, or remove the line"
        )
        return
    if now["name"] != name:  # pinned by id under another name: rename it
        planner.renamed_workspaces.add(name)
        wanted["name"] = name
    planner.updates[address] = ({n: now.get(n) for n in wanted}, wanted)


def _default_workspace(
    planner: Planner, address: str, name: str, fields: Mapping[str, Any]
) -> None:
    """Of the Default workspace, the API manages its limits only: anything else the
    file says of it is a problem, never a call the API would refuse."""
    now = planner.now(address) or {}
    asked = sorted(
        k for k, v in fields.items() if k not in ("id", "recreate") and now.get(k, v) != v
    )
    if now.get("name") != name:
        asked.insert(0, "name")
    if asked:
        planner.problems[address] = (
            f"{address} is the organization's Default workspace, whose "
            f"{', '.join(asked)} cannot be changed through the API; of it, reconciler "
            "manages spend_limits and rate_limits only"
        )


def _pinned(planner: Planner, address: str, name: str, workspace_id: str) -> bool:
    """Whether the live workspace at ``address`` is the one the file pins by id;
    otherwise a problem says which it is, or why there is none."""
    found = planner.live.resources.get(address)
    if found is not None and found.id == workspace_id:
        return True
    if found is not None:
        why = f"the active workspace named {name!r} is {found.id}; rename or archive one"
    elif workspace_id in planner.archived.values():
        why = "that workspace is archived, and archived workspaces cannot be changed"
    else:
        why = "no workspace of this organization has that id (is it another organization's?)"
    planner.problems[address] = f"{address} is pinned to id {workspace_id}, but {why}"
    return False


ENTRY = EntryKind(SPEC, plan, counted=True)


def aligned(
    desired: Mapping[str, Mapping[str, Any]], live: LiveState, following: Collection[str]
) -> LiveState:
    """Live state with each workspace the file pins by ``id`` under the file's name, with
    what is kept under it (the kinds ``following`` it: members and limits): a rename is
    then an update of ``name``. A pinned id whose new name another live workspace holds
    stays where it is (the plan says why)."""
    pins = {
        fields["id"]: addresses.parse(address)[1][0]
        for address, fields in desired.items()
        if addresses.parse(address)[0] == SPEC.name and "id" in fields
    }
    names_by_id = {
        resource.id: addresses.parse(address)[1][0]
        for address, resource in live.resources.items()
        if addresses.parse(address)[0] == SPEC.name
    }
    taken = set(names_by_id.values())
    renames = {
        names_by_id[i]: name
        for i, name in pins.items()
        if i in names_by_id and names_by_id[i] != name and name not in taken
    }
    if not renames:
        return live
    moved, was = {}, {}
    for address, resource in live.resources.items():
        kind, names = addresses.parse(address)
        if (kind == SPEC.name or kind in following) and names[0] in renames:
            now = addresses.make(kind, renames[names[0]], *names[1:])
            was[now], address = address, now
        moved[address] = resource
    return LiveState(moved, live.context, live.organization, MappingProxyType(was))


def present(
    address: str, ids: Mapping[str, str], live: LiveState, following: Collection[str]
) -> str:
    """Where ``address`` is live now: under the workspace's present name when this
    session renamed it (``ids``: a workspace's id by the file's name; an apply's
    addresses use the names of the file)."""
    kind, names = addresses.parse(address)
    if not (kind == SPEC.name or kind in following) or names[0] not in ids:
        return address
    for other, resource in live.resources.items():
        if addresses.parse(other)[0] == SPEC.name and resource.id == ids[names[0]]:
            return addresses.make(kind, addresses.parse(other)[1][0], *names[1:])
    return address
