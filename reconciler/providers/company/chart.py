"""The month in one picture: tokens used so far, the straight-line projection to the
period's end, and the usage limit, drawn as SVG (the dashboard) or as a Mermaid
``xychart-beta`` chart (a CI job's summary, which GitHub renders).

Everything drawn is a number or a date computed here; no text from the API reaches
the picture, so there is nothing to escape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from reconciler.core.projection import Projection, project
from reconciler.providers.company.samples import Sample, in_period

WIDTH, HEIGHT = 760, 340
LEFT, RIGHT, TOP, BOTTOM = 70, 24, 28, 44  # the plot's margins, for the axes' labels
USED, AHEAD, LIMIT, GRID, INK = "#2563eb", "#7c3aed", "#dc2626", "#e5e7eb", "#374151"
WARN = "#b45309"  # --warn-at: amber, as the page turns past it


@dataclass(frozen=True)
class Month:
    """One usage period's samples (oldest first) and where they lead."""

    start: datetime
    end: datetime
    samples: Sequence[Sample]
    projection: Projection

    @property
    def latest(self) -> Sample:
        return self.samples[-1]

    def days(self) -> list[datetime]:
        """The start of each day of the period."""
        count = max(1, -(-(self.end - self.start) // timedelta(days=1)))
        return [self.start + timedelta(days=n) for n in range(count)]


def month_of(samples: Sequence[Sample]) -> Month | None:
    """The period of the newest sample, or None without samples."""
    if not samples:
        return None
    latest = max(samples, key=lambda s: s.time)
    ahead = project(
        latest.tokens_used, latest.usage_limit, latest.period_start, latest.period_end, latest.time
    )
    return Month(latest.period_start, latest.period_end, in_period(samples, latest), ahead)


def compact(tokens: float) -> str:
    """``1.25M``, ``800k``, ``42``: an axis label's width."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(tokens) >= size:
            return f"{tokens / size:.3g}{suffix}"
    return f"{tokens:.0f}"


def top_of_scale(month: Month) -> tuple[int, int]:
    """The y axis' top and its step: a round number above the usage, the limit and
    the projection, in at most six steps of 1, 2, 2.5 or 5 times a power of ten."""
    highest = max(
        month.latest.tokens_used, month.latest.usage_limit or 0, month.projection.projected or 0, 1
    )
    power = 1
    while True:
        for factor in (1, 2, 2.5, 5):
            step = int(factor * power)
            if step * 6 >= highest * 1.05:
                return step * -(-int(highest * 1.05) // step), step
        power *= 10


def svg(month: Month, warn_at: float | None = None) -> str:
    """The chart as an inline SVG element (no script, no style attribute: it renders
    under a Content Security Policy that allows neither), with ``--warn-at``'s
    threshold drawn under the limit when given."""
    top, step = top_of_scale(month)
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    span = (month.end - month.start).total_seconds()

    def x(moment: datetime) -> float:
        seconds = (min(max(moment, month.start), month.end) - month.start).total_seconds()
        return round(LEFT + inner_w * seconds / span, 1)

    def y(tokens: float) -> float:
        return round(TOP + inner_h * (1 - min(tokens, top) / top), 1)

    parts = [
        f'<svg id="usage-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        'role="img" aria-labelledby="usage-chart-title" font-family="system-ui, sans-serif" '
        'font-size="12">',
        '<title id="usage-chart-title">Tokens used this period, with the projection to its '
        "end and the usage limit</title>",
    ]
    for n in range(0, top + 1, step):
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(n)}" y2="{y(n)}" stroke="{GRID}"/>'
            f'<text x="{LEFT - 8}" y="{y(n) + 4}" text-anchor="end" fill="{INK}">'
            f"{compact(n)}</text>"
        )
    for day in month.days():
        if (day - month.start).days % 7 == 0:
            parts.append(
                f'<line x1="{x(day)}" x2="{x(day)}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" '
                f'stroke="{GRID}"/><text x="{x(day)}" y="{HEIGHT - BOTTOM + 18}" '
                f'text-anchor="middle" fill="{INK}">{day:%b} {day.day}</text>'
            )
    limit = month.latest.usage_limit
    if limit is not None and warn_at is not None:
        mark = round(limit * warn_at)
        parts.append(
            f'<line class="threshold" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(mark)}" '
            f'y2="{y(mark)}" stroke="{WARN}" stroke-width="1" stroke-dasharray="6 3"/>'
            f'<text x="{LEFT + 6}" y="{y(mark) - 6}" fill="{WARN}">'
            f"--warn-at {warn_at * 100:g}%</text>"
        )
    if limit is not None:
        parts.append(
            f'<line class="limit" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(limit)}" '
            f'y2="{y(limit)}" stroke="{LIMIT}" stroke-width="1.5" stroke-dasharray="2 3"/>'
            f'<text x="{WIDTH - RIGHT}" y="{y(limit) - 6}" text-anchor="end" fill="{LIMIT}">'
            f"limit {limit:,}</text>"
        )
    latest = month.latest
    ahead = month.projection
    if ahead.projected is not None:
        parts.append(
            f'<line class="projection" x1="{x(latest.time)}" y1="{y(latest.tokens_used)}" '
            f'x2="{x(month.end)}" y2="{y(ahead.projected)}" stroke="{AHEAD}" stroke-width="2" '
            'stroke-dasharray="6 4"/>'
        )
    if ahead.reaches_limit is not None and limit is not None:
        when = ahead.reaches_limit
        parts.append(
            f'<circle class="reaches-limit" cx="{x(when)}" cy="{y(limit)}" r="5" '
            f'fill="{LIMIT}"/><text x="{x(when)}" y="{y(limit) + 18}" text-anchor="middle" '
            f'fill="{LIMIT}">{when:%b} {when.day}</text>'
        )
    points = [(month.start, 0)] + [(s.time, s.tokens_used) for s in month.samples]
    # A month of one-minute samples is 43,200 points; one a pixel column draws the same.
    by_column = {x(t): y(v) for t, v in points}
    path = " ".join(f"{px},{py}" for px, py in by_column.items())
    parts.append(
        f'<polyline class="used" points="{path}" fill="none" stroke="{USED}" stroke-width="2.5" '
        'stroke-linejoin="round"/>'
        f'<circle cx="{x(latest.time)}" cy="{y(latest.tokens_used)}" r="4" fill="{USED}"/>'
        f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" stroke="{INK}"/>'
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{HEIGHT - BOTTOM}" y2="{HEIGHT - BOTTOM}" '
        f'stroke="{INK}"/>'
        "</svg>"
    )
    return "".join(parts)


def daily(month: Month) -> list[int]:
    """Tokens used at each day's last sample, from the first sampled day through the
    latest sample's; a day with none carries the day before's (usage only grows within
    a period). Days before the first sample are unknown and days after the latest are
    to come: neither has a value, so neither is drawn as a bar of 0."""
    first = _first_drawn(month)
    values: list[int] = []
    found, index = 0, 0
    for day in month.days()[first:]:
        if day > month.latest.time:
            break
        until = day + timedelta(days=1)
        while index < len(month.samples) and month.samples[index].time < until:
            found = month.samples[index].tokens_used
            index += 1
        values.append(found)
    return values


def mermaid(month: Month) -> str:
    """The chart as a Mermaid ``xychart-beta`` block's body: bars of usage by day, a
    line of the projection at the present rate, a line of the limit. The days run from
    the first sampled day (a log started mid-month has nothing to say before it) to the
    period's end. Mermaid pairs a series' values with the days in order and draws no bar
    for a day past the end of the bars (Mermaid 11, checked in Chromium), so the bars
    stop at today while the lines go on to the period's end."""
    top, _ = top_of_scale(month)
    first = _first_drawn(month)
    days = month.days()[first:]
    rate_per_day = _rate_per_day(month)
    lines = [
        "xychart-beta",
        f'    title "Tokens used, {month.start:%B %Y}"',
        f'    x-axis "Day" [{", ".join(str(d.day) for d in days)}]',
        f'    y-axis "Tokens" 0 --> {top}',
        f"    bar [{', '.join(str(v) for v in daily(month))}]",
    ]
    if rate_per_day is not None:
        projected = [round(rate_per_day * (first + n + 1)) for n in range(len(days))]
        lines.append(f"    line [{', '.join(str(v) for v in projected)}]")
    if month.latest.usage_limit is not None:
        lines.append(f"    line [{', '.join([str(month.latest.usage_limit)] * len(days))}]")
    return "\n".join(lines)


def _first_drawn(month: Month) -> int:
    """The index of the day of the period's first sample (0: the period's first day)."""
    return max(0, (month.samples[0].time - month.start) // timedelta(days=1))


def _rate_per_day(month: Month) -> float | None:
    if month.projection.projected is None:
        return None
    return month.projection.projected / len(month.days())
