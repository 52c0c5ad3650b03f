"""``Plan`` and ``ApplyReport`` to text, JSON and markdown; one function each.

Text is Terraform-like and aligned (colour only when asked); JSON is the
documented, versioned ``data()`` form; markdown is ready for a pull-request
comment or ``$GITHUB_STEP_SUMMARY``.

Over 400 lines and one job: every output of a plan or report in three formats; the
formats share their helpers (escaping, headings, cutting to fit), so they stay together.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, NamedTuple

import click

from reconciler import __version__
from reconciler.core.errors import PlanError, Problem
from reconciler.core.escape import html_code, markdown_code, markdown_text, visible
from reconciler.core.model import (
    Action,
    ApplyReport,
    Outcome,
    Plan,
    PlannedHold,
    ResourceChange,
    kind_of,
    sections_data,
)
from reconciler.desired import yamltext
from reconciler.engine.verdicts import policy_lines, policy_markdown

COLLAPSE_OVER = 10
# Markdown lists this many holds, then says how many more the full plan has.
HOLDS_SHOWN = 50
# Where the whole of a plan cut to fit (--max-chars) can be read.
FULL_PLAN_LOCAL = "The full plan is in the saved plan (`reconciler plan --out`)."
FULL_PLAN_GITHUB = "The full plan is in this workflow run's artifacts."
ARROW = "→"


def value(v: Any) -> str:
    """A field value as JSON: strings quoted, null as null, nothing unprintable raw."""
    return visible(json.dumps(v, ensure_ascii=False))


def api_line(api: Mapping[str, str]) -> str | None:
    """``API: https://api.anthropic.com (key from CLAUDE_API_KEY)``: where a plan was made
    or an apply wrote, and which variable held the key (never the key); or, signed in by
    federation, the rule, service account and organization, and where the identity
    token was read (never a token)."""
    if not api.get("base_url"):
        return None
    if api.get("auth") == "federation":
        account = api.get("service_account_id")
        account = f", service account {account}" if account else ""
        how = (
            f" (federation: rule {api.get('federation_rule_id')}{account}, organization "
            f"{api.get('organization_id')}; identity token from {api.get('identity_token_from')})"
        )
    else:
        how = f" (key from {api['key_variable']})" if api.get("key_variable") else ""
    return visible(f"API: {api['base_url']}{how}")


def _styler(color: bool) -> Callable[..., str]:
    def style(text: str, **kwargs: Any) -> str:
        return click.style(text, **kwargs) if color else text

    return style


# -- plans ---------------------------------------------------------------------------------


def plan_text(plan: Plan, *, color: bool = False) -> str:
    style = _styler(color)
    lines: list[str] = []
    shown_api = api_line(plan.api)
    if shown_api:
        lines += [style(shown_api, dim=True), ""]
    if plan.targets:
        targets = visible(", ".join(plan.targets))
        lines += [style(f"Targeted plan: only {targets}.", fg="yellow"), ""]
    lines += alerts_text(plan.alerts, style)
    lines += alerts_text(plan.edit_alerts, style, EDIT_ALERTS_HEADING)
    if not plan.is_empty:
        lines += ["reconciler will make these changes:", ""]
    for resource in plan.resources:
        fg = _ACTION_COLORS[resource.action]
        lines.append(style(f"  {_heading(resource)}", fg=fg, bold=True))
        width = max((len(name) for name in resource.changes), default=0)
        for name, change in resource.changes.items():
            before = style(value(change.before), fg="red")
            after = style(value(change.after), fg="green")
            if resource.action is Action.CREATE:
                shown = after
            elif resource.action is Action.DELETE:
                shown = before
            else:
                shown = f"{before} {ARROW} {after}"
            lines.append(f"      {visible(name) + ':':<{width + 1}} {shown}")
        if resource.address in plan.about:
            lines.append(style(f"      # {visible(plan.about[resource.address])}", dim=True))
        lines.append("")
    if plan.holds:
        lines.append(style(holds_heading(plan.holds), fg="cyan", bold=True))
        lines += [style(f"  {hold_line(h)}", fg="cyan") for h in plan.holds]
        lines.append("")
    if plan.warnings:
        lines.append(style("Warnings:", fg="magenta", bold=True))
        lines += [style(f"  ! {visible(w)}", fg="magenta") for w in plan.warnings]
        lines.append("")
    if plan.guards:
        lines.append(style("Apply refuses this plan without --force:", fg="red", bold=True))
        lines += [style(f"  ! it {visible(g)}", fg="red") for g in plan.guards]
        lines.append("")
    if plan.policy is not None:
        lines += policy_lines(plan.policy, style)
    lines.append(style(plan.summary(), bold=True))
    return "\n".join(lines) + "\n"


_ACTION_COLORS = {
    Action.CREATE: "green",
    Action.UPDATE: "yellow",
    Action.REPLACE: "yellow",
    Action.DELETE: "red",
    Action.ARCHIVE: "red",
}


_EDIT_SYMBOLS = {"added": "+", "removed": "-"}


def holds_heading(held: tuple[PlannedHold, ...]) -> str:
    """Above a plan's holds: every hold of the file, or what this edit did to them."""
    if any(h.edit for h in held):
        return f"Holds this edit adds, changes or removes ({len(held)}):"
    return f"Holds in the file ({len(held)}), each a change when it ends:"


