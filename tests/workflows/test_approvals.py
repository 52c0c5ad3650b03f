"""The apply workflow's approval step (``.github/scripts/approvals.cjs``) under Node,
as actions/github-script runs it, against a mocked GitHub client: only approvals of
the merged head commit count, never the author's, never a bot's, and a reviewer's last
word wins (a later request for changes or a dismissal withdraws an approval), and
nobody who wrote or committed one of its commits approves their own push."""

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
        "commits": {"7": [{"author": {"login": "author"}, "committer": {"login": "web-flow"}}]},
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
    assert found == {"approved-by": "finance-lead,ops"}


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
    assert found == {"approved-by": ""}


def test_an_owner_who_pushed_a_commit_of_the_pull_request_cannot_approve_it(
    tmp_path: Path,
) -> None:
    """The finance lead pushes the raise on top of the author's commit, then approves
    the head: that approval is of their own push, and does not count; another
    reviewer's does. A committer counts as a pusher too, without case."""
    commits = {
        "7": [
            {"author": {"login": "author"}, "committer": {"login": "web-flow"}},
            {"author": {"login": "Finance-Lead"}, "committer": {"login": "Finance-Lead"}},
            {"author": {"login": "someone"}, "committer": {"login": "ops"}},
        ]
    }
    found = outputs(
        tmp_path,
        [review("finance-lead", "APPROVED"), review("ops", "APPROVED"), review("cfo", "APPROVED")],
        commits=commits,
    )
    assert found["approved-by"] == "cfo"


def test_past_githubs_250_commits_no_approval_counts(tmp_path: Path) -> None:
    many = {"7": [{"author": {"login": "author"}, "committer": None}] * 250}
    found = outputs(tmp_path, [review("finance-lead", "APPROVED")], commits=many)
    assert found["approved-by"] == ""
