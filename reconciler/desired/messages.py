"""Schema problems as sentences a person acts on: "did you mean", read-only,
look-alike characters named, invisible whitespace shown, nullable types spelled
out, values shown as JSON (and never a value that looks like a key)."""

from __future__ import annotations

import difflib
import json
from typing import TYPE_CHECKING, Any

from reconciler.core.escape import visible

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError


def unknown_key(key: str, known: list[str]) -> str:
    allowed = [k for k in known if k not in ("id", "created_at")]
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'?" if close else f"expected one of: {', '.join(allowed)}"
    return f"unknown key '{key}'{lookalikes(key)}; {hint}"


def lookalikes(text: str) -> str:
    """Name the characters that only look like ASCII (a Cyrillic U+0456 'i' in a key)."""
    odd = sorted({c for c in text if not c.isascii()})
    if not odd:
        return ""
    return " (it contains " + ", ".join(f"'{c}' U+{ord(c):04X}" for c in odd) + ")"


TYPE_NAMES = {
    "string": "text",
    "integer": "a whole number",
    "object": "a mapping",
    "null": "null",
    "array": "a list",
    "number": "a number",
    "boolean": "true or false",
}


def schema_at(error: ValidationError) -> dict[str, Any]:
    """The (sub)schema an error is about; a boolean schema has no keywords."""
    return error.schema if isinstance(error.schema, dict) else {}


def alternatives_message(error: ValidationError) -> str:
    """For 'a number or null': the branch that nearly fit says what is wrong, and
    when no branch fit by type, the message lists the types that would."""
    assert error.context is not None
    near = [e for e in error.context if e.validator != "type"]
    if near:
        from jsonschema.exceptions import best_match

        return message_for(best_match(near))
    types: list[str] = []
    for branch in error.context:
        expected: Any = branch.validator_value
        types += [expected] if isinstance(expected, str) else list(expected)
    shown = display(error.instance)
    return f"{shown} is not {' or '.join(TYPE_NAMES.get(t, t) for t in dict.fromkeys(types))}"


def _kind(value: Any) -> str:
    """What a YAML document is, by type (its text is not shown)."""
    kinds = {str: "string", bool: "boolean", int: "integer", float: "number", list: "array"}
    name = next((n for t, n in kinds.items() if isinstance(value, t)), "")
    return TYPE_NAMES.get(name, "a value of another kind")


def display(value: Any) -> str:
    if isinstance(value, str) and value.startswith("sk-"):
        return "(a value that looks like an API key; not shown)"
    shown = json.dumps(value, ensure_ascii=False, default=str)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return visible(shown)


def message_for(error: ValidationError) -> str:
    shown = display(error.instance)
    schema_ = schema_at(error)
    expected: Any = error.validator_value
    if error.validator == "type" and not error.path and error.instance is None:
        return (
            "the file holds only null; a reconciler file is a mapping that starts with 'version: 1'"
        )
    if error.validator == "type" and not error.path:
        # Named by its type, never its text: a file that is not a reconciler file (a link
        # to a credentials file, say) must not reach a terminal or a CI annotation.
        return (
            f"the file holds {_kind(error.instance)}, not a mapping; a reconciler file is a "
            "mapping that starts with 'version: 1'"
        )
    if error.validator == "type":
        names = [expected] if isinstance(expected, str) else list(expected)
        return f"{shown} is not {' or '.join(TYPE_NAMES.get(n, n) for n in names)}"
    if error.validator == "pattern" and schema_.get("format") == "email":
        return f"{shown} is not a valid email address"
    if error.validator == "pattern" and "description" in schema_:
        return f"{shown} is not valid here: {schema_['description']}"
    if error.validator == "minLength" and expected == 1:
        return "must not be empty"
    if error.validator == "const":
        return f"{shown} is not supported; this must be {json.dumps(expected)}"
    if error.validator == "enum":
        options = ", ".join(json.dumps(v) for v in expected)
        refused = schema_.get("x-refused", {})  # a schema's own word on a value it refuses
        if isinstance(error.instance, str) and error.instance in refused:
            return f"{shown} {refused[error.instance]}; use one of {options}"
        return f"{shown} is not one of {options}"
    if error.validator == "required":
        return error.message.replace("'", "") + " (add it)"
    return error.message
