"""Saved plans as claims: a plan read back is the plan written, to every field; what is
not a plan, or a damaged one, is refused with the way to make one; a plan applies
only to the file bytes it was made from; an undo plan only with the signature apply
gave it, for this key. Each test fails when its rule is mutated."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from reconciler.core.errors import CredentialsError, PlanFileError, StalePlanError
from reconciler.core.model import FORMAT_VERSION, Action, FieldChange, Plan, ResourceChange
from reconciler.engine import planfile

KEY = "sk-sandbox-admin"


def rich_plan(source: dict[str, str] | None = None) -> Plan:
    return Plan(
        resources=(
            ResourceChange("company", Action.UPDATE, '"c1"', {"name": FieldChange("A", "B")}),
            ResourceChange(
                "workspace.ml",
                Action.CREATE,
                None,
                {"name": FieldChange(None, "ML"), "limit": FieldChange(None, 5)},
            ),
            ResourceChange(
                "member.ml.ada@example.com",
                Action.CREATE,
                None,
                {"role": FieldChange(None, "workspace_user")},
                requires=("workspace.ml",),
            ),
            ResourceChange(
                "user.old@example.com", Action.DELETE, None, {"role": FieldChange("user", None)}
            ),
        ),
        warnings=("a warning",),
        unmanaged={"project": 3, "user": 1},
        targets=("company",),
        source=source or {"file": "org.yaml", "sha256": "ab" * 32},
        provider="anthropic-admin",
        guards=("removes 1 of 2 users",),
        api={"base_url": "http://127.0.0.1:9", "key_variable": "ANTHROPIC_ADMIN_KEY"},
        about={"workspace.ml": "$5.00 a month"},
        made_at="2026-11-26T12:00:00Z",
    )


def test_a_saved_plan_reads_back_as_the_plan_written(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    plan = rich_plan()
    change_part, drift_part = (
        replace(plan, resources=plan.resources[:1]),
        replace(plan, resources=plan.resources[1:], warnings=()),
    )
    planfile.save(plan, path, sections=(change_part, drift_part))
    saved = planfile.load_saved(path)
    assert saved.plan == plan
    assert saved.sections == (change_part, drift_part)
    assert saved.kind == "plan"
    assert not saved.is_undo
    assert saved.signature is None
    assert planfile.is_saved_plan(path)


def test_a_plan_without_sections_has_none(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    planfile.save(rich_plan(), path)
    assert planfile.load_saved(path).sections is None


def test_a_format_1_plan_is_read_as_the_company_api_of_its_day(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    path.write_text(
        json.dumps(
            {
                "format_version": 1,
                "summary": {"unmanaged_projects": 2},
                "resources": [
                    {
                        "address": "company",
                        "action": "update",
                        "etag": None,
                        "changes": {"name": {"before": "A", "after": "B"}},
                    }
                ],
                "api": {"base_url": "http://127.0.0.1:9", "api_key_env": "CLAUDE_API_KEY"},
            }
        )
    )
    plan = planfile.load_saved(path).plan
    assert plan.provider == "company"
    assert plan.unmanaged == {"project": 2}
    assert plan.api == {"base_url": "http://127.0.0.1:9", "key_variable": "CLAUDE_API_KEY"}
    assert plan.made_at is None
    assert plan.resources[0].requires == ()


def write(tmp_path: Path, name: str, data: Any) -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def refusal(path: Path) -> str:
    with pytest.raises(PlanFileError) as caught:
        planfile.load_saved(path)
    return caught.value.message


def test_a_desired_state_file_is_pointed_at_plan(tmp_path: Path) -> None:
    path = write(tmp_path, "org.yml", "version: 1\n")
    assert refusal(path) == (
        f"{path} is a desired-state file; this takes a saved plan ('reconciler plan {path} "
        f"--out PLAN.json') or an apply report ('apply --report'). To see the changes it asks "
        f"for, run 'reconciler plan {path}'."
    )


def test_what_is_not_json_says_how_to_make_a_plan(tmp_path: Path) -> None:
    message = refusal(write(tmp_path, "plan.json", "{not json"))
    assert message.endswith("; make one with 'reconciler plan FILE --out PLAN.json'.")
    assert message.startswith(f"{tmp_path / 'plan.json'} is not a readable plan file (")


@pytest.mark.parametrize("data", [[], {"format_version": 99}, {"resources": []}])
def test_json_of_another_format_is_refused(tmp_path: Path, data: Any) -> None:
    path = write(tmp_path, "plan.json", data)
    assert refusal(path) == (
        f"{path} is not a reconciler plan of format_version {FORMAT_VERSION}; make it again with "
        "'reconciler plan --out'."
    )


@pytest.mark.parametrize(
    "resources",
    [
        [{"address": "company", "action": "explode", "changes": {}}],  # no such action
        [{"address": "company", "action": "update"}],  # no changes
        [{"address": "company", "action": "update", "changes": {}, "etag": "\n"}],  # bad etag
        [{"address": "company", "action": "update", "changes": {}, "etag": "é"}],
        [{"address": "company", "action": "update", "changes": {}, "etag": 5}],
        "not a list",
    ],
)
def test_a_damaged_plan_is_refused_whole(tmp_path: Path, resources: Any) -> None:
    path = write(tmp_path, "plan.json", {"format_version": FORMAT_VERSION, "resources": resources})
    message = refusal(path)
    assert message.startswith(f"{path} is damaged (")
    assert message.endswith("); make it again with 'reconciler plan --out'.")


def test_a_plan_for_a_provider_not_installed_is_damaged(tmp_path: Path) -> None:
    path = write(
        tmp_path, "plan.json", {"format_version": FORMAT_VERSION, "resources": [], "provider": "x"}
    )
    assert refusal(path).startswith(f"{path} is damaged (ConfigError")


def test_a_plan_with_a_printable_etag_keeps_it(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "plan.json",
        {
            "format_version": FORMAT_VERSION,
            "resources": [
                {"address": "company", "action": "update", "changes": {}, "etag": 'W/"x"'}
            ],
        },
    )
    assert planfile.load_saved(path).plan.resources[0].etag == 'W/"x"'


def test_only_plans_are_taken_for_plans(tmp_path: Path) -> None:
    assert planfile.is_saved_plan(write(tmp_path, "any.json", "[]"))  # by its name
    assert planfile.is_saved_plan(write(tmp_path, "plan.out", {"format_version": FORMAT_VERSION}))
    assert not planfile.is_saved_plan(write(tmp_path, "org.yaml", "version: 1\n"))
    assert not planfile.is_saved_plan(write(tmp_path, "x.out", '{"resources": []}'))
    assert not planfile.is_saved_plan(write(tmp_path, "y.out", "{broken"))
    assert not planfile.is_saved_plan(tmp_path / "missing.out")


# -- the file a plan was made from ----------------------------------------------------------


def test_a_plan_applies_only_to_the_bytes_it_was_made_from(tmp_path: Path) -> None:
    import hashlib

    org = tmp_path / "org.yaml"
    org.write_text("version: 1\n")
    digest = hashlib.sha256(org.read_bytes()).hexdigest()
    saved = planfile.SavedPlan(rich_plan({"file": str(org), "sha256": digest}))
    assert planfile.source_of(saved, None) == org
    assert planfile.source_of(saved, org) == org
    org.write_text("version: 1\n# edited\n")
    with pytest.raises(StalePlanError) as caught:
        planfile.source_of(saved, None)
    assert caught.value.message.startswith(f"The saved plan was not made from {org} as it is now")


def test_a_plan_whose_file_is_not_here_needs_expect_file(tmp_path: Path) -> None:
    saved = planfile.SavedPlan(rich_plan({"file": str(tmp_path / "gone.yaml"), "sha256": "x"}))
    with pytest.raises(PlanFileError, match="which is not here to check it against"):
        planfile.source_of(saved, None)
    unnamed = planfile.SavedPlan(rich_plan({"sha256": "x"}))
    with pytest.raises(PlanFileError, match="made from a file it does not name"):
        planfile.source_of(unnamed, None)
    with pytest.raises(PlanFileError, match="cannot read"):
        planfile.source_of(saved, tmp_path / "gone.yaml")


# -- undo plans --------------------------------------------------------------------------------


def signed(plan: Plan, key: str = KEY) -> planfile.SavedPlan:
    signature = planfile.undo_signature(plan, planfile.signing_key(key))
    return planfile.SavedPlan(plan, kind="undo", signature=signature)


def test_an_undo_plan_applies_as_signed_with_the_same_key() -> None:
    planfile.check_undo(signed(rich_plan()), KEY)


@pytest.mark.parametrize(
    "edit",
    [
        lambda p: replace(p, provider="company"),
        lambda p: replace(p, api={**p.api, "base_url": "http://127.0.0.1:10"}),
        lambda p: replace(p, warnings=()),
        lambda p: replace(p, resources=p.resources[1:]),
        lambda p: replace(p, resources=(replace(p.resources[0], etag='"x"'), *p.resources[1:])),
        lambda p: replace(
            p, resources=(replace(p.resources[0], action=Action.DELETE), *p.resources[1:])
        ),
        lambda p: replace(
            p,
            resources=(
                replace(p.resources[0], changes={"name": FieldChange("A", "C")}),
                *p.resources[1:],
            ),
        ),
    ],
)
def test_an_undo_plan_edited_after_signing_is_refused(edit: Any) -> None:
    original = signed(rich_plan())
    tampered = replace(original, plan=edit(original.plan))
    with pytest.raises(PlanFileError) as caught:
        planfile.check_undo(tampered, KEY)
    assert caught.value.message == (
        "The undo plan is not the one apply wrote (it was edited since, or written with "
        "another key); nothing was written. Plan the values you want back from a file instead."
    )


def test_an_undo_plan_is_refused_with_another_key_or_no_signature() -> None:
    with pytest.raises(PlanFileError):
        planfile.check_undo(signed(rich_plan(), key="sk-other"), KEY)
    with pytest.raises(PlanFileError):
        planfile.check_undo(replace(signed(rich_plan()), signature=None), KEY)
    with pytest.raises(PlanFileError):
        planfile.check_undo(replace(signed(rich_plan()), signature=""), KEY)


def test_the_signing_key_reveals_nothing_of_the_api_key() -> None:
    derived = planfile.signing_key(KEY)
    assert len(derived) == 32
    assert KEY.encode() not in derived
    assert derived != planfile.signing_key(KEY + "x")


def test_the_signing_key_and_signature_are_stable_across_versions() -> None:
    """An undo plan written by this version must verify with the next: the derivation
    and the signed body are a format, pinned here to known values."""
    key = planfile.signing_key(KEY)
    assert key.hex() == "2451a68cc698b6a432ad2e1ddebd08f751b222812aa884964909244cee29ca82"
    plan = Plan(
        (ResourceChange("company", Action.UPDATE, '"e"', {"name": FieldChange("Ä", "B")}),),
        warnings=("w",),
        api={"base_url": "http://127.0.0.1:9"},
        provider="company",
    )
    assert planfile.undo_signature(plan, key) == (
        "763040d42b3a67b7886c0ebcd5450604644757522c12836d965a62b75f0c5b9d"
    )


def test_an_unprintable_etag_says_so(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "plan.json",
        {
            "format_version": FORMAT_VERSION,
            "resources": [
                {"address": "company", "action": "update", "changes": {}, "etag": "a\nb"}
            ],
        },
    )
    assert "(ValueError: an etag is not printable ASCII text)" in refusal(path)


def test_a_file_changed_since_the_plan_says_what_to_do(tmp_path: Path) -> None:
    org = tmp_path / "org.yaml"
    org.write_text("version: 1\n")
    saved = planfile.SavedPlan(rich_plan({"file": str(org), "sha256": "0" * 64}))
    with pytest.raises(StalePlanError) as caught:
        planfile.source_of(saved, None)
    assert caught.value.message == (
        f"The saved plan was not made from {org} as it is now (it was made from another "
        "version of the file); nothing was written. Run plan again and review the new plan."
    )


# -- apply reports read back for show ---------------------------------------------------------


def test_an_apply_report_reads_back_as_written(tmp_path: Path) -> None:
    from reconciler.core.model import ApplyReport, Outcome, ResourceResult

    report = ApplyReport(
        results=(
            ResourceResult("company", Outcome.APPLIED, {"name": FieldChange("A", "B")}),
            ResourceResult("project.p", Outcome.FAILED, {}, "changed since plan; run plan again"),
        ),
        warnings=("could not read the changes back",),
        api={"base_url": "http://127.0.0.1:9", "key_variable": "CLAUDE_API_KEY"},
    )
    path = write(tmp_path, "report.json", report.data())
    assert planfile.load_report_if_report(path) == report


@pytest.mark.parametrize(
    "content", ["{not json", json.dumps([1]), json.dumps({"format_version": FORMAT_VERSION})]
)
def test_what_is_not_a_report_is_not_taken_for_one(tmp_path: Path, content: str) -> None:
    assert planfile.load_report_if_report(write(tmp_path, "x.json", content)) is None
    assert planfile.load_report_if_report(tmp_path / "missing.json") is None


@pytest.mark.parametrize(
    "results",
    [
        [{"address": "a", "outcome": "exploded", "changes": {}}],
        [{"address": "a", "outcome": "applied"}],
        [{"address": "a", "outcome": "applied", "changes": {"n": {"before": 1}}}],
        "not a list",
    ],
)
def test_a_damaged_report_is_refused(tmp_path: Path, results: object) -> None:
    path = write(tmp_path, "report.json", {"results": results})
    with pytest.raises(PlanFileError) as caught:
        planfile.load_report_if_report(path)
    assert caught.value.message.startswith(f"{path} is a damaged apply report (")
    assert caught.value.message.endswith(").")


def test_a_federated_plan_keeps_who_signed_in_and_nothing_else(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    federated = {
        "base_url": "https://api.anthropic.com",
        "auth": "federation",
        "federation_rule_id": "fdrl_1",
        "organization_id": "org-1",
        "service_account_id": "svac_1",
        "identity_token_from": "ANTHROPIC_IDENTITY_TOKEN",
    }
    planfile.save(replace(rich_plan(), api=federated), path)
    data = json.loads(path.read_text())
    data["api"]["access_token"] = "sk-ant-oat01-smuggled"  # not a field a plan keeps
    path.write_text(json.dumps(data))
    assert planfile.load_saved(path).plan.api == federated


def test_no_undo_plan_is_signed_without_a_key() -> None:
    with pytest.raises(CredentialsError) as refused:
        planfile.signing_key("")
    assert refused.value.message == (
        "Undo plans are signed with the API key, and this run signs in by federation without "
        "one; nothing was sent. Make and apply undo plans with an Admin API key (--auth key), "
        "or leave out --undo-out."
    )
