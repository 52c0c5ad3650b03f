"""A policy's rules on a plan: each rule's condition evaluated for each change, with
``change`` (``address``; ``action``: create, update, replace, delete or archive;
``verb``: the plan's word for it, ``invite`` for a user's create; ``resource``: its
kind; ``name``: the entry's own key, an email or a name; ``id`` and
``live_address``: who it is live, so a rename by id cannot dodge a rule on an
address; ``before`` and ``after``: the changed fields, a field absent on a side
absent from its map) and ``plan`` (``changes``: all of them, ``holds``, ``file``,
``api``: the host, ``provider``, ``made_at``) in scope; then who waived what. Each
hold of the file still to end is also judged, as a change to come (``action ==
"hold"``) in the shape of the change its end makes, with its ``ends_at``, ``then``,
``path`` and ``grant``.

A condition that cannot be evaluated (a field it reads is absent, a value of another
type) is one sentence naming the rule and the change, and counts as a match of a
``deny`` rule: a policy fails closed. Approvals are the operator's word
(``--approved-by``; in CI, the pull request's approving reviews): an approver waives a
``require_approval`` rule when it is one of the rule's owners, directly or as a member
of an owning ``@org/team`` in the membership list the operator gives
(``--team-members``). Logins are compared without case, as GitHub does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cel_expr_python import cel

from reconciler.core.errors import ConfigError, Problem
from reconciler.core.escape import visible
from reconciler.core.files import read_input
from reconciler.core.model import Action, Plan, PlannedHold, ResourceChange, kind_of, name_of
from reconciler.core.verdict import RuleMatch, Verdict
from reconciler.policy.rules import Policy, Rule

MOST_ERRORS = 5  # a rule's evaluation errors shown; the count says the rest
MOST_ADDRESSES = 10  # a refused rule's addresses named
WHY_CHARS = 200  # of CEL's sentence about an evaluation error
_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
_TEAM = re.compile(r"^@[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")


def change_map(change: ResourceChange) -> dict[str, Any]:
    """One change as a condition sees it."""
    before = (
        {} if change.action is Action.CREATE else {n: c.before for n, c in change.changes.items()}
    )
    after = (
        {} if change.action is Action.DELETE else {n: c.after for n, c in change.changes.items()}
    )
    return {
        "address": change.address,
        "action": str(change.action),
        "verb": change.says,
        "resource": kind_of(change.address),
        "name": name_of(change.address),
        "id": change.live_id or "",
        "live_address": change.live_address or change.address,
        "before": before,
        "after": after,
    }


POLICY_FILE_RULE = "policy-file"


def hold_map(hold: PlannedHold) -> dict[str, Any]:
    """A hold of the file as a condition sees it: a change to come (``action``
    ``hold``) in the shape of the change it becomes when it ends, so a rule on
    ``change.after`` sees its ``then`` now (a held value: ``before`` the held value,
    ``after`` what follows; a grant: ``before`` its role, ``after`` empty, as a
    removal), with when it ends (``ends_at``, a timestamp's text) and what then."""
    if hold.grant:
        before, after = {"role": hold.value}, {}
    else:
        field = hold.field or "value"
        before, after = {field: hold.value}, {field: hold.then}
    return {
        "address": hold.address,
        "action": "hold",
        "verb": "hold",
        "resource": kind_of(hold.address),
        "name": name_of(hold.address),
        "id": "",
        "live_address": hold.address,
        "before": before,
        "after": after,
        "path": hold.path,
        "ends_at": hold.ends_at,
        "then": hold.then,
        "grant": hold.grant,
    }


def judged(
    plan: Plan,
    policy: Policy,
    approved_by: Sequence[str] = (),
    teams: Mapping[str, Sequence[str]] | None = None,
    *,
    policy_changed: bool = False,
) -> Plan:
    """``plan`` with the policy's verdict on its changes; ``policy_changed`` (the
    operator's word: in CI, the pull request edits the policy file) adds the policy's
    own rule, that its ``owners`` approve."""
    found = verdict(plan, policy, approved_by, teams or {})
    if policy_changed and policy.owners:
        own = RuleMatch(
            POLICY_FILE_RULE,
            "require_approval",
            policy.owners,
            "This change edits the policy file itself; the policy's owners must approve it.",
            (policy.file,),
            waived_by=tuple(
                sorted(a for a in found.approved_by if _owns(policy.owners, a, teams or {}))
            ),
        )
        found = replace(found, matches=(own, *found.matches))
    return replace(plan, policy=found)


def verdict(
    plan: Plan,
    policy: Policy,
    approved_by: Sequence[str],
    teams: Mapping[str, Sequence[str]],
) -> Verdict:
    changes = [change_map(c) for c in plan.resources]
    held = [hold_map(h) for h in plan.holds if not h.ended]
    url = plan.api.get("base_url") or ""  # pragma: no mutate: "" and "XXXX" have no host
    host = urlsplit(url).hostname or ""
    scope_plan = {
        "changes": changes,
        "holds": held,
        "file": str(plan.source.get("file") or ""),
        "api": host,
        "provider": plan.provider,
        "made_at": plan.made_at or "",
    }
    approvers = {a.lower() for a in approved_by}
    matches = []
    for rule in policy.rules:
        addresses, errors = _matching(rule, [*changes, *held], scope_plan)
        if not addresses and not errors:
            continue
        owners_approving = (
            tuple(sorted(a for a in approvers if _owns(rule.owners, a, teams)))
            if rule.effect == "require_approval"
            else ()
        )
        matches.append(
            RuleMatch(
                rule.name,
                rule.effect,
                rule.owners,
                rule.message,
                tuple(addresses),
                _bounded(errors),
                owners_approving,
            )
        )
    return Verdict(policy.file, policy.sha256, tuple(matches), tuple(sorted(approvers)))


def _matching(
    rule: Rule, changes: list[dict[str, Any]], scope_plan: dict[str, Any]
) -> tuple[list[str], list[str]]:
    addresses, errors = [], []
    for change in changes:
        found = rule.condition.eval(data={"change": change, "plan": scope_plan})
        if found.type() == cel.Type.ERROR:
            why = visible(str(found.value()))[:WHY_CHARS]  # pragma: no mutate: a length
            errors.append(
                f"rule {rule.name} could not be evaluated on {visible(change['address'])} "
                f"({why}); it counts as a deny"
            )
            addresses.append(change["address"])
        elif found.type() != cel.Type.BOOL:
            errors.append(
                f"rule {rule.name} gave {visible(found.type().name())} on "
                f"{visible(change['address'])}, not true or false; it counts as a deny"
            )
            addresses.append(change["address"])
        elif found.value():
            addresses.append(change["address"])
    return addresses, errors


def _bounded(errors: list[str]) -> tuple[str, ...]:
    if len(errors) <= MOST_ERRORS:
        return tuple(errors)
    return (*errors[:MOST_ERRORS], f"and {len(errors) - MOST_ERRORS} more changes alike")


def _owns(owners: Iterable[str], login: str, teams: Mapping[str, Sequence[str]]) -> bool:
    for owner in owners:
        if owner.startswith("@"):
            if login in {m.lower() for m in teams.get(owner.lower(), ())}:
                return True
        elif owner.lower() == login:
            return True
    return False


def approvers(given: Iterable[str]) -> tuple[str, ...]:
    """``--approved-by`` values (each may hold several, comma-separated), checked as
    GitHub logins."""
    found = [p.strip() for value in given for p in value.split(",") if p.strip()]
    wrong = [p for p in found if not _LOGIN.match(p)]
    if wrong:
        raise ConfigError(
            [Problem("--approved-by", 1, 1, "", f"{visible(wrong[0])!r} is not a GitHub login")]
        )
    return tuple(found)


def team_members(path: Path | None) -> dict[str, tuple[str, ...]]:
    """The operator's membership list: JSON ``{"@org/team": ["login", ...]}``."""
    if path is None:
        return {}
    name = str(path)
    try:
        data = json.loads(read_input(path, what="the team membership list"))
    except (OSError, ValueError) as exc:
        raise ConfigError(
            [Problem(name, 1, 1, "", f"cannot read the team membership list: {exc}")]
        ) from exc
    if not isinstance(data, dict) or not all(
        isinstance(team, str)
        and _TEAM.match(team)
        and isinstance(members, list)
        and all(isinstance(m, str) and _LOGIN.match(m) for m in members)
        for team, members in data.items()
    ):
        raise ConfigError(
            [
                Problem(
                    name,
                    1,
                    1,
                    "",
                    'the team membership list is JSON {"@org/team": ["login", ...]}',
                )
            ]
        )
    return {team.lower(): tuple(members) for team, members in data.items()}


def refusal(verdict: Verdict) -> str | None:
    """Why apply must write nothing under this verdict, in one sentence; None when it
    may go on."""
    if verdict.denied:
        rules = ", ".join(f"{m.rule} (on {_shown(m)})" for m in verdict.denied)
        return (
            f"The policy {visible(verdict.file)} denies this plan: {visible(rules)}. Nothing "
            "was written; change the file (or the policy, with its owners' approval)."
        )
    if verdict.awaiting:
        rules = "; ".join(f"{m.rule} (owners: {', '.join(m.owners)})" for m in verdict.awaiting)
        return (
            f"The policy {visible(verdict.file)} requires approval before this plan is "
            f"applied: {visible(rules)}. Nothing was written; apply with --approved-by "
            "naming an owner of each rule once they have approved."
        )
    return None


def _shown(match: RuleMatch) -> str:
    listed = ", ".join(match.addresses[:MOST_ADDRESSES])
    more = len(match.addresses) - MOST_ADDRESSES
    return listed + (f" and {more} more" if more > 0 else "")
