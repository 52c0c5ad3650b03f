"""Figures the reliability tests measure, printed at the end of the run.

Each test adds what it observed (cases run, faults injected, updates lost, bad
files rejected, bytes of key leaked...); ``conftest.pytest_terminal_summary``
prints them, so every CI log carries the evidence."""

from __future__ import annotations

from collections import Counter

FIGURES: Counter[str] = Counter()
MAXIMA: dict[str, float] = {}


def add(name: str, amount: int = 1) -> None:
    FIGURES[name] += amount


def at_most(name: str, value: float) -> None:
    MAXIMA[name] = max(MAXIMA.get(name, value), value)


def merge(found: dict[str, dict[str, float]]) -> None:
    """A worker's figures (``pytest -n``) into this process's: sums add, maxima max."""
    for name, amount in found["sums"].items():
        FIGURES[name] += int(amount)
    for name, value in found["maxima"].items():
        at_most(name, value)
