"""Execute a ``Plan`` through the client and report each resource's outcome.

A fixed pool of workers takes resources from a queue, so at most
``concurrency`` PATCHes are in flight and an interrupt stops new ones from
starting while those in flight finish. A 412 is never retried: the resource
is read again, and unless it already holds the planned values (our own write
whose answer was lost), it fails as "changed since plan". After the writes the
changed resources are read back and compared with the plan.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from reconciler.errors import ApiError, AuthError, ConflictError
from reconciler.model import (
    ApplyReport,
    LiveResource,
    Outcome,
    Plan,
    ResourceChange,
    ResourceResult,
)


class Writer(Protocol):
    """What apply needs of a client (``CompanyClient`` is one)."""

    async def patch(
        self, address: str, fields: dict[str, Any], etag: str | None
    ) -> LiveResource: ...

    async def get(self, address: str) -> LiveResource: ...

    async def projects(self) -> list[dict[str, Any]]: ...


OnResult = Callable[[ResourceResult], None]


async def apply_plan(
    plan: Plan,
    client: Writer,
    *,
    concurrency: int = 8,
    stop: asyncio.Event | None = None,
    on_result: OnResult | None = None,
) -> ApplyReport:
    """Apply every resource change once; never raises for one resource's failure."""
    stop = stop or asyncio.Event()
    queue: asyncio.Queue[ResourceChange] = asyncio.Queue()
    for resource in plan.resources:
        queue.put_nowait(resource)
    results: dict[str, ResourceResult] = {}
    abort: list[str] = []

    def record(result: ResourceResult) -> None:
        results[result.address] = result
        if on_result:
            on_result(result)

    async def worker() -> None:
        while not queue.empty():
            resource = queue.get_nowait()
            if stop.is_set() or abort:
                why = abort[0] if abort else "interrupted before it started"
                record(_result(resource, Outcome.SKIPPED, f"not attempted: {why}"))
                continue
            result, refused = await _apply_one(resource, client)
            if refused and result.reason:
                abort.append(result.reason)  # a 401/403 will refuse every other write too
            record(result)

    await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))
    ordered = tuple(results[r.address] for r in plan.resources)
    verified, notes = await _read_back(ordered, client)
    return ApplyReport(results=verified, warnings=tuple(plan.warnings) + tuple(notes))


def _result(
    resource: ResourceChange, outcome: Outcome, reason: str | None = None, etag: str | None = None
) -> ResourceResult:
    return ResourceResult(resource.address, outcome, resource.changes, reason, etag)


async def _apply_one(resource: ResourceChange, client: Writer) -> tuple[ResourceResult, bool]:
    """The resource's result, and whether the key itself was refused."""
    try:
        written = await client.patch(resource.address, resource.after, resource.etag)
        return _result(resource, Outcome.APPLIED, etag=written.etag), False
    except ConflictError as conflict:
        return await _after_conflict(resource, client, conflict), False
    except AuthError as exc:
        return _result(resource, Outcome.FAILED, exc.message), True
    except ApiError as exc:
        return _result(resource, Outcome.FAILED, exc.message), False


async def _after_conflict(
    resource: ResourceChange, client: Writer, conflict: ConflictError
) -> ResourceResult:
    """412: applied if the resource already holds our values (a retried write whose
    first answer was lost), otherwise someone else changed it: never overwrite."""
    try:
        current = await client.get(resource.address)
    except ApiError:
        return _result(resource, Outcome.FAILED, conflict.message)
    if _holds(current.fields, resource.after):
        return _result(resource, Outcome.APPLIED, etag=current.etag)
    return _result(resource, Outcome.FAILED, conflict.message)


def _holds(fields: Any, wanted: dict[str, Any]) -> bool:
    return all(
        name in fields and fields[name] == value and type(fields[name]) is type(value)
        for name, value in wanted.items()
    )


async def _read_back(
    results: tuple[ResourceResult, ...], client: Writer
) -> tuple[tuple[ResourceResult, ...], list[str]]:
    """Read the applied resources again (one list walk for projects) and compare."""
    applied = [r for r in results if r.outcome is Outcome.APPLIED]
    if not applied:
        return results, []
    try:
        live: dict[str, Any] = {}
        if any(r.address == "company" for r in applied):
            live["company"] = (await client.get("company")).fields
        if any(r.address != "company" for r in applied):
            live.update({f"project.{p['id']}": p for p in await client.projects()})
    except ApiError as exc:
        return results, [f"could not read the changes back to verify them: {exc.message}"]
    checked = []
    for result in results:
        if result.outcome is Outcome.APPLIED:
            wanted = {name: change.after for name, change in result.changes.items()}
            found = live.get(result.address)
            if found is None or not _holds(found, wanted):
                shown = {n: (found or {}).get(n) for n in wanted}
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
