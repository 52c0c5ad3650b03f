"""Usage samples: one successful poll of the usage endpoint each, kept in SQLite by
the dashboard (so a restart keeps the month) or read back from ``usage --watch
--log`` for the Markdown summary.

A sample holds numbers and times only, never the key. A log or a database may come
from another run (a CI artifact), so each is read strictly: a line or row that is
not a sample is skipped and counted, never shown.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler.core.errors import OutputPathError, ReconcilerError


@dataclass(frozen=True)
class Sample:
    """The usage endpoint's answer at one moment, with the company's usage limit."""

    time: datetime
    tokens_used: int
    tokens_remaining: int | None
    api_calls: int
    usage_limit: int | None
    period_start: datetime
    period_end: datetime

    @classmethod
    def from_json(cls, found: Mapping[str, Any]) -> Sample:
        """A sample from a poll's JSON (the ``--log`` line's fields); ValueError when
        any field is missing or not what the usage endpoint answers."""
        try:
            return cls(
                time=_moment(found["time"]),
                tokens_used=_count(found["tokens_used"]),
                tokens_remaining=_count_or_none(found.get("tokens_remaining")),
                api_calls=_count(found["api_calls"]),
                usage_limit=_count_or_none(found.get("usage_limit")),
                period_start=_moment(found["period_start"]),
                period_end=_moment(found["period_end"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a usage sample ({exc})") from exc

    def as_json(self) -> dict[str, Any]:
        return {
            "time": utc_text(self.time),
            "tokens_used": self.tokens_used,
            "tokens_remaining": self.tokens_remaining,
            "api_calls": self.api_calls,
            "usage_limit": self.usage_limit,
            "period_start": utc_text(self.period_start),
            "period_end": utc_text(self.period_end),
        }


def in_period(samples: Iterable[Sample], latest: Sample) -> list[Sample]:
    """The samples of ``latest``'s usage period, oldest first: a chart of the month."""
    return sorted(
        (s for s in samples if s.period_start == latest.period_start and s.time <= latest.time),
        key=lambda s: s.time,
    )


def read_log(path: Path) -> tuple[list[Sample], int]:
    """The samples in a ``usage --watch --log`` file, and how many lines were not
    samples (a failed poll's line is not counted: it is a poll, not a sample)."""
    samples: list[Sample] = []
    skipped = 0
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ReconcilerError(
            f"cannot read the log {path} ({exc.strerror or exc}); give --log the file that "
            "usage --watch --log writes."
        ) from exc
    for line in text.splitlines():
        try:
            found = json.loads(line)
            if isinstance(found, dict) and "error" in found:
                continue
            if not isinstance(found, dict):
                raise ValueError("not an object")
            samples.append(Sample.from_json(found))
        except ValueError:
            skipped += 1
    return samples, skipped


_SCHEMA = """
CREATE TABLE IF NOT EXISTS samples (
    time TEXT PRIMARY KEY, tokens_used INTEGER NOT NULL, tokens_remaining INTEGER,
    api_calls INTEGER NOT NULL, usage_limit INTEGER, period_start TEXT NOT NULL,
    period_end TEXT NOT NULL
);
"""
_COLUMNS = (
    "time",
    "tokens_used",
    "tokens_remaining",
    "api_calls",
    "usage_limit",
    "period_start",
    "period_end",
)


class SampleStore:
    """The dashboard's samples in one SQLite file, used by one event loop at a time
    (a test client runs it in another thread: hence ``check_same_thread=False``)."""

    def __init__(self, path: Path) -> None:
        try:
            self._db = sqlite3.connect(
                str(path), isolation_level=None, timeout=30, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise OutputPathError(
                f"cannot keep samples in {path} ({exc}); choose another --db."
            ) from exc

    def close(self) -> None:
        self._db.close()

    def add(self, sample: Sample) -> None:
        row = sample.as_json()
        self._db.execute(
            f"INSERT OR REPLACE INTO samples VALUES ({','.join('?' * len(_COLUMNS))})",
            [row[c] for c in _COLUMNS],
        )

    def all(self) -> list[Sample]:
        """Every readable sample, oldest first."""
        with closing(self._db.execute(f"SELECT {','.join(_COLUMNS)} FROM samples")) as rows:
            return sorted(_readable(dict(zip(_COLUMNS, r, strict=True)) for r in rows), key=_time)


def _readable(rows: Iterable[Mapping[str, Any]]) -> Iterator[Sample]:
    for row in rows:
        try:
            yield Sample.from_json(row)
        except ValueError:
            continue


def _time(sample: Sample) -> datetime:
    return sample.time


def _moment(value: Any) -> datetime:
    if not isinstance(value, str):
        raise TypeError(f"{value!r} is not a time")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone")
    return moment.astimezone(UTC)


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TypeError(f"{value!r} is not a count")
    return value


def _count_or_none(value: Any) -> int | None:
    return None if value is None else _count(value)


def utc_text(moment: datetime) -> str:
    """``2026-11-26T21:30:00Z``: how samples, the log and ``/samples.json`` write a time."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
