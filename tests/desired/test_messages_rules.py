"""Schema problems as the sentences a person acts on, through the real schemas: did
you mean, look-alike characters named, a key-like value never shown, long values cut,
types in words, emails, empty text, constants, choices and a schema's own refusal,
required keys. Each test fails when its rule is mutated."""

from __future__ import annotations

import pytest

from reconciler.core.errors import ConfigError
from reconciler.desired import document

ADMIN = "version: 1\nprovider: anthropic-admin\n"


@pytest.mark.parametrize(
    ("text", "told"),
    [
        (
            "version: 1\ncompnay: {name: A}\n",
            "org.yaml:2:1: compnay: unknown key 'compnay'; did you mean 'company'?",
        ),
        (
            "version: 1\ncompany: {zzz: 1}\n",
            "org.yaml:2:11: company.zzz: unknown key 'zzz'; expected one of: name, "
            "billing_email, plan, usage_limit",
        ),
        (
            "version: 1\ncompany: {n\u0430me: A}\n",
            "org.yaml:2:11: company.n\u0430me: unknown key 'n\u0430me' (it contains '\u0430' "
            "U+0430); did you mean 'name'?",
        ),
        ("version: 1\ncompany: {name: 5}\n", "org.yaml:2:17: company.name: 5 is not text"),
        (
            "version: 1\ncompany: {billing_email: sk-ant-admin01-abc}\n",
            "org.yaml:2:26: company.billing_email: (a value that looks like an API key; not "
            "shown) is not a valid email address",
        ),
        (
            "version: 1\ncompany: {usage_limit: " + "x" * 80 + "}\n",
            'org.yaml:2:24: company.usage_limit: "'
            + "x" * 56
            + "... is not a whole number or null",
        ),
        (
            "version: 1\ncompany: {usage_limit: 1.5}\n",
            "org.yaml:2:24: company.usage_limit: 1.5 is not a whole number or null",
        ),
        (
            "version: 1\ncompany: {usage_limit: -1}\n",
            "org.yaml:2:24: company.usage_limit: -1 is less than the minimum of 0",
        ),
        (
            "null\n",
            "org.yaml:1:1: the file holds only null; a reconciler file is a mapping that starts "
            "with 'version: 1'",
        ),
        (
            "version: 1\ncompany: {billing_email: not an email}\n",
            'org.yaml:2:26: company.billing_email: "not an email" is not a valid email address',
        ),
        ("version: 1\ncompany: {name: ''}\n", "org.yaml:2:17: company.name: must not be empty"),
        ("version: 2\n", "org.yaml:1:10: version: 2 is not supported; this must be 1"),
        (
            "version: 1\ncompany: {plan: gold}\n",
            'org.yaml:2:17: company.plan: "gold" is not one of "build", "team", "scale", '
            '"enterprise"',
        ),
        (
            ADMIN + "users: {ada@x.io: owner}\n",
            'org.yaml:3:19: users.ada@x.io: "owner" is not one of "user", "developer", '
            '"billing", "claude_code_user", "admin"',
        ),
        (
            "version: 1\norganization: {}\n",
            "org.yaml:2:15: organization: id is a required property (add it)",
        ),
        (
            'version: 1\ncompany: {name: "Ünïcode ✓", usage_limit: [1]}\n',
            "org.yaml:2:43: company.usage_limit: [1] is not a whole number or null",
        ),
    ],
)
def test_a_schema_problem_is_a_sentence_at_its_place(text: str, told: str) -> None:
    with pytest.raises(ConfigError) as caught:
        document.from_bytes(text.encode(), "org.yaml")
    assert [str(p) for p in caught.value.problems] == [told]
