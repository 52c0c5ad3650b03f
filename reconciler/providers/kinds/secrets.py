"""A kind's operator secret (``spec.Secret``) on its way out: which values a write
must send, and the refusal, before any write, of a host the operator did not bind them
to. A file chooses a resource's host; only the operator's file of values may allow
that host, as only ``--base-url`` allows another host for the key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.core.errors import UnsafePlanError
from reconciler.core.escape import visible
from reconciler.core.model import Action, ResourceChange
from reconciler.core.secret_sink import OperatorSecrets
from reconciler.providers.kinds.security import host
from reconciler.providers.kinds.spec import Kind


def needed(kind: Kind, change: ResourceChange, live: Mapping[str, Any] | None) -> list[str]:
    """The values a write must send: every one the file names on a create, or when the
    host changes (the API then drops them all); on another update, those it adds."""
    secret = kind.secret
    if secret is None or change.action.removes:
        return []
    names = change.changes.get(secret.names_field)
    live_names = [str(n) for n in (live or {}).get(secret.names_field) or []]
    wanted = [str(n) for n in (names.after if names else live_names) or []]
    if change.action is Action.CREATE:
        return sorted(wanted)
    target = change.changes.get(secret.host_field)
    if target is not None and host(target.before) != host(target.after):
        return sorted(wanted)
    return sorted(set(wanted) - set(live_names))


def check(
    kind: Kind,
    name: str,
    change: ResourceChange,
    live: Mapping[str, Any] | None,
    secrets: OperatorSecrets,
) -> None:
    """Refuse, before any write, a change that needs values the operator did not give,
    or would send them to a host the operator did not bind them to."""
    secret = kind.secret
    need = needed(kind, change, live)
    if secret is None or not need:
        return
    store = secrets.values
    flag = store.flag if store else secret.flag
    bound = store.of(name) if store else None
    missing = [n for n in need if bound is None or n not in bound.values]
    if missing:
        raise UnsafePlanError(
            f"{change.address} needs the value of {', '.join(visible(m) for m in missing)} "
            f"({secret.what} are write-only, so the file names them only): give them in "
            f"{flag}; nothing was written."
        )
    assert bound is not None
    target = change.changes.get(secret.host_field)
    to = host(target.after if target else (live or {}).get(secret.host_field)).lower()
    at = host((live or {}).get(secret.host_field)).lower() if live else None
    if bound.host is None and to != at:
        raise UnsafePlanError(
            f"{change.address} would send the operator's {secret.what} to {visible(to)}, "
            f"and {flag} binds them to no host: to allow {visible(to)}, give its entry as "
            f'{{"host": "{visible(to)}", "values": {{...}}}}; nothing was written.'
        )
    if bound.host is not None and bound.host != to:
        raise UnsafePlanError(
            f"{change.address} would send the operator's {secret.what} to {visible(to)}, but "
            f"{flag} binds them to {visible(bound.host)}: the desired-state file moved it; to "
            f'allow {visible(to)}, give "host": "{visible(to)}" in its entry; nothing was '
            "written."
        )


def values_for(
    kind: Kind,
    name: str,
    change: ResourceChange,
    live: Mapping[str, Any] | None,
    secrets: OperatorSecrets,
) -> dict[str, str]:
    """The values a write sends, checked again (``check``) at the moment it sends them."""
    need = needed(kind, change, live)
    if not need:
        return {}
    check(kind, name, change, live, secrets)
    assert secrets.values is not None
    given = secrets.values.of(name).values
    return {n: given[n] for n in need}
