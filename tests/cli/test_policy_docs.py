"""docs/policy.md's rules, tested as written: its block of rules is the policy, and
each example file after it is planned through the installed command against a
sandbox process; exactly the rules the example names (``# caught by: ...``) match."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.sandbox import ADMIN_KEY, ORG_ADMIN_KEY, ROOT, SandboxProcess, run_cli

pytestmark = pytest.mark.e2e

PAGE = (ROOT / "docs" / "policy.md").read_text()
BLOCKS = re.findall(r"```yaml\n(.*?)```", PAGE, re.S)
RULES = next(b for b in BLOCKS if "rules:" in b and "spend-ceiling" in b)
EXAMPLES = [b for b in BLOCKS if b.startswith("# caught by: ")]
_MATCHED = re.compile(r"^  (?:needs approval: |DENIED )([a-z0-9-]+):", re.M)


def caught_by(example: str) -> list[str]:
    named = example.splitlines()[0].removeprefix("# caught by: ").split(" (")[0]
    return sorted(n.strip() for n in named.split(","))


def test_every_rule_of_the_docs_has_an_example() -> None:
    rules = re.findall(r"^  - name: ([a-z0-9-]+)$", RULES, re.M)
    assert sorted(rules) == sorted({n for e in EXAMPLES for n in caught_by(e)})


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: "+".join(caught_by(e)))
def test_each_example_is_caught_by_the_rules_it_names_and_no_other(
    sandbox: SandboxProcess, tmp_path: Path, example: str
) -> None:
    research = next(w["id"] for w in sandbox.admin_list("workspaces") if w["name"] == "Research")
    (tmp_path / "policy.yaml").write_text(RULES)
    (tmp_path / "org.yaml").write_text(example.replace("RESEARCH_ID", research))
    if "federation:" in example:
        env = sandbox.federated(sandbox.identity_token())
    elif "anthropic-admin" in example:
        env = {"ANTHROPIC_ADMIN_KEY": ORG_ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url}
    else:
        env = {"CLAUDE_API_KEY": ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url}
    plan = run_cli(
        "plan", str(tmp_path / "org.yaml"), "--policy", str(tmp_path / "policy.yaml"), env=env
    )
    assert plan.exit_code in (0, 1), plan.output
    assert "Policy (" in plan.stdout, plan.output
    assert sorted(_MATCHED.findall(plan.stdout)) == caught_by(example), plan.output
