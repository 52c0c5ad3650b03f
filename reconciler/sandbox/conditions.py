"""The sandbox's weather: latency, rate limit and injected faults.

They live in one mutable ``Conditions`` object that the command line sets at
start and ``/_sandbox/settings`` changes at runtime, so a test can turn faults
on between a plan and an apply. Faults are drawn from a seeded generator: the
same seed and the same sequence of requests give the same faults.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import asdict, dataclass, field
from typing import Any

FAULT_KINDS = ("500", "529", "429", "drop", "drop-after-write")
DEFAULT_FAULT_KINDS = ("500", "529", "429", "drop")


@dataclass
class Settings:
    """What ``GET /_sandbox/settings`` shows; every field can be changed at runtime."""

    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    fault_rate: float = 0.0
    fault_seed: int | None = None
    fault_kinds: list[str] = field(default_factory=lambda: list(DEFAULT_FAULT_KINDS))
    fault_methods: list[str] = field(default_factory=list)  # empty: every method
    fault_retry_after: int = 1
    # Sent as retry-after-ms (Anthropic's header, which its SDK reads first) with every
    # injected 429, 500 and 529 when above 0: a test's fast retries through the SDK.
    fault_retry_after_ms: int = 0
    conflict_rate: float = 0.0
    rate_limit: float = 0.0
    # Federation: the lifetime of minted access tokens (None: the rule's), and how many
    # requests each is honoured for (None: no such limit), so a test can have a token
    # expire in the middle of an apply without waiting for the clock.
    access_token_seconds: int | None = None
    access_token_requests: int | None = None
    # The Admin API's documented failures on demand (``admin_errors``): each rule answers
    # its next ``times`` requests of ``method`` to ``path`` with its ``error_code``.
    admin_errors: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class TokenBucket:
    """Requests per second with a burst equal to the rate; ``rate == 0`` is off."""

    def __init__(self, rate: float, *, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self.reset(rate)

    def reset(self, rate: float) -> None:
        self.rate = rate
        self.capacity = max(rate, 1.0)
        self._tokens = self.capacity
        self._stamp = self._clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def take(self) -> bool:
        """Spend one token if there is one."""
        if not self.rate:
            return True
        self._refill()
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False

    @property
    def remaining(self) -> int:
        if not self.rate:
            return UNLIMITED
        self._refill()
        return math.floor(self._tokens)

    @property
    def limit(self) -> int:
        return math.ceil(self.rate) if self.rate else UNLIMITED

    def seconds_until(self, tokens: float) -> float:
        """How long until the bucket holds ``tokens`` tokens."""
        if not self.rate:
            return 0.0
        self._refill()
        return max(0.0, (min(tokens, self.capacity) - self._tokens) / self.rate)


# What the rate-limit headers advertise when no limit is set.
UNLIMITED = 1_000_000


class Conditions:
    """Settings plus the state they drive (the bucket, the fault generator)."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.bucket = TokenBucket(self.settings.rate_limit)
        self._reseed()

    def update(self, changes: dict[str, Any]) -> Settings:
        for name, value in changes.items():
            setattr(self.settings, name, value)
        if "rate_limit" in changes:
            self.bucket.reset(self.settings.rate_limit)
        if {"fault_seed", "fault_rate", "fault_kinds", "fault_methods", "conflict_rate"} & (
            changes.keys()
        ):
            self._reseed()
        return self.settings

    def _reseed(self) -> None:
        """One independent stream per kind of draw, all from the one seed: faults, latency
        jitter and conflicts must not move together (a seed alone would give each the
        same sequence). Without a seed, each stream is seeded by the system."""
        seed = self.settings.fault_seed

        def stream(name: str) -> random.Random:
            return random.Random() if seed is None else random.Random(f"{seed}/{name}")

        self._faults, self._jitter, self._conflicts = (
            stream("faults"),
            stream("jitter"),
            stream("conflicts"),
        )

    def latency_seconds(self) -> float:
        s = self.settings
        jitter = self._jitter.uniform(-s.latency_jitter_ms, s.latency_jitter_ms)
        return max(0.0, s.latency_ms + jitter) / 1000

    def draw_fault(self, method: str = "GET") -> str | None:
        """The fault for the next request, or None. Two draws per request, always,
        so that the sequence of faults depends only on the seed and the count;
        ``fault_methods`` (when set) spares requests of other methods."""
        hit = self._faults.random() < self.settings.fault_rate
        kind = self._faults.choice(self.settings.fault_kinds)
        methods = self.settings.fault_methods
        return kind if hit and (not methods or method in methods) else None

    def admin_error(self, method: str, path: str) -> str | None:
        """The ``error_code`` a rule asks this request to be answered with, counting it
        against the rule's ``times`` (a rule used up is gone from the settings)."""
        for rule in self.settings.admin_errors:
            if rule["method"] == method and _matches(rule["path"], path):
                rule["times"] -= 1
                if rule["times"] <= 0:
                    self.settings.admin_errors.remove(rule)
                return str(rule["error_code"])
        return None

    def draw_conflict(self) -> bool:
        """Whether someone else edits the resource just before this PATCH lands, as a
        colleague in the console would: the PATCH's If-Match then no longer matches."""
        return self._conflicts.random() < self.settings.conflict_rate


def _matches(pattern: str, path: str) -> bool:
    """Whether ``path`` is ``pattern``, where ``*`` stands for exactly one segment."""
    wanted, given = pattern.rstrip("/").split("/"), path.rstrip("/").split("/")
    if len(wanted) != len(given):
        return False
    return all(w in ("*", g) for w, g in zip(wanted, given, strict=True))
