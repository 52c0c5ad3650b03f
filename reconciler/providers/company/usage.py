"""``reconciler usage``: the Company API's token usage this month, once or watched,
as text, JSON or a Markdown summary with a chart (``--serve`` is ``dashboard.py``).

``--watch`` is the guide's usage monitor, made to last: one poll per interval;
each appends one JSON line to the log, either the usage or the error, so a
transient failure is a line in the log and not the end of the watch. A refused
key is not transient and ends it. ``--warn-at`` turns a poll whose use or
projection crosses the threshold into a warning (and the command's exit into 2).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from reconciler.core.errors import ApiError, AuthError
from reconciler.core.files import append_line
from reconciler.core.projection import Projection, project
from reconciler.net.connection import Connection
from reconciler.providers.company.chart import mermaid, month_of
from reconciler.providers.company.projection import crossing
from reconciler.providers.company.samples import Sample
from reconciler.providers.company.session import CompanySession


async def read_usage(connection: Connection) -> dict[str, Any]:
    """This month's usage, with the company's limit beside it."""
    async with CompanySession(connection) as session:
        return await session.usage()


def usage_text(found: dict[str, Any], fmt: str) -> str:
    """One line of usage: JSON, or prose with thousands separators (led by the time of
    the poll, when watching)."""
    if fmt == "json":
        return json.dumps({**found, "projection": _projection_data(found)}) + "\n"
    at = f"{found['time']}  " if "time" in found else ""
    limit = found.get("usage_limit")
    used = found["tokens_used"]
    share = f" ({used / limit:.1%} of {limit:,})" if limit else " (no limit)"
    remaining = found["tokens_remaining"]
    return (
        f"{at}Tokens used: {used:,}{share}; remaining: "
        f"{'unlimited' if remaining is None else f'{remaining:,}'}; "
        f"API calls: {found['api_calls']:,}; period {period_days(found)}{_heading(found)}\n"
    )


def period_days(found: dict[str, Any]) -> str:
    """``2026-12-01 to 2026-12-31``: the period's first and last days (its end is the
    next period's start, a day outside it), or as the API wrote it when unreadable."""
    try:
        start = datetime.fromisoformat(str(found["period_start"]))
        end = datetime.fromisoformat(str(found["period_end"]))
    except (KeyError, ValueError):
        return f"{found.get('period_start')} to {found.get('period_end')}"
    last = (end - timedelta(microseconds=1)).date()
    return f"{start.date().isoformat()} to {last.isoformat()}"


def _projection_data(found: dict[str, Any]) -> dict[str, Any] | None:
    """Where the period is heading, for ``--format json``: null when it cannot be read."""
    ahead = projection_of(found)
    if ahead is None:
        return None
    reaches = ahead.reaches_limit.date().isoformat() if ahead.reaches_limit else None
    return {"projected": ahead.projected, "reaches_limit": reaches, "over": ahead.already_over}


def projection_of(found: dict[str, Any]) -> Projection | None:
    """Where a reading's period is heading (as of its ``time``, else now); None when
    its period cannot be read."""
    try:
        start = datetime.fromisoformat(str(found["period_start"]))
        end = datetime.fromisoformat(str(found["period_end"]))
        now = datetime.fromisoformat(found["time"]) if "time" in found else datetime.now(UTC)
        return project(found["tokens_used"], found.get("usage_limit"), start, end, now)
    except (KeyError, TypeError, ValueError):
        return None


def warning_for(found: dict[str, Any], warn_at: float | None) -> str | None:
    """The ``--warn-at`` sentence for one reading, or None."""
    ahead = projection_of(found)
    return None if warn_at is None or ahead is None else crossing(ahead, warn_at)


def _heading(found: dict[str, Any]) -> str:
    """``; at this rate: 1,000,000 by the period's end, the limit on 2026-11-24``, or
    nothing when it is too early to say (or the period cannot be read)."""
    ahead = projection_of(found)
    words = _rate_words(ahead) if ahead else None
    return f"; at this rate: {words}" if words else ""


def _rate_words(ahead: Projection) -> str | None:
    """``1,000,000 by the period's end, the limit on 2026-11-24``; None too early."""
    if ahead.projected is None:
        return None
    when = ""
    if ahead.reaches_limit is not None:
        day = ahead.reaches_limit.date().isoformat()
        when = f", over the limit since {day}" if ahead.already_over else f", the limit on {day}"
    return f"{ahead.projected:,} by the period's end{when}"


def usage_markdown(found: dict[str, Any], history: list[Sample], skipped: int = 0) -> str:
    """A job summary: the figures as a table and the month as a Mermaid chart, from the
    reading ``found`` and the earlier samples of a ``--watch`` log."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    latest = Sample.from_json({"time": now, **found})
    month = month_of([*history, latest])
    assert month is not None  # latest is one sample
    limit = latest.usage_limit
    share = f" ({latest.tokens_used / limit:.1%} of {limit:,})" if limit else " (no limit)"
    remaining = "unlimited" if latest.tokens_remaining is None else f"{latest.tokens_remaining:,}"
    ahead = month.projection
    rate = "too early in the period to say"
    if ahead.projected is not None:
        rate = f"{ahead.projected:,} by the period's end"
        if ahead.reaches_limit is not None:
            day = ahead.reaches_limit.date().isoformat()
            rate += (
                f"; over the limit since {day}" if ahead.already_over else f"; the limit on {day}"
            )
    days = period_days(
        {"period_start": month.start.isoformat(), "period_end": month.end.isoformat()}
    )
    kept = len(month.samples) - 1
    source = f"{kept:,} earlier samples from the log and this reading" if kept else "this reading"
    dropped = f"; {skipped:,} lines of the log were not samples and were skipped" if skipped else ""
    return (
        f"### Token usage, {month.start:%B %Y}\n\n"
        "| | |\n|---|---|\n"
        f"| Tokens used | {latest.tokens_used:,}{share} |\n"
        f"| Tokens remaining | {remaining} |\n"
        f"| API calls | {latest.api_calls:,} |\n"
        f"| At this rate | {rate} |\n"
        f"| Period | {days} |\n\n"
        f"```mermaid\n{mermaid(month)}\n```\n\n"
        "<sub>Bars: tokens used at each day's last sample; lines: the straight-line "
        f"projection and the usage limit. From {source}, read at {now}{dropped}.</sub>\n"
    )


async def watch_usage(
    connection: Connection,
    *,
    interval: float,
    count: int | None,
    log: Path | None,
    show: Callable[[dict[str, Any]], None],
    warn: Callable[[str], None],
    warn_at: float | None = None,
    alert: Callable[[str], None] = lambda message: None,
) -> None:
    """Poll until ``count`` polls (or forever). A poll that crosses ``warn_at`` is
    told to ``alert`` when the crossing starts, not again at every poll after it."""
    polls = 0
    alerting = False
    while count is None or polls < count:
        line: dict[str, Any] = {"time": datetime.now(UTC).isoformat(timespec="seconds")}
        try:
            found = await read_usage(connection)
            line.update(found)
            show({"time": line["time"], **found})
            crossing_now = warning_for({"time": line["time"], **found}, warn_at)
            if crossing_now and not alerting:
                alert(crossing_now)
            alerting = crossing_now is not None
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
