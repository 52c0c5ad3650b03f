"""``reconciler usage --watch``: the guide's usage monitor, made to last.

One poll per interval; each appends one JSON line to the log, either the
usage or the error, so a transient failure is a line in the log and not the
end of the watch. A refused key is not transient and ends it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler import manager
from reconciler.errors import ApiError, AuthError


async def watch_usage(
    connection: manager.Connection,
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
            found = await manager.usage(connection)
            line.update(found)
            show(found)
        except AuthError:
            raise
        except ApiError as exc:
            line["error"] = exc.message
            warn(f"{exc.message} (will poll again in {interval:g} s)")
        if log:
            with log.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(line) + "\n")
        polls += 1
        if count is None or polls < count:
            await asyncio.sleep(interval)
