"""Read a desired-state file safely and turn it into a ``DesiredState``.

YAML is composed (not constructed) so every value keeps its position, and the
traps of YAML are refused before they can surprise: anchors and aliases (and
with them alias bombs), duplicate and non-string keys, YAML 1.1 booleans
(``no``) and octals (``0755``), tags, several documents, files over 1 MiB.
Then the data is checked against ``schemas/org.schema.json``. Every problem of
a file is reported at once, in file order, as ``file:line:col: path: message``.

Over 400 lines and one job: a file becomes a ``DesiredState`` or every problem at its
position; the strict YAML walk and the schema check both report through the same
positions, so they stay together. ``strict_data`` lends the same walk to the other
YAML files of a repository (a policy), with their own schema.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema_rs
import yaml

from reconciler import providers
from reconciler.core.errors import ConfigError, Problem
from reconciler.core.escape import visible
from reconciler.core.files import read_input
from reconciler.desired import holds as holding
from reconciler.desired.messages import (
    alternatives_message,
    lookalikes,
    message_for,
    schema_at,
    unknown_key,
)

if TYPE_CHECKING:  # jsonschema is imported only for files with a problem (see _surely_valid)
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError
from reconciler.core.model import DEFAULT_PROVIDER, DesiredState, Hold

MAX_FILE_BYTES = 1024 * 1024
MAX_DEPTH = 32

Path_ = tuple[str | int, ...]

# Unicode's control characters (category Cc) are exactly these 65 code points.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_BOMS = (
    codecs.BOM_UTF32_LE,
    codecs.BOM_UTF32_BE,
    codecs.BOM_UTF8,
    codecs.BOM_UTF16_LE,
    codecs.BOM_UTF16_BE,
)
_YAML11_OCTAL = re.compile(r"^[-+]?0[0-7_]+$")
_STR = "tag:yaml.org,2002:str"
_TOO_DEEP = (
    f"nested more than {MAX_DEPTH} levels deep; a reconciler file is a few levels of mappings"
)


@cache
def schema(provider: str = DEFAULT_PROVIDER) -> dict[str, Any]:
    """The file schema of ``provider`` (each provider's file has its own sections)."""
    return dict(providers.get(provider).schema())


def published_schema(provider: str = DEFAULT_PROVIDER) -> dict[str, Any]:
    """The schema for editors (``reconciler schema``, ``init``): holds allowed where they
    may stand. Files themselves are checked against ``schema`` once holds are resolved."""
    return holding.published(schema(provider))


@cache
def _validator(provider: str) -> Draft202012Validator:
    from reconciler.core.validators import validator_for

    return validator_for(schema(provider))


@cache
def _quick_validator(provider: str) -> Any:
    return jsonschema_rs.validator_for(schema(provider))


def _surely_valid(data: Any, provider: str) -> bool:
    """jsonschema-rs answers "valid?" in microseconds; jsonschema, which explains what
    is wrong with the detail the messages need, then only runs on files with a problem.
    Any doubt (an exception, say on an integer past 64 bits) takes the slow path."""
    try:
        return bool(_quick_validator(provider).is_valid(data))
    except Exception:
        return False


def provider_of(data: Any) -> str:
    """The provider a file names (``provider:``), or the default; anything that is not
    an installed provider's name is left to the default schema to report (one that is
    installed but does not load, to ``providers.get``, which says so)."""
    named = data.get("provider") if isinstance(data, dict) else None
    known = isinstance(named, str) and (named in providers.names() or named in providers.broken())
    return named if known and isinstance(named, str) else DEFAULT_PROVIDER


def load(path: str | Path, as_of: datetime | None = None) -> DesiredState:
    """Read, check and convert one file; raises ``ConfigError`` with all its problems."""
    name = str(path)
    try:
        raw = read_input(Path(path), what="the file")
    except OSError as exc:
        raise ConfigError(
            [Problem(name, 1, 1, "", f"cannot read the file: {exc.strerror}")]
        ) from exc
    return from_bytes(raw, name, as_of)


def from_bytes(raw: bytes, name: str, as_of: datetime | None = None) -> DesiredState:
    """A file's text, checked and converted as ``load`` does (``adopt`` checks the text
    it is about to write this way), its holds resolved at ``as_of`` (default: now)."""
    doc = _Document(name)
    moment = as_of or datetime.now(UTC)
    data = parse(raw, name, doc, moment)
    marks = {_dotted(path): mark for path, mark in doc.key_marks.items()}
    return build(
        data,
        source=name,
        digest=hashlib.sha256(raw).hexdigest(),
        marks=marks,
        held=doc.holds,
        as_of=moment,
    )


def empty(source: str, provider: str = DEFAULT_PROVIDER) -> DesiredState:
    """A file that manages nothing: what a file that did not exist yet asked for."""
    return DesiredState(source=source, digest="", resources={}, provider=provider)


def load_or_empty(path: Path, provider: str) -> DesiredState:
    """The file as it was before an edit (``--compare-to``): a file that did not exist
    then (a new file) counts as empty."""
    return load(path) if path.exists() else empty(str(path), provider)


def strict_data(
    raw: bytes, name: str, validator: Draft202012Validator
) -> tuple[Any, dict[Path_, tuple[int, int]]]:
    """Another YAML file of the repository's own (a policy file), read as strictly as a
    desired-state file and checked against ``validator``: its data and where each value
    is written (line, column); or ``ConfigError`` with every problem at its place. Its
    text may hold line breaks (a condition over several lines); no other control code."""
    doc = _Document(name, line_breaks=frozenset("\n"))
    root = doc.compose(raw)
    if doc.problems:
        raise ConfigError(doc.problems)
    data = doc.convert(root)
    if not doc.problems:
        doc.check_against(data, validator)
    if doc.problems:
        raise ConfigError(doc.problems)
    return data, dict(doc.value_marks)


def compose(raw: bytes, name: str) -> yaml.Node:
    """The file's document as YAML nodes, each with where its text starts and ends (what
    ``adopt`` edits), after the same checks as ``parse``; or ``ConfigError``."""
    doc = _Document(name)
    root = doc.compose(raw)
    if doc.problems or root is None:
        raise ConfigError(doc.problems or [Problem(name, 1, 1, "", "the file is empty")])
    return root


def parse(
    raw: bytes, name: str, doc: _Document | None = None, as_of: datetime | None = None
) -> Any:
    """The file's data, its holds resolved at ``as_of`` (default: now), checked against
    the schema, or ``ConfigError``; ``doc`` keeps where each key stands, and the holds."""
    doc = doc or _Document(name)
    root = doc.compose(raw)
    if doc.problems:
        raise ConfigError(doc.problems)
    data = doc.convert(root)
    data, doc.holds, malformed = holding.resolve(
        data, as_of or datetime.now(UTC), source=name, marks=doc.key_marks
    )
    doc.problems += malformed
    if not doc.holds:
        doc.check_schema(data)
    for key, variant in holding.variants(data, doc.holds) if doc.holds else ():
        doc.check_schema_held(variant, doc.holds, key)
    if doc.problems:
        raise ConfigError(doc.problems)
    return data


def build(
    data: dict[str, Any],
    *,
    source: str,
    digest: str,
    marks: Mapping[str, tuple[int, int]] | None = None,
    held: tuple[Hold, ...] = (),
    as_of: datetime | None = None,
) -> DesiredState:
    """A valid file's data as resources by address, as its provider reads them, with
    where each address is written (from ``marks``, the file's key positions)."""
    provider = provider_of(data)
    chosen = providers.get(provider)
    try:
        found, prune = chosen.resources(data)
    except ConfigError as exc:  # a provider's own rule: name the file it is about
        raise ConfigError([replace(p, file=source) for p in exc.problems]) from exc
    api = data.get("api") or {}
    named = holding.named(held, chosen.path_of, found, _address_at(chosen))
    return DesiredState(
        source=source,
        digest=digest,
        resources=found,
        base_url=api.get("base_url"),
        api_key_env=api.get("api_key_env"),
        provider=provider,
        prune=prune,
        organization=(data.get("organization") or {}).get("id"),
        holds=named,
        expired=frozenset(h.address for h in named if h.grant and h.expired),
        as_of=as_of,
        positions=_positions(found, chosen.path_of, marks or {}),
    )


def _address_at(provider: Any) -> Callable[[tuple[str, ...], Any], str | None]:
    """How to name the resource a file writes at a path (an expired grant's, which the
    file no longer lists once its hold is resolved)."""

    def address_at(path: tuple[str, ...], value: Any) -> str | None:
        data: Any = value
        for name in reversed(path):
            data = {name: data}
        try:
            found, _ = provider.resources(data)
        except ConfigError:
            return None
        return next((a for a in found if tuple(provider.path_of(a)) == path), None)

    return address_at


def _positions(
    found: Mapping[str, Any],
    path_of: Callable[[str], tuple[str, ...]],
    marks: Mapping[str, tuple[int, int]],
) -> dict[str, tuple[int, int]]:
    """Each address's (line, column) in the file, where its key is written."""
    paths = {address: ".".join(path_of(address)) for address in found}
    return {address: marks[path] for address, path in paths.items() if path in marks}


# libyaml (C) when PyYAML was built with it: ten times faster on large files.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_OPENS = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSES = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def _structure_problems(text: str) -> list[tuple[Any, str]]:
    """Anchors and aliases, found in the event stream before any node is built, so an
    alias bomb is a problem to report, not a billion nodes; and nesting past
    MAX_DEPTH, which stops the scan at once."""
    problems: list[tuple[Any, str]] = []
    depth = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.AliasEvent):
            message = f"aliases (*{event.anchor}) are not allowed; write the value out"
            problems.append((event.start_mark, message))
        elif getattr(event, "anchor", None):
            anchor = event.anchor  # type: ignore[attr-defined]
            problems.append(
                (event.start_mark, f"anchors (&{anchor}) are not allowed; write the value out")
            )
        if isinstance(event, _OPENS):
            depth += 1
            if depth > MAX_DEPTH:
                raise _TooDeep(event.start_mark)
        elif isinstance(event, _CLOSES):
            depth -= 1
    return problems


