"""The one JSON Schema validator class reconciler uses, for files and for the
sandbox's request bodies alike: Draft 2020-12 with JSON Schema's own regex
semantics for ``pattern``.

JSON Schema patterns are ECMA-262 regular expressions, where ``$`` is the end of
the text. Python's ``re`` also lets ``$`` match before a final newline, so with
plain ``jsonschema`` the pattern ``^[A-Z_]+$`` accepts ``"KEY\\n"``, which
jsonschema-rs (and every editor) refuses. Here ``$`` means the end, everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError


@cache
def _end_anchored(pattern: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"(?<!\\)\$", r"\\Z", pattern))


def _pattern(validator: Any, wanted: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _end_anchored(wanted).search(instance):
        yield ValidationError(f"{instance!r} does not match {wanted!r}")


FullMatchValidator: Any = validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator, {"pattern": _pattern}
)


def validator_for(schema: Any, **kwargs: Any) -> Draft202012Validator:
    """A validator of ``schema`` (``registry=`` and other options as jsonschema takes)."""
    made: Draft202012Validator = FullMatchValidator(schema, **kwargs)
    return made
