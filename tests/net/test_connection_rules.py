"""Trust rules, in process: the operator names the host and the key variable, a file
only asks; the key is read from the environment and refused when it cannot be one;
no key goes over plain http off this machine; TLS is always verified for https.
Each test fails when its rule is mutated."""

from __future__ import annotations

import asyncio
import ssl

import pytest

from reconciler.core.errors import CredentialsError, TransportError
from reconciler.net import connection
from reconciler.net.connection import (
    Connection,
    RetryPolicy,
    check_base_url,
    endpoint_for,
    is_loopback,
    key_for,
    key_variable_for,
    normalise_url,
    verify_for,
)

DEFAULTS = ("CLAUDE_API_KEY", "ANTHROPIC_ADMIN_KEY")


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*DEFAULTS, "RECONCILER_BASE_URL", "RECONCILER_KEY_VARIABLES", "TEAM_KEY"):
        monkeypatch.delenv(name, raising=False)


# -- the base URL -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "normal"),
    [
        ("HTTPS://API.Example.com/", "https://api.example.com"),
        ("  http://127.0.0.1:8080/v1/  ", "http://127.0.0.1:8080/v1"),
        ("http://[::1]:9/", "http://[::1]:9"),
        ("https://api.example.com?x=1#frag", "https://api.example.com?x=1"),
    ],
)
def test_a_url_has_one_spelling(written: str, normal: str) -> None:
    assert normalise_url(written) == normal


def test_a_url_with_a_bad_port_is_one_sentence() -> None:
    with pytest.raises(CredentialsError) as caught:
        normalise_url("http://127.0.0.1:99999")
    assert caught.value.message == (
        "The base URL 'http://127.0.0.1:99999' has an invalid port; set --base-url to a URL "
        "like https://api.anthropic.com."
    )


def test_the_default_api_when_nobody_names_one() -> None:
    found = endpoint_for(None, None)
    assert (found.url, found.origin) == ("https://api.anthropic.com", "the default")


def test_the_operators_flag_wins_over_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECONCILER_BASE_URL", "http://127.0.0.1:1/")
    flagged = endpoint_for("http://127.0.0.1:2/", None)
    assert (flagged.url, flagged.origin) == ("http://127.0.0.1:2", "--base-url")
    variable = endpoint_for(None, None)
    assert (variable.url, variable.origin) == ("http://127.0.0.1:1", "RECONCILER_BASE_URL")


def test_a_file_may_ask_for_the_default_api_but_not_for_loopback_alone() -> None:
    """Any local process can listen on a loopback port: the operator must name it too."""
    assert endpoint_for(None, "https://API.anthropic.com/").url == "https://api.anthropic.com"
    with pytest.raises(CredentialsError) as caught:
        endpoint_for(None, "http://localhost:8080/", source="org.yaml")
    assert caught.value.message == (
        "org.yaml asks for the API at http://localhost:8080 (api.base_url), a host the "
        "operator did not name (loopback too: any process on this machine can listen there); "
        "nothing was sent. If that host is meant, pass --base-url http://localhost:8080 or set "
        "RECONCILER_BASE_URL to it."
    )


def test_a_file_may_not_send_the_key_to_another_host() -> None:
    with pytest.raises(CredentialsError) as caught:
        endpoint_for(None, "https://evil.example/", source="org.yaml")
    assert caught.value.message == (
        "org.yaml asks for the API at https://evil.example (api.base_url), a host the "
        "operator did not name; nothing was sent. If that host is meant, pass --base-url "
        "https://evil.example or set RECONCILER_BASE_URL to it."
    )


def test_a_file_may_ask_for_the_host_the_operator_named(monkeypatch: pytest.MonkeyPatch) -> None:
    named = endpoint_for("https://proxy.example/", "https://PROXY.example")
    assert (named.url, named.origin) == ("https://proxy.example", "--base-url")
    with pytest.raises(CredentialsError):
        endpoint_for("https://proxy.example/", "https://other.example")
    monkeypatch.setenv("RECONCILER_BASE_URL", "https://proxy.example")
    assert endpoint_for(None, "https://proxy.example").origin == "RECONCILER_BASE_URL"


