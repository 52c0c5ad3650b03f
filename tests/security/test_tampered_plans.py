"""A saved plan is a claim: random mutations of real saved plans (addresses, actions,
values, ETags, guards, api, targets, format fields) never send a request to a host
the operator did not name, and never write what the file does not ask for.

Each example plans a file against the sandbox app in-process, saves the plan,
mutates the JSON, then takes the path ``reconciler apply PLAN --expect-file FILE``
takes (``planfile`` and ``operations``), through a transport that records every
request it is asked to send."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.core.errors import ReconcilerError
from reconciler.desired import document
from reconciler.engine import flows, planfile
from reconciler.net.connection import Connection, RetryPolicy
from reconciler.sandbox.app import create_app
from reconciler.sandbox.conditions import Conditions, Settings
from reconciler.sandbox.seed import seed_store
from reconciler.sandbox.store import Store
from tests.support import figures

OPERATOR = "http://127.0.0.1:9"  # the host the operator named (--base-url)
KEY = "sk-sandbox-admin"
ORG = """version: 1
company:
  billing_email: finance@example.com
  usage_limit: 2000000
projects:
  proj_1: {usage_limit: 250000}
  proj_2: {name: Research}
"""
MUTATIONS = "tampered saved plans tried"
REFUSED = "tampered saved plans that wrote nothing"
FOREIGN = "tampered saved plans: requests to a host the operator did not name"
UNASKED = "tampered saved plans: writes the file did not ask for"


class Recorder(httpx.AsyncBaseTransport):
    """Every request the client sends, then the sandbox app's answer."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.sent: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        await request.aread()
        return await self.inner.handle_async_request(request)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tamper")
    (folder / "org.yaml").write_text(ORG)
    return folder


@pytest.fixture(scope="module")
def honest(work: Path) -> Iterator[dict[str, Any]]:
    """The saved plan of ``org.yaml`` against the shipped seed, as JSON."""
    store, recorder = _sandbox(work / "honest.db")
    desired = document.load(work / "org.yaml")
    plan = asyncio.run(flows.plan_file(desired, _connection(recorder)))
    assert plan.to_change == 3
    yield planfile.saved_plan_data(plan)
    store.close()


def _sandbox(db: Path) -> tuple[Store, Recorder]:
    db.unlink(missing_ok=True)
    store = Store(db)
    seed_store(store, seed_file=None)
    app = create_app(store, Conditions(Settings()))
    return store, Recorder(httpx.ASGITransport(app=app))


def _connection(recorder: Recorder) -> Connection:
    return Connection(
        OPERATOR,
        KEY,
        "CLAUDE_API_KEY",
        retry=RetryPolicy(attempts=1, backoff=0.001, max_wait=0.01),
        transport=recorder,
    )


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**7) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
ADDRESSES = st.sampled_from(["company", "project.proj_1", "project.proj_2", "project.proj_3", "x"])
FIELDS = st.sampled_from(["name", "billing_email", "usage_limit", "plan", "description", "id"])


@st.composite
def mutation(draw: st.DrawFn) -> tuple[str, Any]:
    """One edit an attacker might make to a saved plan."""
    kind = draw(
        st.sampled_from(
            [
                "after",
                "before",
                "address",
                "action",
                "etag",
                "add",
                "drop",
                "guards",
                "api",
                "targets",
                "format",
                "provider",
                "kind",
                "source",
                "anywhere",
            ]
        )
    )
    if kind == "api":
        host = draw(st.sampled_from(["https://attacker.example", "http://10.0.0.1", OPERATOR]))
        return kind, {"base_url": host, "key_variable": draw(st.sampled_from(["AWS_SECRET", "X"]))}
    if kind in ("after", "before"):
        return kind, (draw(FIELDS), draw(JSON))
    if kind == "address":
        return kind, draw(ADDRESSES)
    if kind == "action":
        return kind, draw(st.sampled_from(["create", "update", "replace", "delete", "archive"]))
    if kind == "add":
        return kind, (draw(ADDRESSES), draw(FIELDS), draw(JSON))
    if kind == "targets":
        return kind, draw(st.lists(ADDRESSES, max_size=2))
    if kind == "format":
        return kind, draw(st.sampled_from([1, 2, 3, "2", None]))
    if kind == "provider":
        return kind, draw(st.sampled_from(["anthropic-admin", "company", "other"]))
    return kind, draw(JSON)


