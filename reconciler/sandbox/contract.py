"""The contract file, loaded: request bodies are checked against the very
schemas the OpenAPI document publishes, so the sandbox cannot drift from it."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

_URI = "urn:reconciler:company-api"


@cache
def openapi() -> dict[str, Any]:
    text = resources.files("reconciler").joinpath("schemas/company-api.openapi.yaml").read_text()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: 10x faster
    document: dict[str, Any] = yaml.load(text, Loader=loader)
    return document


@cache
def validator(component: str) -> Draft202012Validator:
    """A validator for ``#/components/schemas/<component>``, its $refs resolved in the document."""
    registry: Registry[Any] = Registry().with_resource(
        _URI, Resource.from_contents(openapi(), default_specification=DRAFT202012)
    )
    return Draft202012Validator(
        {"$ref": f"{_URI}#/components/schemas/{component}"}, registry=registry
    )


def properties(component: str) -> dict[str, Any]:
    props: dict[str, Any] = openapi()["components"]["schemas"][component]["properties"]
    return props


def first_error(component: str, instance: Any) -> str | None:
    """The most relevant problem with ``instance``, as ``field: message``, or None."""
    error: ValidationError | None = best_match(validator(component).iter_errors(instance))
    if error is None:
        return None
    where = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "pattern" and where.endswith("email"):
        return f"{where}: {error.instance!r} is not a valid email address"
    return f"{where}: {error.message}" if where else error.message
