"""Where a period is heading: a straight line from its start through what was used
(or spent) so far, to its end, and the moment it would cross a limit at that rate.
Numbers only (tokens, cents): the Company API's usage and the Admin API's money both
project this way; nothing here reads the network or says a unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# Before this much of the period has passed, a rate says more about the first hour
# than about the month: no projection yet.
MIN_ELAPSED = timedelta(hours=1)


@dataclass(frozen=True)
class Projection:
    """Used now and at the period's end at the present rate, and when the limit is (or
    would be) reached: None when there is no limit, no use, or it would not be reached
    within the period."""

    used: int
    projected: int | None  # None: too early in the period to say
    limit: int | None
    reaches_limit: datetime | None
    already_over: bool

    def share(self, of_projected: bool = False) -> float | None:
        """Used (or projected) as a share of the limit; None without a limit."""
        value = self.projected if of_projected else self.used
        if not self.limit or value is None:
            return None
        return value / self.limit


def project(
    used: int, limit: int | None, start: datetime, end: datetime, now: datetime
) -> Projection:
    """The straight-line projection of ``used`` tokens between ``start`` and ``now`` to
    ``end``, against ``limit`` (None: no limit)."""
    if end <= start:
        raise ValueError("a usage period ends after it starts")
    now = min(max(now, start), end)
    elapsed, length = now - start, end - start
    over = limit is not None and used >= limit
    if elapsed < MIN_ELAPSED:
        return Projection(used, None, limit, None, over)
    rate = used / elapsed.total_seconds()  # a second
    projected = round(rate * length.total_seconds())
    reaches: datetime | None = None
    if limit is not None and rate > 0:
        after = limit / rate  # seconds from the start; may be millennia (no date that far)
        reaches = start + timedelta(seconds=after) if after <= length.total_seconds() else None
    return Projection(used, projected, limit, reaches, over)
