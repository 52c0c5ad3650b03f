"""Edit a desired-state file in place so it says what is live: ``reconciler adopt``.

Every edit is made on the file's own text, at the span the strict reader found
for the value it changes (``desired.document.compose``): a drifted value is replaced where
it stands, in its own quoting style; an entry is removed with its lines; a new
entry is added after its last sibling, at its siblings' indentation (a resource
``--add-unmanaged`` brings in goes where it sorts, when the list is in order). Nothing
else moves: comments, key order, quoting, flow mappings, blank lines and the
schema line stay byte for byte. (A round-trip YAML library re-emits the whole
document, and re-emitting normalises spacing and indentation and drops an
explicit ``null``; editing spans does not.) The new text is then read again and
planned against live state: adopt writes it only when it validates and plans
to no changes, so a file never says something other than what was adopted.

Over 400 lines and one job: locating a value's span in the file's text and editing it
there; the four kinds of edit share the locating, so they stay together.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from reconciler.core.edits import Drop, Edit, Put, Rename
from reconciler.core.errors import AdoptionError
from reconciler.desired.yamltext import block, flow, scalar

MISSING = object()


# -- locating -----------------------------------------------------------------------------------


@dataclass
class _Entry:
    key: yaml.ScalarNode
    value: yaml.Node
    parent: yaml.MappingNode


def _find(root: yaml.Node, path: Sequence[str]) -> _Entry | None:
    node: yaml.Node = root
    entry: _Entry | None = None
    for name in path:
        if not isinstance(node, yaml.MappingNode):
            return None
        found = _entry(node, name)
        if found is None:
            return None
        entry, node = found, found.value
    return entry


def _entry(mapping: yaml.MappingNode, name: str) -> _Entry | None:
    """The entry keyed ``name``; an email written in another case is the same key."""
    for key, value in mapping.value:
        if key.value == name:
            return _Entry(key, value, mapping)
    for key, value in mapping.value:
        if "@" in name and str(key.value).lower() == name.lower():
            return _Entry(key, value, mapping)
    return None


# -- editing --------------------------------------------------------------------------------------


class _Text:
    """The file's text and the replacements to make in it, applied back to front."""

    def __init__(self, text: str) -> None:
        self.quote: str | None = None  # the quoting the file uses most, for new text
        self.text = text
        self.lines = text.splitlines(keepends=True)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))
        self.replacements: list[tuple[int, int, str]] = []

    def replace(self, start: int, end: int, new: str) -> None:
        for other_start, other_end, _ in self.replacements:
            if start < other_end and other_start < end:
                raise AdoptionError("two edits of the same place")
        self.replacements.append((start, end, new))

    def line_end(self, index: int) -> int:
        """The index just past the end of the line holding ``index``."""
        newline = self.text.find("\n", index)
        return len(self.text) if newline < 0 else newline + 1

    def last_line_end(self, node: yaml.Node, indent: int = -1) -> int:
        """Past the end of the last line a node's text is on. A block node's end mark may
        be the start of a later line: blank lines and comments before it (at ``indent``
        or less: about what follows) are not the node's."""
        end, line = node.end_mark.index, node.end_mark.line
        at_line_start = not self.text[self.starts[line] : end].strip(" ")
        if not (end > 0 and at_line_start and line > node.start_mark.line):
            return self.line_end(max(end - 1, node.start_mark.index))
        while line - 1 > node.start_mark.line and self._belongs_after(line - 1, indent):
            line -= 1
        return self.starts[line]

    def _belongs_after(self, line: int, indent: int) -> bool:
        text = self.lines[line]
        stripped = text.lstrip(" ")
        return not stripped.strip() or (
            stripped.startswith("#") and len(text) - len(stripped) <= indent
        )

    def comments_above(self, line: int, indent: int) -> int:
        """The first of the comment lines at ``indent`` just above ``line`` (about
        what is on it), or ``line`` itself without them."""
        while line > 0 and self.lines[line - 1].startswith(" " * indent + "#"):
            line -= 1
        return line

    def padded(self, node: yaml.Node, new: str) -> tuple[int, str]:
        """Where a scalar's replacement ends and its text, so that a comment after it on
        the line stays in its column where the spaces before it allow."""
        end = node.end_mark.index
        rest = self.text[end : self.line_end(end)]
        spaces = len(rest) - len(rest.lstrip(" "))
        if not rest.lstrip(" ").startswith("#") or spaces == 0:
            return end, new
        grown = len(new) - (end - node.start_mark.index)
        # The comment keeps its column while that leaves the gap the file wrote (two
        # spaces at most); past it, the gap itself is kept.
        gap = min(spaces, 2)
        return end + spaces, new + " " * max(gap, spaces - grown)

    def result(self) -> str:
        text = self.text
        for start, end, new in sorted(self.replacements, reverse=True):
            text = text[:start] + new + text[end:]
        return text