def hold_line(hold: PlannedHold) -> str:
    """``users.ben@example.com: "developer" until 2026-12-14, then removed``; an ended
    one ``ended 2026-11-30, then removed``; an edit ``+ ... (hold added)``. Every part
    from the file is shown as ``visible`` text."""
    when = f"ended {hold.until}" if hold.ended else f"until {hold.until}"
    line = f"{visible(hold.path)}: {value(hold.value)} {visible(when)}, {visible(hold.effect)}"
    if hold.edit is None:
        return line
    if hold.edit == "removed":
        return f"- {line} (hold removed: no longer ends)"
    return f"{_EDIT_SYMBOLS.get(hold.edit, '~')} {line} (hold {visible(hold.edit)})"


def _heading(resource: ResourceChange, *, count_fields: bool = False) -> str:
    """``~ company``; other actions than update say themselves, in the API's word where
    it has one: ``+ user["a@b"] (invite)``; with ``count_fields``, ``~ company (2
    fields)``, ``+ user["a@b"] (invite, 1 field)``."""
    notes = [] if resource.action is Action.UPDATE else [resource.says]
    if count_fields:
        count = len(resource.changes)
        notes.append(f"{count} field{'s' if count != 1 else ''}")
    heading = f"{resource.action.symbol} {visible(resource.address)}"
    return f"{heading} ({', '.join(notes)})" if notes else heading


ALERTS_HEADING = "Security-relevant changes found live"
EDIT_ALERTS_HEADING = "Security-relevant changes in this edit"


def alerts_text(
    alerts: tuple[str, ...], style: Callable[..., str], heading: str = ALERTS_HEADING
) -> list[str]:
    """Security-relevant changes, first and loud: who can sign in, what they may do,
    where data goes, which secret goes where; found live, or made by this edit."""
    if not alerts:
        return []
    lines = [style(f"{heading}:", fg="red", bold=True)]
    return lines + [style(f"  !! {visible(a)}", fg="red") for a in alerts] + [""]


def alerts_markdown(alerts: tuple[str, ...], heading: str = ALERTS_HEADING) -> list[str]:
    """The same as a CAUTION block, under the title: never cut with the resources."""
    if not alerts:
        return []
    lines = ["> [!CAUTION]", f"> **{heading}:**"]
    return lines + [f"> - {markdown_text(a)}" for a in alerts] + [""]


def both_alerts_markdown(plan: Plan) -> list[str]:
    return alerts_markdown(plan.alerts) + alerts_markdown(plan.edit_alerts, EDIT_ALERTS_HEADING)


def plan_json(plan: Plan) -> str:
    return json.dumps(plan.data(), indent=2, ensure_ascii=False) + "\n"