def mutate(data: dict[str, Any], edits: list[tuple[str, Any]], index: int) -> dict[str, Any]:
    plan = copy.deepcopy(data)
    resources = plan["resources"]
    for kind, value in edits:
        target = resources[index % len(resources)] if resources else None
        if kind in ("after", "before") and target is not None:
            name, new = value
            target["changes"].setdefault(name, {"before": None, "after": None})[kind] = new
        elif kind == "address" and target is not None:
            target["address"] = value
        elif kind == "action" and target is not None:
            target["action"] = value
        elif kind == "etag" and target is not None:
            target["etag"] = value
        elif kind == "add":
            address, name, new = value
            resources.append(
                {
                    "address": address,
                    "action": "update",
                    "etag": None,
                    "changes": {name: {"before": None, "after": new}},
                }
            )
        elif kind == "drop" and resources:
            resources.pop(index % len(resources))
        elif kind == "guards":
            plan["guards"] = [] if value is None else [str(value)]
        elif kind == "api":
            plan["api"] = value
        elif kind == "targets":
            plan["targets"] = value
        elif kind == "format":
            plan["format_version"] = value
        elif kind == "provider":
            plan["provider"] = value
        elif kind == "kind":
            plan["kind"] = "undo"
            plan["signature"] = "0" * 64
        elif kind == "source":
            plan["source"] = {"file": "/etc/passwd", "sha256": plan["source"]["sha256"]}
        elif kind == "anywhere":
            plan[str(value)[:8] or "x"] = value
    return plan


def apply_saved(path: Path, org: Path, recorder: Recorder) -> None:
    """``reconciler apply PLAN --expect-file ORG --auto-approve``, minus the terminal."""
    loaded = planfile.load_saved(path)
    connection = _connection(recorder)

    async def run() -> None:
        if loaded.is_undo:
            plan = await flows.verified_undo(loaded, connection)
        else:
            desired = document.load(planfile.source_of(loaded, org))
            plan = await flows.verified_saved(loaded.plan, desired, connection)
        flows.check_safe(plan, max_changes=None, force=False)
        await flows.apply(plan, connection)

    asyncio.run(run())


def wanted_by_file(org: Path) -> dict[str, dict[str, Any]]:
    return {a: dict(f) for a, f in document.load(org).resources.items()}


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(mutation(), min_size=1, max_size=3), index=st.integers(0, 5))
def test_a_tampered_plan_never_reaches_another_host_nor_writes_what_the_file_does_not_ask(
    work: Path, honest: dict[str, Any], edits: list[tuple[str, Any]], index: int
) -> None:
    tampered = mutate(honest, edits, index)
    path = work / "tampered.json"
    path.write_text(json.dumps(tampered))
    store, recorder = _sandbox(work / "case.db")
    figures.add(MUTATIONS)
    figures.add(FOREIGN, 0)
    figures.add(UNASKED, 0)
    try:
        apply_saved(path, work / "org.yaml", recorder)
    except ReconcilerError:
        pass
    finally:
        store.close()
    wanted = wanted_by_file(work / "org.yaml")
    writes = [r for r in recorder.sent if r.method != "GET"]
    if not writes and tampered != honest:
        figures.add(REFUSED)
    for request in recorder.sent:
        if request.url.host != "127.0.0.1" or request.url.port != 9:
            figures.add(FOREIGN)
        assert (request.url.host, request.url.port) == ("127.0.0.1", 9)
    for request in writes:
        assert request.method == "PATCH"
        part = request.url.path.rsplit("/", 2)
        address = "company" if request.url.path.endswith("/company") else f"project.{part[-1]}"
        body = json.loads(request.content)
        asked = {k: wanted.get(address, {}).get(k, object()) for k in body}
        if address not in wanted or asked != body:
            figures.add(UNASKED)
        assert address in wanted, f"wrote {address}, which the file does not manage"
        assert asked == body, f"wrote {body} to {address}; the file asks for {wanted[address]}"
