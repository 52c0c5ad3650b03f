"""A policy's verdict on a plan: each rule that matched, on which changes, with its
effect, owners and message, and who waived it. Plans and apply reports carry it;
``reconciler.policy`` makes it.

Effects: ``deny`` (the plan fails, apply writes nothing) and ``require_approval``
(apply writes nothing until an owner of the rule approves, ``--approved-by``). A rule
whose condition could not be evaluated on a change counts as a ``deny`` match (fail
closed), with the sentence saying why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DENY, REQUIRE_APPROVAL = "deny", "require_approval"


@dataclass(frozen=True)
class RuleMatch:
    rule: str
    effect: str
    owners: tuple[str, ...]
    message: str
    addresses: tuple[str, ...]
    errors: tuple[str, ...] = ()  # why the rule could not be evaluated (it then denies)
    waived_by: tuple[str, ...] = ()  # approvers who own the rule (require_approval)

    @property
    def denies(self) -> bool:
        return self.effect == DENY or bool(self.errors)

    @property
    def awaits_approval(self) -> bool:
        return not self.denies and self.effect == REQUIRE_APPROVAL and not self.waived_by

    def data(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "effect": DENY if self.errors else self.effect,
            "owners": list(self.owners),
            "message": self.message,
            "addresses": list(self.addresses),
            "errors": list(self.errors),
            "waived_by": list(self.waived_by),
        }


@dataclass(frozen=True)
class Verdict:
    """The policy file (its name and digest) and every rule that matched."""

    file: str
    sha256: str
    matches: tuple[RuleMatch, ...] = ()
    approved_by: tuple[str, ...] = ()  # what the operator said (--approved-by)

    @property
    def denied(self) -> tuple[RuleMatch, ...]:
        return tuple(m for m in self.matches if m.denies)

    @property
    def awaiting(self) -> tuple[RuleMatch, ...]:
        return tuple(m for m in self.matches if m.awaits_approval)

    @property
    def waived(self) -> tuple[RuleMatch, ...]:
        return tuple(m for m in self.matches if m.waived_by and not m.denies)

    def data(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "sha256": self.sha256,
            "approved_by": list(self.approved_by),
            "matches": [m.data() for m in self.matches],
            "denied": [m.rule for m in self.denied],
            "awaiting_approval": [m.rule for m in self.awaiting],
            "waived": [{"rule": m.rule, "by": list(m.waived_by)} for m in self.waived],
        }
