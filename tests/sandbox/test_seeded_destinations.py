"""A seed's webhooks and telemetry destinations: shaped as the Admin API has them, or
one sentence naming the section, before anything is stored."""

from __future__ import annotations

import copy

import pytest
from starlette.testclient import TestClient

from reconciler.sandbox.seed import SeedError, seed_from_data
from tests.support.sandbox import CONTROL_KEY, ORG_ADMIN_KEY, shipped_seed


@pytest.mark.parametrize(
    ("section", "entries", "says"),
    [
        (
            "webhooks",
            [{"url": "https://w.example"}],
            "admin.webhooks: a list, each with url and enabled_events",
        ),
        ("webhooks", {"url": "x"}, "admin.webhooks: a list"),
        ("telemetry_destinations", [{"display_name": "x"}], "each with endpoint_url"),
    ],
)
def test_a_malformed_destination_in_a_seed_is_one_sentence(
    section: str, entries: object, says: str
) -> None:
    seed = copy.deepcopy(shipped_seed())
    seed["admin"][section] = entries
    with pytest.raises(SeedError, match=says):
        seed_from_data(seed, source="seed.yaml")
    good = copy.deepcopy(shipped_seed())
    good["admin"]["webhooks"] = [
        {"url": "https://w.example", "enabled_events": ["external_key.failed"]}
    ]
    good["admin"]["telemetry_destinations"] = [{"endpoint_url": "https://t.example"}]
    seed_from_data(good, source="seed.yaml")


def test_a_seeds_destinations_are_served(api: TestClient) -> None:
    seed = copy.deepcopy(shipped_seed())
    seed["admin"]["webhooks"] = [
        {"url": "https://w.example", "enabled_events": ["external_key.failed"], "name": "ops"}
    ]
    seed["admin"]["telemetry_destinations"] = [
        {"endpoint_url": "https://t.example", "display_name": "otel", "header_names": ["x-a"]}
    ]
    assert (
        api.post("/_sandbox/reset", json=seed, headers={"x-api-key": CONTROL_KEY}).status_code
        == 200
    )
    key = {"x-api-key": ORG_ADMIN_KEY}
    hooks = api.get(
        "/v1/organizations/webhooks", headers={**key, "anthropic-beta": "webhooks-2026-10-07"}
    ).json()["data"]
    assert [(h["name"], h["url"]) for h in hooks] == [("ops", "https://w.example")]
    spans = api.get(
        "/v1/organizations/telemetry_destinations",
        headers={**key, "anthropic-beta": "telemetry-destinations-2026-08-11"},
    ).json()["data"]
    assert [(d["display_name"], d["header_names"]) for d in spans] == [("otel", ["x-a"])]
