"""Portkey logs export (JSONL; in-app Exports or ``/logs/exports``).

``request.body`` / ``response.body`` are the provider bodies (nested objects, dotted keys, or JSON strings).
``virtual_key`` is the ``api_key_id``; the workspace, if exported, is the ``account_id``, else
``metadata._user`` (which is also the ``end_user_id``); ``trace_id`` is the ``session_id``. ``cost`` is
in **cents**. ``runtime`` / ``runtime_version`` / ``sdk_version`` make a user agent such as
``portkey-python/1.9.0 (python 3.11.9)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from extractscan.ingest.base import (
    Rejected,
    as_bool,
    as_float,
    as_int,
    as_str,
    get_path,
    maybe_json,
    parse_time,
)
from extractscan.ingest.formats.generic import (
    SafeReader,
    fill,
    mapping_or_empty,
    safe_request_hinted,
    safe_response,
    status_from_code,
    tags_from,
)

_WORKSPACE_KEYS = ("workspace_slug", "workspace", "workspace_id", "workspace_name")


def _body(o: Mapping[str, Any], side: str) -> Any:
    """``o[side].body`` (object or JSON string), else the dotted column ``"<side>.body"``."""
    nested = get_path(mapping_or_empty(o.get(side)), "body")
    if nested is None:
        nested = o.get(f"{side}.body")
    return maybe_json(nested)


def _metadata(o: Mapping[str, Any]) -> dict[str, Any]:
    md: dict[str, Any] = dict(mapping_or_empty(o.get("metadata")))
    k, v = maybe_json(o.get("metadata.key")), maybe_json(o.get("metadata.value"))
    if isinstance(k, str) and k:
        md.setdefault(k, v)
    elif isinstance(k, list) and isinstance(v, list):
        for kk, vv in zip(k, v, strict=False):
            if isinstance(kk, str) and kk:
                md.setdefault(kk, vv)
    for key, val in o.items():  # flattened "metadata._user" columns
        if isinstance(key, str) and key.startswith("metadata.") and key not in ("metadata.key", "metadata.value"):
            md.setdefault(key[len("metadata.") :], val)
    return md


def user_agent(o: Mapping[str, Any]) -> str | None:
    runtime, rt_version, sdk = (
        as_str(o.get("runtime")),
        as_str(o.get("runtime_version")),
        as_str(o.get("sdk_version")),
    )
    if not runtime and not sdk:
        return None
    ua = f"portkey-{runtime.lower()}" if runtime else "portkey"
    if sdk:
        ua += f"/{sdk}"
    if runtime and rt_version:
        ua += f" ({runtime.lower()} {rt_version})"
    return ua


class PortkeyReader(SafeReader):
    name: ClassVar[str] = "portkey"
    summary: ClassVar[str] = "Portkey logs export (JSONL)"
    priority: ClassVar[int] = 70

    def _sniff(self, o: Mapping[str, Any]) -> bool:
        return "virtual_key" in o or "req_units" in o or "ai_org" in o or "request.body" in o

    def _parse(self, o: Mapping[str, Any]) -> Iterator[dict[str, Any] | Rejected]:
        md = _metadata(o)
        user = as_str(md.get("_user"))
        workspace = next((s for s in (as_str(o.get(k)) for k in _WORKSPACE_KEYS) if s), None)
        cents = as_float(o.get("cost"))
        code = as_int(o.get("response_status_code"))
        ok = as_bool(o.get("is_success"))
        provider = as_str(o.get("ai_org"))
        env: dict[str, Any] = {
            "request_id": as_str(o.get("request_id")) or as_str(o.get("id")),
            "event_time": parse_time(o.get("created_at")),
            "latency_ms": as_float(o.get("response_time")),
            "account_id": workspace or user,
            "end_user_id": user,
            "api_key_id": as_str(o.get("virtual_key")),
            "session_id": as_str(o.get("trace_id")),
            "user_agent": user_agent(o),
            "tags": tags_from(md),
            "provider": provider.lower() if provider else None,
            "model_requested": None,
            "input_tokens": as_int(o.get("req_units")),
            "output_tokens": as_int(o.get("res_units")),
            "total_tokens": as_int(o.get("total_units")),
            "cost_usd": cents / 100 if cents is not None else None,
            "status_code": code,
            "status": ("success" if ok else "error") if ok is not None else status_from_code(code),
            "stream": as_bool(o.get("stream_mode")),
        }
        req = safe_request_hinted(_body(o, "request"), o.get("request_url"))
        resp = safe_response(_body(o, "response"))
        row = fill(env, req, resp)
        ai_model = as_str(o.get("ai_model"))
        row["model_requested"] = row.get("model_requested") or ai_model
        row["model_served"] = row.get("model_served") or ai_model
        i, out = row.get("input_tokens"), row.get("output_tokens")
        if row.get("total_tokens") is None and isinstance(i, int) and isinstance(out, int):
            row["total_tokens"] = i + out
        yield row
