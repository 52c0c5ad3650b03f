"""The Company provider's ``Session``: plan and apply's view of ``CompanyClient``."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.core.model import (
    DesiredState,
    LiveResource,
    LiveState,
    RateLimitWaits,
    ResourceChange,
)
from reconciler.net.connection import Connection, check_listening
from reconciler.net.pacing import Pacer
from reconciler.providers.base import Advice
from reconciler.providers.company.client import CompanyClient
from reconciler.providers.company.kinds import company as company_kind
from reconciler.providers.company.kinds import project as project_kind


class CompanySession:
    def __init__(self, connection: Connection, *, conditional: bool = False) -> None:
        self._connection = connection
        self.client = CompanyClient(
            connection.base_url,
            connection.api_key,
            key_source=connection.key_source,
            insecure=connection.insecure,
            concurrency=connection.concurrency,
            retry=connection.retry,
            transport=connection.transport,
            where=connection.where,
            progress=connection.progress,
            pacer=Pacer(
                concurrency=connection.concurrency,
                progress=connection.progress,
                bucket=connection.bucket,
            ),
            conditional=conditional,
        )

    @property
    def waits(self) -> RateLimitWaits:
        return self.client.pacer.waits

    async def __aenter__(self) -> CompanySession:
        await check_listening(self._connection)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.client.__aexit__(*exc_info)

    async def read_live(self, desired: DesiredState | None = None) -> LiveState:
        return await self.client.read_live()  # one organization: always read whole

    async def ready(self, changes: Sequence[ResourceChange]) -> None:
        """Nothing the Company API answers once: every plan it can make is ready."""

    async def advise(self, changes: Sequence[ResourceChange]) -> Advice:
        """Nothing to add: the Company API's plan says all it knows from live state."""
        return Advice()

    async def write(self, change: ResourceChange) -> str | None:
        """A PATCH of only the changed fields, with the plan's ETag as If-Match."""
        written = await self.client.patch(change.address, change.after, change.etag)
        return written.etag

    async def current(self, address: str) -> LiveResource | None:
        return await self.client.get(address)

    async def read_back(self, addresses: Sequence[str]) -> Mapping[str, Mapping[str, Any] | None]:
        """The company with one GET, every project with one list walk (ceil(N/1000)
        requests), however many resources were written."""
        found: dict[str, Mapping[str, Any] | None] = {}
        if "company" in addresses:
            found["company"] = (await self.client.get("company")).fields
        if any(a != "company" for a in addresses):
            found.update({f"project.{p['id']}": p for p in await self.client.projects()})
        return found

    async def export(self) -> dict[str, Any]:
        """Every writable field of the company and of each project, pinned to the company."""
        company, projects = await asyncio.gather(self.client.get("company"), self.client.projects())
        return {
            "version": 1,
            "organization": {"id": company.fields["id"]},
            "company": {name: company.fields[name] for name in company_kind.SPEC.fields},
            "projects": {
                p["id"]: {name: p[name] for name in project_kind.SPEC.fields} for p in projects
            },
        }

    async def usage(self) -> dict[str, Any]:
        found = await self.client.usage()
        company = await self.client.get("company")
        return {**found, "usage_limit": company.fields["usage_limit"]}
