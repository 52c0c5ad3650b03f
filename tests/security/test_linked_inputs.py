"""Inputs are the repository's own files: a desired-state file or a saved plan that is
a symbolic link (which a pull request can commit), or that is reached through a linked
directory out of the directory it was named in, is refused before it is read, and a
file that is not a reconciler file is named by its type, never by its text."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.sandbox import run_cli

pytestmark = pytest.mark.e2e
TOKEN = "ghp_CANARY0123456789abcdefghijklmnop"
CI = {
    "GITHUB_ACTIONS": "true",
    "CLAUDE_API_KEY": "sk-unused",
    "RECONCILER_BASE_URL": "http://127.0.0.1:9",
}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A checkout beside a home directory holding a credentials file."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".git-credentials").write_text(f"https://bot:{TOKEN}@github.com\n")
    (home / "org.yaml").write_text("version: 1\ncompany:\n  name: Elsewhere\n")
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    return checkout


@pytest.mark.parametrize("command", [("validate",), ("plan",), ("apply", "--auto-approve")])
def test_a_linked_desired_state_file_is_refused_before_it_is_read(
    repo: Path, command: tuple[str, ...]
) -> None:
    (repo / "org.yaml").symlink_to(repo.parent / "home" / ".git-credentials")
    done = run_cli(command[0], "org.yaml", *command[1:], env=CI, cwd=repo)
    assert done.exit_code == 1, done.output
    assert done.stderr.startswith("Error: the file org.yaml is a symbolic link;")
    assert TOKEN not in done.output
    assert "Traceback" not in done.output


def test_a_file_reached_through_a_linked_directory_is_refused_and_adopt_writes_nothing(
    repo: Path,
) -> None:
    (repo / "orgs").symlink_to(repo.parent / "home")
    outside = repo.parent / "home" / "org.yaml"
    before = outside.read_bytes()
    for command in (("validate",), ("adopt",)):
        done = run_cli(command[0], "orgs/org.yaml", env=CI, cwd=repo)
        assert done.exit_code == 1, done.output
        assert "is reached through a linked directory that leads out of the directory" in (
            done.stderr
        )
    assert outside.read_bytes() == before


def test_a_linked_saved_plan_is_refused(repo: Path) -> None:
    (repo.parent / "home" / "plan.json").write_text('{"format_version": 1}')
    (repo / "plan.json").symlink_to(repo.parent / "home" / "plan.json")
    done = run_cli("apply", "plan.json", env=CI, cwd=repo)
    assert done.exit_code == 1, done.output
    assert "plan.json is a symbolic link" in done.stderr


def test_a_document_that_is_not_a_mapping_is_named_by_its_type_never_its_text(
    repo: Path,
) -> None:
    (repo / "org.yaml").write_text(f"https://bot:{TOKEN}@github.com\n")
    done = run_cli("validate", "org.yaml", env=CI, cwd=repo)
    assert done.exit_code == 1
    assert "the file holds text, not a mapping" in done.output
    assert TOKEN not in done.output


def test_a_file_named_inside_the_checkout_through_its_own_link_is_read(repo: Path) -> None:
    """A link inside the checkout to a folder of the checkout stays the repository's own
    (this project's examples/ is one)."""
    (repo / "real").mkdir()
    (repo / "real" / "org.yaml").write_text("version: 1\n")
    (repo / "orgs").symlink_to(repo / "real")
    done = run_cli("validate", "orgs/org.yaml", env=CI, cwd=repo)
    assert done.exit_code == 0, done.output


def test_the_dashboards_database_is_never_a_link(repo: Path) -> None:
    victim = repo.parent / "home" / "org.yaml"
    before = victim.read_bytes()
    (repo / "usage.db").symlink_to(victim)
    done = run_cli("usage", "--serve", "--port", "0", "--db", "usage.db", env=CI, cwd=repo)
    assert done.exit_code == 1, done.output
    assert "--db usage.db is a symbolic link; name the file itself. Nothing was sent." in (
        done.stderr
    )
    assert victim.read_bytes() == before
