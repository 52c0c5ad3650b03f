"""``--policy``, ``--approved-by`` and ``--team-members``: the operator's policy, read
and compiled when the command starts (a CEL error is reported at its line before any
request), and the verdict it gives a plan. Shared by ``plan``, ``apply``, ``show``
and ``validate``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from reconciler.core.errors import PolicyError
from reconciler.core.model import Plan

if TYPE_CHECKING:  # imported when a command is given --policy: CEL and the schema check
    from reconciler.policy.rules import Policy


@dataclass(frozen=True)
class Policing:
    """The policy the operator chose (None: none), and who approved."""

    policy: Policy | None = None
    approved_by: tuple[str, ...] = ()
    teams: dict[str, tuple[str, ...]] | None = None
    policy_changed: bool = False

    @classmethod
    def of(
        cls,
        policy: Path | None,
        approved_by: tuple[str, ...],
        team_members: Path | None,
        policy_changed: bool = False,
    ) -> Policing:
        if policy is None:
            if approved_by or team_members or policy_changed:
                raise click.UsageError(
                    "--approved-by, --team-members and --policy-changed go with --policy"
                )
            return cls()
        from reconciler.policy import judge, rules  # only with --policy (about 40 ms)

        loaded = rules.load(policy)
        found = judge.approvers(approved_by)
        return cls(loaded, found, judge.team_members(team_members), policy_changed)

    def judged(self, plan: Plan) -> Plan:
        """The plan with the verdict, or as it is without a policy."""
        if self.policy is None:
            return replace(plan, policy=None)
        from reconciler.policy import judge

        return judge.judged(
            plan, self.policy, self.approved_by, self.teams, policy_changed=self.policy_changed
        )

    @staticmethod
    def denial(plan: Plan) -> str | None:
        """Why ``plan`` fails: a rule denies it (not a rule awaiting approval)."""
        verdict = plan.policy
        if verdict is None or not verdict.denied:
            return None
        from reconciler.policy.judge import refusal

        return refusal(verdict)

    @staticmethod
    def refuse_unless_allowed(plan: Plan) -> None:
        """Before any write: a denial, or a rule still awaiting its owners, stops apply."""
        if plan.policy is None:
            return
        from reconciler.policy.judge import refusal

        said = refusal(plan.policy)
        if said is not None:
            raise PolicyError(said)


def policy_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """The three options, given to the command as one ``policing`` value."""

    def collect(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        ctx.meta.setdefault("policy_options", {})[param.name] = value
        return value

    for option in (
        click.option(
            "--policy-changed",
            is_flag=True,
            expose_value=False,
            callback=collect,
            help="With --policy: this change edits the policy file itself (in CI, the pull "
            "request touches it), so the policy's own owners must approve it.",
        ),
        click.option(
            "--team-members",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            expose_value=False,
            callback=collect,
            help='With --policy: JSON {"@org/team": ["login", ...]}, the members of each team '
            "that owns a rule (the operator's list; in CI, read from GitHub).",
        ),
        click.option(
            "--approved-by",
            multiple=True,
            metavar="LOGIN[,LOGIN...]",
            expose_value=False,
            callback=collect,
            help="With --policy: the GitHub logins that approved (in CI, the pull request's "
            "approving reviews); an owner among them waives a require_approval rule.",
        ),
        click.option(
            "--policy",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            expose_value=False,
            callback=collect,
            help="A policy file: rules in CEL that deny a change or require its owners' "
            "approval, judged on the plan (see docs/policy.md).",
        ),
    ):
        f = option(f)
    return f


def policing(ctx: click.Context) -> Policing:
    """The command's policy, read and compiled now (before any request)."""
    given = ctx.meta.get("policy_options", {})
    return Policing.of(
        given.get("policy"),
        tuple(given.get("approved_by") or ()),
        given.get("team_members"),
        bool(given.get("policy_changed")),
    )
