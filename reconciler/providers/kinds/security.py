"""A kind's security meaning (``spec``) as the plan says it, in both directions.

``live`` words question the live value (drift: "events go to X live, not to Y as the
file says"); ``edit`` words question the file's (this edit: "this edit sends events
to Y"). Each note carries both where both are true, and the engine picks the one the
change's origin calls for (``--compare-to`` says which fields an edit made; without
it, a create is the file's and anything else is live drift). Every kind gets the
same words for the same meaning, in every section, pruned ones included.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from reconciler.core.escape import visible
from reconciler.core.lookalike import lookalike
from reconciler.core.model import Action, ResourceChange, SecurityNote, name_of
from reconciler.providers.kinds.spec import (
    Destination,
    Exposure,
    Grant,
    Kind,
    Named,
    Privilege,
    TrustRoot,
)


def shown(value: Any) -> str:
    """A value in a sentence: text as itself, anything else as JSON; escaped."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return visible(text)


def host(url: Any) -> str:
    """Where a URL sends what it is given: its host and port."""
    return urlsplit(str(url)).netloc


def looks_unlike(where: str, text: str, what: str | None = None) -> str | None:
    """The warning for a name a reviewer may read as another (``cleo@ex\u0430mple.com``
    with a Cyrillic ``\u0430``), or None when it is what it looks like: ``where`` is
    the address (and ``what`` the name's part of it) or the field's own address."""
    why = lookalike(text)
    if why is None:
        return None
    its = f" its {what}" if what else ""
    return f"{where}:{its} {shown(text)} may not be what it looks like: {why}"


def _host_name(url: Any) -> str:
    """A URL's host as a reader sees it: an IDNA label (``xn--…``) decoded."""
    name = urlsplit(str(url)).hostname or ""
    try:
        return name.encode("ascii").decode("idna")
    except UnicodeError:
        return name


def notes(
    kind: Kind,
    change: ResourceChange,
    now: Mapping[str, Any] | None,
    wanted: Mapping[str, Any],
) -> list[SecurityNote]:
    """What ``change`` means for security, by the kind's declaration: ``now`` is the
    resource live (None: not live), ``wanted`` the file's fields of it."""
    address = change.address
    found: list[SecurityNote] = []
    creates = change.action is Action.CREATE
    for meaning in kind.security:
        if isinstance(meaning, Named):
            continue  # ``_lookalikes``
        if isinstance(meaning, Grant):
            changed = tuple(f for f in meaning.fields if f in change.changes)
            if creates:
                words = meaning.words(wanted)
                found.append(
                    SecurityNote(address, changed, edit=f"{address}: with this edit, {words}")
                )
            elif changed and change.action is Action.UPDATE and now is not None:
                fields = ", ".join(changed)
                found.append(
                    SecurityNote(
                        address,
                        changed,
                        live=f"{address}: its {fields} was changed live, so {meaning.words(now)}",
                        edit=f"{address}: this edit changes its {fields}, so "
                        f"{meaning.words({**now, **wanted})}",
                    )
                )
            continue
        name = meaning.field
        if name not in change.changes or change.action.removes:
            continue
        before, after = change.changes[name].before, change.changes[name].after
        if isinstance(meaning, Destination) and after is not None:
            if creates:
                edit = f"{address}: this edit sends {meaning.carries} to {shown(after)}"
                found.append(SecurityNote(address, (name,), edit=edit))
            elif before is not None:
                found.append(
                    SecurityNote(
                        address,
                        (name,),
                        live=f"{address}: {meaning.carries} go to {shown(before)} live, not to "
                        f"{shown(after)} as the file says",
                        edit=f"{address}: this edit sends {meaning.carries} to {shown(after)} "
                        f"instead of {shown(before)}",
                    )
                )
        elif isinstance(meaning, TrustRoot) and after is not None:
            trusted = f"tokens signed by {shown(after)} are trusted"
            if creates:
                edit = f"{address}: with this edit, {trusted} (a new trust root)"
                found.append(SecurityNote(address, (name,), edit=edit))
            else:
                found.append(
                    SecurityNote(
                        address,
                        (name,),
                        live=f"{address}: its {name} is {shown(before)} live, not "
                        f"{shown(after)}: tokens signed there are trusted",
                        edit=f"{address}: with this edit, {trusted} instead of {shown(before)}",
                    )
                )
        elif isinstance(meaning, Privilege) and not creates:
            live = edit = None
            if meaning.wider(after, before):
                live = (
                    f"{address}: {meaning.what} was widened live to {shown(before)} (the file "
                    f"says {shown(after)})"
                )
            if meaning.wider(before, after):
                edit = (
                    f"{address}: this edit widens {meaning.what} from {shown(before)} to "
                    f"{shown(after)}"
                )
            if live or edit:
                found.append(SecurityNote(address, (name,), live=live, edit=edit))
        elif isinstance(meaning, Exposure):
            live = edit = None
            if after == meaning.value and before != meaning.value:
                edit = f"{address}: with this edit, {meaning.says}"
            if before == meaning.value and after != meaning.value and not creates:
                live = f"{address}: set live so that {meaning.says}"
            if live or edit:
                found.append(SecurityNote(address, (name,), live=live, edit=edit))
    if creates and not found:
        found += _created_with_privilege(kind, change)
    found += _lookalikes(kind, change)
    found += _secret_notes(kind, change, now)
    return found


