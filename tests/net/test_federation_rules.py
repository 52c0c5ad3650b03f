"""Federation rules, in process: only the operator (flags, environment) turns it on and
names the rule, organization, service account and identity token; a key and a rule
together are a question, not a guess; what is shown is the identity, never a token;
a refused exchange is one sentence naming the claim. Each test fails when its rule
is mutated."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import pytest
from anthropic.lib.credentials import WorkloadIdentityError
from anthropic.types.beta.organization.federation import BetaFederationRule

from reconciler.core.errors import AuthError, CredentialsError, TransportError
from reconciler.engine import render
from reconciler.net import federation
from reconciler.net.connection import Connection
from reconciler.net.federation import Federation, FederationChoice, claims_of, expired_at
from reconciler.providers.anthropic_admin.federated import (
    IdentityTokenUnreadable,
    _transient,
    checks_names_only,
    from_actions,
    refusal,
)

RULE, ORG, ACCOUNT = "fdrl_01Rule", "2f9a-org", "svac_01Account"
ADMIN = ("ANTHROPIC_ADMIN_KEY",)


def jwt(**claims: object) -> str:
    """A token shaped as a JWT (header.payload.signature); its signature is not checked
    here: that is the token endpoint's job."""
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJSUzI1NiJ9.{payload}.c2lnbmF0dXJl"


TOKEN = jwt(repository="my-org/org-settings", ref="refs/heads/main", exp=4_102_444_800)


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        *ADMIN,
        federation.RULE_VARIABLE,
        federation.ORGANIZATION_VARIABLE,
        federation.SERVICE_ACCOUNT_VARIABLE,
        federation.TOKEN_VARIABLE,
        federation.TOKEN_FILE_VARIABLE,
        federation.AUTH_VARIABLE,
        federation.AUDIENCE_VARIABLE,
        federation.ACTIONS_URL_VARIABLE,
        federation.ACTIONS_TOKEN_VARIABLE,
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(federation.RULE_VARIABLE, RULE)
    monkeypatch.setenv(federation.ORGANIZATION_VARIABLE, ORG)
    monkeypatch.setenv(federation.SERVICE_ACCOUNT_VARIABLE, ACCOUNT)
    monkeypatch.setenv(federation.TOKEN_VARIABLE, TOKEN)


def chosen(
    choice: FederationChoice | None = None, provider: str = "anthropic-admin"
) -> Federation | None:
    return federation.federation_for(
        choice or FederationChoice(), provider=provider, key_variables=ADMIN
    )


# -- who decides -------------------------------------------------------------------------------


def test_nothing_configured_is_a_key() -> None:
    assert chosen() is None


@pytest.mark.usefixtures("configured")
def test_the_sdk_variables_configure_federation() -> None:
    assert chosen() == Federation(RULE, ORG, ACCOUNT, None)


