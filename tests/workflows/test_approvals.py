"""The apply workflow's approval step (``.github/scripts/approvals.cjs``) under Node,
as actions/github-script runs it, against a mocked GitHub client: only approvals of
the merged head commit count, never the author's, never a bot's, and a reviewer's last
word wins (a later request for changes or a dismissal withdraws an approval); the
step also says whether the pull request edited the policy file."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.support.sandbox import ROOT

MERGE, HEAD, OLD = "m" * 40, "h" * 40, "o" * 40


def review(login: str, state: str, commit: str = HEAD, kind: str = "User") -> dict[str, Any]:
    return {"user": {"login": login, "type": kind}, "state": state, "commit_id": commit}


def outputs(tmp_path: Path, reviews: list[dict[str, Any]], **extra: Any) -> dict[str, str]:
    node = shutil.which("node")
    assert node, "Node.js runs the approval step's script, as the runner does"
    state = {
        "sha": MERGE,
        "policy_file": "policy.yaml",
        "pulls": [
            {
                "number": 7,
                "merged_at": "2026-12-04T10:00:00Z",
                "merge_commit_sha": MERGE,
                "commits": [MERGE],
                "user": {"login": "author"},
                "head": {"sha": HEAD},
            }
        ],
        "reviews": {"7": reviews},
        "files": {"7": [{"filename": "org.yaml"}]},
        **extra,
    }
    (tmp_path / "state.json").write_text(json.dumps(state))
    done = subprocess.run(
        [
            node,
            str(ROOT / "tests/tools/approvals_harness.cjs"),
            str(ROOT / ".github/scripts/approvals.cjs"),
            str(tmp_path / "state.json"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    found: dict[str, str] = json.loads(done.stdout)
    return found


def test_approvals_of_the_merged_head_by_reviewers_count(tmp_path: Path) -> None:
    found = outputs(tmp_path, [review("finance-lead", "APPROVED"), review("ops", "APPROVED")])
    assert found == {"approved-by": "finance-lead,ops", "policy-changed": "false"}


def test_the_authors_own_approval_and_a_bots_do_not_count(tmp_path: Path) -> None:
    found = outputs(
        tmp_path, [review("author", "APPROVED"), review("helper", "APPROVED", kind="Bot")]
    )
    assert found["approved-by"] == ""


def test_an_approval_of_an_earlier_commit_is_stale(tmp_path: Path) -> None:
    found = outputs(tmp_path, [review("finance-lead", "APPROVED", commit=OLD)])
    assert found["approved-by"] == ""


def test_a_dismissed_or_withdrawn_approval_does_not_count_and_a_comment_keeps_one(
    tmp_path: Path,
) -> None:
    found = outputs(
        tmp_path,
        [
            review("finance-lead", "APPROVED"),
            review("finance-lead", "DISMISSED"),
            review("security", "APPROVED"),
            review("security", "CHANGES_REQUESTED"),
            review("ops", "APPROVED"),
            review("ops", "COMMENTED"),
        ],
    )
    assert found["approved-by"] == "ops"


def test_a_push_no_pull_request_merged_has_no_approvals(tmp_path: Path) -> None:
    found = outputs(tmp_path, [review("finance-lead", "APPROVED")], sha="d" * 40)
    assert found == {"approved-by": "", "policy-changed": "false"}


def test_the_step_says_when_the_pull_request_edits_the_policy_file(tmp_path: Path) -> None:
    renamed = {"7": [{"filename": "rules.yaml", "previous_filename": "policy.yaml"}]}
    assert outputs(tmp_path, [], files=renamed)["policy-changed"] == "true"
    edited = {"7": [{"filename": "org.yaml"}, {"filename": "policy.yaml"}]}
    assert outputs(tmp_path, [], files=edited)["policy-changed"] == "true"