def _md(text: Any) -> str:
    """A value for a markdown table cell: code, with pipes and backticks made harmless."""
    return f"`{markdown_code(json.dumps(text, ensure_ascii=False))}`"


def heading(title: str, subject: str | None = None) -> str:
    """A markdown heading's text: ``title`` as prose and ``subject`` (a file's name, which
    a pull request chooses) in a code span it cannot break out of, both escaped, so no
    name can render a heading, a link or HTML of its own."""
    shown = markdown_text(title)
    return f"{shown}: `{markdown_code(subject)}`" if subject is not None else shown


def plan_markdown(
    plan: Plan,
    *,
    title: str = "reconciler plan",
    max_chars: int | None = None,
    full_plan: str = FULL_PLAN_LOCAL,
) -> str:
    """Markdown for a PR comment; with ``max_chars``, whole resources are dropped from
    the end (with a note saying how many) until it fits GitHub's comment limit."""
    head = [f"### {title}", "", *_plan_head(plan)]
    return _fit("\n".join(head), _resource_blocks(plan, level=4), max_chars, full_plan)


ADOPTION_HEADING = "Merge only if your organization made these changes on purpose"


def adoption_markdown(plan: Plan, *, subject: str | None, max_chars: int | None = None) -> str:
    """The body of a pull request that adopts drift into ``subject`` (a file): its
    security-relevant changes first, under the sentence a reviewer must weigh them by,
    then what merging and closing do, then the plan. Nothing security-relevant is cut."""
    named = f"`{markdown_code(subject)}`" if subject else "the file"
    found = (*plan.alerts, *plan.edit_alerts)
    head = ["> [!CAUTION]", f"> **{ADOPTION_HEADING}:**"] if found else []
    head += [f"> - {markdown_text(a)}" for a in found] + ([""] if found else [])
    head += [
        f"The live organization no longer matches {named}: someone changed it outside git.",
        "**Merge** this pull request to make the live values the truth, or **close** it and",
        f"apply {named} to put them back. It is updated each night while the drift lasts.",
        "",
    ]
    quiet = replace(plan, alerts=(), edit_alerts=())
    return (
        "\n".join(head)
        + "\n"
        + plan_markdown(quiet, title=heading("reconciler plan", subject), max_chars=max_chars)
    )


def _plan_head(plan: Plan) -> list[str]:
    lines = []
    shown_api = api_line(plan.api)
    if shown_api:
        lines += [f"_{markdown_text(shown_api)}_", ""]
    if plan.targets:
        lines += [
            f"_Targeted plan: only {', '.join(f'`{markdown_code(t)}`' for t in plan.targets)}._",
            "",
        ]
    lines += both_alerts_markdown(plan)
    lines += [f"**{plan.summary()}**", ""]
    lines += holds_markdown(plan.holds)
    if plan.warnings:
        lines += ["> [!WARNING]"] + [f"> - {markdown_text(w)}" for w in plan.warnings] + [""]
    if plan.guards:
        lines += ["> [!CAUTION]", "> **Apply refuses this plan without `--force`:**"]
        lines += [f"> - it {markdown_text(g)}" for g in plan.guards] + [""]
    if plan.policy is not None:
        lines += policy_markdown(plan.policy)
    return lines


def holds_markdown(held: tuple[PlannedHold, ...]) -> list[str]:
    """A plan's holds as an IMPORTANT note: never cut with the resources, and past
    ``HOLDS_SHOWN`` it says how many more the full plan lists."""
    if not held:
        return []
    lines = ["> [!IMPORTANT]", f"> **{markdown_text(holds_heading(held))}**"]
    lines += [f"> - {markdown_text(hold_line(h))}" for h in held[:HOLDS_SHOWN]]
    if len(held) > HOLDS_SHOWN:
        lines.append(f"> - and {len(held) - HOLDS_SHOWN} more: the full plan lists every one")
    return [*lines, ""]


class _Block(NamedTuple):
    """A unit a cut plan is made of: a heading (no ``kind``) or one resource, whose
    kind a cut note names; a resource with a security meaning is never cut."""

    text: str
    kind: str = ""
    security: bool = False


