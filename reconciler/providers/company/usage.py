"""``reconciler usage``: the Company API's token usage this month, once or watched.

``--watch`` is the guide's usage monitor, made to last: one poll per interval;
each appends one JSON line to the log, either the usage or the error, so a
transient failure is a line in the log and not the end of the watch. A refused
key is not transient and ends it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler.connection import Connection
from reconciler.errors import ApiError, AuthError
from reconciler.files import append_line
from reconciler.providers.company.projection import project
from reconciler.providers.company.session import CompanySession


async def read_usage(connection: Connection) -> dict[str, Any]:
    """This month's usage, with the company's limit beside it."""
    async with CompanySession(connection) as session:
        return await session.usage()


def usage_text(found: dict[str, Any], fmt: str) -> str:
    """One line of usage: JSON, or prose with thousands separators (led by the time of
    the poll, when watching)."""
    if fmt == "json":
        return json.dumps(found) + "\n"
    at = f"{found['time']}  " if "time" in found else ""
    limit = found.get("usage_limit")
    used = found["tokens_used"]
    share = f" ({used / limit:.1%} of {limit:,})" if limit else " (no limit)"
    remaining = found["tokens_remaining"]
    return (
        f"{at}Tokens used: {used:,}{share}; remaining: "
        f"{'unlimited' if remaining is None else f'{remaining:,}'}; "
        f"API calls: {found['api_calls']:,}; period {found['period_start']} to "
        f"{found['period_end']}{_heading(found)}\n"
    )


def _heading(found: dict[str, Any]) -> str:
    """``; at this rate: 1,000,000 by the period's end, the limit on 2026-11-24``, or
    nothing when it is too early to say (or the period cannot be read)."""
    try:
        start = datetime.fromisoformat(str(found["period_start"]))
        end = datetime.fromisoformat(str(found["period_end"]))
        now = datetime.fromisoformat(found["time"]) if "time" in found else datetime.now(UTC)
        ahead = project(found["tokens_used"], found.get("usage_limit"), start, end, now)
    except (KeyError, TypeError, ValueError):
        return ""
    if ahead.projected is None:
        return ""
    when = ""
    if ahead.reaches_limit is not None:
        day = ahead.reaches_limit.date().isoformat()
        when = f", over the limit since {day}" if ahead.already_over else f", the limit on {day}"
    return f"; at this rate: {ahead.projected:,} by the period's end{when}"


async def watch_usage(
    connection: Connection,
    *,
    interval: float,
    count: int | None,
    log: Path | None,
    show: Callable[[dict[str, Any]], None],
    warn: Callable[[str], None],
) -> None:
    polls = 0
    while count is None or polls < count:
        line: dict[str, Any] = {"time": datetime.now(UTC).isoformat(timespec="seconds")}
        try:
            found = await read_usage(connection)
            line.update(found)
            show({"time": line["time"], **found})
        except AuthError:
            raise
        except ApiError as exc:
            line["error"] = exc.message
            warn(f"{exc.message} (will poll again in {interval:g} s)")
        if log:
            append_line(log, json.dumps(line))
        polls += 1
        if count is None or polls < count:
            await asyncio.sleep(interval)
