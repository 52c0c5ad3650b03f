"""What adopt and export write is visible text that reads back as the same value: no
character that is not printable reaches the file raw (a right-to-left override would
reorder the rest of the line in a terminal ``git diff``), and nothing is written plain
that YAML 1.1 or 1.2 would read as a number, a boolean or null."""

from __future__ import annotations

import re

import yaml
from hypothesis import given
from hypothesis import strategies as st

from reconciler.desired import yamltext

# The characters an attacker would reach for, among ordinary text.
HOSTILE = (
    "\u202e\u202d\u2066\u2069\u200b\u200d\u2028\u2029\u00a0\u3000\ufeff\u0085\x1b\t\n\r\"'\\:#- "
)
TEXT = st.text(
    alphabet=st.sampled_from(HOSTILE) | st.characters(exclude_categories=("Cs",)), max_size=12
)
LOOKS_TYPED = st.sampled_from(
    [
        "1e3",
        "1E-3",
        "0o17",
        "0x1F",
        "0b101",
        "1_000",
        ".5",
        "+1",
        "-.inf",
        ".NaN",
        "~",
        "null",
        "Null",
        "yes",
        "No",
        "on",
        "OFF",
        "y",
        "N",
        "true",
        "FALSE",
        "2026-12-04",
        "12:30",
    ]
)
# YAML 1.2 core schema's null, boolean and number forms, and YAML 1.1's words: an
# oracle apart from the writer's own list.
YAML12_NUMBER = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")


def typed_elsewhere(text: str) -> bool:
    words = {"null", "true", "false", "yes", "no", "on", "off", "y", "n", "~", ".inf", ".nan"}
    if text.lower().lstrip("+-") in words or YAML12_NUMBER.match(text):
        return True
    try:
        int(text, 0)
    except ValueError:
        return False
    return True


def visible(text: str) -> bool:
    return all(c.isprintable() or c == "\n" for c in text)


@given(TEXT | LOOKS_TYPED)
def test_a_scalar_is_visible_and_reads_back_as_the_same_string(text: str) -> None:
    for style in (None, "'", '"'):
        written = yamltext.scalar(text, style)
        assert visible(written), repr(written)
        assert "\n" not in written
        assert yaml.safe_load(f"k: {written}") == {"k": text}
        if not written.startswith(("'", '"')):
            assert not typed_elsewhere(written), written


@given(st.dictionaries(TEXT | LOOKS_TYPED, st.lists(TEXT | LOOKS_TYPED, max_size=3), max_size=4))
def test_an_exported_document_is_visible_and_reads_back(data: dict[str, list[str]]) -> None:
    written = yamltext.document(data)
    assert visible(written), repr(written)
    assert yaml.safe_load(written) == (data or {})
    for line in written.splitlines():
        plain = line.strip().removeprefix("- ").rstrip(":")
        if plain and plain[0] not in "'\"?:-" and ": " not in line:
            assert not typed_elsewhere(plain), line
