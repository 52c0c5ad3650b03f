"""Fixtures: the organization a fresh sandbox database starts with.

A seed (company, projects, keys, and the Admin API's users, invites, workspaces
and keys) is checked against the contract's own ``Company`` and ``Project``
schemas before anything is written, so a sandbox never serves data the real
API could not have.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from reconciler.sandbox import contract
from reconciler.sandbox.admin_reports import rate_problem
from reconciler.sandbox.resources import RESOURCES
from reconciler.sandbox.store import Store

GENERATED_CREATED_AT = "2024-01-15T10:30:00Z"


class SeedError(Exception):
    """The seed file cannot be used; the message says why."""


def default_seed_text() -> str:
    return resources.files("reconciler").joinpath("examples/sandbox-seed.yaml").read_text()


def parse_seed(text: str, *, source: str) -> dict[str, Any]:
    try:
        data = json.loads(text) if source.endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise SeedError(f"{source}: not valid YAML/JSON: {exc}") from exc
    return seed_from_data(data, source=source)


def seed_from_data(data: Any, *, source: str) -> dict[str, Any]:
    """A checked seed: the company and projects as the contract's schemas allow."""
    if not isinstance(data, dict) or "company" not in data:
        raise SeedError(f"{source}: a seed is a mapping with at least a 'company' entry")
    company = data["company"]
    problem = contract.first_error("Company", company)
    if problem:
        raise SeedError(f"{source}: company: {problem}")
    projects = data.get("projects") or []
    if not isinstance(projects, list):
        raise SeedError(f"{source}: projects is a list of projects")
    for index, project in enumerate(projects):
        problem = contract.first_error("Project", project)
        if problem:
            raise SeedError(f"{source}: projects[{index}]: {problem}")
    ids = [p["id"] for p in projects]
    if len(ids) != len(set(ids)):
        raise SeedError(f"{source}: project ids must be unique")
    usage = data.get("usage") or {}
    counts = (
        [usage.get(n, 0) for n in ("tokens_used", "api_calls")] if isinstance(usage, dict) else []
    )
    if not counts or not all(
        isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts
    ):
        raise SeedError(f"{source}: usage is {{tokens_used: int >= 0, api_calls: int >= 0}}")
    keys = data.get("keys") or []
    if not isinstance(keys, list):
        raise SeedError(f"{source}: keys is a list")
    for key in keys:
        if (
            not isinstance(key, dict)
            or not isinstance(key.get("key"), str)
            or not isinstance(key.get("scopes"), list)
        ):
            raise SeedError(f"{source}: each key is {{key: str, scopes: [str, ...]}}")
    return {
        "company": company,
        "usage": {
            "tokens_used": int(usage.get("tokens_used", 0)),
            "api_calls": int(usage.get("api_calls", 0)),
        },
        "projects": projects,
        "keys": [(k["key"], list(k["scopes"])) for k in keys],
        "admin": _admin_section(data.get("admin"), source),
    }


def _admin_section(section: Any, source: str) -> dict[str, Any]:
    """The Admin API's objects: users, invites, workspaces (with members), API keys."""
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise SeedError(f"{source}: admin is a mapping of users, invites, workspaces, api_keys")
    for name in ("users", "invites"):
        for item in section.get(name, []):
            if not isinstance(item, dict) or not isinstance(item.get("email"), str):
                raise SeedError(f"{source}: admin.{name}: each has an email")
    for workspace in section.get("workspaces", []):
        if not isinstance(workspace, dict) or not isinstance(workspace.get("name"), str):
            raise SeedError(f"{source}: admin.workspaces: each has a name")
    for workspace in [*section.get("workspaces", []), section.get("default_workspace") or {}]:
        problem = rate_problem(workspace)
        if problem:
            raise SeedError(f"{source}: admin.workspaces: {problem.rstrip('.')}")
    organization = section.get("organization") or {}
    if not isinstance(organization, dict) or organization.get("type", "console") not in (
        "console",
        "enterprise",
    ):
        raise SeedError(f"{source}: admin.organization.type is console or enterprise")
    spend = section.get("spend_limits") or {}
    if not isinstance(spend, dict) or spend.get("admin_api", True) not in (True, False, "read"):
        raise SeedError(
            f"{source}: admin.spend_limits is a mapping whose admin_api is true, false or read"
        )
    _check_federation(section, source)
    _check_resources(section, source)
    return dict(section)


