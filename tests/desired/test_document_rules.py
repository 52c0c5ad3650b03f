"""Reading a file, rule by rule: what it pins and asks for (where the key goes, which
variable holds it, the organization, pruning) and where each thing is written; the
YAML traps named in plain words at their places. Each test fails when its rule is
mutated."""

from __future__ import annotations

import hashlib

import pytest

from reconciler.core.errors import ConfigError
from reconciler.desired import document

FILE = b"""\
version: 1
api:
  base_url: http://127.0.0.1:8080
  api_key_env: TEAM_ADMIN_KEY
organization:
  id: org_123
company:
  name: A
projects:
  proj_1:
    name: x
"""


def test_a_file_says_what_it_pins_and_where_each_resource_is_written() -> None:
    found = document.from_bytes(FILE, "org.yaml")
    assert found.source == "org.yaml"
    assert found.digest == hashlib.sha256(FILE).hexdigest()
    assert found.base_url == "http://127.0.0.1:8080"
    assert found.api_key_env == "TEAM_ADMIN_KEY"
    assert found.organization == "org_123"
    assert found.provider == "company"
    assert dict(found.resources) == {"company": {"name": "A"}, "project.proj_1": {"name": "x"}}
    assert dict(found.positions) == {"company": (7, 1), "project.proj_1": (10, 3)}


def test_a_file_without_api_or_pin_asks_for_nothing() -> None:
    found = document.from_bytes(b"version: 1\ncompany: {name: A}\n", "org.yaml")
    assert (found.base_url, found.api_key_env, found.organization) == (None, None, None)


def test_an_admin_file_prunes_where_it_says() -> None:
    text = b"version: 1\nprovider: anthropic-admin\nusers:\n  prune: true\n  ada@x.io: user\n"
    found = document.from_bytes(text, "admin.yaml")
    assert found.provider == "anthropic-admin"
    assert found.prune


@pytest.mark.parametrize(
    ("text", "told"),
    [
        (
            "version: 1\ncompany:\n\tname: A\n",
            "org.yaml:3:1: tabs are not allowed in YAML indentation; indent with spaces",
        ),
        (
            "version: 1\n---\nversion: 1\n",
            "org.yaml:2:1: the file holds more than one YAML document (---); keep one "
            "organization per file",
        ),
        (
            "version: 1\ncompany: {name: A\n",
            "org.yaml:3:1: invalid YAML: while parsing a flow mapping did not find expected "
            "',' or '}'",
        ),
        (
            "version: 1\ncompany:\n  name: A\n bad: x\n",
            "org.yaml:4:2: invalid YAML: while parsing a block mapping did not find expected key",
        ),
        ("", "org.yaml:1:1: the file is empty; a reconciler file starts with 'version: 1'"),
        (
            "# nothing\n",
            "org.yaml:1:1: the file is empty; a reconciler file starts with 'version: 1'",
        ),
        (
            'version: 1\ncompany:\n  name: "A\\u0007B\\nC"\n',
            "org.yaml:3:9: company.name: 'A\\u0007B\\u000aC' holds a control character (U+0007, "
            "U+000A: a line break, tab or terminal code); remove it",
        ),
    ],
)
def test_a_yaml_trap_is_named_at_its_place(text: str, told: str) -> None:
    with pytest.raises(ConfigError) as caught:
        document.from_bytes(text.encode(), "org.yaml")
    assert [str(p) for p in caught.value.problems] == [told]


@pytest.mark.parametrize(
    ("written", "form"),
    [
        ("0755", "octal"),
        ("-0755", "octal"),
        ("1:30", "sexagesimal"),
        ("0x10", "hexadecimal"),
        ("-0x10", "hexadecimal"),
        ("0b101", "binary"),
        ("1_000", "underscore-grouped"),
    ],
)
def test_a_yaml_11_number_is_named_for_what_it_is(written: str, form: str) -> None:
    with pytest.raises(ConfigError) as caught:
        document.from_bytes(
            f"version: 1\ncompany:\n  usage_limit: {written}\n".encode(), "org.yaml"
        )
    assert [str(p) for p in caught.value.problems] == [
        f"org.yaml:3:16: company.usage_limit: '{written}' is a YAML 1.1 {form} number; write "
        "the number in plain decimal digits, or quote it for text"
    ]


def test_plain_numbers_and_quoted_text_are_not_traps() -> None:
    found = document.from_bytes(b"version: 1\ncompany:\n  usage_limit: 755\n  name: '0755'\n", "o")
    assert dict(found.resources["company"]) == {"usage_limit": 755, "name": "0755"}


def test_composing_an_empty_file_says_it_is_empty() -> None:
    with pytest.raises(ConfigError) as caught:
        document.compose(b"", "org.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "org.yaml:1:1: the file is empty; a reconciler file starts with 'version: 1'"
    ]
    with pytest.raises(ConfigError) as broken:
        document.compose(b"a: [\n", "org.yaml")
    assert str(broken.value.problems[0]).startswith("org.yaml:2:1: invalid YAML")
    assert document.compose(b"version: 1\n", "org.yaml").value[0][0].value == "version"
