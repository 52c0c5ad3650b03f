"""``Plan`` and ``ApplyReport`` to text, JSON and markdown; one function each.

Text is Terraform-like and aligned (colour only when asked); JSON is the
documented, versioned ``data()`` form; markdown is ready for a pull-request
comment or ``$GITHUB_STEP_SUMMARY``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from reconciler.model import ApplyReport, Outcome, Plan

COLLAPSE_OVER = 10
ARROW = "→"


def value(v: Any) -> str:
    """A field value as JSON: strings quoted, null as null."""
    return json.dumps(v, ensure_ascii=False)


def _styler(color: bool) -> Callable[..., str]:
    def style(text: str, **kwargs: Any) -> str:
        return click.style(text, **kwargs) if color else text

    return style


# -- plans ---------------------------------------------------------------------------------


def plan_text(plan: Plan, *, color: bool = False) -> str:
    style = _styler(color)
    lines: list[str] = []
    if plan.targets:
        lines += [style(f"Targeted plan: only {', '.join(plan.targets)}.", fg="yellow"), ""]
    if not plan.is_empty:
        lines += ["reconciler will make these changes:", ""]
    for resource in plan.resources:
        lines.append(style(f"  ~ {resource.address}", fg="yellow", bold=True))
        width = max(len(name) for name in resource.changes)
        for name, change in resource.changes.items():
            before = style(value(change.before), fg="red")
            after = style(value(change.after), fg="green")
            lines.append(f"      {name + ':':<{width + 1}} {before} {ARROW} {after}")
        lines.append("")
    if plan.warnings:
        lines.append(style("Warnings:", fg="magenta", bold=True))
        lines += [style(f"  ! {w}", fg="magenta") for w in plan.warnings]
        lines.append("")
    lines.append(style(plan.summary(), bold=True))
    return "\n".join(lines) + "\n"


def plan_json(plan: Plan) -> str:
    return json.dumps(plan.data(), indent=2, ensure_ascii=False) + "\n"


def _md(text: Any) -> str:
    """A value for a markdown table cell: code, with pipes and backticks made harmless."""
    shown = value(text).replace("|", "\\|").replace("`", "\u02cb")
    return f"`{shown}`"


def plan_markdown(plan: Plan, *, title: str = "reconciler plan") -> str:
    lines = [f"### {title}", ""]
    if plan.targets:
        lines += [f"_Targeted plan: only {', '.join(f'`{t}`' for t in plan.targets)}._", ""]
    lines += [f"**{plan.summary()}**", ""]
    if plan.warnings:
        lines += ["> [!WARNING]"] + [f"> - {w}" for w in plan.warnings] + [""]
    collapse = len(plan.resources) > COLLAPSE_OVER
    for resource in plan.resources:
        count = len(resource.changes)
        heading = f"~ {resource.address} ({count} field{'s' if count != 1 else ''})"
        table = ["| field | before | after |", "|---|---|---|"] + [
            f"| `{name}` | {_md(c.before)} | {_md(c.after)} |"
            for name, c in resource.changes.items()
        ]
        if collapse:
            lines += [
                "<details>",
                f"<summary><code>{heading}</code></summary>",
                "",
                *table,
                "",
                "</details>",
                "",
            ]
        else:
            lines += [f"#### `{heading}`", "", *table, ""]
    return "\n".join(lines).rstrip() + "\n"


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
        line = style(f"  {mark} {result.address}: {result.outcome}", fg=fg)
        lines.append(f"{line}{f' ({result.reason})' if result.reason else ''}")
    if report.warnings:
        lines += ["", style("Warnings:", fg="magenta", bold=True)]
        lines += [style(f"  ! {w}", fg="magenta") for w in report.warnings]
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
        "| resource | outcome | why |",
        "|---|---|---|",
    ]
    for result in report.results:
        mark, _ = _MARKS[result.outcome]
        why = (result.reason or "").replace("|", "\\|")
        lines.append(f"| `{result.address}` | {mark} {result.outcome} | {why} |")
    if report.warnings:
        lines += ["", "> [!WARNING]"] + [f"> - {w}" for w in report.warnings]
    return "\n".join(lines) + "\n"
