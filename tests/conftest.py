"""Shared fixtures: the sandbox in-process (Starlette TestClient, or httpx's
ASGITransport for the async client) and as a real process on a loopback port."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import settings
from starlette.testclient import TestClient

from reconciler.sandbox.app import create_app
from reconciler.sandbox.conditions import Conditions, Settings
from reconciler.sandbox.seed import seed_store
from reconciler.sandbox.store import Store
from tests.support.sandbox import ADMIN_KEY, SandboxProcess, start_sandbox

# Shared machines are noisy: hypothesis must judge behaviour, never speed.
settings.register_profile("reconciler", deadline=None)
settings.load_profile("reconciler")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(tmp_path / "sandbox.db")
    seed_store(store, seed_file=None)
    yield store
    store.close()


@pytest.fixture
def conditions() -> Conditions:
    return Conditions(Settings())


@pytest.fixture
def api(store: Store, conditions: Conditions) -> Iterator[TestClient]:
    """The sandbox app in-process, with the admin key; ``raise_server_exceptions`` off
    so a bug shows as the 500 a client would see."""
    app = create_app(store, conditions)
    with TestClient(
        app,
        base_url="http://127.0.0.1",  # the sandbox answers only loopback names
        headers={"x-api-key": ADMIN_KEY},
        raise_server_exceptions=False,
    ) as client:
        yield client


@pytest.fixture
def asgi_transport(store: Store, conditions: Conditions) -> httpx.ASGITransport:
    return httpx.ASGITransport(app=create_app(store, conditions))


@pytest.fixture(scope="module")
def module_sandbox(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[SandboxProcess, dict[str, Any]]]:
    """One sandbox process for a module's tests of ``sandbox``, and its settings as it
    started."""
    running = start_sandbox(tmp_path_factory.mktemp("sandbox") / "sandbox.db")
    settings: dict[str, Any] = running.control("GET", "settings").json()
    yield running, settings
    running.stop()


@pytest.fixture
def sandbox(module_sandbox: tuple[SandboxProcess, dict[str, Any]]) -> SandboxProcess:
    """A sandbox process on a free loopback port as it started with the shipped seed:
    the module's one process, restored before each test (seed, settings, request log)."""
    running, settings = module_sandbox
    running.restore(settings)
    return running


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    """One sandbox process for a whole module: harnesses reset it per case
    (``/_sandbox/reset``) instead of paying a process start each time."""
    running = start_sandbox(tmp_path_factory.mktemp("module-sandbox") / "sandbox.db")
    yield running
    running.stop()


@pytest.fixture
def python() -> str:
    return sys.executable


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A worker of ``pytest -n`` hands its figures to the controller, which prints them."""
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        from tests.support.figures import FIGURES, MAXIMA

        output["reconciler_figures"] = json.dumps({"sums": FIGURES, "maxima": MAXIMA})


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    from tests.support.figures import merge

    found = getattr(node, "workeroutput", {}).get("reconciler_figures")
    if found:
        merge(json.loads(found))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    from tests.support.figures import FIGURES, MAXIMA

    if not FIGURES and not MAXIMA:
        return
    terminalreporter.section("reliability figures")
    for name, value in sorted(FIGURES.items()):
        terminalreporter.write_line(f"{name}: {value}")
    for name, value in sorted(MAXIMA.items()):
        terminalreporter.write_line(f"{name}: {value:.3f}")
