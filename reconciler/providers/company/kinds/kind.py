"""What a Company API kind adds to its spec: the API's path and answer component for
one, and the rules its changes are reviewed by."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.core.model import FieldChange, LiveState
from reconciler.providers.kinds.security import looks_unlike
from reconciler.providers.kinds.spec import Kind

# The warnings a reviewer should see about one field's change: given where it is
# (``company.plan``), the field, its change, and the live state.
Rule = Callable[[str, str, FieldChange, LiveState], Sequence[str]]


@dataclass(frozen=True)
class CompanyKind:
    spec: Kind
    component: str  # the contract's schema of one: "Company"
    api_path: Callable[[tuple[str, ...]], str]  # one's path, from its names
    keyed: bool  # several, each named by its id (projects); else one of it (company)
    rules: tuple[Rule, ...] = ()

    def address(self, names: tuple[str, ...]) -> str:
        """``company``, ``project.proj_1``: the kind's name, then its id."""
        return ".".join((self.spec.name, *names))

    def warnings(
        self, address: str, changes: Mapping[str, FieldChange], live: LiveState
    ) -> list[str]:
        return [
            said
            for name, change in changes.items()
            for rule in self.rules
            for said in rule(f"{address}.{name}", name, change, live)
        ]


def billing_domain_moved(where: str, name: str, change: FieldChange, live: LiveState) -> list[str]:
    """Bills (and what they say of the organization) going to another domain."""
    if name != "billing_email":
        return []
    before, after = _domain(change.before), _domain(change.after)
    if before and after and before != after:
        return [f"{where}: billing email domain changes from {before} to {after}"]
    return []


def lookalike_named(where: str, name: str, change: FieldChange, live: LiveState) -> list[str]:
    """A name or billing email a reviewer may read as another (a Cyrillic letter in it):
    said with the character it is, before anything is sent."""
    if name not in ("name", "billing_email") or not isinstance(change.after, str):
        return []
    said = looks_unlike(where, change.after)
    return [said] if said is not None else []


def _domain(email: Any) -> str | None:
    return email.rsplit("@", 1)[1].lower() if isinstance(email, str) and "@" in email else None