def _resource_blocks(
    plan: Plan, *, level: int, security: frozenset[str] = frozenset()
) -> list[_Block]:
    """Each resource's block; ``security`` (the addresses whose change has a security
    meaning) marks those no cut may drop."""
    collapse = len(plan.resources) > COLLAPSE_OVER
    security |= {note.address for note in plan.security}
    blocks = []
    for resource in plan.resources:
        heading = _heading(resource, count_fields=True)
        table = ["| field | before | after |", "|---|---|---|"] + [
            f"| `{markdown_code(name)}` | {_md(c.before)} | {_md(c.after)} |"
            for name, c in resource.changes.items()
        ]
        if resource.address in plan.about:
            table += ["", f"_{markdown_text(plan.about[resource.address])}_"]
        if collapse:
            lines = [
                "<details>",
                f"<summary><code>{html_code(heading)}</code></summary>",
                "",
                *table,
                "",
                "</details>",
                "",
            ]
        else:
            lines = [f"{'#' * level} `{markdown_code(heading)}`", "", *table, ""]
        blocks.append(
            _Block("\n".join(lines), kind_of(resource.address), resource.address in security)
        )
    return blocks


def _fit(
    head: str, blocks: list[_Block], max_chars: int | None, full_plan: str = FULL_PLAN_LOCAL
) -> str:
    """``head`` and the blocks, whole when they fit in ``max_chars``; otherwise the
    resources that fit in the plan's order, every security resource among them however
    long, and a note of how many were cut, of which kinds. When the head and the
    security resources alone do not fit, no cut can make a comment a reviewer may trust,
    so there is none: ``PlanError`` says why."""
    whole = "\n".join([head, *(b.text for b in blocks)]).rstrip() + "\n"
    if max_chars is None or len(whole) <= max_chars:
        return whole
    resources = [b for b in blocks if b.kind]
    note = (
        "\n> [!NOTE]\n> **This plan was cut to fit:** {shown} of {total} resources are shown"
        "{cut}. " + full_plan + "\n"
    )
    kinds = sorted({b.kind for b in resources})
    longest_cut = " (cut: " + ", ".join(f"{len(resources)} {markdown_text(k)}" for k in kinds) + ")"
    budget = max_chars - len(note.format(shown=0, total=0, cut=longest_cut)) - len(head) - 1
    budget -= sum(len(b.text) + 1 for b in blocks if b.security)
    kept: list[str] = []
    cut: dict[str, int] = {}
    full = False
    for block in blocks:
        fits = not full and len(block.text) + 1 <= budget
        if block.security or fits:
            kept.append(block.text)
            budget -= 0 if block.security else len(block.text) + 1
        else:
            full = True
            if block.kind:
                cut[block.kind] = cut.get(block.kind, 0) + 1
    said = ", ".join(f"{n} {markdown_text(k)}" for k, n in sorted(cut.items()))
    body = "\n".join([head, *kept]).rstrip() + "\n"
    shown = len(resources) - sum(cut.values())
    fitted = body + note.format(
        shown=shown, total=len(resources), cut=f" (cut: {said})" if said else ""
    )
    if len(fitted) > max_chars:
        raise PlanError(
            f"The plan's security-relevant part alone takes {len(fitted):,} characters, more "
            f"than --max-chars {max_chars:,}, and none of it may be cut from a review: split "
            "the change into smaller pull requests, or review the whole plan (reconciler "
            "show PLAN.json)."
        )
    return fitted


# -- apply reports -------------------------------------------------------------------------

_MARKS = {
    Outcome.APPLIED: ("✓", "green"),
    Outcome.FAILED: ("✗", "red"),
    Outcome.SKIPPED: ("-", "yellow"),
}


