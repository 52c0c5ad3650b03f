"""Answers are bounded: what Python's json reads but no count or name can be (past
2^53, not finite, a lone surrogate) is refused, naming it; everything else reads as
json.loads reads it, fast path or not."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.net import bounded

IN_BOUNDS = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(IN_BOUNDS)
def test_what_is_in_bounds_reads_as_json_reads_it(value: Any) -> None:
    for raw in (json.dumps(value), json.dumps(value, ensure_ascii=False)):
        encoded = raw.encode("utf-8")
        assert bounded.loads(encoded) == json.loads(encoded)
        assert bounded.problem(encoded) is None


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b'{"n": 9007199254740993}', "a count past 2^53 (9007199254740993)"),
        (b'{"n": -9223372036854775808}', "a count past 2^53 (-9223372036854775808)"),
        (
            b"[1" + b"0" * 400 + b"]",
            "a count past 2^53 (10000000000000000000\u2026 (401 characters))",
        ),
        (b'{"n": 1e400}', "a number too large for a float (1e400)"),
        (b'{"n": NaN}', "a number that is not finite (NaN)"),
        (b'{"n": -Infinity}', "a number that is not finite (-Infinity)"),
        (b'{"name": "a\\ud800b"}', "text with a lone surrogate (half of a character)"),
        (b'{"a\\udfff": 1}', "text with a lone surrogate (half of a character)"),
        (
            '{"name": "a\ud800"}'.encode("utf-8", "surrogatepass"),
            "text with a lone surrogate (half of a character)",
        ),
    ],
)
def test_what_no_count_or_name_can_be_is_refused_naming_it(raw: bytes, why: str) -> None:
    with pytest.raises(bounded.Unbounded) as caught:
        bounded.loads(raw)
    assert str(caught.value) == why
    assert bounded.problem(raw) == why


def test_the_edges_and_pairs_are_fine() -> None:
    assert bounded.loads(b"[9007199254740992, -9007199254740992]") == [2**53, -(2**53)]
    assert bounded.loads(b'["\\ud83d\\ude00"]') == ["\U0001f600"]  # a pair is one character
    assert bounded.loads(b"[1e308, 0.12345678901234567890]") == [1e308, 0.12345678901234567890]


def test_what_is_not_json_is_left_to_the_reader() -> None:
    assert bounded.problem(b"<html>") is None
    with pytest.raises(json.JSONDecodeError):
        bounded.loads(b"<html>")


PAST_2_53 = st.integers(min_value=2**53 + 1, max_value=2**80) | st.integers(
    min_value=-(2**80), max_value=-(2**53) - 1
)


@given(IN_BOUNDS, PAST_2_53, st.sampled_from([None, 0, 2]))
def test_a_count_past_2_53_is_refused_wherever_it_stands(value: Any, big: int, indent: Any) -> None:
    """The fast path looks for number tokens, not for digits in text (an ETag's hex):
    a count out of bounds is found first in a list, after a key, nested, alone."""
    for document in ([big, value], [value, big], {"a": value, "n": big}, [[big]], big):
        raw = json.dumps(document, indent=indent).encode()
        with pytest.raises(bounded.Unbounded):
            bounded.loads(raw)


@pytest.mark.parametrize("spacing", [b"", b" ", b"\n  ", b"\t"])
def test_an_exponent_past_a_float_is_refused_however_spaced(spacing: bytes) -> None:
    for raw in (
        b"[" + spacing + b"1.5e400]",
        b'{"n":' + spacing + b"-2E+999}",
        b"[0," + spacing + b"1e400]",
        spacing + b"1e400",
    ):
        with pytest.raises(bounded.Unbounded):
            bounded.loads(raw)
    assert bounded.loads(b'{"etag": "\\"4917d76d36a2e18443af\\""}') == {
        "etag": '"4917d76d36a2e18443af"'
    }
