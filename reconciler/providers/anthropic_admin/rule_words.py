"""A federation rule reviewed as what it grants: who can sign in (which repository,
branch, environment and workflow), with which scope, as which service account, for
how long, and where; the warnings a reviewer needs (matched by names rather than
immutable ids, a shared issuer without a tenant pin, ``org:admin``); and a sample
identity token's claims checked against a rule, its CEL ``condition`` included, as the
token exchange checks them.

Everything here reads the rule's fields as the file writes them (``surface``), so a
rule is reviewed the same before it exists and after.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.core.escape import visible

# GitHub's claims that name a repository or its owner, and the ids that stay with them.
NAMES = ("repository", "repository_owner")
IDS = ("repository_id", "repository_owner_id")
# Well-known shared issuers (anyone can get a token from them), and the claims that
# say whose tenant a token is from; the API refuses a rule on one that pins none.
SHARED_ISSUERS = {
    "https://token.actions.githubusercontent.com": ("GitHub Actions", (*NAMES, *IDS)),
    "https://gitlab.com": ("GitLab", ("namespace_id", "namespace_path", "project_path")),
    "https://agent.buildkite.com": ("Buildkite", ("organization_slug", "organization_id")),
    "https://app.terraform.io": ("Terraform Cloud", ("terraform_organization_id",)),
    "https://accounts.google.com": ("Google", ("hd", "email")),
}
DEFAULT_AUDIENCE = "https://api.anthropic.com"


def effect(fields: Mapping[str, Any], issuer_url: str | None = None) -> str:
    """The rule in words: "a GitHub Actions job of my-org/app (repository id 1) on
    refs/heads/main can act as service account deploy with workspace:developer for 15
    minutes, in workspaces Research"."""
    match: Mapping[str, Any] = fields.get("match") or {}
    claims: Mapping[str, Any] = match.get("claims") or {}
    platform = SHARED_ISSUERS.get(str(issuer_url or "").rstrip("/"), ("", ()))[0]
    who = f"a {platform} job" if platform else f"a token of issuer {fields.get('issuer')}"
    parts = [who]
    if "repository" in claims or "repository_id" in claims:
        ids = [f"{n.replace('_', ' ')} {claims[n]}" for n in IDS if n in claims]
        named = f"repository {claims['repository']}" if "repository" in claims else "the repository"
        parts.append(f"of {named}" + (f" ({', '.join(ids)})" if ids else ""))
    elif "repository_owner" in claims or "repository_owner_id" in claims:
        parts.append(f"of any repository of {claims.get('repository_owner', 'owner')}")
    for claim, said in (
        ("ref", "on"),
        ("environment", "in environment"),
        ("job_workflow_ref", "running workflow"),
        ("workflow_ref", "running workflow"),
    ):
        if claim in claims:
            parts.append(f"{said} {claims[claim]}")
    if match.get("subject_prefix"):
        parts.append(f"whose subject is {_subject(str(match['subject_prefix']))}")
    others = sorted(set(claims) - {*NAMES, *IDS, "ref", "environment"} - _WORKFLOW)
    if others:
        parts.append("with " + ", ".join(f"{n} {claims[n]}" for n in others))
    if match.get("condition"):
        parts.append(f"when {match['condition']} holds")
    if match.get("audience") and match["audience"] != DEFAULT_AUDIENCE:
        parts.append(f"for audience {match['audience']}")
    where = fields.get("workspaces")
    places = (
        "in every workspace"
        if where == "all"
        else f"in workspace{'s' if len(where or []) != 1 else ''} {', '.join(where or [])}"
        if where
        else ""
    )
    said = (
        f"{' '.join(parts)} can act as service account {fields.get('service_account')} with "
        f"{fields.get('oauth_scope')} for {_duration(fields.get('token_lifetime_seconds'))}"
    )
    return visible(f"{said} {places}".strip())


_WORKFLOW = {"job_workflow_ref", "workflow_ref"}


def _subject(prefix: str) -> str:
    return f"{prefix[:-1]} followed by anything" if prefix.endswith("*") else prefix