def report_text(report: ApplyReport, *, color: bool = False) -> str:
    style = _styler(color)
    lines = []
    for result in report.results:
        mark, fg = _MARKS[result.outcome]
        line = style(f"  {mark} {visible(result.address)}: {result.outcome}", fg=fg)
        lines.append(f"{line}{f' ({visible(result.reason)})' if result.reason else ''}")
    if report.warnings:
        lines += ["", style("Warnings:", fg="magenta", bold=True)]
        lines += [style(f"  ! {visible(w)}", fg="magenta") for w in report.warnings]
    shown_api = api_line(report.api)
    if shown_api:
        lines += ["", style(shown_api, dim=True)]
    if report.policy is not None and report.policy.matches:
        lines += ["", *policy_lines(report.policy, style)[:-1]]
    lines += ["", style(report.summary(), bold=True)]
    return "\n".join(lines) + "\n"


def report_json(report: ApplyReport) -> str:
    return json.dumps(report.data(), indent=2, ensure_ascii=False) + "\n"


def report_markdown(report: ApplyReport, *, title: str = "reconciler apply") -> str:
    lines = [
        f"### {title}",
        "",
        f"**{report.summary()}**",
        "",
        *([f"_{markdown_text(a)}_", ""] if (a := api_line(report.api)) else []),
        "| resource | outcome | changes | why |",
        "|---|---|---|---|",
    ]
    for result in report.results:
        mark, _ = _MARKS[result.outcome]
        why = markdown_text(result.reason or "")
        changed = "<br>".join(
            f"`{markdown_code(name)}`: {_md(change.before)} → {_md(change.after)}"
            for name, change in result.changes.items()
        )
        lines.append(
            f"| `{markdown_code(result.address)}` | {mark} {result.outcome} | {changed} | {why} |"
        )
    if report.warnings:
        lines += ["", "> [!WARNING]"] + [f"> - {markdown_text(w)}" for w in report.warnings]
    if report.policy is not None and report.policy.matches:
        lines += ["", *policy_markdown(report.policy)]
    return "\n".join(lines) + "\n"


# -- a plan in two parts: this edit, and drift that was already there -------------------

CHANGE_HEADING = "Changes from this edit of the file"
DRIFT_HEADING = "Drift already present (live differs from the file before this edit)"


def sections_text(whole: Plan, change: Plan, drift: Plan, *, color: bool = False) -> str:
    """The API and every warning first (an edit of ``api:`` is one), then each part."""
    style = _styler(color)
    top = []
    if shown_api := api_line(whole.api):
        top.append(style(shown_api, dim=True) + "\n")
    if whole.alerts:
        top.append("\n".join(alerts_text(whole.alerts, style)))
    if whole.edit_alerts:
        top.append("\n".join(alerts_text(whole.edit_alerts, style, EDIT_ALERTS_HEADING)))
    if whole.warnings:
        warnings = [style(f"  ! {visible(w)}", fg="magenta") for w in whole.warnings]
        top.append("\n".join([style("Warnings:", fg="magenta", bold=True), *warnings]) + "\n")
    if whole.holds:
        held = [style(f"  {hold_line(h)}", fg="cyan") for h in whole.holds]
        top.append("\n".join([style(holds_heading(whole.holds), fg="cyan", bold=True), *held]))
        top[-1] += "\n"
    if whole.guards:  # about the whole plan, whichever part holds the removals
        guards = [style(f"  ! it {visible(g)}", fg="red") for g in whole.guards]
        heading = style("Apply refuses this plan without --force:", fg="red", bold=True)
        top.append("\n".join([heading, *guards]) + "\n")
    if whole.policy is not None:  # the policy judges the whole plan, edit and drift
        top.append("\n".join(policy_lines(whole.policy, style)))
    parts = []
    for heading, part in ((CHANGE_HEADING, change), (DRIFT_HEADING, drift)):
        quiet = replace(
            part, warnings=(), alerts=(), edit_alerts=(), api={}, guards=(), policy=None
        )
        empty = part.is_empty and not part.holds
        body = plan_text(quiet, color=color) if not empty else "None.\n"
        parts.append(style(f"== {heading} ==", bold=True) + "\n\n" + body)
    return "\n".join(top + parts)