def apply_edits(text: str, root: yaml.Node, edits: Sequence[Edit], step: int = 2) -> str:
    """``text`` with ``edits`` made; ``root`` is its composed document."""
    if not isinstance(root, yaml.MappingNode):
        raise AdoptionError("the file is not a mapping at the top")
    doc = _Text(text)
    doc.quote = _file_quote(root)
    dropped = [e.path for e in edits if isinstance(e, Drop)]
    kept = [e for e in edits if not any(_under(e.path, d) and e.path != d for d in dropped)]
    kept = _rewrite_flows(doc, root, kept)
    puts: dict[tuple[str, ...], Any] = {}
    ordered: set[tuple[str, ...]] = set()
    for edit in kept:
        if isinstance(edit, Put):
            path, value = _deepest(root, edit.path, edit.value)
            puts[path] = _merged(puts.get(path, MISSING), value)
            if edit.ordered and path == edit.path:
                ordered.add(path)
    inserts: dict[int, tuple[yaml.MappingNode, list[tuple[str, Any]]]] = {}
    sorted_inserts: set[int] = set()
    for path, value in puts.items():
        found = _find(root, path)
        if found is not None:
            _set(doc, found, value, step)
            continue
        parent = root if len(path) == 1 else _find(root, path[:-1])
        mapping = parent if isinstance(parent, yaml.MappingNode) else getattr(parent, "value", None)
        if not isinstance(mapping, yaml.MappingNode):
            raise AdoptionError(f"{'.'.join(path[:-1])} is not a mapping in the file")
        inserts.setdefault(id(mapping), (mapping, []))[1].append((path[-1], value))
        if path in ordered:
            sorted_inserts.add(id(mapping))
    for mapping, entries in inserts.values():
        if id(mapping) in sorted_inserts:
            _insert_in_order(doc, mapping, entries, step)
        else:
            _insert(doc, mapping, entries, step)
    emptied = _emptied(root, [e for e in kept if isinstance(e, Drop)])
    for edit in kept:
        if isinstance(edit, Drop):
            found = _find(root, edit.path)
            if found is not None and id(found.parent) not in emptied:
                _drop(doc, found)
    for entry in emptied.values():
        end = doc.last_line_end(entry.value, entry.key.start_mark.column)
        doc.replace(entry.key.end_mark.index, end, ": {}\n")
    for edit in kept:
        if isinstance(edit, Rename):
            found = _find(root, edit.path)
            if found is None:
                raise AdoptionError(f"{'.'.join(edit.path)} is not in the file")
            style = found.key.style
            doc.replace(
                found.key.start_mark.index, found.key.end_mark.index, scalar(edit.key, style)
            )
    return doc.result()


