"""What the sandbox's Admin API accepts in a request body, as the real API does:
each field's type, text lengths, email form, and where null may stand. A value
the real API would refuse is a 400 here, never a stored value that breaks every
later read (a tag that is not text, an email that is not one). Text with a control
character never gets this far (``app.read_json_object`` refuses it), so a
pattern's ``$`` cannot be fooled by a trailing newline here."""

from __future__ import annotations

from functools import cache
from typing import Any

from reconciler.sandbox.admin_limits import LIMITER_TYPES

EMAIL = {"type": "string", "maxLength": 254, "pattern": r"^[^@\s]+@[^@\s]+\.[^@\s]+$"}
TEXT = {"type": "string"}
NAME = {"type": "string", "minLength": 1, "maxLength": 40}
GEOS = {"anyOf": [{"const": "unrestricted"}, {"type": "array", "items": TEXT}]}
RESIDENCY = {
    "type": "object",
    "properties": {
        "workspace_geo": TEXT,
        "default_inference_geo": TEXT,
        "allowed_inference_geos": GEOS,
    },
    "additionalProperties": False,
}
TAG_KEY = {"type": "string", "minLength": 1, "maxLength": 64}
COLOR = {"type": "string", "pattern": "^#[0-9A-Fa-f]{6}$"}
LIMITER_TYPE = {"enum": list(LIMITER_TYPES)}


def _body(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }


BODIES: dict[str, dict[str, Any]] = {
    "invite": _body(
        {"email": EMAIL, "role": TEXT, "rbac_group_ids": {"type": "array", "items": TEXT}},
        ("email", "role"),
    ),
    "user": _body({"role": TEXT}, ("role",)),
    "workspace_create": _body(
        {
            "name": NAME,
            "data_residency": RESIDENCY,
            "tags": {
                "type": "object",
                "propertyNames": TAG_KEY,
                "additionalProperties": {"type": "string", "maxLength": 256},
            },
            "external_key_id": {"type": ["string", "null"]},
            "display_color": {"anyOf": [COLOR, {"type": "null"}]},
        },
        ("name",),
    ),
    "workspace_update": _body(
        {
            "name": NAME,
            "data_residency": RESIDENCY,
            "tags": {
                "type": "object",
                "propertyNames": TAG_KEY,
                "additionalProperties": {"type": ["string", "null"], "maxLength": 256},
            },
            "external_key_id": TEXT,
            "display_color": COLOR,
        }
    ),
    "member_add": _body({"user_id": TEXT, "workspace_role": TEXT}, ("user_id", "workspace_role")),
    "member_update": _body({"workspace_role": TEXT}, ("workspace_role",)),
    "workspace_rate_limit": _body(
        {
            "limits": {
                "type": "array",
                "minItems": 1,
                "items": _body(
                    {
                        "type": LIMITER_TYPE,
                        "value": {"type": ["integer", "null"], "minimum": 0},
                    },
                    ("type", "value"),
                ),
            }
        },
        ("limits",),
    ),
    "spend_limit": _body(
        {
            "amount": {"type": ["string", "null"]},
            "scope": {
                "type": "object",
                "properties": {
                    "type": {"enum": ["organization", "workspace", "user"]},
                    "workspace_id": TEXT,
                    "user_id": TEXT,
                },
                "required": ["type"],
                "additionalProperties": False,
            },
            "period": {"enum": ["daily", "weekly", "monthly"]},
        },
        ("amount", "scope"),
    ),
    "api_key": _body(
        {"name": {"type": "string", "minLength": 1, "maxLength": 500}, "status": TEXT}
    ),
}


@cache
def _validator(kind: str) -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(BODIES[kind])


def first_problem(kind: str, body: Any) -> str | None:
    """The first thing wrong with ``body`` as a ``kind`` request, as ``field: why``."""
    for error in _validator(kind).iter_errors(body):
        where = ".".join(str(p) for p in error.absolute_path) or "body"
        return f"{where}: {error.message}."
    return None
