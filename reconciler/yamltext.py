"""Values as YAML text that reads back as the same value and type, for the small
fragments ``adopt`` writes into a file: a scalar plain where that is unambiguous
(else in the file's own quoting), a flow value, block lines at an indentation."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import yaml

from reconciler.errors import AdoptionError

_PLAIN_SAFE = re.compile(r"^[A-Za-z0-9_./@+-][A-Za-z0-9_./@+ -]*$")


def scalar(value: Any, style: str | None = None) -> str:
    """A scalar as YAML text that reads back as the same value and type: plain where
    that is unambiguous, else in ``style`` (the quoting the file used) or double quotes."""
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
    return json.dumps(value, ensure_ascii=False)


def _reads_back_plain(text: str) -> bool:
    if not text or not _PLAIN_SAFE.match(text) or text != text.strip():
        return False
    try:
        loaded = yaml.safe_load(f"k: {text}")
    except yaml.YAMLError:
        return False
    return isinstance(loaded, dict) and loaded.get("k") == text


def flow(value: Any) -> str:
    """A value in flow style: ``{a: 1, b: x}``, ``[us, global]`` or a scalar."""
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{scalar(k)}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return scalar(value)


def block(key: str, value: Any, indent: int, step: int) -> list[str]:
    """``key: value`` as block lines at ``indent`` (nested mappings ``step`` deeper)."""
    head = " " * indent + scalar(key) + ":"
    if isinstance(value, Mapping) and value:
        lines = [head]
        for k, v in value.items():
            lines += block(str(k), v, indent + step, step)
        return lines
    return [f"{head} {flow(value)}"]