def _duration(seconds: Any) -> str:
    if not isinstance(seconds, int):
        return "an hour (the default)"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} hour{'s' if seconds != 3600 else ''}"
    if seconds % 60 == 0:
        return f"{seconds // 60} minutes"
    return f"{seconds} seconds"


def warnings(address: str, fields: Mapping[str, Any], issuer_url: str | None) -> list[str]:
    """What a reviewer must see about a rule: names rather than ids, a shared issuer
    whose tenant it does not pin, pinning that rests on its CEL condition, no pin of a
    branch, event or workflow, and a grant of ``org:admin``.

    A condition is judged by what it admits, not by the claims it names: the rule is
    tried, condition and all, on a token of another owner's job and on one of another
    branch and workflow of the repository it pins (the API takes any condition that
    references an identity claim, ``claims.repository_id == "1" || true`` too)."""
    match: Mapping[str, Any] = fields.get("match") or {}
    claims: Mapping[str, Any] = match.get("claims") or {}
    said = []
    names = names_only(match)
    if names:
        said.append(
            f"{address} matches the repository by name only ({visible(names)}): a name can be "
            "given up and registered again by someone else, whose jobs then match; pin "
            "repository_id and repository_owner_id in its claims"
        )
    shared = SHARED_ISSUERS.get(str(issuer_url or "").rstrip("/"))
    if shared and admits(fields, issuer_url, foreign_job(fields, issuer_url, shared[1])) is None:
        said.append(
            f"{address} is on {shared[0]}'s shared issuer and admits a job of another owner "
            f"(tried: {_FOREIGN_REPOSITORY}, its match and condition included): it does not "
            f"pin the tenant (one of {', '.join(shared[1])}), so any {shared[0]} user could "
            "match it"
        )
    elif shared and match.get("condition") and not any(c in claims for c in shared[1]):
        pins = " and ".join(IDS) if shared[0] == "GitHub Actions" else shared[1][0]
        said.append(
            f"{address} pins its tenant only in its CEL condition, which a later edit can "
            f"loosen without a reviewer seeing it: pin {pins} in its claims too"
        )
    if shared and shared[0] == "GitHub Actions" and any(n in claims for n in (*NAMES, *IDS)):
        other = unreviewed_job(fields, issuer_url)
        if admits(fields, issuer_url, other) is None:
            said.append(
                f"{address} admits any branch, event and workflow of its repository (tried: "
                f"{other['ref']} on a {other['event_name']} event): pin ref, environment, "
                "event_name or job_workflow_ref in its claims"
            )
    if "org:admin" in str(fields.get("oauth_scope", "")).split():
        said.append(
            f"{address} grants org:admin: whoever it admits administers the whole "
            "organization (its members, keys, limits and these rules)"
        )
    return said


_FOREIGN_REPOSITORY = "attacker/evil"
_UNREVIEWED_REF = "refs/heads/unreviewed"


def _probe(fields: Mapping[str, Any], issuer_url: str | None) -> dict[str, Any]:
    """A token the rule's own claims and audience let through, before one thing of it
    is changed: what it pins, with GitHub's usual claims around it."""
    match: Mapping[str, Any] = fields.get("match") or {}
    return {
        "iss": issuer_url,
        "aud": match.get("audience") or DEFAULT_AUDIENCE,
        "ref": "refs/heads/main",
        "ref_type": "branch",
        "event_name": "push",
        "actor": "someone",
        "runner_environment": "github-hosted",
        **(match.get("claims") or {}),
    }


def foreign_job(
    fields: Mapping[str, Any], issuer_url: str | None, tenant: tuple[str, ...]
) -> dict[str, Any]:
    """A token of another owner's job: every claim that says whose it is, foreign."""
    token = _probe(fields, issuer_url)
    for claim in tenant:
        token[claim] = "90000001" if claim.endswith("_id") else _FOREIGN_REPOSITORY
    token["repository_owner"] = _FOREIGN_REPOSITORY.split("/")[0]
    token["sub"] = f"repo:{_FOREIGN_REPOSITORY}:ref:{token['ref']}"
    for claim in _WORKFLOW:
        token[claim] = f"{_FOREIGN_REPOSITORY}/.github/workflows/ci.yml@{token['ref']}"
    return token


