"""mkdocs hooks: pages written from the program and its measurements at every build,
so they cannot drift: the file reference from the JSON Schemas (what ``validate``
checks), and the performance tables from the benchmarks' own JSON output."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

from reconciler import providers
from reconciler.desired import document as files_config

PAGE = "reference/files.md"


def on_files(files: Files, *, config: Any, **_: Any) -> Files:
    files.append(File.generated(config, PAGE, content=reference()))
    return files


def reference() -> str:
    lines = [
        "# File reference",
        "",
        "Generated from each provider's JSON Schema (`reconciler schema --provider P`) at",
        "every build of these pages: every key a file may hold, its type and its meaning.",
        "",
    ]
    for name in providers.names():
        schema = files_config.schema(name)
        lines += [f"## `provider: {name}`", "", schema.get("description", ""), ""]
        lines += ["| key | type | meaning |", "|---|---|---|"]
        lines += [
            f"| `{path}` | {kind} | {meaning} |" for path, kind, meaning in _rows(schema, schema)
        ]
        lines.append("")
    return "\n".join(lines)


def _rows(
    schema: dict[str, Any], node: dict[str, Any], prefix: str = ""
) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    for key, sub in (node.get("properties") or {}).items():
        resolved = _resolve(schema, sub)
        path = f"{prefix}{key}"
        rows.append((path, _kind(schema, resolved), _cell(resolved.get("description", ""))))
        rows += _rows(schema, resolved, prefix=f"{path}.")
        extra = resolved.get("additionalProperties")
        if isinstance(extra, dict):
            item = _resolve(schema, extra)
            name = f"{path}.<key>"
            keys = _resolve(schema, resolved.get("propertyNames") or {}).get("description", "")
            meaning = item.get("description") or (f"Each key: {keys}." if keys else "")
            rows.append((name, _kind(schema, item), _cell(meaning)))
            rows += _rows(schema, item, prefix=f"{name}.")
    return rows


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = schema
        for part in ref[2:].split("/"):
            target = target[part]
        return {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _kind(schema: dict[str, Any], node: dict[str, Any]) -> str:
    if "enum" in node:
        return " or ".join(f"`{json.dumps(v)}`" for v in node["enum"])
    if "const" in node:
        return f"`{json.dumps(node['const'])}`"
    for key in ("oneOf", "anyOf"):
        if key in node:
            return " or ".join(_kind(schema, _resolve(schema, n)) for n in node[key])
    kind = node.get("type", "any")
    return " or ".join(kind) if isinstance(kind, list) else str(kind)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


BENCH = Path(__file__).resolve().parents[1] / "bench"
_MARKER = re.compile(r"\{\{ bench (\w+) \}\}")


def on_page_markdown(markdown: str, *, page: Any, **_: Any) -> str:
    """``{{ bench NAME }}``: the table of ``docs/bench/NAME.json``, as the benchmark wrote it."""
    return _MARKER.sub(lambda m: bench_table(m.group(1)), markdown)


def bench_table(name: str) -> str:
    data = json.loads((BENCH / f"{name}.json").read_text())
    rows: list[dict[str, Any]] = data["rows"]
    columns = [c for c in _COLUMNS if any(row.get(c) is not None for row in rows)]
    lines = [
        "| " + " | ".join(_COLUMNS[c] for c in columns) + " |",
        "|" + "---|" * len(columns),
    ]
    lines += ["| " + " | ".join(_shown(c, row.get(c)) for c in columns) + " |" for row in rows]
    machine = data["machine"]
    figures = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in data["figures"].items())
    lines += [
        "",
        f"Measured on {machine['date']}: Python {machine['python']}, {machine['platform']}, "
        f"{machine['processor']}, {machine['cpus']} CPUs. {figures}.",
    ]
    return "\n".join(lines)


_COLUMNS = {
    "scenario": "scenario",
    "measured_s": "measured",
    "limit_s": "limit",
    "ratio_to_limit": "\u00d7 limit",
    "baseline_s": "baseline",
    "speedup_vs_baseline": "speed-up",
    "network_s": "network",
    "client_cpu_s": "client CPU",
    "sandbox_s": "sandbox",
    "requests_per_s": "requests/s",
    "note": "note",
}


def _shown(column: str, value: Any) -> str:
    if value is None:
        return ""
    if column in ("measured_s", "limit_s", "baseline_s", "network_s", "client_cpu_s", "sandbox_s"):
        return f"{value:.2f} s"
    if column in ("ratio_to_limit", "speedup_vs_baseline"):
        return f"{value:.2f}\u00d7"
    return _cell(str(value))
