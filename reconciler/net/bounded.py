"""Answers are bounded: an API's JSON is taken only within what its types allow.

Python reads any JSON: integers of any size (``2**63``, ``10**400``), ``NaN`` and
``Infinity``, and strings holding a lone surrogate (half of a UTF-16 pair, not a
character). Each would break something far from where it came in: a count past
2^53 is no longer exact in a browser's JavaScript or a float, ``10**400`` overflows
when a projection divides it, ``NaN`` compares unequal to itself, and a lone
surrogate cannot be written as UTF-8 (``adopt`` would crash writing the file). So
both providers read every answer through ``loads`` (the Company API client) or
``problem`` (the Admin API's SDK middleware), and refuse such an answer as malformed
at the boundary, in one sentence, before any of it is used.

Numbers are checked as the JSON is read (the reader's hooks for integers, floats and
constants cost about as much as the read); strings are walked only when the raw bytes
hold something a lone surrogate could come from, which two fast scans tell.
"""

from __future__ import annotations

import json
import re
from typing import Any

from reconciler.core.escape import visible

# The largest count JSON numbers carry exactly everywhere (IEEE doubles; JavaScript).
MAX_COUNT = 2**53
# Where a lone surrogate can come from: an escaped surrogate (paired ones are fine, lone
# ones not), or one written as UTF-8 bytes (never valid UTF-8, but json reads it). Two
# patterns, each starting with a literal, so each search is a fast scan of the bytes.
_SURROGATES = (re.compile(rb"\\u[dD][89a-fA-F]"), re.compile(rb"\xed[\xa0-\xbf]"))


class Unbounded(ValueError):
    """An answer holding a value out of bounds; the message names it, in a few words."""


def loads(raw: bytes) -> Any:
    """``raw`` read as JSON, or ``Unbounded`` for a value out of bounds (``ValueError``
    for what is not JSON at all)."""
    found = json.loads(raw, parse_int=_count, parse_float=_finite, parse_constant=_not_finite)
    if any(pattern.search(raw) for pattern in _SURROGATES):
        _check_text(found)
    return found


def problem(raw: bytes) -> str | None:
    """What is out of bounds in ``raw`` (``"a count past 2^53 (9223372036854775808)"``),
    or None; what is not JSON at all is left to the reader (None)."""
    try:
        loads(raw)
    except Unbounded as exc:
        return str(exc)
    except ValueError:
        return None
    return None


def _count(text: str) -> int:
    if len(text.lstrip("-")) > 16 or abs(int(text)) > MAX_COUNT:
        raise Unbounded(f"a count past 2^53 ({_shown(text)})")
    return int(text)


def _finite(text: str) -> float:
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise Unbounded(f"a number too large for a float ({_shown(text)})")
    return number


def _not_finite(text: str) -> float:
    raise Unbounded(f"a number that is not finite ({text})")


def _check_text(value: Any) -> None:
    """Refuse a string (a key included) holding a lone surrogate."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            _encodable(item)
        elif isinstance(item, dict):
            for key, inner in item.items():
                _encodable(key)
                stack.append(inner)
        elif isinstance(item, list):
            stack.extend(item)


def _encodable(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise Unbounded("text with a lone surrogate (half of a character)") from None


def _shown(text: str) -> str:
    """A number as the answer wrote it, cut to 24 characters."""
    return text if len(text) <= 24 else f"{text[:20]}… ({len(text)} characters)"


def refusal(base_url: str, asked: str, why: str, request_id: str | None) -> str:
    """The sentence for an answer out of bounds, the same for both providers."""
    request = f" (request-id {visible(request_id)})" if request_id else ""
    return (
        f"{base_url} answered {visible(asked)} with a malformed answer: {why}{request}; "
        "nothing was taken from it. Run again, and if it persists, report it to the API's "
        "operator."
    )
