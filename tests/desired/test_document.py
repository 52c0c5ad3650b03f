"""Desired-state files: what is accepted, and how every trap is reported."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.core.errors import ConfigError
from reconciler.desired import document
from tests.support import figures
from tests.support.sandbox import DATA

BAD = DATA / "bad"

# file -> (line, column, a fragment of the message): the position a user is sent to.
EXPECTED = {
    "alias-bomb.yaml": (2, 4, "anchors (&a) are not allowed"),
    "anchor.yaml": (2, 10, "anchors (&c) are not allowed"),
    "binary-garbage.yaml": (1, 1, "not UTF-8"),
    "bom.yaml": (1, 1, "byte-order mark"),
    "company-is-a-list.yaml": (2, 10, "is not a mapping"),
    "duplicate-key-company.yaml": (4, 3, "duplicate key 'name' (first at line 3)"),
    "duplicate-key-nested.yaml": (5, 5, "duplicate key 'usage_limit'"),
    "duplicate-key-projects.yaml": (4, 3, "duplicate key 'proj_1'"),
    "duplicate-key-top.yaml": (2, 1, "duplicate key 'version'"),
    "email-with-space.yaml": (3, 18, "not a valid email address"),
    "empty-name.yaml": (3, 9, "must not be empty"),
    "empty.yaml": (1, 1, "the file is empty"),
    "enormous-number.yaml": (3, 16, "greater than the maximum"),
    "invalid-utf8.yaml": (3, 12, "not UTF-8"),
    "key-literal-in-api-key-env.yaml": (3, 16, "NAME of the environment variable"),
    "limit-as-string.yaml": (3, 16, '"1000" is not a whole number or null'),
    "missing-version.yaml": (1, 1, "version is a required property"),
    "negative-limit.yaml": (4, 18, "-3 is less than the minimum of 0"),
    "non-string-key.yaml": (2, 1, "keys must be text"),
    "nul-byte.yaml": (3, 11, "control character (U+0000)"),
    "plan-not-in-enum.yaml": (3, 9, '"gold" is not one of'),
    "project-key-not-an-id.yaml": (3, 3, "is not a project id"),
    "python-tag.yaml": (3, 9, "YAML tags"),
    "read-only-created-at.yaml": (4, 5, "created_at is read-only"),
    "read-only-id.yaml": (3, 3, "id is read-only"),
    "syntax-error.yaml": (4, 1, "invalid YAML"),
    "tabs.yaml": (3, 1, "tabs are not allowed"),
    "two-documents.yaml": (2, 1, "more than one YAML document"),
    "unknown-key-top.yaml": (2, 1, "unknown key 'foo'"),
    "unknown-key-typo.yaml": (3, 3, "did you mean 'billing_email'?"),
    "wrong-version.yaml": (1, 10, "this must be 1"),
    "yaml11-boolean.yaml": (3, 9, "YAML 1.1 boolean"),
    "yaml11-octal.yaml": (3, 16, "YAML 1.1 octal"),
    "yaml11-sexagesimal.yaml": (3, 16, "YAML 1.1 sexagesimal"),
    "utf16-bom.yaml": (1, 1, "byte-order mark"),
    # Column 41 is depth 33; libyaml 0.2.5+ may stop its look-ahead at depth 1,000 first.
    "deep-nesting.yaml": (2, (41, 1009), "nested more than 32 levels deep"),
    "huge-file.yaml": (1, 1, "over the limit of 1048576 bytes"),
    "yaml11-yes.yaml": (4, 18, "'yes' is a YAML 1.1 boolean"),
    "wrong-types-everywhere.yaml": (3, 9, "123 is not text"),
    "projects-is-a-list.yaml": (3, 3, "is not a mapping"),
    "float-limit.yaml": (3, 16, "1.5 is not a whole number or null"),
    "infinity.yaml": (3, 16, "is not a finite number"),
    "unicode-lookalike-key.yaml": (
        3,
        3,
        "(it contains '\u0456' U+0456); did you mean 'billing_email'?",
    ),
    "unicode-lookalike-project.yaml": (3, 3, "(it contains '\u043e' U+043E) is not a project id"),
    "unknown-key-api.yaml": (3, 3, "unknown key 'token'"),
    "only-comments.yaml": (1, 1, "the file is empty"),
    "null-document.yaml": (1, 1, "holds only null"),
    "version-string.yaml": (1, 10, "this must be 1"),
    "merge-key.yaml": (3, 3, "merge keys (<<) are not allowed"),
    "email-no-break-space.yaml": (3, 18, '"a\\u00a0b@example.com" is not a valid email address'),
    "complex-key.yaml": (2, 3, "keys must be text"),
    # Files for the Admin API provider: its own schema, the same positions and care.
    "admin-api-key-not-an-id.yaml": (4, 3, "'key_1' is not an API key id"),
    "admin-bad-geo.yaml": (6, 30, '"eu" is not one of "global", "us"'),
    "admin-company-section.yaml": (3, 1, "unknown key 'projects'"),
    "admin-member-role.yaml": (6, 24, '"workspace_owner" is not one of'),
    "admin-provider-typo.yaml": (
        2,
        11,
        '"anthropic-admn" is not one of "company", "anthropic-admin"',
    ),
    "admin-prune-not-boolean.yaml": (4, 10, "1 is not true or false"),
    "admin-read-only-created-at.yaml": (5, 5, "created_at is read-only"),
    "admin-rate-limit-type.yaml": (7, 9, "'requests_per_hour' is not a limiter type (one of"),
    "admin-rate-limit-negative.yaml": (7, 30, "-1 is less than the minimum of 0"),
    "admin-rate-limit-display-name.yaml": (6, 7, "is not a rate-limit group id, like rlg_"),
    "admin-spend-limit-period.yaml": (4, 3, "a Console organization's limits are monthly"),
    "admin-spend-limit-money-as-text.yaml": (4, 12, '"500.00" is not a whole number or null'),
    "admin-display-color.yaml": (5, 20, "as #RRGGBB"),
    "admin-organization-not-a-mapping.yaml": (3, 15, "is not a mapping"),
    "admin-user-not-an-email.yaml": (4, 3, "'bob' is not an email address"),
    "admin-workspace-name-too-long.yaml": (4, 3, "is not a workspace name of 1 to 40 characters"),
}


def test_every_bad_file_has_an_expectation() -> None:
    assert sorted(p.name for p in BAD.glob("*.yaml")) == sorted(EXPECTED)
    assert len(EXPECTED) >= 40


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_files_are_refused_with_a_position(name: str) -> None:
    line, column, fragment = EXPECTED[name]
    started = time.perf_counter()
    with pytest.raises(ConfigError) as caught:
        document.load(BAD / name)
    figures.at_most("slowest bad file to reject, in process (s)", time.perf_counter() - started)
    figures.add("bad files rejected with file:line:col")
    first = caught.value.problems[0]
    columns = column if isinstance(column, tuple) else (column,)
    assert first.line == line, str(first)
    assert first.column in columns, str(first)
    assert fragment in first.message
    assert str(first).startswith(f"{BAD / name}:{line}:{first.column}: ")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "org.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_all_problems_of_a_file_are_reported_at_once_in_file_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: 1\ncompany:\n  name: no\n  plan: gold\nprojects:\n"
        "  proj_1: {usage_limit: -3, colour: red}\n",
    )
    with pytest.raises(ConfigError) as caught:
        document.load(path)
    assert [(p.line, p.path) for p in caught.value.problems] == [
        (3, "company.name"),
        (4, "company.plan"),
        (6, "projects.proj_1.usage_limit"),
        (6, "projects.proj_1.colour"),
    ]
    assert "4 problems" in caught.value.message


def test_a_valid_file_becomes_addressed_managed_fields(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: 1\napi: {api_key_env: ORG_B_KEY}\ncompany:\n"
        "  usage_limit: 1000000\nprojects:\n  proj_2:\n    billing_email: null\n"
        "  proj_3: {}\n",
    )
    desired = document.load(path)
    assert desired.resources == {
        "company": {"usage_limit": 1_000_000},
        "project.proj_2": {"billing_email": None},
        "project.proj_3": {},
    }
    assert desired.api_key_env == "ORG_B_KEY"
    assert len(desired.digest) == 64


def test_explicit_null_is_a_value_and_absent_is_unmanaged(tmp_path: Path) -> None:
    desired = document.load(write(tmp_path, "version: 1\ncompany:\n  usage_limit: null\n"))
    assert desired.resources["company"] == {"usage_limit": None}
    assert "name" not in desired.resources["company"]


def test_quoted_yaml11_words_are_plain_text(tmp_path: Path) -> None:
    desired = document.load(write(tmp_path, 'version: 1\ncompany:\n  name: "no"\n'))
    assert desired.resources["company"] == {"name": "no"}


def test_files_over_one_mebibyte_are_refused_before_parsing(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\n# " + "x" * (1024 * 1024) + "\n")
    with pytest.raises(ConfigError) as caught:
        document.load(path)
    assert "over the limit" in caught.value.problems[0].message


def test_deep_nesting_is_refused_not_a_crash(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\ncompany: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError):
        document.load(path)


def test_a_key_written_into_the_file_is_never_echoed(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\napi: {api_key_env: sk-ant-admin01-SECRET}\n")
    with pytest.raises(ConfigError) as caught:
        document.load(path)
    assert "SECRET" not in caught.value.message


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        document.load(tmp_path / "nope.yaml")
    assert "cannot read" in caught.value.message


def test_the_shipped_example_is_valid() -> None:
    desired = document.load(Path("reconciler/examples/org.yaml"))
    assert "company" in desired.resources


values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 2**53 + 5),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.sampled_from(["a@b.co", "a b@c.d", "team", "gold", "", "x" * 201]),
    st.lists(st.integers(), max_size=2),
)
fields = st.dictionaries(
    st.sampled_from(
        ["name", "billing_email", "plan", "usage_limit", "description", "id", "colour"]
    ),
    values,
    max_size=4,
)
documents = st.fixed_dictionaries(
    {"version": st.sampled_from([1, 2, "1"])},
    optional={
        "company": fields,
        "projects": st.dictionaries(
            st.sampled_from(["proj_1", "proj_x-2", "bad key"]), fields, max_size=3
        ),
        "api": st.dictionaries(
            st.sampled_from(["base_url", "api_key_env", "token"]),
            st.sampled_from(["https://x.io", "ORG_KEY", "1bad", "sk-x"]),
            max_size=2,
        ),
    },
)


@given(documents)
def test_the_fast_validity_check_agrees_with_the_schema(data: dict) -> None:  # type: ignore[type-arg]
    from reconciler.desired.document import _surely_valid, _validator

    assert _surely_valid(data, "company") == (list(_validator("company").iter_errors(data)) == [])