def _rewrite_flows(doc: _Text, root: yaml.Node, edits: list[Edit]) -> list[Edit]:
    """A flow mapping losing an entry (``{a: 1, b: 2}``) is written again whole, with every
    edit of its own entries: removals next to each other would overlap. The other
    edits, for the caller."""
    flows: dict[int, tuple[_Entry, list[Edit]]] = {}
    for edit in edits:
        if isinstance(edit, Drop):
            found = _find(root, edit.path)
            if found is not None and found.parent.flow_style:
                holder = _holder(root, found.parent)
                if holder is not None:
                    flows[id(found.parent)] = (holder, [])
    rest: list[Edit] = []
    for edit in edits:
        holder_found = _find(root, edit.path[:-1]) if len(edit.path) > 1 else None
        if holder_found is not None and id(holder_found.value) in flows:
            flows[id(holder_found.value)][1].append(edit)
        else:
            rest.append(edit)
    for holder, own in flows.values():
        node = holder.value
        value = dict(yaml.safe_load(doc.text[node.start_mark.index : node.end_mark.index]))
        for edit in own:
            key = next((k for k in value if _entry_name(k, edit.path[-1])), edit.path[-1])
            if isinstance(edit, Drop):
                value.pop(key, None)
            elif isinstance(edit, Put):
                value[key] = edit.value
            else:
                value = {edit.key if k == key else k: v for k, v in value.items()}
        doc.replace(node.start_mark.index, node.end_mark.index, flow(value, doc.quote))
    return rest


def _entry_name(written: Any, name: str) -> bool:
    return bool(written == name or ("@" in name and str(written).lower() == name.lower()))


def _under(path: tuple[str, ...], prefix: tuple[str, ...]) -> bool:
    return path[: len(prefix)] == prefix


def _deepest(root: yaml.Node, path: tuple[str, ...], value: Any) -> tuple[tuple[str, ...], Any]:
    """A put whose parents are missing (or not mappings: an empty ``members:``) becomes
    a put of nested mappings under the deepest mapping that exists."""
    depth = 0
    for size in range(len(path) - 1, 0, -1):
        found = _find(root, path[:size])
        if found is not None and isinstance(found.value, yaml.MappingNode):
            depth = size
            break
    for name in reversed(path[depth + 1 :]):
        value = {name: value}
    return path[: depth + 1], value


def _merged(old: Any, new: Any) -> Any:
    if isinstance(old, dict) and isinstance(new, dict):
        return {**old, **{k: _merged(old.get(k, MISSING), v) for k, v in new.items()}}
    return new


def _set(doc: _Text, entry: _Entry, value: Any, step: int) -> None:
    node = entry.value
    if isinstance(node, yaml.MappingNode) and isinstance(value, Mapping) and not node.flow_style:
        # A block mapping: change it key by key, so comments inside stay.
        wanted = dict(value)
        written = {str(k.value): (k, v) for k, v in node.value}
        missing = [(k, v) for k, v in wanted.items() if k not in written]
        for name, (key, child) in written.items():
            if name not in wanted:
                _drop(doc, _Entry(key, child, node))
            else:
                _set(doc, _Entry(key, child, node), wanted[name], step)
        if missing:
            _insert(doc, node, missing, step)
        return
    if isinstance(node, yaml.ScalarNode) and not isinstance(value, Mapping | list):
        end, text = doc.padded(node, scalar(value, node.style, doc.quote))
        doc.replace(node.start_mark.index, end, text)
        return
    if getattr(node, "flow_style", False) or isinstance(node, yaml.ScalarNode):
        doc.replace(node.start_mark.index, node.end_mark.index, flow(value, doc.quote))
        return
    if isinstance(node, yaml.SequenceNode) and isinstance(value, list) and value:
        # A block list (``export`` writes lists so): written again item by item, in the
        # column of its dashes; comments between the key and its first item stay.
        dash = " " * node.start_mark.column + "- "
        items = "".join(f"{dash}{flow(item, doc.quote)}\n" for item in value)
        start = doc.starts[node.start_mark.line]
        doc.replace(start, doc.last_line_end(node, entry.key.start_mark.column), items)
        return
    # A block mapping (a hold written over several lines) or a block list becomes one
    # value: a scalar (``all``), or ``[]`` and ``{}``.
    end = doc.last_line_end(node, entry.key.start_mark.column)
    doc.replace(entry.key.end_mark.index, end, f": {flow(value, doc.quote)}\n")


