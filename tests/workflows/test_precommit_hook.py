"""The pre-commit hook runs ``reconciler validate`` on the files pre-commit passes it."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from tests.support.sandbox import DATA, run_installed

HOOKS = yaml.safe_load(Path(".pre-commit-hooks.yaml").read_text())


def test_the_hook_is_reconciler_validate_on_yaml_files() -> None:
    (hook,) = HOOKS
    assert hook["id"] == "reconciler-validate"
    assert hook["language"] == "python"
    assert re.search(hook["files"], "orgs/acme.yaml")
    assert re.search(hook["files"], "infra/org.yml")
    assert not re.search(hook["files"], ".github/workflows/ci.yml")


def test_the_hook_entry_passes_good_files_and_fails_bad_ones() -> None:
    (hook,) = HOOKS
    command = shlex.split(hook["entry"])
    assert command[0] == "reconciler"
    good = run_installed(*command[1:], "reconciler/examples/org.yaml")
    assert good.exit_code == 0, good.output
    bad = run_installed(
        *command[1:], "reconciler/examples/org.yaml", str(DATA / "bad" / "tabs.yaml")
    )
    assert bad.exit_code == 1
    assert "tabs.yaml:3:1" in bad.stderr
