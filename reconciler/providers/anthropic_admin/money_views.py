"""The month's money (``money.Money``) as ``reconciler usage`` shows it: a table of
text, one JSON object, or a Markdown summary for a CI job with a Mermaid chart for
each workspace near its limit. Workspace names arrive already made visible and cut
(``money``); in Markdown each is a code span, escaped for it."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

from reconciler.core.escape import markdown_code
from reconciler.providers.anthropic_admin.money import Money, Spend, dollars

# A chart is drawn for a workspace whose spend or projection passes this share of its
# limit (or --warn-at's, when lower): the ones a reviewer should look at.
NEAR = 0.8
CHARTS = 10  # at most; the rest are in the table


def money_text(money: Money) -> str:
    """A table: spent, limit, share, projected, the day a limit is reached."""
    head = (
        f"Spend this month ({money.start:%B %Y}, {money.currency}), as of "
        f"{money.as_of:%Y-%m-%d %H:%M} UTC:\n"
    )
    if not money.limits_readable:
        head += "(spend limits are not readable with this key: spend alone is shown)\n"
    width = max(len(s.name) for s in money.rows)
    lines = [
        f"  {'':<{width}}  {'spent':>13}  {'limit':>13}  {'share':>6}  {'projected':>13}  "
        "reaches limit"
    ]
    lines += [_line(s, width, money.currency) for s in money.rows]
    return head + "\n".join(lines) + "\n"


def _line(spend: Spend, width: int, currency: str) -> str:
    share = spend.share()
    ahead = spend.projection
    return (
        f"  {spend.name:<{width}}  {dollars(spend.spent, currency):>13}  "
        f"{dollars(spend.limit, currency):>13}  {f'{share:.0%}' if share is not None else '-':>6}"
        f"  {dollars(ahead.projected, currency):>13}  {_reaches(spend)}"
    )


def _reaches(spend: Spend) -> str:
    ahead = spend.projection
    if ahead.already_over:
        return "reached: requests are refused"
    if ahead.reaches_limit is not None:
        return f"{ahead.reaches_limit:%Y-%m-%d}"
    return "-"


def money_json(money: Money) -> str:
    """One JSON object: amounts in minor units as decimal strings (as the API writes
    them), shares as fractions, dates as ISO 8601."""
    return (
        json.dumps(
            {
                "period": {"start": money.start.isoformat(), "end": money.end.isoformat()},
                "as_of": money.as_of.isoformat(),
                "currency": money.currency,
                "spend_limits_readable": money.limits_readable,
                "organization": _spend_data(money.organization),
                "workspaces": [_spend_data(s) for s in money.workspaces],
            }
        )
        + "\n"
    )


def _spend_data(spend: Spend) -> dict[str, Any]:
    ahead = spend.projection
    return {
        "name": spend.name,
        "workspace_id": spend.workspace_id,
        "spent": str(spend.spent),
        "limit": None if spend.limit is None else str(spend.limit),
        "share": spend.share(),
        "projected": None if ahead.projected is None else str(ahead.projected),
        "projected_share": spend.share(projected=True),
        "reaches_limit": ahead.reaches_limit.date().isoformat() if ahead.reaches_limit else None,
        "over": ahead.already_over,
    }


def money_markdown(money: Money, warn_at: float | None) -> str:
    """A job summary: the table, then a chart for each workspace near its limit."""
    near = min(NEAR, warn_at) if warn_at is not None else NEAR
    rows = [
        "| | Spent | Limit | Share | Projected | Reaches limit |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for spend in money.rows:
        share = spend.share()
        rows.append(
            f"| `{markdown_code(spend.name)}` | {dollars(spend.spent, money.currency)} | "
            f"{dollars(spend.limit, money.currency)} | "
            f"{f'{share:.0%}' if share is not None else '-'} | "
            f"{dollars(spend.projection.projected, money.currency)} | {_reaches(spend)} |"
        )
    text = (
        f"### Spend, {money.start:%B %Y} ({money.currency})\n\n"
        f"As of {money.as_of:%Y-%m-%d %H:%M} UTC.\n\n" + "\n".join(rows) + "\n"
    )
    charted = [s for s in money.rows if _near(s, near)][:CHARTS]
    for spend in charted:
        text += f"\n#### `{markdown_code(spend.name)}`\n\n```mermaid\n{chart(money, spend)}\n```\n"
    return text


def _near(spend: Spend, share: float) -> bool:
    now, ahead = spend.share(), spend.share(projected=True)
    return any(v is not None and v >= share for v in (now, ahead))


def chart(money: Money, spend: Spend) -> str:
    """A Mermaid ``xychart-beta``: bars of spend by the end of each day so far (in
    the currency's major unit), a line of the projection, a line of the limit."""
    days = max(1, -(-(money.end - money.start) // timedelta(days=1)))
    projected = spend.projection.projected
    top = max(spend.spent, Decimal(spend.limit or 0), Decimal(projected or 0), Decimal(100))
    lines = [
        "xychart-beta",
        f'    title "Spend, {money.start:%B %Y}"',
        f'    x-axis "Day" [{", ".join(str(d + 1) for d in range(days))}]',
        f'    y-axis "{money.currency}" 0 --> {_major(top * Decimal("1.1"))}',
        f"    bar [{', '.join(_major(v) for v in spend.daily)}]",
    ]
    if projected is not None:
        step = Decimal(projected) / days
        lines.append(f"    line [{', '.join(_major(step * (d + 1)) for d in range(days))}]")
    if spend.limit is not None:
        lines.append(f"    line [{', '.join([_major(Decimal(spend.limit))] * days)}]")
    return "\n".join(lines)


def _major(minor: Decimal) -> str:
    return str(round(minor / 100))
