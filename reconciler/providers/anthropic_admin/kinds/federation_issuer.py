"""A federation issuer (``federation.issuers:``, keyed by name): an identity provider
whose signed tokens the organization trusts, so its URL is a trust root. Archived,
never deleted; an issuer behind a rule granting more than workspace scopes is changed
only in a Console session, so reconciler watches it. A rename is by ``id:``."""

from __future__ import annotations

from typing import Any

from reconciler.core.model import Action, ResourceChange
from reconciler.core.secret_sink import OperatorSecrets
from reconciler.providers.anthropic_admin import addresses
from reconciler.providers.anthropic_admin.kinds.kind import (
    CONSOLE,
    WORKLOAD_SCOPES,
    AdminKind,
    Calls,
    Names,
    Watch,
    removed,
    require_live,
)
from reconciler.providers.kinds.spec import Exposure, Kind, Privilege, Removal, TrustRoot, longer

NAME = "federation_issuer"
RULE = "federation_rule"  # the kind that trusts one


SPEC = Kind(
    name=NAME,
    noun="federation issuer",
    section=("federation", "issuers"),
    fields=("issuer_url", "max_jwt_lifetime_seconds", "check_jti"),
    removal=Removal.ARCHIVE,
    prunable=True,
    security=(
        TrustRoot("issuer_url"),
        Privilege("max_jwt_lifetime_seconds", "the lifetime of the tokens it accepts", longer),
        Exposure("check_jti", False, "a replayed token is accepted (check_jti is off)"),
    ),
)


async def read(calls: Calls) -> list[Any]:
    issuers = await calls.listed("list federation issuers", calls.org.federation.issuers.list)
    return list(issuers)


def live(issuer: Any, _: Names) -> tuple[str, dict[str, Any]] | None:
    if issuer.archived_at is not None:
        return None
    return issuer.name, {
        "name": issuer.name,  # what a rename (an entry pinned by id) reads back
        "issuer_url": issuer.issuer_url,
        "max_jwt_lifetime_seconds": issuer.max_jwt_lifetime_seconds,
        "check_jti": issuer.check_jti,
    }


def watched(seen: Watch) -> str | None:
    if seen.now is not None and any(
        addresses.parse(address)[0] == RULE
        and str(rule.fields.get("issuer")) == seen.name
        and not set(str(rule.fields.get("oauth_scope")).split()) <= WORKLOAD_SCOPES
        for address, rule in seen.live.items()
    ):
        return f"it backs a rule granting more than workspace scopes, and {CONSOLE}"
    return None


async def write(calls: Calls, change: ResourceChange, _: OperatorSecrets) -> None:
    org = calls.org
    if change.action.removes:
        await removed(calls, change, org.federation.issuers.archive)
        return
    name = addresses.parse(change.address)[1][0]
    after = {n: c.after for n, c in change.changes.items()}
    if change.action is Action.CREATE:
        await calls.create_once(
            f"create {change.address}",
            lambda c: c.beta.organization.federation.issuers.create(name=name, **after),
            change.address,
        )
        return
    live_one = await require_live(calls, change)
    await calls.call(
        f"update {change.address}", org.federation.issuers.update(live_one.id, **after)
    )


KIND = AdminKind(
    SPEC, oauth_only=True, read=read, live=live, write=write, watched=watched, quoted="issuer_url"
)
