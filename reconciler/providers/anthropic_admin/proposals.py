"""The Admin API's side of a plan: a file's sections as resources, each entry
planned by its kind's module (``kinds/``: the people, workspaces and limits through
the shared ``planner``, the security surface through ``surface_plan``), and the
review of what the plan removes.

Each kind's rules are its module's: users are invited by email, workspaces created,
renamed by a pinned ``id`` or archived when the file says so, limits set or cleared.
Nothing the file does not list is removed unless its section says ``prune: true``,
and the removals a prune plans are guarded here: more than 25% of a section, or any
organization admin, and apply refuses without ``--force``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.core.errors import ConfigError, Problem
from reconciler.core.model import DesiredState, LiveState, ResourceChange
from reconciler.providers.anthropic_admin import addresses, surface_plan
from reconciler.providers.anthropic_admin.kinds import BY_NAME, ENTRIES, ENTRIES_BY_NAME, SPECS
from reconciler.providers.anthropic_admin.kinds.planner import Planner
from reconciler.providers.base import Proposal
from reconciler.providers.kinds import codec, undo

PRUNE_SHARE = 0.25
# Changes in the registry's order of kinds (workspaces before their members...).
_KIND_ORDER = {spec.name: order for order, spec in enumerate(SPECS)}


def resources(data: Mapping[str, Any]) -> tuple[dict[str, dict[str, Any]], frozenset[str]]:
    """A valid file's sections as resources by address, in the registry's order (a
    workspace before what it keeps), and the prefixes it prunes. Emails are compared
    without case (as mail is delivered), so addresses hold them in lower case; two
    spellings of one email in a section are a problem."""
    found: dict[str, dict[str, Any]] = {}
    prune: set[str] = set()
    for spec in SPECS:
        for under, entries in codec.sections(spec, data):
            if spec.prunable and entries.pop("prune", False):
                prune.add(addresses.prefix(spec.name, *under))
            if spec.case_free_keys:
                entries = _by_email(entries, ".".join(codec.path_of(spec, under)))
            for key, written in entries.items():
                found[addresses.make(spec.name, *under, key)] = codec.fields_of(spec, written)
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
    planner = Planner(desired, live, ENTRIES_BY_NAME)
    for address, fields in desired.resources.items():
        if addresses.parse(address)[0] in ENTRIES_BY_NAME:
            planner.plan(address, fields)
    planner.expire()
    planner.prune()
    planner.notes += [("", w) for w in live.context.get("sign_in_warnings", ())]
    return _joined(planner.proposal(_KIND_ORDER), surface_plan.propose(desired, live))


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


def review(changes: Sequence[ResourceChange], live: LiveState) -> tuple[list[str], list[str]]:
    """Warnings (archives cannot be undone; each kind's own, as rate limits taking an
    hour) and the guards on removals: more than 25% of
    a section (the organization's users and invites; one workspace's members), or any
    organization admin."""
    removals = (undo.removal_warning(BY_NAME[addresses.parse(c.address)[0]], c) for c in changes)
    warnings = [w for w in removals if w is not None]
    for each in ENTRIES:
        mine = [c for c in changes if addresses.parse(c.address)[0] == each.spec.name]
        warnings += each.review(mine, live)
    guards: list[str] = []
    sections: dict[str, list[str]] = {}
    for change in changes:
        kind, names = addresses.parse(change.address)
        entry = ENTRIES_BY_NAME.get(kind)
        if not change.action.removes or (entry is not None and not entry.spec.prunable):
            continue  # removed only where the file says so (archived: true, null)
        section = addresses.prefix(kind, *names[:-1])
        sections.setdefault(section, []).append(change.address)
        before = {n: c.before for n, c in change.changes.items()}
        who = entry.fixed(before) if entry is not None else None
        if who is not None:
            guards.append(f"removes the {who} {names[0]}")
    for section, removed in sections.items():
        total = sum(1 for a in live.resources if a.startswith(section))
        if total and len(removed) / total > PRUNE_SHARE:
            kind, names = addresses.parse(removed[0])
            inside = f" of workspace {json.dumps(names[0])}" if len(names) > 1 else ""
            guards.append(
                f"removes {len(removed)} of {total} {BY_NAME[kind].plural}{inside} "
                f"({len(removed) / total:.0%}), more than {PRUNE_SHARE:.0%}"
            )
    return warnings, guards
