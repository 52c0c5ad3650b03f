"""What the Admin API accepts in a telemetry destination's fields (the SDK's
docstrings): the endpoint's URL, write-only headers merged by name, the traces
settings, the state, and the workspace scope with its list. Each refusal is the 400
the reference names; header values are kept only as digests."""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from reconciler.sandbox.errors import ErrorAnswer

MAX_CONTENT_BYTES = 1_048_576
RESERVED = ("host", "cookie", "user-agent")
RESERVED_PREFIXES = ("content-", "proxy-", "x-forwarded-", "anthropic-")


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def check_fields(body: Mapping[str, Any], *, creating: bool) -> None:
    allowed = {"display_name", "endpoint_url", "headers", "traces", "workspaces"}
    unknown = sorted(set(body) - allowed - (set() if creating else {"state"}))
    if unknown:
        raise ErrorAnswer(400, f"{unknown[0]}: unknown field.")
    if creating and not {"endpoint_url", "workspaces"} <= set(body):
        raise ErrorAnswer(400, "endpoint_url and workspaces are required.")
    name = body.get("display_name")
    if name is not None and (not isinstance(name, str) or not 1 <= len(name) <= 255):
        raise ErrorAnswer(400, "display_name: 1 to 255 characters.")


def endpoint(url: Any) -> str:
    if not isinstance(url, str) or len(url) > 2048:
        raise ErrorAnswer(400, "endpoint_url: an https URL of at most 2,048 characters.")
    parts = urlsplit(url)
    try:
        ipaddress.ip_address((parts.hostname or "").strip("[]"))
        literal = True
    except ValueError:
        literal = False
    if (
        parts.scheme != "https"
        or not parts.hostname
        or literal
        or parts.port not in (None, 443)
        or parts.query
        or parts.fragment
        or parts.username is not None
    ):
        raise ErrorAnswer(
            400,
            "endpoint_url: https with a hostname (not an IP address), port 443 if any, and "
            "no query, fragment or user.",
        )
    return url


def headers(now: Mapping[str, str], sent: Any) -> dict[str, str]:
    """Header digests by lower-case name, merged as the reference says."""
    if not isinstance(sent, dict):
        raise ErrorAnswer(400, "headers: an object of names and values.")
    merged = dict(now)
    for name, value in sent.items():
        key = str(name).lower().replace("_", "-")
        if key in RESERVED or key.startswith(RESERVED_PREFIXES) or len(key) > 128:
            raise ErrorAnswer(400, f"headers: {name!r} is a reserved or overlong name.")
        if value is None:
            merged.pop(key, None)
            continue
        if (
            not isinstance(value, str)
            or not value.isprintable()
            or not value.isascii()
            or value != value.strip()
            or len(value) > 4096
        ):
            raise ErrorAnswer(400, f"headers: the value of {name!r} is not allowed.")
        merged[key] = digest(value)
    if len(merged) > 20:
        raise ErrorAnswer(400, "headers: at most 20.")
    return merged


def traces(now: Mapping[str, Any], sent: Any) -> dict[str, Any]:
    if not isinstance(sent, dict):
        raise ErrorAnswer(400, "traces: an object.")
    traces = dict(now)
    for name, value in sent.items():
        if name == "content_mode":
            if value not in (None, "metadata_only", "content"):
                raise ErrorAnswer(400, "traces.content_mode: metadata_only or content.")
            traces[name] = value or "metadata_only"
        elif name == "enabled":
            if not isinstance(value, bool):
                raise ErrorAnswer(400, "traces.enabled: true or false.")
            traces[name] = value
        elif name == "endpoint_url":
            traces[name] = None if value is None else str(value)
        elif name == "max_content_bytes":
            if value is not None and (
                not isinstance(value, int) or not 1 <= value <= MAX_CONTENT_BYTES
            ):
                raise ErrorAnswer(
                    400, f"traces.max_content_bytes: 1 to {MAX_CONTENT_BYTES}, the maximum."
                )
            traces[name] = value
        else:
            raise ErrorAnswer(400, f"traces.{name}: unknown field.")
    return traces


def same_origin(endpoint: str, traces: Mapping[str, Any]) -> dict[str, Any]:
    """``traces`` when its endpoint (if any) has the scheme, host and port of the
    destination's, as the SDK documents: a traces endpoint elsewhere would take the
    headers registered for ``endpoint`` to another host."""
    url = traces.get("endpoint_url")
    if url is not None:
        ours, theirs = urlsplit(endpoint), urlsplit(str(url))
        if (ours.scheme, ours.netloc) != (theirs.scheme, theirs.netloc):
            raise ErrorAnswer(
                400,
                "traces.endpoint_url: must have the same scheme, host and port as "
                "endpoint_url (set it too, or send null).",
            )
    return dict(traces)


def state(sent: Any) -> str:
    if not isinstance(sent, dict) or sent.get("type") not in ("enabled", "disabled"):
        raise ErrorAnswer(400, "state: {type: enabled} or {type: disabled}.")
    return str(sent["type"])


def scope(
    sent: Any, active: Callable[[str], bool], *, now: tuple[str, list[str]]
) -> tuple[str, list[str]]:
    if not isinstance(sent, dict) or sent.get("type") not in ("all", "include", "exclude"):
        raise ErrorAnswer(400, "workspaces: {type: all, include or exclude}.")
    kind = str(sent["type"])
    if kind == "all":
        return kind, []
    if "workspace_ids" not in sent:
        return kind, now[1] if kind == now[0] else []
    ids = list(dict.fromkeys(sent["workspace_ids"] or []))
    for workspace_id in ids:
        if workspace_id not in now[1] and not active(str(workspace_id)):
            raise ErrorAnswer(400, f"workspaces: no active workspace {workspace_id!r}.")
    return kind, ids
