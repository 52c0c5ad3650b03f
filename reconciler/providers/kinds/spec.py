"""A kind of resource as its module declares it: where the file keeps it, its fields,
how it is removed, which operator secret it carries to which host, and what each of
its fields means for security. The plan's words about a kind (removal warnings, undo,
alerts in both directions) are derived from this one declaration, so they cannot
disagree from one command or direction to the next."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.core.model import LiveResource


class Removal(enum.StrEnum):
    """How the API removes one: ``archive`` keeps a record and cannot be undone,
    ``delete`` is gone, ``none``: the kind is never removed (only set back)."""

    ARCHIVE = "archive"
    DELETE = "delete"
    NONE = "none"


# -- what a field means for security -------------------------------------------------


@dataclass(frozen=True)
class Destination:
    """The field is where the organization's ``carries`` go (a URL): a host moved, or a
    new resource, sends them somewhere a reviewer must know."""

    field: str
    carries: str  # "events", "spans"


@dataclass(frozen=True)
class TrustRoot:
    """The field is an identity provider whose signed tokens the organization trusts."""

    field: str


@dataclass(frozen=True)
class Grant:
    """The resource as a whole decides who can sign in and as what; ``words`` says it
    (a federation rule: "a GitHub Actions job of ... can act as ..."). ``fields`` are
    the ones whose change changes who is admitted."""

    fields: tuple[str, ...]
    words: Callable[[Mapping[str, Any]], str]


@dataclass(frozen=True)
class Privilege:
    """The field decides what someone may do: ``wider(a, b)`` is true when ``b`` grants
    more than ``a`` (a higher role, more workspaces or scopes, a longer lifetime)."""

    field: str
    what: str  # "its role", "its workspaces"
    wider: Callable[[Any, Any], bool]
    # A value that is an alert on its own when found live outside the file (admin).
    alarming: Callable[[Any], bool] | None = None
    # A new one is said with its value (a service account's role); False where making
    # one is everyday work (an invite), said only when its value is ``alarming``.
    said_on_create: bool = True


@dataclass(frozen=True)
class Exposure:
    """The field set to ``value`` exposes something (``says``: "spans carry prompts and
    outputs")."""

    field: str
    value: Any
    says: str


@dataclass(frozen=True)
class Named:
    """The entry's key (or a rename of it) names someone or something to a reviewer (an
    email, a workspace): one that may be a look-alike of another name is said before
    anything is sent. A ``Destination``'s or ``TrustRoot``'s host is checked the same
    way without saying so here."""

    what: str  # "email", "name"


Meaning = Destination | TrustRoot | Grant | Privilege | Exposure | Named


def ranked(order: tuple[str, ...]) -> Callable[[Any, Any], bool]:
    """``Privilege.wider`` for roles in ``order``, from the one that may do least to the
    one that may do most (a value not in it is below them all)."""

    def rank(role: Any) -> int:
        return order.index(role) if role in order else -1

    return lambda a, b: rank(b) > rank(a)


def longer(a: Any, b: Any) -> bool:
    """``Privilege.wider`` for a number that grants more as it grows (a lifetime)."""
    return isinstance(a, int) and isinstance(b, int) and b > a


@dataclass(frozen=True)
class Secret:
    """A write-only value the operator alone holds, sent to the host of ``host_field``
    whenever the resource is created there or moved (``names_field`` lists which
    values the file asks for, never the values). It is bound to the host the operator
    gave it for: a file that moves the resource elsewhere is refused before any write."""

    what: str  # "header values"
    names_field: str
    host_field: str
    flag: str  # the operator's option that gives them: "--telemetry-headers-file"


@dataclass(frozen=True)
class Kind:
    """One kind of resource, as its module declares it."""

    name: str  # the address's kind: ``webhook``
    noun: str  # what a reader calls one: "webhook"
    section: tuple[str, ...]  # where the file keeps them: ("webhooks",)
    fields: tuple[str, ...]  # the file's fields, in the order ``export`` writes them
    removal: Removal
    security: tuple[Meaning, ...] = ()
    secret: Secret | None = None
    # What is lost with one removed, beyond the resource ("its deliveries stop").
    removal_loses: str | None = None
    # The file's entry as compared (lists sorted, nested settings flattened).
    wanted: Callable[[dict[str, Any]], dict[str, Any]] = field(default=dict)
    # What a reader calls several (default: the noun and an s).
    many: str | None = None
    # The file's entry is this one field's value (a role, an amount), not a mapping.
    value_field: str | None = None
    # The field the entry's key holds: changing it renames the entry (``id``: keyed by
    # the id, and ``name`` is a field like any other).
    key_field: str = "name"
    # One not live is written as null (no spend limit), not left out of the file.
    absent_as_null: bool = False
    # A field's null is a value the file writes (the Company API: no usage limit), not
    # the field's absence (left out of the file).
    null_is_value: bool = False
    # Its section takes ``prune: true``: what it does not list is removed.
    prunable: bool = False
    # Its keys are compared without case (emails, as mail is delivered).
    case_free_keys: bool = False
    # The live resource as its file entry, when it is not simply its value field or
    # its fields (``export``; None leaves it out). Given the resource and live context.
    exported: Callable[[LiveResource, Mapping[str, Any]], Any] | None = None

    @property
    def plural(self) -> str:
        return self.many or f"{self.noun}s"

    @property
    def removal_action(self) -> str:
        return str(self.removal)