def _insert(
    doc: _Text, mapping: yaml.MappingNode, entries: list[tuple[str, Any]], step: int
) -> None:
    added = ", ".join(f"{scalar(k, quote=doc.quote)}: {flow(v, doc.quote)}" for k, v in entries)
    if not mapping.value:  # {}
        doc.replace(mapping.start_mark.index, mapping.end_mark.index, "{" + added + "}")
        return
    if mapping.flow_style:  # keep what is written, add before the closing brace
        close = doc.text.rfind("}", 0, mapping.end_mark.index)
        doc.replace(close, close, ", " + added)
        return
    indent = mapping.value[0][0].start_mark.column
    last_value = mapping.value[-1][1]
    at = doc.last_line_end(last_value, indent)
    lines = [line for k, v in entries for line in block(k, v, indent, step, doc.quote)]
    prefix = "" if doc.text[:at].endswith("\n") or at == 0 else "\n"
    doc.replace(at, at, prefix + "\n".join(lines) + "\n")


def _insert_in_order(
    doc: _Text, mapping: yaml.MappingNode, entries: list[tuple[str, Any]], step: int
) -> None:
    """New entries of a list of resources, each before the first entry written that
    sorts after it (``proj_2`` before ``proj_10``, emails whatever their case), with the
    comment lines just above that entry kept with it. A list the file keeps in an order
    of its own (or a flow mapping) gets them after its entries, in order."""
    entries = sorted(entries, key=lambda entry: _natural(entry[0]))
    written = [key for key, _ in mapping.value if str(key.value) != "prune"]
    names = [_natural(str(key.value)) for key in written]
    if mapping.flow_style or not written or names != sorted(names):
        _insert(doc, mapping, entries, step)
        return
    indent = written[0].start_mark.column
    before: dict[int, list[tuple[str, Any]]] = {}
    last: list[tuple[str, Any]] = []
    for name, value in entries:
        later = next((i for i, n in enumerate(names) if n > _natural(name)), None)
        (last if later is None else before.setdefault(later, [])).append((name, value))
    for index, placed in before.items():
        at = doc.starts[doc.comments_above(written[index].start_mark.line, indent)]
        lines = [line for k, v in placed for line in block(k, v, indent, step, doc.quote)]
        doc.replace(at, at, "\n".join(lines) + "\n")
    if last:
        _insert(doc, mapping, last, step)