def _lookalikes(kind: Kind, change: ResourceChange) -> list[SecurityNote]:
    """The names this change sends that may be look-alikes: the entry's key when it is
    created or renamed, and the host of each destination or trust root it sets. The
    same words in both directions: a look-alike is one whoever wrote it."""
    if change.action.removes:
        return []
    said: list[SecurityNote] = []
    for meaning in kind.security:
        fields: tuple[str, ...] = ()
        if isinstance(meaning, Named):
            what = meaning.what
            renamed = change.changes.get(kind.key_field)
            if renamed is not None and isinstance(renamed.after, str):
                text, fields = renamed.after, (kind.key_field,)
            elif change.action is Action.CREATE:
                text = name_of(change.address)
            else:
                continue
        elif isinstance(meaning, Destination | TrustRoot) and meaning.field in change.changes:
            after = change.changes[meaning.field].after
            if not after:
                continue
            what, text, fields = f"{meaning.field} host", _host_name(after), (meaning.field,)
        else:
            continue
        words = looks_unlike(change.address, text, what)
        if words is not None:
            said.append(SecurityNote(change.address, fields, live=words, edit=words))
    return said


def _created_with_privilege(kind: Kind, change: ResourceChange) -> list[SecurityNote]:
    """A new identity whose only meaning is what it may do (a service account): its
    creation is said with what it is given, so no cut hides who can act."""
    given = [
        m
        for m in kind.security
        if isinstance(m, Privilege)
        and m.field in change.changes
        and (m.said_on_create or (m.alarming is not None and m.alarming(change.after[m.field])))
    ]
    if not given:
        return []
    said = "; ".join(f"{m.what} is {shown(change.changes[m.field].after)}" for m in given)
    fields = tuple(m.field for m in given)
    return [SecurityNote(change.address, fields, edit=f"{change.address}: with this edit, {said}")]


def _secret_notes(
    kind: Kind, change: ResourceChange, now: Mapping[str, Any] | None
) -> list[SecurityNote]:
    """Which operator secret this change would send to which host: on a create, and
    when the host changes (the API then drops the values it had)."""
    secret = kind.secret
    if secret is None or change.action.removes:
        return []
    target = change.changes.get(secret.host_field)
    names = change.changes.get(secret.names_field)
    listed = names.after if names is not None else (now or {}).get(secret.names_field)
    if not listed:
        return []
    moved = target is not None and host(target.before) != host(target.after)
    if target is None or not (change.action is Action.CREATE or moved):
        return []
    to = host(target.after)
    edit = (
        f"{change.address}: this edit sends the operator's {secret.what} "
        f"({', '.join(shown(n) for n in listed)}) to {shown(to)}"
    )
    return [SecurityNote(change.address, (secret.host_field,), edit=edit)]


def found_live(kind: Kind, address: str, fields: Mapping[str, Any]) -> str | None:
    """The alert for a resource live that the file does not list (None: nothing in it
    decides who can sign in or where data goes)."""
    said: list[str] = []
    for meaning in kind.security:
        if isinstance(meaning, Grant):
            said.append(meaning.words(fields))
        elif isinstance(meaning, Destination) and fields.get(meaning.field):
            said.append(f"{meaning.carries} go to {shown(fields[meaning.field])}")
        elif isinstance(meaning, TrustRoot) and fields.get(meaning.field):
            said.append(f"tokens signed by {shown(fields[meaning.field])} are trusted")
        elif isinstance(meaning, Exposure) and fields.get(meaning.field) == meaning.value:
            said.append(meaning.says)
        elif (
            isinstance(meaning, Privilege)
            and meaning.alarming is not None
            and meaning.alarming(fields.get(meaning.field))
        ):
            said.append(f"{meaning.what} is {shown(fields[meaning.field])}")
        elif isinstance(meaning, Named):
            why = lookalike(name_of(address))
            if why is not None:
                said.append(f"its {meaning.what} may not be what it looks like: {why}")
    if not said:
        return None
    return f"{address} is live and not in the file: {'; '.join(said)}"


MOST_NAMED = 10  # unmanaged security resources named in one note; the count says the rest


def unmanaged_named(found: list[str]) -> str | None:
    """One note naming resources live that decide who can act or where data goes, in
    sections the file does not keep: counted elsewhere, named here, so nobody has to
    guess which (None: there are none)."""
    if not found:
        return None
    shown = ", ".join(visible(a) for a in sorted(found)[:MOST_NAMED])
    more = len(found) - MOST_NAMED
    return (
        f"live and not managed by this file (a section it does not keep): {shown}"
        + (f" and {more} more" if more > 0 else "")
        + "; list a section to review what is in it"
    )
