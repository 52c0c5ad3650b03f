"""The sandbox app in-process: the contract of company-api.md, endpoint by endpoint."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from reconciler.sandbox.conditions import Conditions
from reconciler.sandbox.store import Store
from tests.support.sandbox import CONTROL_KEY, READER_KEY

COMPANY = "/v1/organizations/company"
PROJECTS = f"{COMPANY}/projects"


def error_type(response) -> str:  # type: ignore[no-untyped-def]
    body = response.json()
    assert body["type"] == "error"
    return str(body["error"]["type"])


def test_get_company_returns_the_seed_with_an_etag(api: TestClient) -> None:
    response = api.get(COMPANY)
    assert response.status_code == 200
    assert response.json()["name"] == "My Awesome Team"
    assert response.headers["etag"].startswith('"')
    assert response.headers["request-id"].startswith("req_")


def test_patch_company_changes_only_the_fields_sent(api: TestClient) -> None:
    before = api.get(COMPANY).json()
    response = api.patch(COMPANY, json={"billing_email": "finance@example.com"})
    assert response.status_code == 200
    after = response.json()
    assert after == {**before, "billing_email": "finance@example.com"}
    assert api.get(COMPANY).json() == after


def test_etag_changes_with_the_resource_and_if_match_guards_the_write(api: TestClient) -> None:
    old = api.get(COMPANY).headers["etag"]
    updated = api.patch(COMPANY, json={"name": "New"}, headers={"if-match": old})
    assert updated.status_code == 200
    new = updated.headers["etag"]
    assert new != old
    stale = api.patch(COMPANY, json={"name": "Other"}, headers={"if-match": old})
    assert stale.status_code == 412
    assert error_type(stale) == "precondition_failed"
    assert api.get(COMPANY).json()["name"] == "New"
    assert api.patch(COMPANY, json={"name": "Other"}, headers={"if-match": new}).status_code == 200


def test_list_items_carry_the_same_etag_as_a_get(api: TestClient) -> None:
    page = api.get(PROJECTS).json()
    for item in page["data"]:
        assert api.get(f"{PROJECTS}/{item['id']}").headers["etag"] == item["etag"]


def test_usage_derives_tokens_remaining_from_the_limit(api: TestClient) -> None:
    usage = api.get(f"{COMPANY}/usage").json()
    assert usage["tokens_used"] == 250000
    assert usage["tokens_remaining"] == 750000
    api.patch(COMPANY, json={"usage_limit": 100})
    assert api.get(f"{COMPANY}/usage").json()["tokens_remaining"] == 0
    api.patch(COMPANY, json={"usage_limit": None})
    assert api.get(f"{COMPANY}/usage").json()["tokens_remaining"] is None


@pytest.fixture
def many(store: Store) -> Store:
    from reconciler.sandbox.seed import generated_projects

    with store._transaction() as db:
        db.executemany(
            "INSERT INTO projects VALUES (?,?,?,?,?,?)",
            [tuple(p.values()) for p in generated_projects(250, taken=set())],
        )
    return store


def test_pagination_walks_every_project_once_in_id_order(api: TestClient, many: Store) -> None:
    seen: list[str] = []
    after = None
    while True:
        params = {"limit": 100, **({"after_id": after} if after else {})}
        page = api.get(PROJECTS, params=params).json()
        seen += [p["id"] for p in page["data"]]
        assert page["first_id"] == page["data"][0]["id"]
        assert page["last_id"] == page["data"][-1]["id"]
        if not page["has_more"]:
            break
        after = page["last_id"]
    assert len(seen) == 253
    assert seen == sorted(seen)


def test_pagination_exactly_one_full_page_has_no_more(api: TestClient) -> None:
    page = api.get(PROJECTS, params={"limit": 3}).json()
    assert len(page["data"]) == 3
    assert page["has_more"] is False


def test_pagination_past_the_end_is_an_empty_page(api: TestClient) -> None:
    page = api.get(PROJECTS, params={"after_id": "proj_zzz"}).json()
    assert page == {"data": [], "has_more": False, "first_id": None, "last_id": None}


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "ten", ""])
def test_pagination_limit_out_of_range_is_400(api: TestClient, limit: str) -> None:
    response = api.get(PROJECTS, params={"limit": limit})
    assert response.status_code == 400
    assert "limit" in response.json()["error"]["message"]


def test_unknown_project_is_404_for_get_and_patch(api: TestClient) -> None:
    assert api.get(f"{PROJECTS}/proj_nope").status_code == 404
    response = api.patch(f"{PROJECTS}/proj_nope", json={"name": "x"})
    assert response.status_code == 404
    assert "proj_nope" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"billing_email": "not an email"}, "billing_email"),
        ({"plan": "gold"}, "plan"),
        ({"usage_limit": -1}, "usage_limit"),
        ({"usage_limit": 2**53}, "usage_limit"),
        ({"usage_limit": True}, "usage_limit"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"nickname": "x"}, "nickname"),
        ({"id": "org_other"}, "id"),
        ({"created_at": "2020-01-01T00:00:00Z"}, "created_at"),
    ],
)
def test_bad_company_values_are_400_naming_the_field(
    api: TestClient, body: dict[str, object], field: str
) -> None:
    before = api.get(COMPANY).json()
    response = api.patch(COMPANY, json=body)
    assert response.status_code == 400
    assert error_type(response) == "invalid_request_error"
    assert field in response.json()["error"]["message"]
    assert api.get(COMPANY).json() == before


def test_read_only_fields_are_named_read_only(api: TestClient) -> None:
    message = api.patch(COMPANY, json={"id": "org_x"}).json()["error"]["message"]
    assert "read-only" in message


def test_a_bad_field_rejects_the_whole_patch(api: TestClient) -> None:
    before = api.get(COMPANY).json()
    response = api.patch(COMPANY, json={"name": "Changed", "plan": "gold"})
    assert response.status_code == 400
    assert api.get(COMPANY).json() == before


def test_project_billing_email_null_means_inherit(api: TestClient) -> None:
    response = api.patch(f"{PROJECTS}/proj_3", json={"billing_email": None})
    assert response.status_code == 200
    assert response.json()["billing_email"] is None


@pytest.mark.parametrize(
    ("headers", "content"),
    [
        ({"content-type": "application/json"}, b"{not json"),
        ({"content-type": "application/json"}, b"[1, 2]"),
        ({"content-type": "application/json"}, b'{"usage_limit": NaN}'),
        ({"content-type": "text/plain"}, b'{"name": "x"}'),
        ({"content-type": "application/json"}, b"{}"),
    ],
)
def test_malformed_bodies_are_400_and_change_nothing(
    api: TestClient, headers: dict[str, str], content: bytes
) -> None:
    before = api.get(COMPANY).json()
    response = api.patch(COMPANY, content=content, headers=headers)
    assert response.status_code == 400
    assert error_type(response) == "invalid_request_error"
    assert api.get(COMPANY).json() == before


def test_huge_bodies_are_413(api: TestClient) -> None:
    body = b'{"description": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    response = api.patch(
        f"{PROJECTS}/proj_1", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert error_type(response) == "request_too_large"


def test_unknown_paths_and_wrong_methods_get_json_errors(api: TestClient) -> None:
    missing = api.get("/v1/nothing-here")
    assert missing.status_code == 404
    assert error_type(missing) == "not_found_error"
    wrong = api.delete(COMPANY)
    assert wrong.status_code == 405
    assert "PATCH" in wrong.headers["allow"]
    assert error_type(wrong) == "invalid_request_error"


def test_missing_and_unknown_keys_are_401(api: TestClient) -> None:
    missing = api.get(COMPANY, headers={"x-api-key": ""})
    assert missing.status_code == 401
    assert error_type(missing) == "authentication_error"
    assert api.get(COMPANY, headers={"x-api-key": "sk-wrong"}).status_code == 401


def test_a_read_only_key_reads_but_cannot_write_and_is_told_the_scope(api: TestClient) -> None:
    reader = {"x-api-key": READER_KEY}
    assert api.get(COMPANY, headers=reader).status_code == 200
    response = api.patch(COMPANY, json={"name": "x"}, headers=reader)
    assert response.status_code == 403
    assert error_type(response) == "permission_error"
    assert "organization:write" in response.json()["error"]["message"]


def test_control_endpoints_need_the_control_scope(api: TestClient) -> None:
    assert api.get("/_sandbox/settings").status_code == 403
    response = api.get("/_sandbox/settings", headers={"x-api-key": CONTROL_KEY})
    assert response.status_code == 200
    assert response.json()["fault_rate"] == 0


def test_every_api_response_carries_rate_limit_headers(api: TestClient) -> None:
    for response in (api.get(COMPANY), api.get("/v1/nothing"), api.patch(COMPANY, json={})):
        assert {
            "anthropic-ratelimit-requests-limit",
            "anthropic-ratelimit-requests-remaining",
            "anthropic-ratelimit-requests-reset",
        } <= set(response.headers)


def test_rate_limit_answers_429_with_retry_after_once_the_burst_is_spent(
    api: TestClient, conditions: Conditions
) -> None:
    conditions.update({"rate_limit": 5})
    statuses = [api.get(COMPANY).status_code for _ in range(8)]
    assert statuses[:5] == [200] * 5
    assert 429 in statuses[5:]
    limited = api.get(COMPANY)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.headers["anthropic-ratelimit-requests-limit"] == "5"
    assert limited.headers["anthropic-ratelimit-requests-remaining"] == "0"


def fault_sequence(api: TestClient, seed: int, count: int = 60) -> list[int]:
    control = {"x-api-key": CONTROL_KEY}
    settings = api.patch(
        "/_sandbox/settings",
        json={
            "fault_rate": 0.5,
            "fault_seed": seed,
            "fault_kinds": ["500", "529", "429"],
            "fault_retry_after": 0,
        },
        headers=control,
    )
    assert settings.status_code == 200, settings.text
    return [api.get(COMPANY).status_code for _ in range(count)]


def test_same_fault_seed_gives_the_same_faults(api: TestClient) -> None:
    first = fault_sequence(api, seed=7)
    second = fault_sequence(api, seed=7)
    other = fault_sequence(api, seed=8)
    assert first == second
    assert first != other
    assert set(first) == {200, 500, 529, 429}


def test_a_faulted_patch_changes_nothing(api: TestClient) -> None:
    control = {"x-api-key": CONTROL_KEY}
    api.patch(
        "/_sandbox/settings", json={"fault_rate": 1.0, "fault_kinds": ["500"]}, headers=control
    )
    assert api.patch(COMPANY, json={"name": "Faulted"}).status_code == 500
    api.patch("/_sandbox/settings", json={"fault_rate": 0.0}, headers=control)
    assert api.get(COMPANY).json()["name"] == "My Awesome Team"


def test_settings_reject_bad_values(api: TestClient) -> None:
    control = {"x-api-key": CONTROL_KEY}
    response = api.patch("/_sandbox/settings", json={"fault_rate": 2}, headers=control)
    assert response.status_code == 400
    assert "fault_rate" in response.json()["error"]["message"]


def test_request_log_records_what_was_sent_and_what_wrote(api: TestClient) -> None:
    control = {"x-api-key": CONTROL_KEY}
    api.delete("/_sandbox/requests", headers=control)
    api.get(COMPANY)
    api.patch(COMPANY, json={"name": "Logged"})
    api.patch(COMPANY, json={"plan": "gold"})
    log = api.get("/_sandbox/requests", headers=control).json()["data"]
    assert [(e["method"], e["status"], e["wrote"]) for e in log] == [
        ("GET", 200, False),
        ("PATCH", 200, True),
        ("PATCH", 400, False),
    ]


def test_reset_replaces_the_organization_and_keeps_the_keys(api: TestClient) -> None:
    control = {"x-api-key": CONTROL_KEY}
    seed = {
        "company": {
            "id": "org_r",
            "name": "R",
            "billing_email": "r@example.com",
            "plan": "scale",
            "usage_limit": 5,
            "created_at": "2024-01-01T00:00:00Z",
        },
        "projects": [
            {
                "id": "proj_a",
                "name": "A",
                "description": "",
                "billing_email": None,
                "usage_limit": None,
                "created_at": "2024-01-01T00:00:00Z",
            }
        ],
    }
    response = api.post("/_sandbox/reset", json=seed, headers=control)
    assert response.json() == {"projects": 1}
    assert api.get(COMPANY).json()["id"] == "org_r"
    assert [p["id"] for p in api.get(PROJECTS).json()["data"]] == ["proj_a"]


def test_a_bad_reset_changes_nothing(api: TestClient) -> None:
    control = {"x-api-key": CONTROL_KEY}
    response = api.post("/_sandbox/reset", json={"company": {"id": "org_x"}}, headers=control)
    assert response.status_code == 400
    assert api.get(COMPANY).json()["id"] == "org_abc123"


def test_a_conflict_edits_the_resource_first_so_if_match_fails(api: TestClient) -> None:
    control = {"x-api-key": CONTROL_KEY}
    etag = api.get(f"{PROJECTS}/proj_1").headers["etag"]
    api.patch("/_sandbox/settings", json={"conflict_rate": 1.0}, headers=control)
    response = api.patch(f"{PROJECTS}/proj_1", json={"name": "Mine"}, headers={"if-match": etag})
    assert response.status_code == 412
    project = api.get(f"{PROJECTS}/proj_1").json()
    assert project["name"] == "Search"
    assert project["description"].startswith("Edited out of band #")
    log = api.get("/_sandbox/requests", headers=control).json()["data"]
    assert log[-2]["conflict"] is True


def test_faults_jitter_and_conflicts_draw_from_independent_streams() -> None:
    """One seed gives the same run again, but faults, jitter and conflicts do not move
    together: with one shared seed each would repeat the others' sequence."""
    from reconciler.sandbox.conditions import Conditions, Settings

    def draws(conditions: Conditions) -> tuple[list[float], list[float]]:
        faults = [conditions._faults.random() for _ in range(20)]
        conflicts = [conditions._conflicts.random() for _ in range(20)]
        return faults, conflicts

    first = draws(Conditions(Settings(fault_seed=7)))
    assert first == draws(Conditions(Settings(fault_seed=7)))
    assert first[0] != first[1]
