"""The steps between the command line and the pipeline: read live state, plan,
check that a plan is safe and fresh, apply it. Each command is a few lines
that call one of these."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from typing import Any

import httpx

from reconciler import plan as planning
from reconciler.apply import OnResult, apply_plan
from reconciler.client import DEFAULT_BASE_URL, CompanyClient, RetryPolicy
from reconciler.errors import CredentialsError, UnsafePlanError
from reconciler.model import ApplyReport, DesiredState, Plan

KEY_VARIABLES = ("CLAUDE_API_KEY", "ANTHROPIC_ADMIN_KEY")
BASE_URL_VARIABLE = "RECONCILER_BASE_URL"


@dataclass(frozen=True)
class Connection:
    """Where the API is and how to talk to it. The key is kept out of ``repr``."""

    base_url: str
    api_key: str = field(repr=False)
    key_source: str
    insecure: bool = False
    concurrency: int = 8
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    transport: httpx.AsyncBaseTransport | None = field(default=None, repr=False)

    def client(self) -> CompanyClient:
        return CompanyClient(
            self.base_url,
            self.api_key,
            key_source=self.key_source,
            insecure=self.insecure,
            concurrency=self.concurrency,
            retry=self.retry,
            transport=self.transport,
        )


def base_url_for(flag: str | None, from_file: str | None) -> str:
    """``--base-url``, else ``RECONCILER_BASE_URL``, else the file's ``api.base_url``."""
    return flag or os.environ.get(BASE_URL_VARIABLE) or from_file or DEFAULT_BASE_URL


def key_for(api_key_env: str | None, *, scope: str) -> tuple[str, str]:
    """The key and the name of the variable it came from; never a literal."""
    names = (api_key_env,) if api_key_env else KEY_VARIABLES
    for name in names:
        key = os.environ.get(name, "").strip()
        if key:
            return key, name
    wanted = " (or ".join(names) + (")" if len(names) > 1 else "")
    raise CredentialsError(f"No API key: set {wanted} to a key with the scope {scope}.")


async def plan_file(
    desired: DesiredState, connection: Connection, targets: tuple[str, ...] = ()
) -> Plan:
    planning.select(desired.resources, targets, source=desired.source)  # fail before reading
    async with connection.client() as client:
        live = await client.read_live()
    return planning.make_plan(desired, live, targets=targets)


async def refresh_saved(plan: Plan, connection: Connection, targets: tuple[str, ...] = ()) -> Plan:
    """The saved plan, narrowed to ``targets``, after checking no planned value moved."""
    chosen = set(
        planning.select({r.address: r for r in plan.resources}, targets, source="the saved plan")
    )
    narrowed = Plan(
        resources=tuple(r for r in plan.resources if r.address in chosen),
        warnings=plan.warnings,
        unmanaged=plan.unmanaged,
        targets=targets or plan.targets,
        source=plan.source,
    )
    if narrowed.is_empty:
        return narrowed
    async with connection.client() as client:
        live = await client.read_live()
    planning.check_not_stale(narrowed, live)
    return narrowed


def check_safe(plan: Plan, *, max_changes: int | None) -> None:
    if max_changes is not None and plan.to_change > max_changes:
        raise UnsafePlanError(
            f"The plan changes {plan.to_change} resources, more than --max-changes "
            f"{max_changes} allows; nothing was written. Review it, then raise the limit or "
            "narrow it with --target."
        )


async def apply(
    plan: Plan,
    connection: Connection,
    *,
    stop: asyncio.Event | None = None,
    on_result: OnResult | None = None,
) -> ApplyReport:
    async with connection.client() as client:
        return await apply_plan(
            plan, client, concurrency=connection.concurrency, stop=stop, on_result=on_result
        )


async def export(connection: Connection) -> dict[str, Any]:
    """The live organization as desired-state data: every writable field."""
    async with connection.client() as client:
        company, projects = await asyncio.gather(client.get("company"), client.projects())
    writable_company = ("name", "billing_email", "plan", "usage_limit")
    writable_project = ("name", "description", "billing_email", "usage_limit")
    return {
        "version": 1,
        "company": {name: company.fields[name] for name in writable_company},
        "projects": {p["id"]: {name: p[name] for name in writable_project} for p in projects},
    }


async def usage(connection: Connection) -> dict[str, Any]:
    async with connection.client() as client:
        found = await client.usage()
        company = await client.get("company")
    return {**found, "usage_limit": company.fields["usage_limit"]}
