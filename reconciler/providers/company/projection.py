"""What the month's token projection (``core.projection``) means for the usage limit,
in words: the ``--warn-at`` sentence and the dashboard's colour.
"""

from __future__ import annotations

from reconciler.core.projection import Projection


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
