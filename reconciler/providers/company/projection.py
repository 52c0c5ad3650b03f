"""Where the month is heading: a straight line from the start of the usage period
through the tokens used so far, to the period's end, and the moment it would cross
the usage limit at that rate. What a usage dashboard and ``--warn-at`` need, and
nothing that reads the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# Before this much of the period has passed, a rate says more about the first hour
# than about the month: no projection yet.
MIN_ELAPSED = timedelta(hours=1)


@dataclass(frozen=True)
class Projection:
    """Tokens used now and at the period's end at the present rate, and when the limit
    is (or would be) reached: None when there is no limit, no usage, or it would not
    be reached within the period."""

    used: int
    projected: int | None  # None: too early in the period to say
    limit: int | None
    reaches_limit: datetime | None
    already_over: bool

    def share(self, of_projected: bool = False) -> float | None:
        """Used (or projected) tokens as a share of the limit; None without a limit."""
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
    rate = used / elapsed.total_seconds()  # tokens a second
    projected = round(rate * length.total_seconds())
    reaches: datetime | None = None
    if limit is not None and rate > 0:
        after = limit / rate  # seconds from the start; may be millennia (no date that far)
        reaches = start + timedelta(seconds=after) if after <= length.total_seconds() else None
    return Projection(used, projected, limit, reaches, over)


def crossing(ahead: Projection, threshold: float) -> str | None:
    """The sentence saying the use, or the projection to the period's end, is at or
    past ``threshold`` (a share of the limit: 0.8 for ``--warn-at 80%``); None when it
    is not, or when there is no limit to be a share of."""
    used, projected = ahead.share(), ahead.share(of_projected=True)
    if ahead.limit is None or used is None:
        return None
    limit, mark = f"{ahead.limit:,}", f"{threshold * 100:g}%"
    if used >= threshold:
        return f"{used:.1%} of the usage limit ({limit} tokens) is used, past --warn-at {mark}"
    if projected is not None and projected >= threshold:
        return (
            f"at this rate the period ends at {projected:.1%} of the usage limit ({limit} "
            f"tokens), past --warn-at {mark}"
        )
    return None


# Without --warn-at, the dashboard turns amber at this share of the limit.
DEFAULT_WARN_AT = 0.8


def risk(ahead: Projection, warn_at: float | None) -> tuple[str, str]:
    """How the month stands, as a colour and a sentence: ``red`` when the limit is
    reached or would be within the period at this rate, ``amber`` when the use or the
    projection passes ``warn_at`` (80 % when not given), else ``green``."""
    if ahead.limit is None:
        return "green", "No usage limit: nothing to reach."
    if ahead.reaches_limit is not None:
        day = ahead.reaches_limit.date().isoformat()
        if ahead.already_over:
            return "red", f"The usage limit was reached on {day}: requests are refused."
        return "red", f"At this rate the usage limit is reached on {day}, before the period ends."
    threshold = DEFAULT_WARN_AT if warn_at is None else warn_at
    said = crossing(ahead, threshold)
    if said is not None:
        return "amber", said[0].upper() + said[1:] + "."
    return "green", "Within the usage limit at this rate."
