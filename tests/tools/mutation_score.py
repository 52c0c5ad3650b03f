"""The mutation score per module and per safety rule, from the results ``mutmut run``
left in ``mutants/`` (one ``.meta`` file per module).

    mutmut run && python tests/tools/mutation_score.py --min 90

A mutant counts as killed when a test failed on it (or it timed out, or the type
check caught it); survived and no-test mutants count against the score. The safety
rules (``SAFETY``) are the functions that keep a promise to the user; each must be at
100 %. Exit 1 when the total is under ``--min`` or a safety rule is under 100 %.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

KILLED = {1, 3, 36, 37, -24, 24, 152, 255}  # mutmut's killed, timeout, type-check codes
SURVIVED = {0}
NO_TESTS = {5, 33}
SKIPPED = {34}

# The functions that keep a safety promise (module, function): requires and skips,
# stop and interrupt, staleness, guards and --force, --max-changes, targets, the
# organization pin, the trust checks on saved plans, hold arithmetic.
SAFETY: list[tuple[str, str]] = [
    *(
        ("reconciler/providers/anthropic_admin/surface.py", f)
        for f in ("watched_why", "watched", "found_live")
    ),
    *(
        ("reconciler/providers/anthropic_admin/surface_plan.py", f)
        for f in ("propose", "_pinned", "_requires")
    ),
    *(
        ("reconciler/policy/judge.py", f)
        for f in ("verdict", "_matching", "_owns", "judged", "refusal", "approvers")
    ),
    *(
        ("reconciler/engine/execute.py", f)
        for f in ("apply_plan", "_waves", "_apply_one", "_after_uncertain", "_is_done", "_holds")
    ),
    ("reconciler/engine/execute.py", "_read_back"),
    *(
        ("reconciler/engine/planning.py", f)
        for f in (
            "select",
            "check_not_stale",
            "check_matches",
            "_same_change",
            "check_organization",
            "check_holds",
            "not_from_ended_holds",
            "_holds_after",
        )
    ),
    ("reconciler/core/fielddiff.py", "same"),
    *(
        ("reconciler/engine/flows.py", f)
        for f in ("check_safe", "check_host", "verified_saved", "verified_undo", "_narrowed")
    ),
    *(
        ("reconciler/engine/planfile.py", f)
        for f in ("source_of", "check_undo", "undo_signature", "signing_key", "_etag")
    ),
    *(
        ("reconciler/net/connection.py", f)
        for f in (
            "endpoint_for",
            "key_variable_for",
            "key_for",
            "check_base_url",
            "is_loopback",
            "verify_for",
        )
    ),
    *(
        ("reconciler/desired/holds.py", f)
        for f in ("ends", "moment", "resolve", "_hold", "ending_soon")
    ),
    *(
        ("reconciler/net/federation.py", f)
        for f in ("federation_for", "checked", "Federation.identity_token")
    ),
]


def outcomes(root: Path) -> dict[str, Counter[str]]:
    """Counts of killed / survived / no tests per mutant's function, keyed
    ``module:function``."""
    found: dict[str, Counter[str]] = {}
    for meta in sorted(root.rglob("*.py.meta")):
        module = meta.relative_to(root).as_posix().removesuffix(".meta")
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        for key, code in codes.items():
            function = _function(key)
            tally = found.setdefault(f"{module}:{function}", Counter())
            if code in KILLED:
                tally["killed"] += 1
            elif code in SURVIVED:
                tally["survived"] += 1
            elif code in NO_TESTS:
                tally["no tests"] += 1
            elif code not in SKIPPED:
                tally["other"] += 1
    return found


def _function(key: str) -> str:
    """``reconciler.engine.execute.x_apply_plan__mutmut_12`` → ``apply_plan``; methods are
    ``xǁClassǁmethod__mutmut_3`` → ``Class.method``."""
    name = key.rsplit(".", 1)[-1]
    name = re.sub(r"__mutmut_\d+$", "", name)
    name = name.removeprefix("x_").removeprefix("x")
    return name.replace("ǁ", ".").strip(".")


def score(tally: Counter[str]) -> tuple[int, int]:
    total = sum(tally.values())
    return tally["killed"], total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mutants", type=Path, default=Path("mutants"))
    parser.add_argument("--min", type=float, default=0.0, help="the lowest total score, in %")
    parser.add_argument("--survivors", action="store_true", help="list the surviving functions")
    parser.add_argument(
        "--only",
        nargs="*",
        default=None,
        metavar="MODULE",
        help="score only these modules (reconciler/engine/execute.py ...), as .ci/run does",
    )
    args = parser.parse_args()
    found = outcomes(args.mutants)
    if args.only is not None:
        found = {k: v for k, v in found.items() if k.split(":")[0] in args.only}
    if not found:
        print(f"No mutmut results under {args.mutants}/: run mutmut run first.", file=sys.stderr)
        return 1
    modules: dict[str, Counter[str]] = {}
    for where, tally in found.items():
        modules.setdefault(where.split(":")[0], Counter()).update(tally)
    total: Counter[str] = Counter()
    print(f"{'module':<48} {'killed':>7} {'of':>6} {'score':>7}")
    for module, tally in sorted(modules.items()):
        killed, count = score(tally)
        total.update(tally)
        print(f"{module:<48} {killed:>7} {count:>6} {killed / count:>7.1%}")
    killed, count = score(total)
    overall = killed / count
    print(f"{'all':<48} {killed:>7} {count:>6} {overall:>7.1%}")
    failing = 0
    for module, function in SAFETY:
        if args.only is not None and module not in args.only:
            continue
        tally = found.get(f"{module}:{function}", Counter())
        rule_killed, rule_count = score(tally)
        ok = rule_count > 0 and rule_killed == rule_count
        failing += not ok
        print(f"safety rule {module}:{function}: {rule_killed} of {rule_count} killed")
    if args.survivors:
        for where, tally in sorted(found.items()):
            if tally["survived"] or tally["no tests"]:
                print(f"  {where}: {tally['survived']} survived, {tally['no tests']} no tests")
    if overall * 100 < args.min:
        print(f"The mutation score {overall:.1%} is under --min {args.min:g}%.", file=sys.stderr)
        return 1
    if failing:
        print(f"{failing} safety rules are not at 100 %.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
