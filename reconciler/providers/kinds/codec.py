"""One codec for every kind, from its spec: where the file keeps one (``path_of``),
its sections as the file writes them (``sections``, ``fields_of``), the live resource
as its entry (``export``), and what ``adopt`` writes for a change.

An entry is the kind's value field alone (a user's role, a limit's amount) or a
mapping of its fields, nested settings (``traces.content_mode``) as one object, and
None left out; a kind whose entry is neither says so with ``Kind.exported``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from reconciler.core.edits import Drop, Edit, Put, Rename
from reconciler.core.model import Action, LiveResource, ResourceChange
from reconciler.providers.kinds.spec import Kind

# A nested setting's field: ``outer.inner``.
NESTED = "."
# A section under each of a parent's entries: ("workspaces", "*", "members").
EACH = "*"


def path_of(kind: Kind, names: Sequence[str]) -> tuple[str, ...]:
    """Where the file keeps the resource ``names`` of ``kind``."""
    *outer, leaf = kind.section
    if outer and outer[-1] == EACH:  # under a parent: its name, then the entry's
        return (*outer[:-1], names[0], leaf, *names[1:])
    return (*outer, leaf, *names)


def sections(
    kind: Kind, data: Mapping[str, Any]
) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """Each section of ``kind`` in a valid file, with the names of the entries it is kept
    under (a workspace's members: the workspace's name)."""
    *outer, leaf = kind.section
    under: list[tuple[tuple[str, ...], Any]] = [((), data)]
    for step in outer:
        if step == EACH:
            under = [((*names, n), e) for names, at in under for n, e in (at or {}).items()]
        else:
            under = [(names, (at or {}).get(step)) for names, at in under]
    for names, at in under:
        yield names, dict((at or {}).get(leaf) or {})


def fields_of(kind: Kind, written: Any) -> dict[str, Any]:
    """The fields of one entry as the file writes it (as compared: ``Kind.wanted``)."""
    if kind.value_field is not None:
        return {kind.value_field: written}
    return kind.wanted(dict(written or {}))


def entry(kind: Kind, resource: LiveResource, context: Mapping[str, Any]) -> Any:
    """The live resource as the file writes it (None: not written)."""
    if kind.exported is not None:
        return kind.exported(resource, context)
    if kind.value_field is not None:
        return resource.fields.get(kind.value_field)
    written: dict[str, Any] = {}
    for name in kind.fields:
        value = resource.fields.get(name)
        if value is None:
            continue
        outer, dot, inner = name.partition(NESTED)
        if dot:
            written.setdefault(outer, {})[inner] = value
        else:
            written[name] = value
    return written


def placed(data: dict[str, Any], entries: Iterable[tuple[tuple[str, ...], Any]]) -> None:
    """``entries`` (path, value) written into ``data``, each parent's entry before what
    is kept under it (a workspace before its members)."""
    for path, value in sorted(entries, key=lambda e: len(e[0])):
        where = data
        for step in path[:-1]:
            where = where.setdefault(step, {})
        where[path[-1]] = value


def adoption(kind: Kind, change: ResourceChange, path: tuple[str, ...]) -> list[Edit]:
    """The edits that make the entry at ``path`` say what is live (each ``before``)."""
    if change.action is Action.CREATE:  # in the file, not live
        return [Put(path, None)] if kind.absent_as_null else [Drop(path)]
    before = {name: c.before for name, c in change.changes.items()}
    if kind.value_field is not None:
        return [Put(path, before[kind.value_field])]
    edits: list[Edit] = []
    for name, value in before.items():
        if name == kind.key_field:
            edits.append(Rename(path, value))
        elif NESTED in name:
            edits.append(Put((*path, *name.split(NESTED, 1)), value))
        elif value is None and not kind.null_is_value:
            edits.append(Drop((*path, name)))  # nothing live: not written
        else:
            edits.append(Put((*path, name), value))
    return edits