def _natural(key: str) -> tuple[tuple[int, int | str], ...]:
    """A key's place in order: digits as numbers, letters whatever their case."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part.casefold())
        for part in re.split(r"(\d+)", key)
        if part
    )


def _file_quote(root: yaml.Node) -> str | None:
    """Single quotes when the file quotes more text that way than with double quotes."""
    counts = {"'": 0, '"': 0}
    nodes = [root]
    while nodes:
        node = nodes.pop()
        if isinstance(node, yaml.ScalarNode):
            if node.style in counts:
                counts[node.style] += 1
        elif isinstance(node, yaml.MappingNode):
            nodes += [part for pair in node.value for part in pair]
        elif isinstance(node, yaml.SequenceNode):
            nodes += node.value
    return "'" if counts["'"] > counts['"'] else None


def _emptied(root: yaml.Node, drops: Sequence[Drop]) -> dict[int, _Entry]:
    """The mappings every entry of which is dropped (they become ``{}``), by id, with
    the entry that holds each."""
    by_parent: dict[int, set[int]] = {}
    parents: dict[int, yaml.MappingNode] = {}
    for drop in drops:
        found = _find(root, drop.path)
        if found is not None:
            by_parent.setdefault(id(found.parent), set()).add(id(found.key))
            parents[id(found.parent)] = found.parent
    emptied: dict[int, _Entry] = {}
    for parent_id, keys in by_parent.items():
        parent = parents[parent_id]
        if len(keys) == len(parent.value) and not parent.flow_style:
            holder = _holder(root, parent)
            if holder is not None:
                emptied[parent_id] = holder
    return emptied


def _holder(root: yaml.Node, target: yaml.Node) -> _Entry | None:
    """The entry whose value is ``target``."""
    if not isinstance(root, yaml.MappingNode):
        return None
    for key, value in root.value:
        if value is target:
            return _Entry(key, value, root)
        found = _holder(value, target)
        if found is not None:
            return found
    return None


def _drop(doc: _Text, entry: _Entry) -> None:
    if entry.parent.flow_style:
        items = entry.parent.value
        index = next(i for i, (k, _) in enumerate(items) if k is entry.key)
        start, end = entry.key.start_mark.index, entry.value.end_mark.index
        if index + 1 < len(items):  # "a: 1, " : up to the next key
            end = items[index + 1][0].start_mark.index
        elif index > 0:  # ", a: 1": from the end of the previous value
            start = items[index - 1][1].end_mark.index
        doc.replace(start, end, "")
        return
    start = doc.starts[entry.key.start_mark.line]
    doc.replace(start, doc.last_line_end(entry.value, entry.key.start_mark.column), "")


def around_holds(edits: Sequence[Edit], held: Sequence[Any]) -> list[Edit]:
    """``edits`` of drift made to respect the file's holds, then every ended hold settled.

    Drift on a held value that still holds edits its ``value`` (a grant: its ``role``);
    drift on one that has ended is not drift but a change still to apply, so it is not
    adopted: the hold is settled instead (a held value becomes its ``then``, an ended
    grant's entry leaves the file)."""
    holds = {_key(h.path): h for h in held}
    found: list[Edit] = [
        Drop(h.path) if h.grant else Put(h.path, h.then) for h in held if h.expired
    ]
    for edit in edits:
        hold = holds.get(_key(edit.path))
        if hold is None:
            found.append(edit)
        elif not hold.expired and isinstance(edit, Put):
            found.append(Put((*hold.path, "role" if hold.grant else "value"), edit.value))
        elif not hold.expired:
            found.append(edit)
    return found


def _key(path: Sequence[str]) -> tuple[str, ...]:
    return tuple(_folded(p) for p in path)


def unmanaged(
    sections: Sequence[tuple[str, ...]], written: Mapping[str, Any], live: Mapping[str, Any]
) -> list[Put]:
    """A ``Put`` for each live resource the file does not name, in each of ``sections``
    (a path of the file where resources are listed; ``*`` stands for every key the file
    and live state both have), with its writable fields; each is placed where it sorts
    among the entries written (``ordered``)."""
    puts: list[Put] = []
    for section in sections:
        for path in _expanded(section, written, live):
            found, have = _at(live, path), _at(written, path)
            if not isinstance(found, Mapping) or not isinstance(have or {}, Mapping):
                continue
            named = {_folded(k) for k in (have or {})}
            puts += [
                Put((*path, key), value, ordered=True)
                for key, value in found.items()
                if _folded(key) not in named and key != "prune"
            ]
    return puts


def _expanded(
    section: tuple[str, ...], written: Mapping[str, Any], live: Mapping[str, Any]
) -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = [()]
    for name in section:
        if name != "*":
            paths = [(*p, name) for p in paths]
            continue
        paths = [
            (*p, key)
            for p in paths
            for key in (_at(live, p) or {})
            if isinstance(_at(written, p), Mapping) and key in _at(written, p)
        ]
    return paths


def _at(data: Any, path: Sequence[str]) -> Any:
    for name in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(name)
    return data


def _folded(key: str) -> str:
    """Emails are one key whatever their case; other keys are as written."""
    return key.lower() if "@" in key else key
