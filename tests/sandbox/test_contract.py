"""Walk the sandbox against schemas/company-api.openapi.yaml: every documented
response code of every operation is produced, and its body validates."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from starlette.testclient import TestClient

from reconciler.sandbox.conditions import Conditions
from tests.support.sandbox import ADMIN_KEY, CONTROL_KEY, READER_KEY

SPEC_PATH = "reconciler/schemas/company-api.openapi.yaml"
URI = "urn:test:company-api"


def load_spec() -> dict[str, Any]:
    with open(SPEC_PATH, encoding="utf-8") as handle:
        spec: dict[str, Any] = yaml.safe_load(handle)
    return spec


SPEC = load_spec()
REGISTRY: Registry[Any] = Registry().with_resource(
    URI, Resource.from_contents(SPEC, default_specification=DRAFT202012)
)


def operations() -> list[tuple[str, str, str]]:
    found = []
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            for status in operation["responses"]:
                found.append((method.upper(), path, status))
    return found


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


SEED = {
    "company": {
        "id": "org_new",
        "name": "New",
        "billing_email": "a@example.com",
        "plan": "build",
        "usage_limit": None,
        "created_at": "2024-01-01T00:00:00Z",
    }
}


def valid_body(method: str, path: str) -> dict[str, Any]:
    if path.endswith("/reset"):
        return SEED
    if path.endswith("/usage"):
        return {"tokens_used": 1_000}
    if path.endswith("/oidc/token"):
        return {}
    if path.startswith("/_sandbox/"):
        return {"latency_ms": 0}
    return {"name": "Renamed"}


def produce(
    api: TestClient, conditions: Conditions, method: str, path: str, status: str
) -> httpx.Response:
    control = path.startswith("/_sandbox/")
    url = path.replace("{project_id}", "proj_nope" if status == "404" else "proj_1")
    good_key = CONTROL_KEY if control else ADMIN_KEY
    headers = {"x-api-key": good_key}
    kwargs: dict[str, Any] = {}
    if method in ("PATCH", "POST"):
        kwargs["json"] = valid_body(method, path)
    if status == "401":
        headers = {"x-api-key": ""}
    elif status == "403":
        headers = {
            "x-api-key": ADMIN_KEY
            if control
            else (READER_KEY if method == "PATCH" else CONTROL_KEY)
        }
    elif status == "400":
        if method == "POST":
            kwargs["json"] = {"company": {"name": "no id"}}
        elif method == "PATCH":
            kwargs["json"] = (
                {"tokens_used": -1}
                if path.endswith("/usage")
                else {"fault_rate": 2}
                if control
                else {"plan": "gold"}
            )
        else:
            kwargs["params"] = {"limit": 0}
    elif status == "304":
        headers["if-none-match"] = api.request(method, url, headers=headers).headers["etag"]
    elif status == "412":
        headers["if-match"] = '"not-the-current-etag"'
    elif status == "413":
        kwargs = {
            "content": b'{"name": "' + b"x" * (1024 * 1024 + 10) + b'"}',
            "headers": {"content-type": "application/json"},
        }
    elif status == "429":
        conditions.update({"rate_limit": 1})
        api.request(method, url, headers=headers, **kwargs)
    elif status in ("500", "529"):
        conditions.update({"fault_rate": 1.0, "fault_kinds": [status]})
    kwargs["headers"] = {**headers, **kwargs.get("headers", {})}
    try:
        return api.request(method, url, **kwargs)
    finally:
        conditions.update({"rate_limit": 0, "fault_rate": 0.0})


@pytest.mark.parametrize(("method", "path", "status"), operations())
def test_every_documented_response_is_produced_and_valid(
    api: TestClient, conditions: Conditions, method: str, path: str, status: str
) -> None:
    response = produce(api, conditions, method, path, status)
    assert response.status_code == int(status), response.text
    documented = resolve(SPEC["paths"][path][method.lower()]["responses"][status])
    for header in documented.get("headers", {}):
        assert header.lower() in response.headers
    content = documented.get("content")
    if content is None:
        assert response.content == b""
        return
    schema = content["application/json"]["schema"]
    Draft202012Validator({"$ref": URI + schema["$ref"]}, registry=REGISTRY).validate(
        response.json()
    )
    assert "request-id" in response.headers


def test_the_walk_covers_all_operations() -> None:
    """If an operation is added to the contract, the walk above picks it up."""
    assert len(operations()) >= 50
    assert {m for m, _, _ in operations()} == {"GET", "PATCH", "DELETE", "POST"}
