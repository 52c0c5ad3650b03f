"""A server that answers nonsense: each case ends in one clear sentence, bounded
in time (short --timeout, bounded retries and pages), never a traceback, and
never a write based on what it said."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import figures
from tests.support.hostile import Hostile, hostile_server
from tests.support.sandbox import Run, run_cli

pytestmark = pytest.mark.e2e
KEY = "sk-ant-admin01-HOSTILE-CANARY-0123456789"


@pytest.fixture(scope="module")
def hostile() -> Iterator[tuple[str, Hostile]]:
    with hostile_server() as running:
        yield running


@pytest.fixture
def org(tmp_path: Path) -> Path:
    path = tmp_path / "org.yaml"
    path.write_text("version: 1\ncompany:\n  name: Wanted\n")
    return path


def apply_against(base: str, scenario: str, org: Path, key_variable: str) -> Run:
    """``apply`` against one hostile scenario, with a short timeout; its figures."""
    started = time.perf_counter()
    result = run_cli(
        "--timeout",
        "0.3",
        "apply",
        str(org),
        "--auto-approve",
        "--base-url",
        f"{base}/{scenario}",
        env={key_variable: KEY},
    )
    figures.at_most("slowest hostile-server case (s)", time.perf_counter() - started)
    figures.add("hostile-server cases ending in a clear error")
    return result


def assert_one_clear_error(result: Run, says: str) -> None:
    assert result.exit_code == 1, result.output
    assert says in result.stderr
    assert result.stderr.startswith("Error: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert KEY not in result.output


@pytest.mark.parametrize(
    ("scenario", "says"),
    [
        ("malformed-json", "its answer is not JSON"),
        ("wrong-types", "its answer is not a Company (usage_limit"),
        ("missing-fields", "its answer is not a Company"),
        ("endless-list", "did not end after 1000 pages"),
        ("html", "its answer is not JSON"),
        ("hang", "no answer within 0.3 s"),
        ("redirect", "reconciler does not follow redirects"),
        ("error-without-json", "kept answering 502"),
        ("huge-count", "with a malformed answer: a count past 2^53 ("),
        ("not-finite", "with a malformed answer: a number that is not finite ("),
        ("lone-surrogate", "with a malformed answer: text with a lone surrogate"),
    ],
)
def test_nonsense_is_one_clear_error_and_no_write(
    hostile: tuple[str, Hostile], org: Path, scenario: str, says: str
) -> None:
    base, counter = hostile
    writes_before = counter.calls["PATCH"]
    assert_one_clear_error(apply_against(base, scenario, org, "CLAUDE_API_KEY"), says)
    assert counter.calls["PATCH"] == writes_before


def test_nonsense_after_a_write_is_reported_as_that_resources_failure(
    hostile: tuple[str, Hostile], org: Path
) -> None:
    base, _ = hostile
    result = run_cli(
        "apply",
        str(org),
        "--auto-approve",
        "--base-url",
        f"{base}/nonsense-after-patch",
        env={"CLAUDE_API_KEY": KEY},
    )
    assert result.exit_code == 1
    assert "✗ company: failed" in result.stdout
    assert "is not a Company" in result.stdout
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("scenario", "says"),
    [
        ("malformed-json", "its answer is not the Admin API's"),
        ("wrong-types", "its answer is not the Admin API's"),
        ("html", "received text/html, not JSON"),
        ("hang", "no answer within 0.3 s"),
        ("redirect", "reconciler does not follow redirects"),
        ("error-without-json", "kept answering 502"),
        ("huge-count", "with a malformed answer: a count past 2^53 (9223372036854775808)"),
        ("not-finite", "with a malformed answer: a number that is not finite (NaN)"),
        ("lone-surrogate", "with a malformed answer: text with a lone surrogate"),
    ],
)
def test_nonsense_to_the_admin_provider_is_one_clear_error_and_no_write(
    hostile: tuple[str, Hostile], tmp_path: Path, scenario: str, says: str
) -> None:
    """The same server, through Anthropic's SDK (strict response validation, no
    redirects followed): the SDK's errors become the same one-sentence messages."""
    base, counter = hostile
    org = tmp_path / "admin.yaml"
    org.write_text("version: 1\nprovider: anthropic-admin\nusers:\n  ada@example.com: user\n")
    writes_before = counter.calls["POST"] + counter.calls["DELETE"]
    assert_one_clear_error(apply_against(base, scenario, org, "ANTHROPIC_ADMIN_KEY"), says)
    assert counter.calls["POST"] + counter.calls["DELETE"] == writes_before


@pytest.mark.parametrize(
    ("scenario", "says"),
    [
        ("huge-count", "a count past 2^53 (10000000000000000000… (401 characters))"),
        ("not-finite", "a number that is not finite (Infinity)"),
        ("lone-surrogate", "text with a lone surrogate"),
    ],
)
def test_usage_refuses_an_unbounded_answer_in_one_sentence(
    hostile: tuple[str, Hostile], scenario: str, says: str
) -> None:
    """``usage`` with 10**400 tokens used ended in "Unexpected error (OverflowError)"."""
    base, _ = hostile
    result = run_cli("usage", "--base-url", f"{base}/{scenario}", env={"CLAUDE_API_KEY": KEY})
    assert_one_clear_error(
        result, f"/v1/organizations/company/usage with a malformed answer: {says}"
    )
    figures.add("hostile-server cases ending in a clear error")


def test_adopt_of_a_name_with_a_lone_surrogate_writes_nothing(
    hostile: tuple[str, Hostile], org: Path
) -> None:
    """It crashed the nightly adoption; now it is one sentence and the file is kept."""
    base, _ = hostile
    before = org.read_bytes()
    result = run_cli(
        "adopt", str(org), "--base-url", f"{base}/lone-surrogate", env={"CLAUDE_API_KEY": KEY}
    )
    assert_one_clear_error(result, "text with a lone surrogate (half of a character)")
    assert org.read_bytes() == before
