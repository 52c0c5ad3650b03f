"""Values as YAML text that reads back as the same value and type, for the small
fragments ``adopt`` writes into a file: a scalar plain where that is unambiguous
(else in the file's own quoting), a flow value, block lines at an indentation.

What adopt writes comes from the API, so it is written as visible text only: every
character that is not printable (controls, bidi controls such as U+202E, which
reorder the rest of a line in a terminal ``git diff``, line and paragraph
separators, zero-width characters, no-break spaces) is an escape in a
double-quoted scalar; and a plain scalar is one that YAML 1.1 (PyYAML, older
tools) and YAML 1.2 (most others) both read as the same string: ``1e3``, ``yes``,
``0o17`` or ``~`` are quoted."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

from reconciler.core.errors import AdoptionError

_PLAIN_SAFE = re.compile(r"^[A-Za-z0-9_./@+-][A-Za-z0-9_./@+ -]*$")
# What YAML 1.2's core schema or YAML 1.1 reads as something other than a string,
# among the plain-safe texts (PyYAML, which is YAML 1.1, is asked as well).
_NOT_A_STRING = re.compile(
    r"""^(?:
      ~|null|Null|NULL
     |y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF
     |true|True|TRUE|false|False|FALSE
     |[-+]?(?:0b[01_]+|0o?[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*)
     |[-+]?(?:\.[0-9_]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?
     |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)
    )$""",
    re.VERBOSE,
)
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def scalar(value: Any, style: str | None = None, quote: str | None = None) -> str:
    """A scalar as YAML text that reads back as the same value and type: in ``style``
    (the quoting this value was written in), else plain where that is unambiguous,
    else in ``quote`` (the quoting the file uses most) or double quotes."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str):
        raise AdoptionError(f"{value!r} is not a value a file can hold")
    if style == "'" and value.isprintable():
        return "'" + value.replace("'", "''") + "'"
    if style != '"' and _reads_back_plain(value):
        return value
    if not style and quote == "'" and value.isprintable():  # plain is '' or None
        return "'" + value.replace("'", "''") + "'"
    return double_quoted(value)


def double_quoted(text: str) -> str:
    """``text`` as a double-quoted YAML scalar of visible characters only: what is not
    printable is ``\\uXXXX`` (``\\UXXXXXXXX`` past the first plane)."""
    return (
        '"' + "".join(_ESCAPES.get(c) or (c if c.isprintable() else _code(c)) for c in text) + '"'
    )


def _code(character: str) -> str:
    number = ord(character)
    return f"\\u{number:04X}" if number <= 0xFFFF else f"\\U{number:08X}"


def _reads_back_plain(text: str) -> bool:
    if not text or not _PLAIN_SAFE.match(text) or text != text.strip():
        return False
    if _NOT_A_STRING.match(text):
        return False
    try:
        loaded = yaml.safe_load(f"k: {text}")
    except yaml.YAMLError:
        return False
    return isinstance(loaded, dict) and loaded.get("k") == text


def flow(value: Any, quote: str | None = None) -> str:
    """A value in flow style: ``{a: 1, b: x}``, ``[us, global]`` or a scalar; text that
    needs quotes gets ``quote`` (the file's own) or double quotes."""
    if isinstance(value, Mapping):
        pairs = (f"{scalar(k, quote=quote)}: {flow(v, quote)}" for k, v in value.items())
        return "{" + ", ".join(pairs) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(flow(v, quote) for v in value) + "]"
    return scalar(value, quote=quote)


def block(key: str, value: Any, indent: int, step: int, quote: str | None = None) -> list[str]:
    """``key: value`` as block lines at ``indent`` (nested mappings ``step`` deeper)."""
    head = " " * indent + scalar(key, quote=quote) + ":"
    if isinstance(value, Mapping) and value:
        lines = [head]
        for k, v in value.items():
            lines += block(str(k), v, indent + step, step, quote)
        return lines
    return [f"{head} {flow(value, quote)}"]


class _VisibleDumper(yaml.SafeDumper):
    """PyYAML's safe dumper, with every string that holds a character that is not
    printable written double-quoted (then escaped by ``document``), and every string
    YAML 1.1 or 1.2 would read as another type quoted."""


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = '"' if not text.isprintable() else "'" if _NOT_A_STRING.match(text) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_VisibleDumper.add_representer(str, _represent_text)


def document(data: Any) -> str:
    """A whole file of ``data`` (``export``), in visible text only. PyYAML writes some
    characters that are not printable (U+202E, a no-break space) as they are, even in
    double quotes; every string holding one is double-quoted, so each such character
    left in the text is inside a double-quoted scalar and is written as its escape."""
    text = yaml.dump(data, Dumper=_VisibleDumper, sort_keys=False, allow_unicode=True, width=100)
    return "".join(c if c.isprintable() or c == "\n" else _code(c) for c in text)
