"""Every operation of schemas/anthropic-admin.openapi.yaml, called on the sandbox
in-process: each documented response is produced and its body validates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from starlette.testclient import TestClient

SPEC = yaml.safe_load(Path("reconciler/schemas/anthropic-admin.openapi.yaml").read_text())
URI = "urn:test:anthropic-admin"
REGISTRY: Registry[Any] = Registry().with_resource(
    URI, Resource.from_contents(SPEC, default_specification=DRAFT202012)
)
ADMIN = {"authorization": "Bearer sk-ant-admin01-sandbox", "x-api-key": ""}
BASE = "/v1/organizations"
SPEND_READS = {"anthropic-beta": "spend-limit-reads-2026-09-26"}


def ids(api: TestClient) -> dict[str, str]:
    users = {u["email"]: u["id"] for u in api.get(f"{BASE}/users", headers=ADMIN).json()["data"]}
    workspace = api.get(f"{BASE}/workspaces", headers=ADMIN).json()["data"][0]["id"]
    key = api.get(f"{BASE}/api_keys", headers=ADMIN).json()["data"][0]["id"]
    invite = api.get(f"{BASE}/invites", headers=ADMIN).json()["data"][0]["id"]
    rate_limit = api.get(f"{BASE}/rate_limits", headers=ADMIN).json()["data"][0]["id"]
    spend = api.get(f"{BASE}/spend_limits", headers={**ADMIN, **SPEND_READS}).json()["data"]
    return {
        "rate_limit": rate_limit,
        "spend_limit": next(s["id"] for s in spend if s["scope"]["type"] == "organization"),
        "usage_tier": next(s["id"] for s in spend if s["scope"]["type"] == "usage_tier"),
        "admin": users["ada@example.com"],
        "user": users["ben@example.com"],
        "outsider": users["cleo@example.com"],
        "workspace": workspace,
        "key": key,
        "invite": invite,
    }


# (method, path, status, body): {names} are filled from ids() above.
CALLS: list[tuple[str, str, str, Any]] = [
    ("GET", "/me", "200", None),
    ("GET", "/users", "200", None),
    ("GET", "/users?limit=0", "400", None),
    ("GET", "/users/{user}", "200", None),
    ("GET", "/users/user_nope", "404", None),
    ("POST", "/users/{user}", "200", {"role": "billing"}),
    ("POST", "/users/{user}", "400", {"role": "admin"}),
    ("POST", "/users/user_nope", "404", {"role": "user"}),
    ("DELETE", "/users/{outsider}", "200", None),
    ("DELETE", "/users/{admin}", "400", None),
    ("DELETE", "/users/user_nope", "404", None),
    ("GET", "/invites", "200", None),
    ("POST", "/invites", "200", {"email": "x@example.com", "role": "user"}),
    ("POST", "/invites", "400", {"email": "ben@example.com", "role": "user"}),
    ("GET", "/invites/{invite}", "200", None),
    ("GET", "/invites/invite_nope", "404", None),
    ("DELETE", "/invites/{invite}", "200", None),
    ("DELETE", "/invites/invite_nope", "404", None),
    ("GET", "/workspaces", "200", None),
    ("POST", "/workspaces", "200", {"name": "New"}),
    ("POST", "/workspaces", "400", {"name": ""}),
    ("GET", "/workspaces/{workspace}", "200", None),
    ("GET", "/workspaces/wrkspc_nope", "404", None),
    ("POST", "/workspaces/{workspace}", "200", {"name": "Renamed"}),
    ("POST", "/workspaces/{workspace}", "400", {"data_residency": {"workspace_geo": "eu"}}),
    ("POST", "/workspaces/wrkspc_nope", "404", {"name": "x"}),
    ("POST", "/workspaces/{workspace}/archive", "200", None),
    ("POST", "/workspaces/wrkspc_nope/archive", "404", None),
    ("GET", "/workspaces/{workspace}/members", "200", None),
    ("GET", "/workspaces/wrkspc_nope/members", "404", None),
    (
        "POST",
        "/workspaces/{workspace}/members",
        "200",
        {"user_id": "{admin}", "workspace_role": "workspace_user"},
    ),
    (
        "POST",
        "/workspaces/{workspace}/members",
        "400",
        {"user_id": "{admin}", "workspace_role": "workspace_billing"},
    ),
    (
        "POST",
        "/workspaces/wrkspc_nope/members",
        "404",
        {"user_id": "{admin}", "workspace_role": "workspace_user"},
    ),
    ("GET", "/workspaces/{workspace}/members/{user}", "200", None),
    ("GET", "/workspaces/{workspace}/members/user_nope", "404", None),
    (
        "POST",
        "/workspaces/{workspace}/members/{user}",
        "200",
        {"workspace_role": "workspace_admin"},
    ),
    ("POST", "/workspaces/{workspace}/members/{user}", "400", {"workspace_role": "owner"}),
    (
        "POST",
        "/workspaces/{workspace}/members/user_nope",
        "404",
        {"workspace_role": "workspace_user"},
    ),
    ("DELETE", "/workspaces/{workspace}/members/{user}", "200", None),
    ("DELETE", "/workspaces/{workspace}/members/user_nope", "404", None),
    ("GET", "/me", "401", None),
    ("GET", "/me", "403", None),
    ("GET", "/api_keys", "200", None),
    ("GET", "/api_keys/{key}", "200", None),
    ("GET", "/api_keys/apikey_nope", "404", None),
    ("POST", "/api_keys/{key}", "200", {"name": "renamed", "status": "inactive"}),
    ("POST", "/api_keys/{key}", "400", {"status": "deleted"}),
    ("POST", "/api_keys/apikey_nope", "404", {"name": "x"}),
    ("POST", "/workspaces/{workspace}", "200", {"display_color": "#112233"}),
    ("POST", "/workspaces/{workspace}", "400", {"display_color": "purple"}),
    ("POST", "/workspaces/{workspace}", "400", {"external_key_id": "cmk_not_ours"}),
    ("GET", "/rate_limits", "200", None),
    ("GET", "/rate_limits?group_type=planet", "400", None),
    ("GET", "/workspaces/{workspace}/rate_limits", "200", None),
    ("GET", "/workspaces/{workspace}/rate_limits?include_inherited=true&limit=1", "200", None),
    ("GET", "/workspaces/wrkspc_nope/rate_limits", "404", None),
    (
        "POST",
        "/workspaces/{workspace}/rate_limits/{rate_limit}",
        "200",
        {"limits": [{"type": "requests_per_minute", "value": 10}]},
    ),
    (
        "POST",
        "/workspaces/{workspace}/rate_limits/{rate_limit}",
        "400",
        {"limits": [{"type": "tokens_per_day", "value": 10}]},
    ),
    (
        "POST",
        "/workspaces/{workspace}/rate_limits/rl_nope",
        "404",
        {"limits": [{"type": "requests_per_minute", "value": None}]},
    ),
    ("GET", "/spend_limits", "200", None),
    ("GET", "/spend_limits?scope_type=organization", "400", None),  # no beta header
    ("POST", "/spend_limits", "200", {"amount": "1000", "scope": {"type": "organization"}}),
    (
        "POST",
        "/spend_limits",
        "400",
        {"amount": "1000", "scope": {"type": "organization"}, "period": "daily"},
    ),
    (
        "POST",
        "/spend_limits",
        "404",
        {"amount": "1", "scope": {"type": "workspace", "workspace_id": "wrkspc_nope"}},
    ),
    ("GET", "/spend_limits/{spend_limit}", "200", None),
    ("GET", "/spend_limits/spl_nope", "404", None),
    ("DELETE", "/spend_limits/{spend_limit}", "200", None),
    ("DELETE", "/spend_limits/{usage_tier}", "400", None),
    ("DELETE", "/spend_limits/spl_nope", "404", None),
]


def fill(value: Any, known: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**known)
    if isinstance(value, dict):
        return {k: fill(v, known) for k, v in value.items()}
    return value


def spec_path(path: str) -> str:
    """The documented path template a concrete call belongs to."""
    bare = path.split("?")[0]
    for template in SPEC["paths"]:
        parts, want = template.split("/"), (BASE + bare).split("/")
        if len(parts) == len(want) and all(
            p.startswith("{") or p == w for p, w in zip(parts, want, strict=True)
        ):
            return template
    raise AssertionError(f"no documented path for {path}")


@pytest.mark.parametrize(
    ("method", "path", "status", "body"), CALLS, ids=[f"{m} {p} {s}" for m, p, s, _ in CALLS]
)
def test_each_documented_answer_validates(
    api: TestClient, method: str, path: str, status: str, body: Any
) -> None:
    known = ids(api)
    headers = {
        "401": {"authorization": "", "x-api-key": ""},
        "403": {"x-api-key": "sk-sandbox-reader", "authorization": ""},
    }.get(status, ADMIN)
    if path == "/spend_limits" and method == "GET":
        headers = {**headers, **SPEND_READS}
    response = api.request(
        method, BASE + fill(path, known), json=fill(body, known), headers=headers
    )
    assert response.status_code == int(status), response.text
    operation = SPEC["paths"][spec_path(path)][method.lower()]
    documented = operation["responses"].get(status) or SPEC["components"]["responses"]["Error"]
    if "$ref" in documented:
        documented = SPEC["components"]["responses"][documented["$ref"].rsplit("/", 1)[1]]
    schema = documented["content"]["application/json"]["schema"]
    Draft202012Validator({"$ref": URI + schema["$ref"]}, registry=REGISTRY).validate(
        response.json()
    )


def test_every_operation_is_called() -> None:
    called = {(m.lower(), spec_path(p)) for m, p, _, _ in CALLS}
    documented = {(m, p) for p, item in SPEC["paths"].items() for m in item if m != "parameters"}
    assert documented <= called
