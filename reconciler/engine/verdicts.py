"""A policy's verdict (``core.verdict``) as the plan and the apply report show it: in
text, and in markdown for a pull request, where each rule awaiting approval mentions
its owners so they are asked. Rule names, messages and errors come from the policy
file and the plan: untrusted text, escaped for where it goes (owners are checked
against GitHub's login and team forms when the file is read)."""

from __future__ import annotations

from collections.abc import Callable

from reconciler.core.escape import markdown_code, markdown_text, visible
from reconciler.core.verdict import RuleMatch, Verdict

MOST_ADDRESSES = 10  # a rule's addresses shown; the count says the rest


def policy_lines(verdict: Verdict, style: Callable[..., str]) -> list[str]:
    """The plan's policy section, in text; empty when no rule matched."""
    heading = f"Policy ({visible(verdict.file)}):"
    if not verdict.matches:
        return [style(f"{heading} no rule matches these changes.", dim=True), ""]
    lines = [style(heading, bold=True)]
    for match in verdict.matches:
        fg = "red" if match.denies else ("yellow" if match.awaits_approval else "green")
        lines.append(
            style(f"  {_status(match)} {visible(match.rule)}: {visible(match.message)}", fg=fg)
        )
        lines.append(f"      on {_addresses(match, visible)}")
        if match.owners:
            lines.append(f"      owners: {', '.join(match.owners)}")
        lines += [f"      ! {visible(e)}" for e in match.errors]
    return [*lines, ""]


def _status(match: RuleMatch) -> str:
    if match.denies:
        return "DENIED"
    if match.waived_by:
        return f"approved by {', '.join(match.waived_by)}:"
    return "needs approval:"


def _addresses(match: RuleMatch, shown: Callable[[str], str]) -> str:
    listed = [shown(a) for a in match.addresses[:MOST_ADDRESSES]]
    more = len(match.addresses) - MOST_ADDRESSES
    return ", ".join(listed) + (f" and {more} more" if more > 0 else "")


def policy_markdown(verdict: Verdict) -> list[str]:
    """The policy section of a pull-request comment: never cut with the resources."""
    if not verdict.matches:
        return [f"_Policy `{markdown_code(verdict.file)}`: no rule matches these changes._", ""]
    lines: list[str] = []
    denied, awaiting, waived = verdict.denied, verdict.awaiting, verdict.waived
    if denied:
        lines += ["> [!CAUTION]", "> **Policy denies this plan:**"]
        lines += [f"> - {_md_match(m)}" for m in denied] + [""]
    if awaiting:
        lines += ["> [!IMPORTANT]", "> **Policy: apply waits for an owner's approval:**"]
        lines += [f"> - {_md_match(m)} Owners: {_mentions(m)}" for m in awaiting] + [""]
    if waived:
        lines += ["> [!NOTE]", "> **Policy: approved by an owner:**"]
        lines += [f"> - {_md_match(m)} Approved by {', '.join(m.waived_by)}." for m in waived]
        lines.append("")
    return lines


def _md_match(match: RuleMatch) -> str:
    addresses = _addresses(match, lambda a: f"`{markdown_code(a)}`")
    errors = "".join(f" {markdown_text(e)}." for e in match.errors)
    return (
        f"`{markdown_code(match.rule)}`: {markdown_text(match.message)} (on {addresses}).{errors}"
    )


def _mentions(match: RuleMatch) -> str:
    """Each owner as a GitHub mention (``@login``, ``@org/team``); the forms were
    checked when the policy was read, so nothing else can be written here."""
    return ", ".join(o if o.startswith("@") else f"@{o}" for o in match.owners)