def test_when_the_operator_names_a_host_a_files_other_loopback_is_refused() -> None:
    with pytest.raises(CredentialsError):
        endpoint_for("https://proxy.example", "http://127.0.0.1:9")
    assert endpoint_for("http://127.0.0.1:9/", "http://127.0.0.1:9").origin == "--base-url"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("LOCALHOST", True),
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("[::1]", True),
        ("::1", True),
        ("10.0.0.1", False),
        ("localhost.evil.example", False),
        ("", False),
    ],
)
def test_what_is_this_machine(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


# -- clear text and TLS -------------------------------------------------------------------------


def test_no_key_goes_over_plain_http_off_this_machine() -> None:
    check_base_url("http://127.0.0.1:8080", insecure=False)
    check_base_url("https://api.example.com", insecure=False)
    check_base_url("http://api.example.com", insecure=True)
    with pytest.raises(CredentialsError) as caught:
        check_base_url("HTTP://API.example.com", insecure=False)
    assert caught.value.message == (
        "Refusing to send the API key over plain http:// to api.example.com; use https://, "
        "or pass --insecure if you really mean it."
    )


@pytest.mark.parametrize("url", ["ftp://api.example.com", "api.example.com", "https://"])
def test_only_http_urls_are_apis(url: str) -> None:
    with pytest.raises(CredentialsError) as caught:
        check_base_url(url, insecure=True)
    assert caught.value.message == (
        f"The base URL {url!r} is not an http(s) URL; set --base-url to one, like "
        "https://api.anthropic.com."
    )


def test_tls_is_verified_for_https_however_it_is_spelled() -> None:
    assert isinstance(verify_for("HTTPS://api.example.com"), ssl.SSLContext)
    assert verify_for("https://api.example.com") is verify_for("https://other.example")
    assert verify_for("http://127.0.0.1:9") is False


# -- the key variable and the key ----------------------------------------------------------------


def test_the_operators_variable_wins_and_must_be_a_name() -> None:
    assert key_variable_for("TEAM_KEY", "CLAUDE_API_KEY", defaults=DEFAULTS, source="f") == (
        "TEAM_KEY",
    )
    with pytest.raises(CredentialsError) as caught:
        key_variable_for("sk-ant-123", None, defaults=DEFAULTS, source="f")
    assert caught.value.message == (
        "--api-key-env 'sk-ant-123' is not a variable name; name the variable holding the "
        "key, not the key."
    )


def test_without_a_choice_the_providers_defaults() -> None:
    assert key_variable_for(None, None, defaults=DEFAULTS, source="f") == DEFAULTS


@pytest.mark.parametrize(
    "asked", ["CLAUDE_API_KEY", "ORG_B_ADMIN_KEY", "ANTHROPIC_TEAM_KEY", "CLAUDE_KEY"]
)
def test_a_file_may_ask_for_a_default_or_a_key_in_anthropics_naming(asked: str) -> None:
    assert key_variable_for(None, asked, defaults=DEFAULTS, source="f") == (asked,)


@pytest.mark.parametrize(
    "asked",
    ["AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "OPENAI_API_KEY", "X_ADMIN_KEYS", "team_admin_key"],
)
def test_a_file_may_not_read_another_secret(asked: str) -> None:
    with pytest.raises(CredentialsError) as caught:
        key_variable_for(None, asked, defaults=DEFAULTS, source="org.yaml")
    assert caught.value.message == (
        f"org.yaml asks for the key from {asked} (api.api_key_env), which is not a key "
        "variable the operator allowed; nothing was read or sent. Name it in "
        f"RECONCILER_KEY_VARIABLES or pass --api-key-env {asked} if it is meant, or rename "
        "it to end in _ADMIN_KEY."
    )


def test_the_operator_lists_what_a_file_may_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECONCILER_KEY_VARIABLES", " X,  TEAM_B_TOKEN ,Y ")
    assert key_variable_for(None, "TEAM_B_TOKEN", defaults=DEFAULTS, source="f") == (
        "TEAM_B_TOKEN",
    )
    with pytest.raises(CredentialsError):
        key_variable_for(None, "TEAM_B", defaults=DEFAULTS, source="f")


def test_the_key_comes_from_the_first_variable_that_holds_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", "  sk-second  ")
    assert key_for(DEFAULTS, scope="s") == ("sk-second", "ANTHROPIC_ADMIN_KEY")
    monkeypatch.setenv("CLAUDE_API_KEY", "sk-first")
    assert key_for(DEFAULTS, scope="s") == ("sk-first", "CLAUDE_API_KEY")
    monkeypatch.setenv("CLAUDE_API_KEY", "   ")
    assert key_for(DEFAULTS, scope="s") == ("sk-second", "ANTHROPIC_ADMIN_KEY")


@pytest.mark.parametrize("value", ["sk-1\nsk-2", "sk-\u00e9", "sk-\x07"])
def test_what_cannot_be_a_key_is_refused_at_once(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("CLAUDE_API_KEY", value)
    with pytest.raises(CredentialsError) as caught:
        key_for(DEFAULTS, scope="s")
    assert caught.value.message == (
        "The variable CLAUDE_API_KEY does not hold a key (it contains a line break, a control "
        "character or non-ASCII text); set it to the key alone."
    )
    assert value not in caught.value.message


def test_no_key_says_where_to_put_one() -> None:
    with pytest.raises(CredentialsError) as caught:
        key_for(DEFAULTS, scope="organization:read")
    assert caught.value.message == (
        "No API key: set CLAUDE_API_KEY (or ANTHROPIC_ADMIN_KEY) to a key with the scope "
        "organization:read."
    )
    with pytest.raises(CredentialsError) as one:
        key_for(("TEAM_KEY",), scope="s", from_file=True)
    assert one.value.message == (
        "No API key: set TEAM_KEY, the variable the file's api.api_key_env names, to a key "
        "with the scope s."
    )


# -- a sandbox that is not running ----------------------------------------------------------------


def test_nothing_listening_on_this_machine_is_said_at_once() -> None:
    dead = Connection("http://127.0.0.1:9", "k", "CLAUDE_API_KEY", retry=RetryPolicy(timeout=5))
    with pytest.raises(TransportError) as caught:
        asyncio.run(connection.check_listening(dead))
    assert caught.value.message == (
        "Nothing is listening at http://127.0.0.1:9 (from the default): is the sandbox "
        "running? Start one with 'reconciler sandbox' (it prints the URL to use), or correct "
        "the port."
    )


def test_a_listening_port_passes() -> None:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        live = Connection(f"http://127.0.0.1:{port}", "k", "CLAUDE_API_KEY")
        asyncio.run(connection.check_listening(live))


def test_a_connection_keeps_its_key_out_of_its_repr() -> None:
    made = Connection("http://127.0.0.1:9", "sk-secret", "CLAUDE_API_KEY")
    assert "sk-secret" not in repr(made)
    assert made.api == {"base_url": "http://127.0.0.1:9", "key_variable": "CLAUDE_API_KEY"}


def test_a_files_host_is_refused_in_the_files_name() -> None:
    with pytest.raises(CredentialsError) as caught:
        endpoint_for(None, "https://evil.example")
    assert caught.value.message.startswith("the file asks for the API at https://evil.example")


def test_an_unset_list_of_key_variables_allows_nothing_more() -> None:
    for asked in ("XXXX", "X"):
        with pytest.raises(CredentialsError):
            key_variable_for(None, asked, defaults=DEFAULTS, source="f")


def test_an_identity_token_never_goes_over_plain_http_off_this_machine() -> None:
    """Signed in by federation, the exchange carries the identity token: --insecure is
    no answer, since the caller passes ``insecure=False`` whatever the flag says."""
    with pytest.raises(CredentialsError) as refused:
        check_base_url("http://api.example.com", insecure=False, carrying="the identity token")
    assert refused.value.message == (
        "Refusing to send the identity token over plain http:// to api.example.com; use https://."
    )
    check_base_url("http://127.0.0.1:9", insecure=False, carrying="the identity token")
