"""The newer Admin API lists' paging (rate limits, spend limits, reports, service
accounts): ``limit`` items from an opaque ``page`` cursor, into ``{data, next_page}``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.sandbox.errors import ErrorAnswer


def cursor_page(
    params: Mapping[str, str], items: list[dict[str, Any]], *, default: int | None
) -> dict[str, Any]:
    """``limit`` items (1 to 1,000; ``default`` when not given, every remaining item
    when that is None) from the ``page`` cursor on."""
    raw = params.get("limit")
    if raw is not None and (not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 1000):
        raise ErrorAnswer(400, f"limit: must be an integer from 1 to 1000, not {raw!r}.")
    limit = int(raw) if raw is not None else default
    cursor = params.get("page") or "p0"
    if not (cursor.startswith("p") and cursor[1:].isascii() and cursor[1:].isdigit()):
        raise ErrorAnswer(400, "page: not a cursor this list gave.")
    start = int(cursor[1:])
    end = len(items) if limit is None else start + limit
    return {"data": items[start:end], "next_page": f"p{end}" if end < len(items) else None}