def sections_markdown(
    whole: Plan,
    change: Plan,
    drift: Plan,
    *,
    title: str = "reconciler plan",
    max_chars: int | None = None,
    full_plan: str = FULL_PLAN_LOCAL,
) -> str:
    """The API and every warning under the title (an edit of ``api:`` is one), then
    each part."""
    head = [f"### {title}", ""]
    if shown_api := api_line(whole.api):
        head += [f"_{markdown_text(shown_api)}_", ""]
    head += both_alerts_markdown(whole)
    if whole.warnings:
        head += ["> [!WARNING]"] + [f"> - {markdown_text(w)}" for w in whole.warnings] + [""]
    head += holds_markdown(whole.holds)
    if whole.guards:  # under the title, never cut with the resources
        head += ["> [!CAUTION]", "> **Apply refuses this plan without `--force`:**"]
        head += [f"> - it {markdown_text(g)}" for g in whole.guards] + [""]
    if whole.policy is not None:
        head += policy_markdown(whole.policy)
    blocks: list[_Block] = []
    secure = frozenset(note.address for note in whole.security)
    for heading, part in ((CHANGE_HEADING, change), (DRIFT_HEADING, drift)):
        if part.is_empty and not part.holds:
            blocks.append(_Block(f"#### {heading}\n\nNone.\n"))
            continue
        quiet = replace(
            part, warnings=(), alerts=(), edit_alerts=(), api={}, guards=(), policy=None
        )
        blocks.append(_Block(f"#### {heading}\n\n" + "\n".join(_plan_head(quiet))))
        blocks += _resource_blocks(part, level=5, security=secure)
    return _fit("\n".join(head).rstrip() + "\n", blocks, max_chars, full_plan)


def _escape_annotation(text: str, *, property_value: bool = False) -> str:
    """GitHub workflow-command escaping: %, CR, LF always; ':' and ',' in properties."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def github_annotations(problems: Iterable[Problem]) -> str:
    """``::error file=...,line=...,col=...::message`` lines, so problems show on the diff."""
    lines = []
    for p in problems:
        where = f"{p.path}: " if p.path else ""
        props = (
            f"file={_escape_annotation(p.file, property_value=True)},line={p.line},col={p.column}"
        )
        lines.append(f"::error {props}::{_escape_annotation(where + p.message)}")
    return "\n".join(lines) + "\n"


# -- by format name, for the command line ----------------------------------------------


def plan_as(
    result: Plan,
    fmt: str,
    *,
    title: str,
    color: bool = False,
    max_chars: int | None = None,
    full_plan: str = FULL_PLAN_LOCAL,
) -> str:
    if fmt == "json":
        return plan_json(result)
    if fmt == "markdown":
        return plan_markdown(result, title=title, max_chars=max_chars, full_plan=full_plan)
    return plan_text(result, color=color)


def sections_as(
    whole: Plan,
    change: Plan,
    drift: Plan,
    fmt: str,
    *,
    title: str,
    color: bool = False,
    max_chars: int | None = None,
    full_plan: str = FULL_PLAN_LOCAL,
) -> str:
    """The plan as this edit and drift; in JSON the whole plan plus a ``sections`` entry."""
    if fmt == "json":
        data = whole.data()
        data["sections"] = sections_data(change, drift)
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if fmt == "markdown":
        return sections_markdown(
            whole, change, drift, title=title, max_chars=max_chars, full_plan=full_plan
        )
    return sections_text(whole, change, drift, color=color)


def report_as(result: ApplyReport, fmt: str, *, title: str, color: bool = False) -> str:
    if fmt == "json":
        return report_json(result)
    if fmt == "markdown":
        return report_markdown(result, title=title)
    return report_text(result, color=color)


def desired_state_yaml(data: dict[str, Any], *, origin: str) -> str:
    """An exported organization as a file: where it came from (the operator's URL, shown
    visible), then the YAML in visible text only, reading back as written."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    head = f"# Exported by reconciler {__version__} from {visible(origin)} at {stamp}.\n"
    return head + yamltext.document(data)
