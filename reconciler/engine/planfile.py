"""The life of a saved plan (``plan --out``): written whole with the source file's
digest and never the key, read back, matched to the file it must come from,
rendered again; the signed undo plan ``apply --undo-out`` writes as it goes; and
apply reports read back for ``show``. A saved plan is only ever a claim: what
apply may write is derived again from the file and live state (``operations``).

Over 400 lines and one job: a saved plan's and report's form, written and read back
with every check of what they may claim, in one place so no check is made twice."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from reconciler import providers
from reconciler.core.errors import ConfigError, CredentialsError, PlanFileError, StalePlanError
from reconciler.core.escape import visible
from reconciler.core.files import read_input, write_json
from reconciler.core.model import (
    DEFAULT_PROVIDER,
    FORMAT_VERSION,
    HOLD_EDITS,
    READABLE_FORMAT_VERSIONS,
    VERBS,
    Action,
    ApplyReport,
    FieldChange,
    LiveResource,
    LiveState,
    Outcome,
    Plan,
    PlannedHold,
    RateLimitWaits,
    ResourceChange,
    ResourceResult,
    sections_data,
)

Sections = tuple[Plan, Plan]


@dataclass(frozen=True)
class SavedPlan:
    """A plan read back from ``--out`` (or an undo plan from ``--undo-out``): a claim,
    not an instruction. ``plan.api`` is the API it says it was made against; an undo
    plan carries the ``signature`` apply gave it. ``sections`` (a plan made with
    ``--compare-to``) are for ``show``."""

    plan: Plan
    sections: Sections | None = None
    kind: str = "plan"
    signature: str | None = None

    @property
    def is_undo(self) -> bool:
        return self.kind == "undo"


def saved_plan_data(plan: Plan, *, sections: Sections | None = None) -> dict[str, Any]:
    """The plan's JSON plus the file it came from; the key's value is never in it."""
    data = {
        **plan.data(),
        "kind": "plan",
        "source": dict(plan.source),
        "targets": list(plan.targets),
    }
    if sections is not None:
        change, drift = sections
        data["sections"] = sections_data(change, drift)
    return data


def save(plan: Plan, path: Path, *, sections: Sections | None = None) -> None:
    write_json(path, saved_plan_data(plan, sections=sections))


def load_saved(path: Path) -> SavedPlan:
    """A saved plan; anything else is a ``PlanFileError`` saying how to make one."""
    try:
        data = json.loads(read_input(path, what="the saved plan").decode("utf-8"))
    except (OSError, ValueError) as exc:
        if path.suffix.lower() in (".yaml", ".yml"):
            raise PlanFileError(
                f"{path} is a desired-state file; this takes a saved plan ('reconciler plan "
                f"{path} --out PLAN.json') or an apply report ('apply --report'). To see the "
                f"changes it asks for, run 'reconciler plan {path}'."
            ) from exc
        raise PlanFileError(
            f"{path} is not a readable plan file ({visible(str(exc))}); make one with "
            "'reconciler plan FILE --out PLAN.json'."
        ) from exc
    if not isinstance(data, dict) or data.get("format_version") not in READABLE_FORMAT_VERSIONS:
        raise PlanFileError(
            f"{path} is not a reconciler plan of format_version "
            f"{FORMAT_VERSION}; make it again with 'reconciler plan --out'."
        )
    try:
        summary = data.get("summary", {})
        unmanaged = (
            {"project": int(summary.get("unmanaged_projects", 0))}
            if data["format_version"] == 1
            else {str(k): int(v) for k, v in summary.get("unmanaged", {}).items()}
        )
        plan = Plan(
            resources=_resources(data["resources"]),
            warnings=tuple(str(w) for w in data.get("warnings", [])),
            alerts=tuple(str(w) for w in data.get("alerts", [])),
            edit_alerts=tuple(str(w) for w in data.get("edit_alerts", [])),
            unmanaged=unmanaged,
            targets=tuple(str(t) for t in data.get("targets", [])),
            source={str(k): str(v) for k, v in dict(data.get("source", {})).items()},
            provider=str(data.get("provider", DEFAULT_PROVIDER)),  # format 1: Company API
            guards=tuple(str(g) for g in data.get("guards", [])),
            api=_api(data.get("api")),
            about={str(k): str(v) for k, v in dict(data.get("about", {})).items()},
            made_at=str(data["made_at"]) if data.get("made_at") else None,
            holds=_holds(data.get("holds", [])),
        )
        providers.get(plan.provider)
        sections = None
        if "sections" in data:
            parts = data["sections"]
            sections = (
                replace(
                    plan,
                    resources=_resources(parts["change"]),
                    holds=_holds(parts.get("holds", [])),
                ),
                replace(plan, resources=_resources(parts["drift"]), warnings=(), holds=()),
            )
        kind = "undo" if data.get("kind") == "undo" else "plan"
        signature = data.get("signature") if isinstance(data.get("signature"), str) else None
    except (KeyError, TypeError, ValueError, AttributeError, ConfigError) as exc:
        raise PlanFileError(
            f"{path} is damaged ({type(exc).__name__}: {visible(str(exc))}); make it again "
            "with 'reconciler plan --out'."
        ) from exc
    return SavedPlan(plan, sections, kind, signature)


FEDERATED_FIELDS = (
    "auth",
    "federation_rule_id",
    "organization_id",
    "service_account_id",
    "identity_token_from",
)


def _api(recorded: Any) -> dict[str, str]:
    """The API a plan says it was made against (earlier plans said ``api_key_env``), and
    how it signed in: a key variable, or a federated identity."""
    api = recorded if isinstance(recorded, dict) else {}
    pairs = (
        ("base_url", api.get("base_url")),
        ("key_variable", api.get("key_variable", api.get("api_key_env"))),
        *((name, api.get(name)) for name in FEDERATED_FIELDS),
    )
    return {name: found for name, found in pairs if isinstance(found, str)}


def _resources(items: Any) -> tuple[ResourceChange, ...]:
    return tuple(
        ResourceChange(
            address=str(r["address"]),
            action=Action(r["action"]),
            etag=_etag(r.get("etag")),
            changes={str(n): FieldChange(c["before"], c["after"]) for n, c in r["changes"].items()},
            requires=tuple(str(a) for a in r.get("requires", [])),
            verb=_verb(r.get("verb"), Action(r["action"])),
            live_id=_text_or_none(r.get("live_id")),
            live_address=_text_or_none(r.get("live_address")),
        )
        for r in items
    )


def _verb(written: Any, action: Action) -> str | None:
    """A saved verb only as one of reconciler's for the action it names: a plan cannot
    make a removal read as an invitation."""
    return written if isinstance(written, str) and VERBS.get(written) is action else None


def _holds(items: Any) -> tuple[PlannedHold, ...]:
    """A saved plan's holds; what they hold must be single values, as in a file."""
    found = []
    for item in items:
        kind = item["kind"]
        if kind not in ("grant", "value"):
            raise ValueError(f"a hold is a grant or a value, not {kind!r}")
        for key in ("value", "then"):
            if isinstance(item[key], dict | list):
                raise ValueError("a hold holds a single value")
        texts = [item[key] for key in ("path", "address", "until", "ends_at")]
        edit, ended = item.get("edit"), item["ended"]
        if not all(isinstance(t, str) for t in texts) or not isinstance(ended, bool):
            raise ValueError("a hold's place and end are text, and ended is true or false")
        if edit is not None and edit not in HOLD_EDITS:
            raise ValueError(f"a hold's edit is one of {', '.join(HOLD_EDITS)}")
        field = item.get("field")
        if field is not None and not isinstance(field, str):
            raise ValueError("a hold's field is text")
        found.append(
            PlannedHold(
                path=texts[0],
                address=texts[1],
                grant=kind == "grant",
                value=item["value"],
                then=item["then"],
                until=texts[2],
                ends_at=texts[3],
                ended=ended,
                edit=edit,
                field=field,
            )
        )
    return tuple(found)


