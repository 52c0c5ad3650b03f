"""Imports run one way: the import graph of the package, counting imports inside
functions and under ``TYPE_CHECKING``, has no cycle; each folder is a layer that
imports only its own and lower layers (``LAYERS``); and nothing outside
``providers/`` imports a particular provider: providers are found through their
entry points."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "reconciler"


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imported(path: Path, known: dict[str, Path]) -> Iterator[str]:
    """Every reconciler module a file imports, wherever the import statement stands."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name in known)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if full in known:
                    yield full
                elif node.module in known:
                    yield node.module


def graph() -> dict[str, set[str]]:
    """Module → modules its import runs, parent packages included (importing
    ``a.b.c`` runs ``a/__init__`` and ``a/b/__init__`` first, unless the importer is
    already inside them)."""
    known = modules()
    edges: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        for target in imported(path, known):
            parts = target.split(".")
            for depth in range(1, len(parts) + 1):
                step = ".".join(parts[:depth])
                inside = name == step or name.startswith(step + ".")
                if step in known and step != name and not inside:
                    edges[name].add(step)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_import_graph_has_no_cycle() -> None:
    assert cycles(graph()) == []


def test_the_check_would_see_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]


# Lowest first. A module may import modules of its own layer and of lower ones.
LAYERS: list[tuple[str, ...]] = [
    ("reconciler", "reconciler.core"),  # the values and rules everything shares
    ("reconciler.net",),  # where an API is, credentials, pacing, bounded answers, serving
    ("reconciler.sandbox",),  # the stand-in APIs (it knows nothing of the client)
    ("reconciler.providers",),  # the seam (base), the registry, one package per API
    ("reconciler.desired",),  # reading a desired-state file (a provider gives its schema)
    ("reconciler.policy",),  # rules on the plan, in CEL, and who may waive them
    ("reconciler.engine",),  # the flows, planning, saved plans, executing, rendering
    ("reconciler.cli", "reconciler.__main__"),  # the commands
]
# Imports that still run up the house, each with why (none now); the test fails when
# one appears. A provider's own command gets the CLI's plumbing through the seam
# (``providers.base.CommandKit``), never by importing the CLI.
KNOWN_UPWARD: set[tuple[str, str]] = set()


def layer_of(module: str) -> int:
    """The rank of the layer ``module`` belongs to (its longest matching prefix)."""
    ranks = [
        (len(prefix), rank)
        for rank, prefixes in enumerate(LAYERS)
        for prefix in prefixes
        if module == prefix or module.startswith(prefix + ".")
    ]
    assert ranks, f"{module} is in no layer: add its folder to LAYERS"
    return max(ranks)[1]


def upward(edges: dict[str, set[str]]) -> set[tuple[str, str]]:
    return {
        (module, target)
        for module, targets in edges.items()
        for target in targets
        if layer_of(target) > layer_of(module)
    }


def test_each_layer_imports_only_its_own_and_lower_layers() -> None:
    assert upward(graph()) == KNOWN_UPWARD


def test_the_layer_check_would_see_an_import_up_the_house() -> None:
    edges = {
        "reconciler.core.model": {"reconciler.engine.planning"},
        "reconciler.engine.planning": set(),
    }
    assert upward(edges) == {("reconciler.core.model", "reconciler.engine.planning")}


def test_nothing_outside_providers_imports_a_particular_provider() -> None:
    edges = graph()
    particular = ("reconciler.providers.company", "reconciler.providers.anthropic_admin")
    leaks = {
        module: sorted(t for t in targets if t.startswith(particular))
        for module, targets in edges.items()
        if not module.startswith(particular)
    }
    assert {m: t for m, t in leaks.items() if t} == {}


def test_a_module_over_400_lines_says_why_it_is_one_job() -> None:
    """Size follows job: past 400 lines, the docstring says why it is still one."""
    unexplained = []
    for name, path in modules().items():
        text = path.read_text()
        if text.count("\n") > 400:
            doc = ast.get_docstring(ast.parse(text)) or ""
            if "one job" not in doc:
                unexplained.append(name)
    assert unexplained == []


COMMAND_BODY_LINES = 40


def command_bodies() -> dict[str, int]:
    """Each click command's body, in lines: from its first statement after the
    docstring to its end (the signature and the help text are the command's options,
    not its work)."""
    found = {}
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef):
                continue
            if not any("command(" in ast.unparse(d) for d in node.decorator_list):
                continue
            body = node.body[1:] if ast.get_docstring(node) is not None else node.body
            if body:
                end = body[-1].end_lineno or body[-1].lineno
                found[f"{name}.{node.name}"] = end - body[0].lineno + 1
    return found


def test_every_command_is_a_parse_a_call_and_a_render() -> None:
    """A command's work lives in the engine's flows: its own body fits on a screen."""
    bodies = command_bodies()
    assert {"reconciler.cli.plan.plan", "reconciler.cli.apply.apply"} <= set(bodies)
    assert {name: n for name, n in bodies.items() if n > COMMAND_BODY_LINES} == {}