def _check_resources(section: dict[str, Any], source: str) -> None:
    """What each resource served from a module of its own says of its seed entries."""
    for resource in RESOURCES:
        problem = resource.seed_problem(section.get(resource.name) or [])
        if problem:
            raise SeedError(f"{source}: admin.{resource.name}: {problem}")


def _check_federation(section: dict[str, Any], source: str) -> None:
    """Service accounts, issuers and rules, shaped as the Admin API has them, and each
    rule pointing at an issuer and a service account the seed holds."""
    accounts = section.get("service_accounts") or []
    if not isinstance(accounts, list) or not all(
        isinstance(a, dict)
        and isinstance(a.get("name"), str)
        and a.get("organization_role", "developer") in ("admin", "developer")
        for a in accounts
    ):
        raise SeedError(
            f"{source}: admin.service_accounts: each has a name and an organization_role "
            "of admin or developer"
        )
    federation = section.get("federation") or {}
    issuers = federation.get("issuers") or [] if isinstance(federation, dict) else None
    rules = federation.get("rules") or [] if isinstance(federation, dict) else None
    if not isinstance(issuers, list) or not all(
        isinstance(i, dict) and isinstance(i.get("issuer_url"), str) for i in issuers
    ):
        raise SeedError(f"{source}: admin.federation.issuers: each has an issuer_url")
    issuer_ids = {i.get("id") for i in issuers}
    account_ids = {a.get("id") for a in accounts}
    if not isinstance(rules, list):
        raise SeedError(f"{source}: admin.federation.rules is a list")
    for rule in rules:
        target = rule.get("target") if isinstance(rule, dict) else None
        if (
            not isinstance(rule, dict)
            or rule.get("issuer_id") not in issuer_ids
            or not isinstance(target, dict)
            or target.get("service_account_id") not in account_ids
            or not isinstance(rule.get("match", {}), dict)
        ):
            raise SeedError(
                f"{source}: admin.federation.rules: each names an issuer_id and a "
                "target.service_account_id of this seed, and its match is a mapping"
            )


def generated_projects(count: int, *, taken: set[str]) -> list[dict[str, Any]]:
    """``proj_00001``… for benchmarks: plain projects that inherit everything."""
    width = max(5, len(str(count)))
    projects = []
    for n in range(1, count + 1):
        project_id = f"proj_{n:0{width}d}"
        if project_id in taken:
            continue
        projects.append(
            {
                "id": project_id,
                "name": f"Project {n:0{width}d}",
                "description": "",
                "billing_email": None,
                "usage_limit": None,
                "created_at": GENERATED_CREATED_AT,
            }
        )
    return projects


def seed_store(
    store: Store, *, seed_file: Path | None, generate_projects: int = 0
) -> list[tuple[str, list[str]]] | None:
    """Load the seed into an empty database; a database with data is left as it is.

    Returns the keys loaded with their scopes (the sandbox shows them on start), or
    None when the database was kept: restarting on the same ``--db`` keeps every
    change made through the API.
    """
    if not store.is_empty():
        return None
    if seed_file is None:
        seed = parse_seed(default_seed_text(), source="examples/sandbox-seed.yaml")
    else:
        try:
            text = seed_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SeedError(f"cannot read seed file {seed_file}: {exc}") from exc
        seed = parse_seed(text, source=str(seed_file))
    projects = list(seed["projects"])
    projects += generated_projects(generate_projects, taken={p["id"] for p in projects})
    store.load(
        company=seed["company"],
        usage=seed["usage"],
        projects=projects,
        keys=seed["keys"],
        admin=seed["admin"],
    )
    keys: list[tuple[str, list[str]]] = seed["keys"]
    return keys
