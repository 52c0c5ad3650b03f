"""Run the sandbox app on uvicorn (``reconciler.net.serving``) over its database and seed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reconciler.net.serving import PortInUse, bind, run
from reconciler.sandbox.app import create_app
from reconciler.sandbox.conditions import Conditions, Settings
from reconciler.sandbox.middleware import LOOPBACK_HOSTS
from reconciler.sandbox.seed import seed_store
from reconciler.sandbox.store import Store

__all__ = ["PortInUse", "serve"]


class _QuietDrops(logging.Filter):
    """Injected dropped connections are on purpose; don't log them as app errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "returned without completing response" not in record.getMessage()


def serve(
    *,
    db: Path,
    seed_file: Path | None,
    host: str,
    port: int,
    settings: Settings,
    generate_projects: int = 0,
    announce: Callable[[str], None] = print,
    log_requests: bool = False,
) -> None:
    """Serve until SIGINT or SIGTERM; uvicorn handles both as a clean shutdown."""
    sock = bind(host, port)
    store = Store(db)
    try:
        keys = seed_store(store, seed_file=seed_file, generate_projects=generate_projects)
        printer = _request_printer(announce) if log_requests else None
        # Loopback names, and the address the operator chose to listen on (--host).
        named = {host.strip("[]").lower()} - {"0.0.0.0", "::", ""}
        app = create_app(
            store, Conditions(settings), on_request=printer, hosts=LOOPBACK_HOSTS | named
        )
        after = [*_keys_text(keys, db), *_federation_text(store)]
        run(app, sock, announce=announce, after=after, log_filter=_QuietDrops())
    finally:
        store.close()
        sock.close()


def _keys_text(keys: list[tuple[str, list[str]]] | None, db: Path) -> list[str]:
    """What to say after ``Listening on``: the keys the seed gave, to copy."""
    if keys is None:
        return [f"Kept the database {db}: its keys are those of the seed it was made from."]
    shown = [f"  {key}  ({', '.join(scopes)})" for key, scopes in keys]
    return ["Keys (from the seed; sandbox keys only, never real ones):", *shown]


def _federation_text(store: Store) -> list[str]:
    """How to sign in without a key: the variables of the first rule, to copy."""
    found = store.admin.federation.first_rule()
    if found is None:
        return []
    rule_id, account_id = found
    return [
        "Keyless (workload identity federation; an identity token from POST /_sandbox/oidc/token):",
        f"  ANTHROPIC_FEDERATION_RULE_ID={rule_id}",
        f"  ANTHROPIC_ORGANIZATION_ID={store.admin.organization()['id']}",
        f"  ANTHROPIC_SERVICE_ACCOUNT_ID={account_id}",
    ]


def _request_printer(announce: Callable[[str], None]) -> Callable[[dict[str, Any]], None]:
    def show(entry: dict[str, Any]) -> None:
        fault = f" [{entry['fault']}]" if entry.get("fault") else ""
        # A client chose the path: shown with anything unprintable escaped.
        path = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in entry["path"])
        announce(f"{entry['method']} {path} -> {entry['status']}{fault}")

    return show