@pytest.mark.usefixtures("configured")
def test_flags_win_over_the_variables(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    flags = FederationChoice(None, "fdrl_flag", "org-flag", "svac_flag", token_file)
    assert chosen(flags) == Federation("fdrl_flag", "org-flag", "svac_flag", token_file)


@pytest.mark.usefixtures("configured")
def test_auth_key_turns_federation_off() -> None:
    assert chosen(FederationChoice(auth="key")) is None


@pytest.mark.usefixtures("configured")
def test_recorder_auth_variable_chooses_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(federation.AUTH_VARIABLE, "key")
    assert chosen() is None
    monkeypatch.setenv(federation.AUTH_VARIABLE, "federation")
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", "sk-ant-admin01-x")
    assert chosen() == Federation(RULE, ORG, ACCOUNT, None)
    monkeypatch.setenv(federation.AUTH_VARIABLE, "both")
    with pytest.raises(CredentialsError) as refused:
        chosen()
    assert refused.value.message == (
        "RECONCILER_AUTH is 'both'; set it to key or federation (or leave it unset)."
    )


@pytest.mark.usefixtures("configured")
def test_a_key_next_to_a_rule_is_a_question(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", "sk-ant-admin01-x")
    with pytest.raises(CredentialsError) as refused:
        chosen()
    assert refused.value.message == (
        "Both a key (ANTHROPIC_ADMIN_KEY) and federation (ANTHROPIC_FEDERATION_RULE_ID) are "
        "configured; pass --auth federation or --auth key (or set RECONCILER_AUTH) to "
        "choose, or unset the one not meant."
    )
    assert chosen(FederationChoice(auth="federation")) == Federation(RULE, ORG, ACCOUNT, None)
    assert chosen(FederationChoice(auth="key")) is None


@pytest.mark.usefixtures("configured")
def test_a_blank_key_variable_is_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", "  ")
    assert chosen() == Federation(RULE, ORG, ACCOUNT, None)


@pytest.mark.usefixtures("configured")
def test_another_provider_ignores_the_environment_but_refuses_the_flags() -> None:
    assert chosen(provider="company") is None
    for choice in (
        FederationChoice(auth="federation"),
        FederationChoice(rule_id=RULE),
        FederationChoice(organization_id=ORG),
    ):
        with pytest.raises(CredentialsError) as refused:
            chosen(choice, provider="company")
        assert refused.value.message.startswith(
            "Workload identity federation signs in to the Admin API (provider "
            "anthropic-admin); the company provider takes a key."
        )


def test_asking_for_federation_without_a_rule_names_what_is_missing() -> None:
    with pytest.raises(CredentialsError) as refused:
        chosen(FederationChoice(auth="federation"))
    assert refused.value.message == (
        "Federation needs the federation rule's id (ANTHROPIC_FEDERATION_RULE_ID or "
        "--federation-rule) and the organization's id (ANTHROPIC_ORGANIZATION_ID or "
        "--organization-id) and the identity token (ANTHROPIC_IDENTITY_TOKEN_FILE, "
        "--identity-token-file or ANTHROPIC_IDENTITY_TOKEN; in GitHub Actions, permissions: "
        "id-token: write); set them, or use a key (--auth key)."
    )


def test_the_service_account_is_optional(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(federation.RULE_VARIABLE, RULE)
    monkeypatch.setenv(federation.ORGANIZATION_VARIABLE, ORG)
    monkeypatch.setenv(federation.TOKEN_VARIABLE, TOKEN)
    found = chosen()
    assert found == Federation(RULE, ORG, None, None)
    assert found.identity == f"the service account of federation rule {RULE}"
    assert "service_account_id" not in found.api


@pytest.fixture
def in_actions(monkeypatch: pytest.MonkeyPatch) -> None:
    """A GitHub Actions job with id-token: write, a rule and an organization configured."""
    monkeypatch.setenv(federation.RULE_VARIABLE, RULE)
    monkeypatch.setenv(federation.ORGANIZATION_VARIABLE, ORG)
    monkeypatch.setenv(federation.ACTIONS_URL_VARIABLE, "https://runner.invalid/token?v=2")
    monkeypatch.setenv(federation.ACTIONS_TOKEN_VARIABLE, "request-token")


@pytest.mark.usefixtures("in_actions")
def test_in_github_actions_the_token_is_asked_of_the_runner_with_an_audience(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = chosen()
    assert asked == Federation(RULE, ORG, None, None, "https://api.anthropic.com")
    assert asked.token_source == "GitHub Actions (audience https://api.anthropic.com)"
    assert asked.api["identity_token_from"] == asked.token_source
    monkeypatch.setenv(federation.AUDIENCE_VARIABLE, "https://github.com/my-org")
    assert chosen().actions_audience == "https://github.com/my-org"
    assert chosen(FederationChoice(audience="aud-flag")).actions_audience == "aud-flag"
    monkeypatch.setenv(federation.TOKEN_VARIABLE, TOKEN)  # a token given wins
    assert chosen().actions_audience is None


@pytest.mark.usefixtures("in_actions")
def test_without_both_runner_variables_there_is_no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(federation.ACTIONS_TOKEN_VARIABLE)
    with pytest.raises(CredentialsError) as refused:
        chosen()
    assert "in GitHub Actions, permissions: id-token: write" in refused.value.message


@pytest.mark.parametrize("url", ["http://runner.example.com/token", "ftp://x/y", "runner/token"])
def test_the_request_token_goes_only_to_an_https_runner(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv(federation.ACTIONS_URL_VARIABLE, url)
    monkeypatch.setenv(federation.ACTIONS_TOKEN_VARIABLE, "request-token")
    with pytest.raises(CredentialsError) as refused:
        from_actions("aud")
    assert refused.value.message == (
        "ACTIONS_ID_TOKEN_REQUEST_URL is not an https URL; reconciler sends the job's request "
        "token only to the runner's own token service."
    )


# -- the identity token ------------------------------------------------------------------------


def test_the_token_file_is_read_afresh_at_each_exchange(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    found = Federation(RULE, ORG, ACCOUNT, token_file)
    assert found.identity_token() == TOKEN
    rotated = jwt(sub="rotated")
    token_file.write_text(rotated)
    assert found.identity_token() == rotated
    assert found.token_source == f"the file {token_file}"


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("", "No identity token: ANTHROPIC_IDENTITY_TOKEN is empty;"),
        ("sk-ant-admin01-key", "ANTHROPIC_IDENTITY_TOKEN does not hold an identity token"),
        ("a.b.c.d", "ANTHROPIC_IDENTITY_TOKEN does not hold an identity token"),
        ("a.b\x07.c", "ANTHROPIC_IDENTITY_TOKEN does not hold an identity token"),
        ("a.b\u00e9.c", "ANTHROPIC_IDENTITY_TOKEN does not hold an identity token"),
    ],
)
def test_what_is_not_a_token_is_refused_without_showing_it(
    monkeypatch: pytest.MonkeyPatch, value: str, says: str
) -> None:
    monkeypatch.setenv(federation.TOKEN_VARIABLE, value)
    with pytest.raises(CredentialsError) as refused:
        Federation(RULE, ORG, ACCOUNT, None).identity_token()
    assert refused.value.message.startswith(says)
    assert value not in refused.value.message or not value


def test_an_unreadable_token_file_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError) as refused:
        Federation(RULE, ORG, ACCOUNT, tmp_path / "missing").identity_token()
    assert refused.value.message == (
        f"Cannot read the identity token from the file {tmp_path / 'missing'} (No such file "
        "or directory); point ANTHROPIC_IDENTITY_TOKEN_FILE or --identity-token-file at the "
        "OIDC token."
    )


@pytest.mark.usefixtures("configured")
def test_a_configured_token_that_cannot_be_one_is_said_before_any_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(federation.TOKEN_VARIABLE, "not a token")
    with pytest.raises(CredentialsError):
        chosen()


def test_claims_are_read_only_to_explain_a_refusal() -> None:
    assert claims_of(TOKEN)["repository"] == "my-org/org-settings"
    assert claims_of("no-dots") == {}
    assert claims_of("a.!!!.c") == {}
    assert claims_of("a." + base64.urlsafe_b64encode(b"[1]").decode() + ".c") == {}
    assert expired_at({"exp": 0}, 1.0) == "1970-01-01 00:00:00 UTC"
    assert expired_at({"exp": 1}, 1.0) == "1970-01-01 00:00:01 UTC"
    assert expired_at({"exp": 2}, 1.0) is None
    assert expired_at({"exp": True}, 5.0) is None
    assert expired_at({}, 5.0) is None


# -- what is shown -----------------------------------------------------------------------------


def test_plans_name_the_identity_and_never_a_token() -> None:
    connection = Connection(
        "https://api.anthropic.com",
        "",
        "federation",
        federation=Federation(RULE, ORG, ACCOUNT, None),
    )
    assert connection.api == {
        "base_url": "https://api.anthropic.com",
        "auth": "federation",
        "federation_rule_id": RULE,
        "organization_id": ORG,
        "service_account_id": ACCOUNT,
        "identity_token_from": "ANTHROPIC_IDENTITY_TOKEN",
    }
    assert render.api_line(connection.api) == (
        f"API: https://api.anthropic.com (federation: rule {RULE}, service account {ACCOUNT}, "
        f"organization {ORG}; identity token from ANTHROPIC_IDENTITY_TOKEN)"
    )
    without = Federation(RULE, ORG, None, Path("/run/token"))
    assert render.api_line({"base_url": "https://x", **without.api}) == (
        f"API: https://x (federation: rule {RULE}, organization {ORG}; identity token from "
        "/run/token)"
    )
    assert render.api_line({"base_url": "https://x", "key_variable": "K"}) == (
        "API: https://x (key from K)"
    )


# -- refusals ----------------------------------------------------------------------------------


def refused(status: int | None, description: str = "", message: str = "x") -> Exception:
    body = {"error": "invalid_grant", "error_description": description} if status else None
    return WorkloadIdentityError(message, status_code=status, body=body)


WHO = Federation(RULE, ORG, ACCOUNT, None)
CLAIMS = claims_of(TOKEN)


def test_a_claim_the_rule_does_not_match_is_named_with_the_token_value() -> None:
    said = refusal(
        refused(401, f"The identity token's 'ref' claim does not match federation rule {RULE}."),
        WHO,
        where="https://api",
        claims=CLAIMS,
    )
    assert isinstance(said, AuthError)
    assert said.message == (
        f"Federation rule {RULE} refused the identity token from ANTHROPIC_IDENTITY_TOKEN: its "
        "ref claim does not match (the token's ref is 'refs/heads/main'). Run from the "
        "repository, branch or environment the rule pins, or change the rule's match in the "
        "Console (Settings, Workload identity)."
    )


def test_a_refusal_naming_no_claim_passes_the_api_words_on() -> None:
    said = refusal(
        refused(401, "No active federation rule.\x1b[2J"), WHO, where="https://api", claims=CLAIMS
    )
    assert said.message.endswith(
        "the rule's match in the Console (Settings, Workload identity) (No active federation "
        "rule.\\u001b[2J)."
    )
    assert ": it does not match." in said.message


def test_an_expired_identity_token_is_said_so() -> None:
    said = refusal(refused(401, "whatever"), WHO, where="u", claims={"exp": 60})
    assert said.message == (
        "The identity token from ANTHROPIC_IDENTITY_TOKEN expired at 1970-01-01 00:01:00 UTC, "
        f"so service account {ACCOUNT} (federation rule {RULE}) cannot sign in; give "
        "reconciler a fresh one (in GitHub Actions, re-run the job: each run's token lives "
        "minutes)."
    )


def test_a_demoted_service_account_is_said_so() -> None:
    said = refusal(refused(403, "svac has the developer role."), WHO, where="u", claims=CLAIMS)
    assert isinstance(said, AuthError)
    assert said.message == (
        f"The token exchange for service account {ACCOUNT} (federation rule {RULE}) was "
        "refused: svac has the developer role. Ask an organization admin to give the service "
        "account the admin role again in the Console (Settings, Workload identity); "
        "reconciler needs org:admin."
    )


def test_a_token_endpoint_that_fails_is_a_transport_error() -> None:
    lost = refusal(
        refused(None, message="Failed to reach token endpoint u"), WHO, where="U", claims=CLAIMS
    )
    assert isinstance(lost, TransportError)
    assert lost.message.startswith("Could not reach the token endpoint of U to sign in as ")
    busy = refusal(refused(503), WHO, where="U", claims=CLAIMS)
    assert isinstance(busy, TransportError)
    assert busy.message.startswith("The token endpoint of U kept answering 503 when signing")
    assert isinstance(refusal(refused(429), WHO, where="U", claims=CLAIMS), TransportError)
    odd = refusal(
        refused(None, message="Identity token assertion is 9 bytes"), WHO, where="U", claims=CLAIMS
    )
    assert isinstance(odd, CredentialsError)
    assert not isinstance(odd, TransportError)
    other = refusal(refused(400, "bad"), WHO, where="U", claims=CLAIMS)
    assert other.message.startswith(
        f"The token exchange for service account {ACCOUNT} (federation rule {RULE}) was "
        "refused (400 invalid_grant: bad); check"
    )
    unreadable = refusal(
        IdentityTokenUnreadable("No identity token: x"), WHO, where="U", claims=CLAIMS
    )
    assert unreadable.message == "No identity token: x"


@pytest.mark.parametrize(
    ("status", "message", "again"),
    [
        (None, "Failed to reach token endpoint", True),
        (None, "Identity token assertion is too long", False),
        (429, "", True),
        (500, "", True),
        (499, "", False),
        (401, "", False),
    ],
)
def test_only_a_lost_or_busy_token_endpoint_is_tried_again(
    status: int | None, message: str, again: bool
) -> None:
    assert _transient(WorkloadIdentityError(message, status_code=status)) is again
    assert _transient(ValueError(message)) is False


# -- the exact words, and the edges mutation testing found ------------------------------------


def test_an_unset_token_variable_is_no_token() -> None:
    with pytest.raises(CredentialsError) as refused:
        Federation(RULE, ORG, ACCOUNT, None).identity_token()
    assert refused.value.message == (
        "No identity token: ANTHROPIC_IDENTITY_TOKEN is empty; set ANTHROPIC_IDENTITY_TOKEN or "
        "ANTHROPIC_IDENTITY_TOKEN_FILE to the CI job's OIDC token."
    )


def test_a_token_file_that_is_not_text_names_why(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_bytes(b"\xff\xfe")
    with pytest.raises(CredentialsError) as refused:
        Federation(RULE, ORG, ACCOUNT, token_file).identity_token()
    assert "(UnicodeDecodeError); point ANTHROPIC_IDENTITY_TOKEN_FILE" in refused.value.message


def test_the_token_file_variable_is_honoured(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    monkeypatch.setenv(federation.RULE_VARIABLE, RULE)
    monkeypatch.setenv(federation.ORGANIZATION_VARIABLE, ORG)
    monkeypatch.setenv(federation.TOKEN_FILE_VARIABLE, str(token_file))
    assert chosen() == Federation(RULE, ORG, None, token_file)


def test_one_missing_setting_is_it() -> None:
    with pytest.raises(CredentialsError) as refused:
        chosen(FederationChoice(rule_id=RULE, organization_id=ORG))
    assert refused.value.message.endswith(
        "--identity-token-file or ANTHROPIC_IDENTITY_TOKEN; in GitHub Actions, permissions: "
        "id-token: write); set it, or use a key (--auth key)."
    )


def test_the_words_of_a_misplaced_federation_and_of_a_non_token() -> None:
    with pytest.raises(CredentialsError) as refused:
        chosen(FederationChoice(auth="federation"), provider="company")
    assert refused.value.message == (
        "Workload identity federation signs in to the Admin API (provider anthropic-admin); "
        "the company provider takes a key. Drop --auth federation (RECONCILER_AUTH) and the "
        "federation options, or use a file of the Admin API."
    )
    with pytest.raises(CredentialsError) as not_a_token:
        federation.checked("a.b", "the file t")
    assert not_a_token.value.message == (
        "the file t does not hold an identity token (a JWT is three dot-separated parts of "
        "printable ASCII); set it to the OIDC token alone."
    )


def test_expiry_is_said_in_utc_whatever_the_local_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert expired_at({"exp": 0}, 1.0) == "1970-01-01 00:00:00 UTC"
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize(
    ("match", "warned"),
    [
        ({"subject_prefix": "repo:o/r:*"}, "sub prefix 'repo:o/r:*'"),
        ({"claims": {"repository": "o/r", "ref": "refs/heads/main"}}, "repository 'o/r'"),
        (
            {"subject_prefix": "repo:o/r:*", "claims": {"repository_owner": "o"}},
            "sub prefix 'repo:o/r:*', repository_owner 'o'",
        ),
        ({"subject_prefix": "repo:o/r:*", "claims": {"repository_id": "1"}}, None),
        ({"claims": {"repository": "o/r", "repository_owner_id": "2"}}, None),
        # A condition is no structural pin: `... || true` names the id and admits all.
        (
            {"subject_prefix": "repo:o/r:*", "condition": "claims.repository_id == '1'"},
            "sub prefix 'repo:o/r:*'",
        ),
        ({"claims": {"job_workflow_ref": "x"}}, None),  # no repository check to speak of
    ],
)
def test_a_rule_checking_the_repository_by_name_alone_is_warned_of(
    match: dict[str, Any], warned: str | None
) -> None:
    rule = BetaFederationRule.model_validate(
        {
            "id": "fdrl_1",
            "applies_to_all_workspaces": False,
            "created_at": "2026-04-01T00:00:00Z",
            "issuer_id": "fdis_1",
            "match": match,
            "name": "r",
            "oauth_scope": "org:admin",
            "target": {"type": "service_account", "service_account_id": "svac_1"},
            "token_lifetime_seconds": 600,
            "type": "federation_rule",
            "updated_at": "2026-04-01T00:00:00Z",
            "workspace_ids": [],
        }
    )
    said = checks_names_only(rule)
    if warned is None:
        assert said is None
    else:
        assert said is not None
        assert f"checks the repository only by name ({warned})" in said
