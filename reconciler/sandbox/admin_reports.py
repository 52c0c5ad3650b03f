"""The Admin API's cost and usage reports (``analytics.cost`` and ``analytics.usage``)
as the sandbox serves them: a month of money from a deterministic series per
workspace, in the same SQLite file.

Each workspace spends at a steady rate (``cost_per_day``: fractional cents a day, a
decimal string; ``tokens_per_day``; ``requests_per_day``), from the seed and movable
at runtime (``PATCH /_sandbox/spend``). Reports cover whole hours, as the reference
says: the data is as of the start of the current hour (``data_refreshed_at``), so a
day's bucket holds the hours of it that have passed. With a steady rate, what a month
costs by its end is the rate times its days, whatever the hour a test runs at.

The rules are the reference's (the SDK's docstrings) where it has them:
``starting_at`` is required, RFC 3339 with a zone, no earlier than
2026-01-01T00:00:00Z and within the last 365 days; ``ending_at`` is exclusive, required
with ``time_bucket_width``, at most 31 days after ``starting_at`` (24 hours for
``1m``); without a width each row covers the range rounded down to the hour (the end
defaulting to the earlier of now and ``starting_at`` + 31 days); ``group_by[]`` takes
the documented dimensions (the sandbox breaks out ``workspace_id`` only; the others
read null); ``workspace_ids[]`` filters; rows with nothing in them are left out; pages
are ``limit`` rows (1 to 1000, default 20) with an opaque ``next_page``; the beta header
``analytics-usage-cost-2026-08-24`` is required; an organization with HIPAA readiness
enabled (seed ``hipaa_readiness: true``) gets a 400 for every report.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from reconciler.sandbox.errors import ErrorAnswer

REPORTS_BETA = "analytics-usage-cost-2026-08-24"
HIPAA = "This endpoint is not available to organizations with HIPAA readiness enabled."
EARLIEST = datetime(2026, 1, 1, tzinfo=UTC)
GROUP_BY = frozenset(
    {
        "actor",
        "actor_type",
        "agent_id",
        "api_key_id",
        "claude_tag_category",
        "claude_tag_user_id",
        "context_window",
        "cost_type",
        "deployment_id",
        "environment_id",
        "inference_geo",
        "model",
        "organization_id",
        "product",
        "rbac_group_id",
        "service_tier",
        "session_id",
        "slack_channel_id",
        "speed",
        "token_type",
        "user_profile_id",
        "workspace_id",
    }
)
WIDTHS = {"1d": timedelta(days=1), "1h": timedelta(hours=1), "1m": timedelta(minutes=1)}
DAY = timedelta(days=1)

SCHEMA = """
CREATE TABLE IF NOT EXISTS admin_reports_refused (why TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS admin_spend_series (
    workspace_id TEXT PRIMARY KEY, cost_per_day TEXT NOT NULL,
    tokens_per_day INTEGER NOT NULL, requests_per_day INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class Query:
    """What a report request asks for, checked."""

    starting_at: datetime
    ending_at: datetime
    width: timedelta | None
    by_workspace: bool
    workspace_ids: frozenset[str]
    refreshed: datetime


def refreshed_at(now: datetime | None = None) -> datetime:
    """The moment the reports are as of: the start of the current hour."""
    moment = now or datetime.now(UTC)
    return moment.replace(minute=0, second=0, microsecond=0)


def query_of(params: Any, now: datetime | None = None) -> Query:
    """The report's query from the request's parameters (a Starlette ``QueryParams``),
    or a 400 naming the first thing wrong with it."""
    refreshed = refreshed_at(now)
    start = _moment(params.get("starting_at"), "starting_at", required=True)
    assert start is not None
    if start < EARLIEST:
        raise ErrorAnswer(400, "starting_at: must be no earlier than 2026-01-01T00:00:00Z.")
    if start < refreshed - timedelta(days=365):
        raise ErrorAnswer(400, "starting_at: must be within the last 365 days.")
    raw_width = params.get("time_bucket_width")
    if raw_width is not None and raw_width not in WIDTHS:
        raise ErrorAnswer(400, "time_bucket_width: must be one of 1d, 1h, 1m.")
    width = WIDTHS[raw_width] if raw_width is not None else None
    end = _moment(params.get("ending_at"), "ending_at", required=width is not None)
    if end is None:
        end = min(refreshed, start + timedelta(days=31))
    if end <= start:
        raise ErrorAnswer(400, "ending_at: must be after starting_at.")
    longest = timedelta(hours=24) if raw_width == "1m" else timedelta(days=31)
    if end - start > longest:
        raise ErrorAnswer(400, f"The range may span at most {_span(longest)}.")
    group_by = params.getlist("group_by[]") or params.getlist("group_by")
    unknown = sorted(set(group_by) - GROUP_BY)
    if unknown:
        raise ErrorAnswer(400, f"group_by: {', '.join(unknown)} is not a dimension.")
    if len(set(group_by) - {"cost_type", "token_type"}) > 5:
        raise ErrorAnswer(400, "group_by: at most 5 dimensions.")
    workspaces = params.getlist("workspace_ids[]") or params.getlist("workspace_ids")
    if width is None:  # without buckets the range is whole hours
        start, end = refreshed_at(start), refreshed_at(end)
    return Query(start, end, width, "workspace_id" in group_by, frozenset(workspaces), refreshed)


def _moment(raw: str | None, name: str, *, required: bool) -> datetime | None:
    if raw is None:
        if required:
            raise ErrorAnswer(400, f"{name}: required.")
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ErrorAnswer(400, f"{name}: not an RFC 3339 date-time.") from None
    if moment.tzinfo is None:
        raise ErrorAnswer(400, f"{name}: must carry a time zone (RFC 3339).")
    return moment.astimezone(UTC)


def _span(length: timedelta) -> str:
    return "24 hours" if length == timedelta(hours=24) else f"{length.days} days"


def rate_problem(rate: Mapping[str, Any]) -> str | None:
    """What is wrong with a workspace's spending rate (a seed's or a control request's),
    or None: ``cost_per_day`` is cents (a number or a decimal string), the others whole
    numbers, none below 0."""
    cost = rate.get("cost_per_day", "0")
    counts = [rate.get(name, 0) for name in ("tokens_per_day", "requests_per_day")]
    try:
        money = not isinstance(cost, bool) and Decimal(str(cost)).is_finite()
        money = money and Decimal(str(cost)) >= 0
    except InvalidOperation:
        money = False
    if money and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in counts):
        return None
    return (
        "cost_per_day is a number of cents, tokens_per_day and requests_per_day whole "
        "numbers; none below 0."
    )


class ReportsStore:
    """Each workspace's spending rate, and the reports made from it; knows nothing of
    HTTP beyond the 400s of a bad query."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        db.executescript(SCHEMA)

    def clear(self, seed: Mapping[str, Any]) -> None:
        """No rates yet; an organization with HIPAA readiness (seed ``hipaa_readiness``)
        is refused every report, as the reference says."""
        self._db.execute("DELETE FROM admin_spend_series")
        self._db.execute("DELETE FROM admin_reports_refused")
        if seed.get("hipaa_readiness"):
            self._db.execute("INSERT INTO admin_reports_refused VALUES (?)", (HIPAA,))

    def check_offered(self) -> None:
        """A 400 for an organization the reports are not offered to."""
        row = self._db.execute("SELECT why FROM admin_reports_refused").fetchone()
        if row is not None:
            raise ErrorAnswer(400, row["why"])

    def load_workspace(self, workspace_id: str, seed: Mapping[str, Any]) -> None:
        """A seeded workspace's rate, when it has one."""
        if any(k in seed for k in ("cost_per_day", "tokens_per_day", "requests_per_day")):
            self.set_rate(workspace_id, seed)

    def set_rate(self, workspace_id: str, rate: Mapping[str, Any]) -> dict[str, Any]:
        """Set what a workspace spends a day (the fields given; the rest kept)."""
        found = self.rates().get(workspace_id, {})
        merged = {
            name: rate.get(name, found.get(name, "0" if name == "cost_per_day" else 0))
            for name in ("cost_per_day", "tokens_per_day", "requests_per_day")
        }
        problem = rate_problem(merged)
        if problem:
            raise ErrorAnswer(400, problem)
        merged["cost_per_day"] = str(merged["cost_per_day"])
        self._db.execute(
            "INSERT OR REPLACE INTO admin_spend_series VALUES (?,?,?,?)",
            (
                workspace_id,
                merged["cost_per_day"],
                merged["tokens_per_day"],
                merged["requests_per_day"],
            ),
        )
        return merged

    def set_rates(self, body: Mapping[str, Any], ids: Mapping[str, str]) -> None:
        """A control request's rates, by the name of an active workspace (``ids``):
        ``{"workspaces": {NAME: {"cost_per_day": ...}}}``; all or none are set."""
        wanted = body.get("workspaces")
        if set(body) != {"workspaces"} or not isinstance(wanted, dict):
            raise ErrorAnswer(400, 'The body is {"workspaces": {NAME: {cost_per_day: ...}}}.')
        for name, rate in wanted.items():
            if name not in ids:
                raise ErrorAnswer(400, f"No active workspace named {name!r}.")
            if not isinstance(rate, dict):
                raise ErrorAnswer(400, f"{name}: a rate is a mapping.")
            self.set_rate(ids[name], rate)

    def rates(self) -> dict[str, dict[str, Any]]:
        rows = self._db.execute("SELECT * FROM admin_spend_series ORDER BY workspace_id")
        return {
            row["workspace_id"]: {
                "cost_per_day": row["cost_per_day"],
                "tokens_per_day": row["tokens_per_day"],
                "requests_per_day": row["requests_per_day"],
            }
            for row in rows
        }

    def cost(self, query: Query) -> list[dict[str, Any]]:
        """The cost report's rows, highest amount first within each bucket (the
        reference's default order), the buckets oldest first."""
        rows: list[dict[str, Any]] = []
        for start, end, shares in self._buckets(query):
            amounts = [
                (workspace, Decimal(rate["cost_per_day"]) * share, rate["requests_per_day"] * share)
                for workspace, rate, share in shares
            ]
            for workspace, amount, requests in sorted(amounts, key=lambda a: -a[1]):
                if amount <= 0:
                    continue
                rows.append(
                    {
                        "starting_at": _stamp(start),
                        "ending_at": _stamp(end),
                        "group": _group(workspace),
                        "cost": {
                            "amount": _cents(amount),
                            "list_amount": _cents(amount),
                            "currency": "USD",
                            "requests": round(requests),
                        },
                    }
                )
        return rows

    def usage(self, query: Query) -> list[dict[str, Any]]:
        """The usage report's rows: tokens (all of them uncached input, in the sandbox)
        and requests, most tokens first within each bucket."""
        rows: list[dict[str, Any]] = []
        for start, end, shares in self._buckets(query):
            found = [
                (
                    workspace,
                    round(rate["tokens_per_day"] * share),
                    round(rate["requests_per_day"] * share),
                )
                for workspace, rate, share in shares
            ]
            for workspace, tokens, requests in sorted(found, key=lambda f: (-f[1], -f[2])):
                if tokens <= 0 and requests <= 0:
                    continue
                rows.append(
                    {
                        "starting_at": _stamp(start),
                        "ending_at": _stamp(end),
                        "group": _group(workspace),
                        "usage": {
                            "uncached_input_tokens": tokens,
                            "cache_read_input_tokens": 0,
                            "cache_creation": {
                                "ephemeral_1h_input_tokens": 0,
                                "ephemeral_5m_input_tokens": 0,
                            },
                            "output_tokens": 0,
                            "total_tokens": tokens,
                            "requests": requests,
                            "server_tool_use": {"web_search_requests": 0},
                        },
                    }
                )
        return rows

    def _buckets(
        self, query: Query
    ) -> list[tuple[datetime, datetime, list[tuple[str | None, dict[str, Any], Decimal]]]]:
        """Each bucket of the query (the whole range without a width) with, for each
        workspace reported apart (one ``None`` for all of them otherwise), its rate
        and the share of a day of spending the bucket holds up to ``refreshed``."""
        rates = {
            w: r
            for w, r in self.rates().items()
            if not query.workspace_ids or w in query.workspace_ids
        }
        step = query.width or (query.ending_at - query.starting_at)
        buckets = []
        start = query.starting_at
        while start < query.ending_at:
            end = min(start + step, query.ending_at)
            passed = max(timedelta(0), min(end, query.refreshed) - start)
            share = Decimal(passed // timedelta(seconds=1)) / Decimal(DAY // timedelta(seconds=1))
            shares: list[tuple[str | None, dict[str, Any], Decimal]]
            if query.by_workspace:
                shares = [(w, r, share) for w, r in rates.items()]
            else:
                shares = [(None, _summed(rates.values()), share)] if rates else []
            buckets.append((start, end, shares))
            start = end
        return buckets


def _summed(rates: Iterable[dict[str, Any]]) -> dict[str, Any]:
    found = list(rates)
    return {
        "cost_per_day": str(sum((Decimal(r["cost_per_day"]) for r in found), Decimal(0))),
        "tokens_per_day": sum(r["tokens_per_day"] for r in found),
        "requests_per_day": sum(r["requests_per_day"] for r in found),
    }


def _group(workspace: str | None) -> dict[str, Any]:
    """A row's dimensions: only ``workspace_id`` is broken out; the rest read null."""
    return {"workspace_id": workspace}


def _cents(amount: Decimal) -> str:
    """Fractional cents as the reference writes them: a decimal string."""
    text = f"{amount.quantize(Decimal('0.000001')):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
