"""Builders shared by the in-process tests: a plan made as the engine makes it, with
the provider the file names (the engine's ``make_plan`` is told its provider)."""

from __future__ import annotations

from collections.abc import Iterable

from reconciler import planning, providers
from reconciler.model import DesiredState, LiveState, Plan


def plan_of(desired: DesiredState, live: LiveState, *, targets: Iterable[str] = ()) -> Plan:
    return planning.make_plan(desired, live, providers.get(desired.provider), targets=targets)
