"""The policy in CI, as the apply and drift workflows run it: their steps under bash,
with real git repositories (a bare remote, a shallow checkout as actions/checkout
makes one) and the installed CLI against a sandbox process.

The policy in force is the default branch's before the push, fetched explicitly: a
rebase merge whose first commit deletes the policy is judged by the policy it
deletes, and the push's edit of the policy file (``git diff``, paths normalised)
asks the policy's owners. No policy before the push fails closed, unless the
operator bootstraps. At night, an ended hold the policy wants an owner for stays
drift."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.sandbox import ADMIN_KEY, ROOT, SandboxProcess, run_installed
from tests.workflows.test_steps import inputs, run_step, step

pytestmark = pytest.mark.e2e

POLICY = """\
version: 1
owners: [policy-admin]
rules:
  - name: big-usage-limit
    when: 'change.address == "company" && "usage_limit" in change.after
      && change.after.usage_limit > 1500000'
    effect: require_approval
    owners: [finance-lead]
    message: Raising the usage limit past 1.5M tokens needs finance.
"""
ORG = "version: 1\ncompany:\n  usage_limit: {limit}\n"
ZEROS = "0" * 40


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


class Repository:
    """A default branch on a bare remote, pushed to from a working copy."""

    def __init__(self, root: Path) -> None:
        self.remote, self.work = root / "remote.git", root / "work"
        git(root, "init", "--quiet", "--bare", str(self.remote))
        git(root, "init", "--quiet", "-b", "main", str(self.work))
        git(self.work, "remote", "add", "origin", self.remote.as_uri())

    def commit(self, message: str, **files: str | None) -> str:
        for name, text in files.items():
            path = self.work / name.replace("__", ".")
            if text is None:
                git(self.work, "rm", "--quiet", path.name)
            else:
                path.write_text(text)
                git(self.work, "add", path.name)
        git(self.work, "commit", "--quiet", "--allow-empty", "-m", message)
        git(self.work, "push", "--quiet", "origin", "main")
        return git(self.work, "rev-parse", "HEAD")

    def checkout(self, into: Path) -> Path:
        """The default branch as actions/checkout leaves it: one commit deep, with
        reconciler's source beside it."""
        source = self.remote.as_uri()
        git(into.parent, "clone", "-q", "--depth", "1", "-b", "main", source, str(into))
        (into / ".reconciler-source").symlink_to(ROOT)
        return into


def policy_step(checkout: Path, temp: Path, **env: str) -> subprocess.CompletedProcess[str]:
    found = step("reconciler-apply.yml", "The policy in force before this push")
    return run_step(found, checkout, RUNNER_TEMP=str(temp), GITHUB_OUTPUT=str(temp / "out"), **env)


@pytest.fixture
def temp(tmp_path: Path) -> Path:
    (tmp_path / "temp").mkdir()
    return tmp_path / "temp"


def test_a_rebase_merge_is_judged_by_the_policy_from_before_the_push(
    sandbox: SandboxProcess, tmp_path: Path, temp: Path
) -> None:
    """Two commits rebased onto main: the first deletes the policy, the second raises
    the usage limit. The policy before the push judges both, and its owners and
    finance are asked; nothing is written until they approve."""
    repo = Repository(tmp_path)
    before = repo.commit("policy", policy__yaml=POLICY, org__yaml=ORG.format(limit=1000000))
    repo.commit("weaken", policy__yaml=None)
    after = repo.commit("raise", org__yaml=ORG.format(limit=5000000))
    checkout = repo.checkout(tmp_path / "checkout")
    with pytest.raises(subprocess.CalledProcessError):
        git(checkout, "cat-file", "-e", f"{before}^{{commit}}")  # not in the checkout
    found = policy_step(checkout, temp, POLICY="policy.yaml", BEFORE=before, SHA=after)
    assert found.returncode == 0, found.stdout + found.stderr
    assert (temp / "policy.yaml").read_text() == POLICY
    assert (temp / "out").read_text() == "found=true\nchanged=true\n"
    applied = run_step(
        step("reconciler-apply.yml", "Apply"),
        checkout,
        **inputs(sandbox, MAX_CHANGES="20", REVIEWED="false", FORCE="false"),
        RUNNER_TEMP=str(temp),
        APPROVED_BY="",
        POLICY_CHANGED="true",
    )
    assert applied.returncode == 1
    assert "big-usage-limit (owners: finance-lead)" in applied.stderr
    assert "policy-file (owners: policy-admin)" in applied.stderr
    assert sandbox.writes() == []
    approved = run_step(
        step("reconciler-apply.yml", "Apply"),
        checkout,
        **inputs(sandbox, MAX_CHANGES="20", REVIEWED="false", FORCE="false"),
        RUNNER_TEMP=str(temp),
        APPROVED_BY="finance-lead,policy-admin",
        POLICY_CHANGED="true",
    )
    assert approved.returncode == 0, approved.stderr
    assert sandbox.api("GET", "").json()["usage_limit"] == 5000000