def _text_or_none(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ValueError("a live id or address is text")


def _etag(value: Any) -> str | None:
    """An ETag as a plan may hold one: absent, or printable ASCII (it becomes a header)."""
    if value is None or (isinstance(value, str) and value.isascii() and value.isprintable()):
        return value
    raise ValueError("an etag is not printable ASCII text")


def source_of(saved: SavedPlan, expected: Path | None) -> Path:
    """The desired-state file a saved plan is checked against: ``--expect-file``, else
    the file the plan names; either way its bytes must be those the plan was made
    from (the SHA-256 the plan records), so a plan can name a file but never choose
    what apply reads as the file."""
    if expected is None:
        named = saved.plan.source.get("file") or ""
        if not named or not Path(named).is_file():
            raise PlanFileError(
                f"The saved plan was made from {visible(named) or 'a file it does not name'}, "
                "which is not here to check it against; nothing was written. Pass "
                "--expect-file FILE, the desired-state file the plan was made from."
            )
        expected = Path(named)
    try:
        with expected.open("rb") as handle:  # streamed: a plan may name a very large file
            digest = hashlib.file_digest(handle, "sha256")  # pragma: no mutate: "SHA256" too
            found = digest.hexdigest()
    except OSError as exc:
        raise PlanFileError(f"cannot read {expected} to check the plan: {exc.strerror}") from exc
    if found != saved.plan.source.get("sha256"):
        raise StalePlanError(
            f"The saved plan was not made from {visible(str(expected))} as it is now (it was "
            "made from another version of the file); nothing was written. Run plan again and "
            "review the new plan."
        )
    return expected


def is_saved_plan(path: Path) -> bool:
    """A ``.json`` file, or any file holding a JSON object with a ``format_version``."""
    if path.suffix.lower() == ".json":
        return True
    try:
        with path.open("rb") as handle:
            if not handle.read(256).lstrip().startswith(b"{"):
                return False
        data = json.loads(read_input(path, what="the file").decode("utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "format_version" in data


def signing_key(api_key: str) -> bytes:
    """The key an undo plan is signed with: derived from the API key, so only someone
    holding the key can make or change an undo plan that apply accepts, and the
    signature reveals nothing of the key. Signed in by federation there is no key, and
    no undo plan is made or accepted: a signature over nothing secret vouches for
    nothing."""
    if not api_key:
        raise CredentialsError(
            "Undo plans are signed with the API key, and this run signs in by federation "
            "without one; nothing was sent. Make and apply undo plans with an Admin API key "
            "(--auth key), or leave out --undo-out."
        )
    return hashlib.sha256(b"reconciler undo plan 1\0" + api_key.encode()).digest()


def undo_signature(plan: Plan, key: bytes) -> str:
    """HMAC-SHA256 over what an undo plan would write and say: provider, API host, every
    resource (address, action, ETag, field changes) and its warnings."""
    body = json.dumps(
        {
            "provider": plan.provider,
            "base_url": plan.api.get("base_url"),
            "resources": [r.data() for r in plan.resources],
            "warnings": list(plan.warnings),
        },
        sort_keys=True,
    )  # ASCII (json's default): the bytes signed do not depend on an encoding
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


def check_undo(saved: SavedPlan, api_key: str) -> None:
    """Refuse an undo plan whose signature is not the one apply wrote with this key."""
    wanted = undo_signature(saved.plan, signing_key(api_key))
    if not saved.signature or not hmac.compare_digest(saved.signature, wanted):
        raise PlanFileError(
            "The undo plan is not the one apply wrote (it was edited since, or written with "
            "another key); nothing was written. Plan the values you want back from a file "
            "instead."
        )


class UndoRecorder:
    """``apply --undo-out``: after each applied resource, rewrite a saved plan that puts
    back every value changed so far, with the new ETags, so an interrupted apply
    still leaves a complete undo of what it did. It is signed (``undo_signature``)
    with a key derived from the API key, since no file can vouch for it. The provider
    says how each change is reversed (``Provider.reversal``) and what the undo plan
    must warn (an archive cannot be undone; a workspace's creation is undone by
    archiving it)."""

    def __init__(self, path: Path, plan: Plan, *, api_key: str) -> None:
        self._path = path
        self._plan = plan
        self._key = signing_key(api_key)
        self._changes = {r.address: r for r in plan.resources}
        self._provider = providers.get(plan.provider)
        self._lost: list[str] = []
        self._reverse: list[ResourceChange] = []

    def _review(self) -> list[str]:
        """The provider's warnings for the undo, reviewed against what it expects live
        (each value it puts back from): what applying it will warn, written into it so
        that ``show`` tells a reviewer too. Apply reviews it again against live."""
        expected = LiveState(
            {
                r.address: LiveResource({n: c.before for n, c in r.changes.items()}, r.etag)
                for r in self._reverse
            }
        )
        said, _ = self._provider.review(tuple(self._reverse), expected)
        return [w for w in said if w not in self._lost]

    def _removed_by_undo(self, address: str) -> bool:
        """Whether undoing the planned change at ``address`` removes its resource."""
        planned = self._changes.get(address)
        if planned is None:
            return False
        reverse, _ = self._provider.reversal(planned)
        return reverse is not None and reverse.action.removes

    def record(self, result: ResourceResult) -> None:
        if result.outcome is not Outcome.APPLIED:
            return
        planned = self._changes[result.address]
        if any(self._removed_by_undo(r) for r in planned.requires):
            return  # inside what the undo removes (a workspace it archives): it goes with it
        applied = ResourceChange(
            result.address, planned.action, result.etag, result.changes, planned.requires
        )
        reverse, warning = self._provider.reversal(applied)
        if reverse is not None:
            self._reverse.append(reverse)
        if warning:
            self._lost.append(warning)
        undo = Plan(
            resources=tuple(self._reverse),
            source=self._plan.source,
            provider=self._plan.provider,
            warnings=(*self._lost, *self._review()),
            api=self._plan.api,
        )
        data = {
            **saved_plan_data(undo),
            "kind": "undo",
            "signature": undo_signature(undo, self._key),
        }
        write_json(self._path, data)


def load_report_if_report(path: Path) -> ApplyReport | None:
    """An apply report (``apply --report``), or None when the file is something else."""
    try:
        data = json.loads(read_input(path, what="the file").decode("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or "results" not in data:
        return None
    try:
        return ApplyReport(
            results=tuple(
                ResourceResult(
                    str(r["address"]),
                    Outcome(r["outcome"]),
                    {str(n): FieldChange(c["before"], c["after"]) for n, c in r["changes"].items()},
                    r.get("reason"),
                )
                for r in data["results"]
            ),
            warnings=tuple(str(w) for w in data.get("warnings", [])),
            api={str(k): str(v) for k, v in dict(data.get("api") or {}).items()},
            rate_limit=RateLimitWaits(
                int((data.get("rate_limit") or {}).get("answered_429", 0)),
                float((data.get("rate_limit") or {}).get("waited_s", 0.0)),
            ),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PlanFileError(f"{path} is a damaged apply report ({type(exc).__name__}).") from exc