class _TooDeep(Exception):
    """Nesting past MAX_DEPTH: stop at once instead of recursing for seconds."""

    def __init__(self, mark: Any) -> None:
        super().__init__("too deep")
        self.mark = mark


@dataclass
class _Document:
    name: str
    problems: list[Problem] = field(default_factory=list)
    value_marks: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    holds: tuple[Hold, ...] = ()
    line_breaks: frozenset[str] = frozenset()  # control characters its text may hold

    def add(self, line: int, column: int, path: Path_, message: str) -> None:
        self.problems.append(Problem(self.name, line, column, _dotted(path), message))

    def add_at(self, mark: Any, path: Path_, message: str) -> None:
        self.add(mark.line + 1, mark.column + 1, path, message)

    # -- bytes to nodes -------------------------------------------------------------

    def compose(self, raw: bytes) -> yaml.Node | None:
        if len(raw) > MAX_FILE_BYTES:
            self.add(
                1,
                1,
                (),
                f"the file is {len(raw)} bytes, over the limit of "
                f"{MAX_FILE_BYTES} bytes (1 MiB); is this the right file?",
            )
            return None
        if raw.startswith(_BOMS):
            self.add(
                1, 1, (), "the file starts with a byte-order mark; save it as UTF-8 without a BOM"
            )
            return None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line, column = _line_col(raw[: exc.start].decode("utf-8", "replace"), exc.start)
            self.add(
                line,
                column,
                (),
                "the file is not UTF-8 text (invalid byte "
                f"0x{raw[exc.start]:02x}); save it as UTF-8",
            )
            return None
        try:
            anchors = _structure_problems(text)
            if anchors:
                for mark, message in anchors:
                    self.add_at(mark, (), message)
                return None
            root: yaml.Node | None = yaml.compose(text, Loader=_LOADER)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            message = _yaml_message(exc, _char_at(text, mark))
            if mark is None:
                self.add(1, 1, (), message)
            else:
                self.add_at(mark, (), message)
            return None
        except yaml.reader.ReaderError as exc:
            line, column = _line_col(text[: exc.position], exc.position)
            code = exc.character if isinstance(exc.character, int) else ord(exc.character)
            self.add(
                line,
                column,
                (),
                f"the file holds a control character (U+{code:04X}) that YAML does not allow",
            )
            return None
        except _TooDeep as exc:
            self.add_at(exc.mark, (), _TOO_DEEP)
            return None
        if root is None:
            self.add(1, 1, (), "the file is empty; a reconciler file starts with 'version: 1'")
        return root

    # -- nodes to data ------------------------------------------------------------------

    def convert(self, node: yaml.Node | None, path: Path_ = ()) -> Any:
        if node is None:
            return None
        self.value_marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if len(path) > MAX_DEPTH:
            self.add_at(node.start_mark, path, f"nested more than {MAX_DEPTH} levels deep")
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        return self._scalar(node, path)

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.add_at(key_node.start_mark, path, "merge keys (<<) are not allowed")
                continue
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != _STR:
                shown = key_node.value if isinstance(key_node, yaml.ScalarNode) else "a collection"
                self.add_at(
                    key_node.start_mark,
                    path,
                    f"keys must be text; {shown!s} is not (quote it if you meant text)",
                )
                continue
            key = key_node.value
            key_path = (*path, key)
            self._check_text(key_node, key_path, key)
            if key in first_seen:
                self.add_at(
                    key_node.start_mark,
                    key_path,
                    f"duplicate key '{key}' (first at line {first_seen[key]})",
                )
                continue
            first_seen[key] = key_node.start_mark.line + 1
            self.key_marks[key_path] = (
                key_node.start_mark.line + 1,
                key_node.start_mark.column + 1,
            )
            result[key] = self.convert(value_node, key_path)
        return result

    def _scalar(self, node: yaml.ScalarNode, path: Path_) -> Any:
        tag, text = node.tag, node.value
        plain = not node.style  # None (pure Python) or "" (libyaml) for plain scalars
        if tag == _STR:
            self._check_text(node, path, text)
            return text
        if tag == "tag:yaml.org,2002:null":
            return None
        if tag == "tag:yaml.org,2002:bool":
            if plain and text.lower() not in ("true", "false"):
                self.add_at(
                    node.start_mark,
                    path,
                    f"'{text}' is a YAML 1.1 boolean; quote it (\"{text}\") if you mean "
                    "the text, or write true or false",
                )
                return None
            return text.lower() == "true"
        if tag == "tag:yaml.org,2002:int":
            form = _yaml11_int_form(text)
            if form:
                self.add_at(
                    node.start_mark,
                    path,
                    f"'{text}' is a YAML 1.1 {form} number; write the number in plain "
                    "decimal digits, or quote it for text",
                )
                return None
            return yaml.SafeLoader.construct_yaml_int(_SCALARS, node)
        if tag == "tag:yaml.org,2002:float":
            number = yaml.SafeLoader.construct_yaml_float(_SCALARS, node)
            if number != number or number in (float("inf"), float("-inf")):
                self.add_at(node.start_mark, path, f"'{text}' is not a finite number")
                return None
            return int(number) if number.is_integer() else number
        if tag == "tag:yaml.org,2002:timestamp":
            return text
        self.add_at(node.start_mark, path, f"YAML tags ({tag}) are not allowed")
        return None

    def _check_text(self, node: yaml.Node, path: Path_, text: str) -> None:
        """No API takes a control character in a name, and a trailing newline (a ``|``
        block, a quoted ``\\n``) would be written and then break every later read. A
        file that is not sent to an API (a policy's conditions) may break lines."""
        odd = sorted(set(_CONTROL.findall(text)) - self.line_breaks)
        if odd:
            shown = ", ".join(f"U+{ord(c):04X}" for c in odd)
            self.add_at(
                node.start_mark,
                path,
                f"'{visible(text[:40])}' holds a control character ({shown}: a line break, tab "
                "or terminal code); remove it",
            )

    # -- data to schema problems ---------------------------------------------------------

    def check_schema_held(self, data: Any, held: tuple[Hold, ...], key: str) -> None:
        """The schema's problems with the file as its held values' ``key`` (value or
        then) makes it, each at where that value is written; none twice."""
        kept = dict(self.value_marks)
        for hold in held:
            if not hold.grant and (*hold.path, key) in self.value_marks:
                self.value_marks[hold.path] = self.value_marks[(*hold.path, key)]
        seen = {(p.line, p.column, p.message) for p in self.problems}
        before = len(self.problems)
        self.check_schema(data)
        self.value_marks = kept
        fresh = [p for p in self.problems[before:] if (p.line, p.column, p.message) not in seen]
        self.problems[before:] = fresh

    def check_schema(self, data: Any) -> None:
        """Schema problems, except where the YAML itself was already wrong (no echoes)."""
        provider = provider_of(data)
        if not _surely_valid(data, provider):
            self.check_against(data, _validator(provider))

    def check_against(self, data: Any, validator: Draft202012Validator) -> None:
        """``validator``'s problems with ``data``, each at its place in the file, except
        where the YAML itself was already wrong (no echoes)."""
        reported = {p.path for p in self.problems}
        before = len(self.problems)
        for error in validator.iter_errors(data):
            self._schema_problem(error)
        self.problems[before:] = [p for p in self.problems[before:] if p.path not in reported]

    def _schema_problem(self, error: ValidationError) -> None:
        path: Path_ = tuple(error.absolute_path)
        schema_ = schema_at(error)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = list(schema_.get("properties", {}))
            for key in error.instance:
                if key not in known:
                    self._at_key((*path, key), unknown_key(key, known))
            return
        if "propertyNames" in error.schema_path:
            key = str(error.instance)
            what = schema_.get("description", "an allowed key here")
            self._at_key((*path, key), f"'{key}'{lookalikes(key)} is not {what}")
            return
        if error.validator == "not" and schema_.get("readOnly"):
            self._at_key(path, f"{path[-1]} is read-only: the API sets it; remove it from the file")
            return
        if error.validator in ("oneOf", "anyOf") and error.context:
            self._at_value(path, alternatives_message(error))
            return
        self._at_value(path, message_for(error))

    def _at_key(self, path: Path_, message: str) -> None:
        line, column = self.key_marks.get(path) or self.value_marks.get(path[:-1], (1, 1))
        self.add(line, column, path, message)

    def _at_value(self, path: Path_, message: str) -> None:
        line, column = self.value_marks.get(path, (1, 1))
        self.add(line, column, path, message)