def test_no_policy_before_the_push_fails_closed_unless_the_operator_bootstraps(
    tmp_path: Path, temp: Path
) -> None:
    repo = Repository(tmp_path)
    before = repo.commit("org", org__yaml=ORG.format(limit=1000000))
    after = repo.commit("the first policy", policy__yaml=POLICY)
    checkout = repo.checkout(tmp_path / "checkout")
    for judge in (before, ZEROS, "not-a-commit"):
        refused = policy_step(checkout, temp, POLICY="policy.yaml", BEFORE=judge, SHA=after)
        assert refused.returncode == 1
        assert "so nothing can judge it; nothing was applied" in refused.stdout
        assert "policy-bootstrap: true" in refused.stdout
        assert not (temp / "policy.yaml").exists()
    allowed = policy_step(
        checkout, temp, POLICY="policy.yaml", BEFORE=before, SHA=after, BOOTSTRAP="true"
    )
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert "policy-bootstrap lets this push bring the first policy" in allowed.stdout
    assert not (temp / "policy.yaml").exists()


def test_the_policy_path_is_normalised_and_kept_inside_the_repository(
    tmp_path: Path, temp: Path
) -> None:
    """``./policy.yaml`` and ``rules/../policy.yaml`` are the file the push edits;
    a path out of the repository is refused."""
    repo = Repository(tmp_path)
    before = repo.commit("policy", policy__yaml=POLICY)
    after = repo.commit("weaken", policy__yaml=POLICY.replace("1500000", "9000000"))
    checkout = repo.checkout(tmp_path / "checkout")
    for written in ("./policy.yaml", "rules/../policy.yaml", ".//policy.yaml"):
        (temp / "out").unlink(missing_ok=True)
        found = policy_step(checkout, temp, POLICY=written, BEFORE=before, SHA=after)
        assert found.returncode == 0, found.stdout + found.stderr
        assert (temp / "out").read_text() == "found=true\nchanged=true\n"
    unchanged = repo.commit("nothing of the policy", org__yaml="version: 1\n")
    (temp / "out").unlink()
    assert policy_step(checkout, temp, POLICY="policy.yaml", BEFORE=after, SHA=unchanged)
    assert (temp / "out").read_text() == "found=true\nchanged=false\n"
    for outside in ("../policy.yaml", "/etc/passwd"):
        refused = policy_step(checkout, temp, POLICY=outside, BEFORE=before, SHA=after)
        assert refused.returncode == 1
        assert "policy must be a path inside the repository" in refused.stdout


def test_at_night_an_ended_hold_that_needs_an_owner_stays_drift(
    sandbox: SandboxProcess, tmp_path: Path, temp: Path
) -> None:
    """The hold's ``then`` raises the usage limit from 1M to 5M: the drift job judges
    its apply by the default branch's policy with no approvals, so nothing is written
    and the job reports drift; with the owner's rule gone, it applies."""
    repo = Repository(tmp_path)
    held = (
        "version: 1\ncompany:\n  usage_limit: {value: 1000000, until: 2020-01-31, then: 5000000}\n"
    )
    head = repo.commit("hold", policy__yaml=POLICY, org__yaml=held)
    checkout = repo.checkout(tmp_path / "checkout")
    found = run_step(
        step("reconciler-drift.yml", "The policy in force"),
        checkout,
        POLICY="policy.yaml",
        SHA=head,
        RUNNER_TEMP=str(temp),
        GITHUB_OUTPUT=str(temp / "out"),
    )
    assert found.returncode == 0, found.stdout + found.stderr
    (checkout / "reviewed").mkdir()
    env = {"CLAUDE_API_KEY": ADMIN_KEY, "RECONCILER_BASE_URL": sandbox.url}
    saved = run_installed("plan", "org.yaml", "--out", "reviewed/plan.json", env=env, cwd=checkout)
    assert saved.exit_code == 0, saved.stderr
    ended = step("reconciler-drift.yml", "Apply what ended holds change")
    kept = run_step(ended, checkout, **inputs(sandbox), MAX_CHANGES="20", RUNNER_TEMP=str(temp))
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert "big-usage-limit (owners: finance-lead)" in kept.stdout
    assert "they stay drift, for a person" in kept.stdout
    assert not (checkout / "output.txt").exists()
    assert sandbox.api("GET", "").json()["usage_limit"] == 1000000
    (temp / "policy.yaml").unlink()  # no policy: the reviewed end applies by itself
    done = run_step(ended, checkout, **inputs(sandbox), MAX_CHANGES="20", RUNNER_TEMP=str(temp))
    assert done.returncode == 0, done.stdout + done.stderr
    assert (checkout / "output.txt").read_text() == "applied=true\n"
    assert sandbox.api("GET", "").json()["usage_limit"] == 5000000
