"""Execute a ``Plan`` through a provider's session and report each resource's outcome.

A fixed pool of workers takes resources from a queue, so at most ``concurrency``
writes are in flight and an interrupt stops new ones from starting while those
in flight finish. A resource that ``requires`` another (the members of a
workspace to create) starts only after it applied, and is skipped if it did not.
When a write's outcome is uncertain (412: changed since read; or the answer was
lost) the resource is read again: if it already is what the plan wanted (our
own write whose answer was lost), it counts as applied; otherwise it fails and
is never overwritten. After the writes the changed resources are read back and
compared with the plan.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from reconciler.core.errors import ApiError, AuthError, ConflictError, TransportError
from reconciler.core.model import (
    Action,
    ApplyReport,
    Outcome,
    Plan,
    ResourceChange,
    ResourceResult,
)
from reconciler.providers.base import Session

OnResult = Callable[[ResourceResult], None]


async def apply_plan(
    plan: Plan,
    session: Session,
    *,
    concurrency: int = 8,
    stop: asyncio.Event | None = None,
    on_result: OnResult | None = None,
) -> ApplyReport:
    """Apply every resource change once; never raises for one resource's failure."""
    stop = stop or asyncio.Event()
    await session.ready(plan.resources)
    results: dict[str, ResourceResult] = {}
    abort: list[str] = []

    def record(result: ResourceResult) -> None:
        results[result.address] = result
        if on_result:
            on_result(result)

    async def worker(queue: asyncio.Queue[ResourceChange]) -> None:
        while not queue.empty():
            resource = queue.get_nowait()
            blocked = [
                r
                for r in resource.requires
                if r in results and results[r].outcome is not Outcome.APPLIED
            ]
            if stop.is_set() or abort or blocked:
                why = (
                    "the key was refused on the first write"
                    if abort
                    else "interrupted before it started"
                    if stop.is_set()
                    else f"{blocked[0]} was not applied"
                )
                record(_result(resource, Outcome.SKIPPED, f"not attempted: {why}"))
                continue
            result, refused = await _apply_one(resource, session)
            if refused:
                abort.append(refused)  # a 401/403 will refuse every other write too
            record(result)

    for index, wave in enumerate(_waves(plan.resources)):
        # The first write goes alone: a key that may not write is refused once, and
        # every other write is skipped, instead of all of them failing in flight.
        batches = [wave[:1], wave[1:]] if index == 0 else [wave]
        for batch in batches:
            queue: asyncio.Queue[ResourceChange] = asyncio.Queue()
            for resource in batch:
                queue.put_nowait(resource)
            await asyncio.gather(*(worker(queue) for _ in range(max(1, concurrency))))
    ordered = tuple(results[r.address] for r in plan.resources)
    verified, notes = await _read_back(ordered, plan, session)
    return ApplyReport(
        results=verified,
        warnings=tuple(plan.warnings) + tuple(notes),
        api=plan.api,
        refused=abort[0] if abort else None,
        rate_limit=session.waits,
    )


def _waves(resources: tuple[ResourceChange, ...]) -> list[list[ResourceChange]]:
    """The resources in rounds: each after the round holding what it requires (a
    requirement outside the plan is already satisfied)."""
    by_address = {r.address: r for r in resources}
    planned = set(by_address)
    round_of: dict[str, int] = {}

    def round_for(resource: ResourceChange, seen: frozenset[str] = frozenset()) -> int:
        if resource.address not in round_of:
            needed = [r for r in resource.requires if r in planned and r not in seen]
            round_of[resource.address] = 1 + max(
                (round_for(by_address[r], seen | {resource.address}) for r in needed), default=-1
            )
        return round_of[resource.address]

    waves: list[list[ResourceChange]] = []
    for resource in resources:
        index = round_for(resource)
        while len(waves) <= index:
            waves.append([])
        waves[index].append(resource)
    return waves


def _result(
    resource: ResourceChange, outcome: Outcome, reason: str | None = None, etag: str | None = None
) -> ResourceResult:
    return ResourceResult(resource.address, outcome, resource.changes, reason, etag)


async def _apply_one(
    resource: ResourceChange, session: Session
) -> tuple[ResourceResult, str | None]:
    """The resource's result, and why the key itself was refused (None: it was not)."""
    try:
        etag = await session.write(resource)
        return _result(resource, Outcome.APPLIED, etag=etag), None
    except (ConflictError, TransportError) as uncertain:
        return await _after_uncertain(resource, session, uncertain), None
    except AuthError as exc:
        return _result(resource, Outcome.FAILED, exc.message), exc.message
    except ApiError as exc:
        return _result(resource, Outcome.FAILED, exc.message), None


async def _after_uncertain(
    resource: ResourceChange, session: Session, error: ApiError
) -> ResourceResult:
    """Applied if the resource already is what the plan wanted (a write whose answer
    was lost), otherwise it failed: someone else changed it, or the write never landed."""
    try:
        current = await session.current(resource.address)
    except ApiError:
        return _result(resource, Outcome.FAILED, error.message)
    if _is_done(resource.action, resource.after, current.fields if current else None):
        return _result(resource, Outcome.APPLIED, etag=current.etag if current else None)
    return _result(resource, Outcome.FAILED, error.message)


def _is_done(action: Action, wanted: Mapping[str, Any], found: Mapping[str, Any] | None) -> bool:
    """A removed resource (deleted, or archived: out of the live set either way) is
    absent or says so; any other holds every value the plan wanted."""
    if action.removes and found is None:
        return True
    if action is Action.DELETE:
        return False
    return found is not None and _holds(found, wanted)


def _holds(fields: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    return all(
        name in fields and fields[name] == value and type(fields[name]) is type(value)
        for name, value in wanted.items()
    )


async def _read_back(
    results: tuple[ResourceResult, ...], plan: Plan, session: Session
) -> tuple[tuple[ResourceResult, ...], list[str]]:
    """Read the applied resources again, in as few requests as the API allows, and
    compare with what the plan wanted."""
    applied = [r for r in results if r.outcome is Outcome.APPLIED]
    if not applied:
        return results, []
    try:
        live = await session.read_back([r.address for r in applied])
    except ApiError as exc:
        return results, [f"could not read the changes back to verify them: {exc.message}"]
    actions = {r.address: r.action for r in plan.resources}
    checked = []
    for result in results:
        if result.outcome is Outcome.APPLIED:
            found = live.get(result.address)
            wanted = {name: c.after for name, c in result.changes.items()}
            if not _is_done(actions[result.address], wanted, found):
                shown = {n: (found or {}).get(n) for n in wanted} if found is not None else "absent"
                result = ResourceResult(
                    result.address,
                    Outcome.FAILED,
                    result.changes,
                    f"written, but reading it back shows {shown}: someone else changed it "
                    "since, or the API did not keep the value; run plan again",
                    result.etag,
                )
        checked.append(result)
    return tuple(checked), []