_SCALARS = yaml.SafeLoader("")


def _yaml11_int_form(text: str) -> str | None:
    """The YAML 1.1 integer forms YAML 1.2 (and every other reader) takes otherwise:
    ``0755`` (octal), ``1:30`` (sexagesimal), ``0x10``, ``0b101``, ``1_000_000``."""
    digits = text.lstrip("+-").lower()
    if ":" in text:
        return "sexagesimal"
    if _YAML11_OCTAL.match(text):
        return "octal"
    if digits.startswith("0x"):
        return "hexadecimal"
    if digits.startswith("0b"):
        return "binary"
    if "_" in text:
        return "underscore-grouped"
    return None


def _dotted(path: Path_) -> str:
    return ".".join(str(p) for p in path)


def _line_col(before: str, fallback: int) -> tuple[int, int]:
    lines = before.split("\n")
    return len(lines), len(lines[-1]) + 1 if lines else fallback + 1


def _char_at(text: str, mark: Any) -> str:
    lines = text.split("\n")
    if mark is None or mark.line >= len(lines) or mark.column >= len(lines[mark.line]):
        return ""
    return str(lines[mark.line][mark.column])


def _yaml_message(exc: yaml.MarkedYAMLError, char: str = "") -> str:
    problem = exc.problem or "invalid YAML"
    if "nesting depth" in problem:  # newer libyaml stops at 1,000 levels on its own
        return _TOO_DEEP
    if char == "\t":
        return "tabs are not allowed in YAML indentation; indent with spaces"
    if "expected a single document" in f"{exc.context} {problem}":
        return "the file holds more than one YAML document (---); keep one organization per file"
    if "found character '\\t'" in problem:
        return "tabs are not allowed in YAML indentation; indent with spaces"
    context = f" {exc.context}" if exc.context else ""
    return f"invalid YAML:{context} {problem}".replace("  ", " ")
