"""The dashboard's one HTML page, rendered on the server: the figures, the chart, the
limits that exist, and the state of the last poll. No script; the page refreshes
itself with a ``<meta http-equiv="refresh">``.

Names (the company's, the projects') and error sentences come from the API, so all
such text goes through ``escape.html_code``: HTML-escaped, and every character that
is not printable (a bidirectional override too) shown as an escape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from reconciler.core.escape import html_code as escape
from reconciler.net.board import PollState
from reconciler.net.board import page as frame
from reconciler.providers.company.chart import Month, month_of, svg
from reconciler.providers.company.client import Politeness
from reconciler.providers.company.projection import risk
from reconciler.providers.company.samples import SampleStore


@dataclass(frozen=True)
class Project:
    id: str
    name: str
    usage_limit: int | None


@dataclass(frozen=True)
class Overview:
    """The company and its projects as last read: the limits a reader should know of."""

    name: str
    plan: str
    usage_limit: int | None
    projects: list[Project]


@dataclass(kw_only=True)
class Board(PollState):
    """What the poller learned, for the page: the samples, the company and projects as
    last read, and how the polling goes (``PollState``)."""

    samples: SampleStore
    overview: Overview | None = None
    politeness: Politeness = field(default_factory=Politeness)
    warn_at: float | None = None  # --warn-at: amber past it, and drawn on the chart


def page(board: Board) -> str:
    month = month_of(board.samples.all())
    title = f"Token usage · {board.overview.name}" if board.overview else "Token usage"
    return frame(
        title,
        board,
        [
            _risk(month, board.warn_at) if month else "",
            _figures(month) if month else '<p class="empty">No usage read yet.</p>',
            f'<figure class="chart">{svg(month, board.warn_at)}{_legend()}</figure>'
            if month
            else "",
            _limits(board.overview) if board.overview else "",
        ],
        '<a href="/samples.json">samples.json</a> · every sample kept, for other tools',
    )


def _risk(month: Month, warn_at: float | None) -> str:
    """Where the month stands, as a colour a reader sees before any figure."""
    level, said = risk(month.projection, warn_at)
    role = ' role="alert"' if level != "green" else ""
    return f'<p class="risk risk-{level}" id="risk"{role}>{escape(said)}</p>'


def _figures(month: Month) -> str:
    latest, ahead = month.latest, month.projection
    limit = latest.usage_limit
    share = f" ({latest.tokens_used / limit:.1%} of {limit:,})" if limit else " (no limit)"
    remaining = "unlimited" if latest.tokens_remaining is None else f"{latest.tokens_remaining:,}"
    rows = [
        ("Tokens used", f"{latest.tokens_used:,}{share}"),
        ("Tokens remaining", remaining),
        ("API calls", f"{latest.api_calls:,}"),
        ("Period", f"{_day(month.start)} to {_day(month.end)}"),
    ]
    if ahead.projected is None:
        rows.append(("At this rate", "too early in the period to say"))
    else:
        when = "not within the period"
        if ahead.reaches_limit is not None:
            verb = "reached on" if ahead.already_over else "would be reached on"
            when = f"{verb} {_day(ahead.reaches_limit)}"
        rows.append(("At this rate", f"{ahead.projected:,} by the period's end"))
        if limit is not None:
            rows.append(("The limit", when))
    items = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in rows)
    return f'<dl class="figures" id="figures">{items}</dl>'


def _legend() -> str:
    return (
        '<figcaption><span class="key used">used</span> <span class="key projection">'
        'projection at this rate</span> <span class="key limit">usage limit</span>'
        "</figcaption>"
    )


def _limits(overview: Overview) -> str:
    rows = [
        f"<tr><td>Company <strong>{escape(overview.name)}</strong> (plan "
        f"{escape(overview.plan)})</td><td>{_limit(overview.usage_limit)}</td></tr>"
    ]
    rows += [
        f"<tr><td>Project <strong>{escape(p.name)}</strong> <code>{escape(p.id)}</code></td>"
        f"<td>{_limit(p.usage_limit)}</td></tr>"
        for p in overview.projects
    ]
    return (
        '<section id="limits"><h2>Usage limits</h2><table><thead><tr><th>Where</th>'
        f"<th>Monthly limit</th></tr></thead><tbody>{''.join(rows)}</tbody></table></section>"
    )


def _limit(value: int | None) -> str:
    return "none" if value is None else f"{value:,} tokens"


def _day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")