def unreviewed_job(fields: Mapping[str, Any], issuer_url: str | None) -> dict[str, Any]:
    """A token of the rule's own repository, from an unreviewed branch's pull request
    running a workflow of its own, in no environment."""
    token = _probe(fields, issuer_url)
    token.pop("environment", None)
    repository = token.get("repository", "the-repository")
    token.update(
        ref=_UNREVIEWED_REF,
        event_name="pull_request",
        sub=f"repo:{repository}:pull_request",
        job_workflow_ref=f"{repository}/.github/workflows/unreviewed.yml@{_UNREVIEWED_REF}",
        workflow_ref=f"{repository}/.github/workflows/unreviewed.yml@{_UNREVIEWED_REF}",
    )
    return token


def _pins_owner(prefix: str) -> bool:
    """A subject prefix that names the owner before any wildcard (``repo:my-org/``)."""
    head, _, rest = prefix.partition(":")
    owner = rest.split("/")[0].split(":")[0]
    return bool(head and owner and "*" not in owner and ("/" in rest or ":" in rest))


def names_only(match: Mapping[str, Any]) -> str | None:
    """What of ``match`` checks a repository by name when its claims pin no id (a
    condition that names an id does not count: what it admits is tried apart)."""
    claims: Mapping[str, Any] = match.get("claims") or {}
    if any(n in claims for n in IDS):
        return None
    prefix = str(match.get("subject_prefix") or "")
    checked = [f"sub prefix {prefix!r}"] if prefix.startswith("repo:") else []
    checked += [f"{n} {claims[n]!r}" for n in NAMES if n in claims]
    return ", ".join(checked) or None


def admits(
    fields: Mapping[str, Any], issuer_url: str | None, claims: Mapping[str, Any]
) -> str | None:
    """Why the token with ``claims`` is not admitted by the rule (the first matcher
    that fails, as the exchange checks them), or None when it is."""
    match: Mapping[str, Any] = fields.get("match") or {}
    if issuer_url is not None and claims.get("iss") != issuer_url:
        return f"iss is {visible(repr(claims.get('iss')))}, not the issuer's {issuer_url}"
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    wanted = match.get("audience") or DEFAULT_AUDIENCE
    if wanted not in audiences:
        return f"aud does not include {wanted}"
    prefix = str(match.get("subject_prefix") or "")
    subject = str(claims.get("sub", ""))
    if prefix and not (
        subject.startswith(prefix[:-1]) if prefix.endswith("*") else subject == prefix
    ):
        return f"sub {visible(repr(subject))} does not match {visible(repr(prefix))}"
    for name, value in sorted((match.get("claims") or {}).items()):
        if claims.get(name) != value:
            return f"{name} is {visible(repr(claims.get(name)))}, not {visible(repr(value))}"
    if match.get("condition"):
        return _condition(str(match["condition"]), claims)
    return None


def _condition(source: str, claims: Mapping[str, Any]) -> str | None:
    """The rule's CEL condition over ``claims`` (its only variable, as the API allows)."""
    from cel_expr_python import cel  # imported when a condition is checked

    environment = cel.NewEnv(variables={"claims": cel.Type.Map(cel.Type.STRING, cel.Type.DYN)})
    try:
        found = environment.compile(source).eval(data={"claims": dict(claims)})
    except Exception as exc:  # a syntax or type error of the rule's own text
        return f"its condition does not compile ({visible(str(exc))[:200]})"
    if found.type() == cel.Type.BOOL and found.value() is True:
        return None
    if found.type() == cel.Type.BOOL:
        return f"its condition {visible(source)} is false for these claims"
    said = visible(str(found.value()))[:200]
    return f"its condition {visible(source)} gives no true or false ({said})"
