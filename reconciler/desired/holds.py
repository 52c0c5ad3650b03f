"""Holds: values and grants that end by themselves, so the end is reviewed with them.

A **held value** stands in place of a scalar field: ``{value: 5000000, until:
2026-12-31, then: 1000000}`` wants ``value`` until ``until`` and ``then`` after
it. A **held grant** is a user or member entry with an end: ``{role:
workspace_developer, until: 2026-12-31}``; after it, the entry is removed live
(whether or not its section prunes). ``until`` is a date (held to the end of that
day, UTC) or a timestamp with a zone.

Holds are resolved on a file's data before anything else reads it, at a moment
(``as_of``: now, or ``plan --as-of``): what is left is a plain file, and the
holds themselves are kept to be shown, warned about and settled.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from reconciler.core.errors import Problem
from reconciler.core.model import Hold
from reconciler.desired.messages import unknown_key

WARN_WITHIN = timedelta(days=7)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_STAMP = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*([Zz]|[+-]\d{2}:?\d{2})$"
)
# Sections whose entries are settings of the organization itself: never held.
_NOT_HELD = ("version", "provider", "api", "organization")
_HOLD_KEYS = frozenset({"value", "then", "role"})  # besides until, what only a hold has


def ends(text: str) -> datetime | None:
    """The moment ``until`` stops holding: the end of a date's day in UTC, or the
    timestamp itself (a zone is required); None when ``text`` is neither."""
    if _DATE.match(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            return None
        return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
    if _STAMP.match(text):
        try:
            moment = datetime.fromisoformat(text.replace("z", "Z"))  # 3.11 takes " " and "t"
        except ValueError:
            return None
        return moment.astimezone(UTC)  # pragma: no mutate: one instant in any zone
    return None


def moment(text: str) -> datetime:
    """``plan --as-of``: a date (its start, UTC) or a timestamp with a zone."""
    if _DATE.match(text):
        stop = ends(text)
        if stop is not None:
            return stop - timedelta(days=1)
    stamp = ends(text)
    if stamp is None or _DATE.match(text):
        raise ValueError(
            f"{text!r} is not a date (2026-12-31) or a timestamp with a zone (2026-12-31T18:00:00Z)"
        )
    return stamp


Marks = Mapping[tuple[str | int, ...], tuple[int, int]]


def resolve(
    data: Any, as_of: datetime, *, source: str, marks: Marks
) -> tuple[Any, tuple[Hold, ...], list[Problem]]:
    """``data`` with every hold replaced by what it wants at ``as_of`` (an expired
    grant's entry removed), the holds, and the problems of malformed holds, each at its
    position (a malformed hold is left out of the data, so the rest of the file is still
    checked and every problem is said at once). ``marks`` are the file's key positions
    by path."""
    holds: list[Hold] = []
    problems: list[Problem] = []

    def walk(node: Any, path: tuple[str, ...]) -> Any:
        if not isinstance(node, dict):
            return node
        found: dict[str, Any] = {}
        for key, value in node.items():
            here = (*path, key)
            if isinstance(value, dict) and _looks_held(value, here):
                hold = _hold(value, here, as_of, source, marks, problems)
                if hold is None:
                    continue
                holds.append(hold)
                if hold.grant and hold.expired:
                    continue
                found[key] = hold.value if not hold.expired else hold.then
                continue
            found[key] = walk(value, here)
        return found

    resolved = walk(data, ())
    return resolved, tuple(holds), problems


def _looks_held(value: dict[str, Any], path: tuple[str, ...]) -> bool:
    """A hold: it has ``until``, or a key that nearly is (``untill``) beside a key only
    holds have, so a misspelt hold is named as one rather than as a value of the wrong
    type."""
    if path[0] in _NOT_HELD:
        return False
    # The keys only a hold has first: difflib on every key of every mapping is slow.
    return "until" in value or (bool(_HOLD_KEYS & value.keys()) and _near_until(value) is not None)


def _near_until(value: dict[str, Any]) -> str | None:
    near = (k for k in value if difflib.get_close_matches(str(k), ["until"], n=1, cutoff=0.75))
    return next(near, None)


def _is_grant_place(path: tuple[str, ...]) -> bool:
    return (len(path) == 2 and path[0] == "users") or (
        len(path) == 4 and path[0] == "workspaces" and path[2] == "members"
    )


def _hold(
    value: dict[str, Any],
    path: tuple[str, ...],
    as_of: datetime,
    source: str,
    marks: Marks,
    problems: list[Problem],
) -> Hold | None:
    dotted = ".".join(path)

    def problem(key: str | None, message: str) -> None:
        own = marks.get((*path, key)) if key else None  # pragma: no mutate: None is no key
        at = own or marks.get(path) or (1, 1)
        shown = f"{dotted}.{key}" if key else dotted
        problems.append(Problem(source, at[0], at[1], shown, message))

    grant = _is_grant_place(path)
    shape = (
        "a held grant is {role: ROLE, until: DATE}"
        if grant
        else ("a held value is {value: X, until: DATE, then: Y}")
    )
    known = ["role", "until"] if grant else ["value", "until", "then"]
    if "until" not in value:
        near = _near_until(value)
        assert near is not None  # what made _looks_held take it for a hold
        problem(near, f"{unknown_key(near, known)} ({shape})")
        return None
    written = value["until"]
    stop = ends(written) if isinstance(written, str) else None
    if stop is None:
        problem(
            "until",
            f"{_json(written)} is not a date (2026-12-31, held to the end of that day, UTC) or "
            "a timestamp with a zone (2026-12-31T18:00:00Z)",
        )
        return None
    expired = as_of >= stop
    extra = sorted(set(value) - set(known))
    if extra:
        problem(extra[0], f"{unknown_key(extra[0], known)} ({shape})")
        return None
    if grant:
        if "role" not in value:
            problem(None, f"{shape}: it needs a role")
            return None
        return Hold(path, stop, written, value["role"], grant=True, expired=expired)
    if "then" not in value or "value" not in value:
        problem(None, f"{shape}: it needs {'then' if 'then' not in value else 'value'}")
        return None
    for key in ("value", "then"):
        if isinstance(value[key], dict | list):
            problem(key, "a hold holds a single value (text, a number, true/false or null)")
            return None
    return Hold(path, stop, written, value["value"], then=value["then"], expired=expired)


def variants(data: Any, holds: tuple[Hold, ...]) -> list[tuple[str, Any]]:
    """The file's data with every held value as its ``value``, then as its ``then``:
    both must be valid. Each with the key it took the values from."""
    found = []
    for key in ("value", "then"):
        changed = data
        for hold in holds:
            if not hold.grant:
                changed = _with(changed, hold.path, getattr(hold, key))
        found.append((key, changed))
    return found


def _with(data: Any, path: tuple[str, ...], value: Any) -> Any:
    if not path or not isinstance(data, dict):
        return data
    head, rest = path[0], path[1:]
    if head not in data:
        return data
    return {**data, head: value if not rest else _with(data[head], rest, value)}


def named(
    holds: tuple[Hold, ...],
    path_of: Any,
    resources: Mapping[str, Mapping[str, Any]],
    address_at: Any,
) -> tuple[Hold, ...]:
    """Each hold with the address and field it holds: the resource whose path in the
    file starts its path, and the field under it (a resource the file writes as one
    value, a spend limit's amount, holds its only field). ``address_at`` names an
    expired grant's resource, which is no longer among ``resources``."""
    paths = {tuple(path_of(a)): a for a in resources}
    found = []
    for hold in holds:
        if hold.grant:  # the entry itself, never the resource it stands in
            address = paths.get(hold.path) or address_at(hold.path, hold.value)
            if address:
                found.append(replace(hold, address=address))
            continue
        for size in range(len(hold.path), 0, -1):
            address = paths.get(hold.path[:size])
            if address is not None:
                field = hold.path[size] if size < len(hold.path) else None
                if field is None and len(resources[address]) == 1:
                    (field,) = resources[address]
                found.append(replace(hold, address=address, field=field))
                break
    return tuple(found)


def ending_soon(holds: tuple[Hold, ...], as_of: datetime, source: str) -> list[tuple[str, str]]:
    """(address, warning) for each hold that ends within 7 days of ``as_of``."""
    found = []
    for hold in holds:
        left = hold.until - as_of
        if hold.expired or left > WARN_WITHIN:
            continue
        days = left.days
        when = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
        after = "the entry is removed" if hold.grant else f"it becomes {_json(hold.then)}"
        found.append(
            (
                hold.address,
                f"{source}: {'.'.join(hold.path)} is held until {hold.written} ({when}); then "
                f"{after}. Open the pull request that extends it now if it should last",
            )
        )
    return found


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


_UNTIL = {
    "type": "string",
    "description": "A date (held to the end of that day, UTC) or a timestamp with a zone.",
    "anyOf": [
        {"pattern": _DATE.pattern},
        {"pattern": _STAMP.pattern},
    ],
}


def published(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A file schema as editors should see it: every single value may be held
    (``{value, until, then}``) and every user or member entry may be a grant
    (``{role, until}``). Files are checked against the plain schema once their holds
    are resolved (each held ``value`` and ``then`` in turn); this one only keeps an
    editor from marking a hold as a mistake."""
    found = copy.deepcopy(dict(schema))
    defs = found.get("$defs", {})

    def single(sub: Mapping[str, Any]) -> bool:
        if "$ref" in sub:
            return single(defs.get(str(sub["$ref"]).rsplit("/", 1)[-1], {"type": "object"}))
        if sub.get("readOnly") or sub.get("type") in ("object", "array"):
            return False
        if "properties" in sub or "additionalProperties" in sub:
            return False
        choices = sub.get("oneOf") or sub.get("anyOf")
        if choices:
            return all(single(c) for c in choices)
        return any(k in sub for k in ("type", "enum", "const", "pattern"))

    def held(sub: Any) -> dict[str, Any]:
        return {
            "anyOf": [
                sub,
                {
                    "type": "object",
                    "description": "A held value: value until until, then then.",
                    "additionalProperties": False,
                    "required": ["value", "until", "then"],
                    "properties": {"value": sub, "then": sub, "until": _UNTIL},
                },
            ]
        }

    def granted(role: Any) -> dict[str, Any]:
        return {
            "anyOf": [
                role,
                {
                    "type": "object",
                    "description": "A held grant: removed after until.",
                    "additionalProperties": False,
                    "required": ["role", "until"],
                    "properties": {"role": role, "until": _UNTIL},
                },
            ]
        }

    def inlined(sub: dict[str, Any]) -> dict[str, Any]:
        """An object schema given by reference, as a copy of its own (to hold in)."""
        if "$ref" not in sub:
            return sub
        target = defs.get(str(sub["$ref"]).rsplit("/", 1)[-1], {})
        return {**copy.deepcopy(target), **{k: v for k, v in sub.items() if k != "$ref"}}

    def walk(node: dict[str, Any], path: tuple[str, ...]) -> None:
        for name, sub in list(node.get("properties", {}).items()):
            if not path and name in _NOT_HELD:
                continue
            if name == "prune":
                continue
            if single(sub):
                node["properties"][name] = held(sub)
            elif isinstance(sub, dict):
                node["properties"][name] = sub = inlined(sub)
                walk(sub, (*path, name))
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            here = (*path, "*")
            if _is_grant_place(here):
                node["additionalProperties"] = granted(extra)
            elif single(extra):
                node["additionalProperties"] = held(extra)
            else:
                walk(extra, here)

    walk(found, ())
    return found
