"""The field diff: which managed fields differ. A scalar field is strict about
types (1, 1.0 and True are not the same value); a field holding a list or a
mapping differs as deepdiff finds it."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.core.fielddiff import differing
from reconciler.core.model import FieldChange

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.sampled_from([0.0, 1.0, 2.5])
    | st.text(max_size=2)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("ab"), inner, max_size=2)
    ),
    max_leaves=6,
)


def same(a: Any, b: Any) -> bool:
    """The same value: scalars of one type and equal; lists and mappings as deepdiff,
    the library chosen for them, finds them (it tells 1 from 1.0 in a mapping, not
    True from 1 in every place)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict | list):
        from deepdiff import DeepDiff

        return not DeepDiff(a, b)
    return bool(a == b)


@given(st.dictionaries(st.sampled_from(["x", "y", "z"]), st.tuples(VALUES, VALUES), min_size=1))
def test_a_field_differs_exactly_when_its_values_are_not_the_same(
    fields: dict[str, tuple[Any, Any]],
) -> None:
    now = {name: pair[0] for name, pair in fields.items()}
    want = {name: pair[1] for name, pair in fields.items()}
    expected = {n: FieldChange(a, b) for n, (a, b) in sorted(fields.items()) if not same(a, b)}
    found = differing({"project.p": (now, want)})
    assert found == ({"project.p": expected} if expected else {})


@pytest.mark.parametrize(
    ("live", "wanted"),
    [(1, 1.0), (1, True), (0, False), (None, 0), ("1", 1), ([1], {"1": 1}), ([], None)],
)
def test_one_and_one_point_zero_and_true_are_not_the_same_value(live: Any, wanted: Any) -> None:
    found = differing({"company": ({"n": live, "same": "x"}, {"n": wanted, "same": "x"})})
    assert found == {"company": {"n": FieldChange(live, wanted)}}


def test_resources_that_match_are_left_out() -> None:
    pairs = {
        "project.a": ({"limit": 5, "tags": [1, 2]}, {"limit": 5, "tags": [1, 2]}),
        "project.b": ({"limit": 5, "tags": [1, 2]}, {"limit": 6, "tags": [2, 1]}),
    }
    assert differing(pairs) == {
        "project.b": {"limit": FieldChange(5, 6), "tags": FieldChange([1, 2], [2, 1])}
    }
