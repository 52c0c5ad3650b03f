"""The sandbox's OpenTelemetry destinations through the official SDK with strict
response validation: at most 10, write-only header values (never answered, kept only
as digests), the endpoint's rules, and a workspace scope whose list is read apart and
replaced whole."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import pytest

from tests.support.sandbox import ORG_ADMIN_KEY, SandboxProcess, shipped_seed


@pytest.fixture
def telemetry(server: SandboxProcess) -> Any:
    assert server.control("POST", "reset", json=shipped_seed()).status_code == 200
    client = anthropic.Anthropic(
        api_key=ORG_ADMIN_KEY, base_url=server.url, max_retries=0, _strict_response_validation=True
    )
    return client.beta.organization


def accepted(obj: Any) -> Any:
    return type(obj).model_validate(obj.to_dict())


def test_a_destination_keeps_its_header_values_unreadable(
    telemetry: Any, server: SandboxProcess
) -> None:
    research = next(w.id for w in telemetry.workspaces.list() if w.name == "Research")
    made = accepted(
        telemetry.telemetry_destinations.create(
            endpoint_url="https://otel.example/otlp",
            display_name="honeycomb",
            headers={"x-honeycomb-team": "hcsecret-123"},
            workspaces={"type": "include", "workspace_ids": [research]},
        )
    )
    assert made.header_names == ["x-honeycomb-team"]
    assert (made.workspaces.type, made.state.type, made.traces.content_mode) == (
        "include",
        "enabled",
        "metadata_only",
    )
    listed = [accepted(w) for w in telemetry.telemetry_destinations.workspaces.list(made.id)]
    assert [w.workspace_id for w in listed] == [research]
    assert "hcsecret-123" not in str(telemetry.telemetry_destinations.retrieve(made.id).to_dict())
    assert "hcsecret-123" not in server.control("GET", "requests").text
    moved = accepted(
        telemetry.telemetry_destinations.update(made.id, endpoint_url="https://other.example")
    )
    assert moved.header_names == []  # a new host: no header goes there unsent
    off = accepted(
        telemetry.telemetry_destinations.update(
            made.id, state={"type": "disabled"}, workspaces={"type": "all"}
        )
    )
    assert (off.state.type, off.workspaces.type) == ("disabled", "all")
    telemetry.telemetry_destinations.delete(made.id)
    with pytest.raises(anthropic.NotFoundError):
        telemetry.telemetry_destinations.retrieve(made.id)


def test_endpoints_are_checked_and_ten_is_the_most(telemetry: Any) -> None:
    create = telemetry.telemetry_destinations.create
    for bad in (
        "http://otel.example",
        "https://10.0.0.1",
        "https://otel.example:8443",
        "https://otel.example/?q=1",
    ):
        with pytest.raises(anthropic.BadRequestError, match="endpoint_url"):
            create(endpoint_url=bad, workspaces={"type": "all"})
    with pytest.raises(anthropic.BadRequestError, match="reserved"):
        create(
            endpoint_url="https://otel.example", workspaces={"type": "all"}, headers={"Host": "x"}
        )
    for n in range(10):
        create(endpoint_url=f"https://otel{n}.example", workspaces={"type": "all"})
    assert len(list(telemetry.telemetry_destinations.list(limit=3))) == 10
    with pytest.raises(anthropic.BadRequestError, match="10"):
        create(endpoint_url="https://one-more.example", workspaces={"type": "all"})


def test_a_traces_endpoint_stays_on_the_destinations_host(telemetry: Any) -> None:
    """As the SDK documents: traces.endpoint_url has the scheme, host and port of
    endpoint_url, on create and when either moves (the headers would go elsewhere)."""
    create = telemetry.telemetry_destinations.create
    with pytest.raises(anthropic.BadRequestError, match="same scheme, host and port"):
        create(
            endpoint_url="https://otel.example",
            workspaces={"type": "all"},
            traces={"endpoint_url": "https://collector.attacker.example/v1/traces"},
        )
    made = create(
        endpoint_url="https://otel.example",
        workspaces={"type": "all"},
        headers={"x-team": "secret"},
        traces={"endpoint_url": "https://otel.example/custom/traces"},
    )
    update = telemetry.telemetry_destinations.update
    with pytest.raises(anthropic.BadRequestError, match="same scheme, host and port"):
        update(made.id, endpoint_url="https://other.example")  # traces would stay behind
    with pytest.raises(anthropic.BadRequestError, match="same scheme, host and port"):
        update(made.id, traces={"endpoint_url": "https://elsewhere.example/t"})
    moved = update(
        made.id,
        endpoint_url="https://other.example",
        traces={"endpoint_url": "https://other.example/custom/traces"},
    )
    assert moved.traces.endpoint_url == "https://other.example/custom/traces"
    assert moved.header_names == []


def test_the_beta_surfaces_answer_as_the_reference_says_without_their_header(
    server: SandboxProcess,
) -> None:
    headers = {"x-api-key": ORG_ADMIN_KEY}
    hooks = httpx.get(f"{server.url}/v1/organizations/webhooks", headers=headers)
    assert hooks.status_code == 404  # as if the API did not exist
    spans = httpx.get(f"{server.url}/v1/organizations/telemetry_destinations", headers=headers)
    assert spans.status_code == 400
    assert "telemetry-destinations-2026-08-11" in spans.json()["error"]["message"]
