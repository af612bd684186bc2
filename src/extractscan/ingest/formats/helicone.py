"""Helicone request export (``@helicone/export`` JSON / JSONL / CSV, ``/v1/request/query-clickhouse``).

``request_body`` / ``response_body`` are the provider bodies (objects, or JSON strings in CSV). The
``Helicone-User-Id`` header (``request_user_id``) is the customer's own user: it is both the
``end_user_id`` and the ``account_id``; ``helicone_user`` (the Helicone member owning the key) is the
``api_key_id``. ``request_properties`` become tags, ``Helicone-Session-Id`` the ``session_id``.
``{"helicone_message": ...}`` placeholder bodies mark the row ``truncated``; without a body, a
``signed_body_url`` becomes ``body_uri`` (``offloaded``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from extractscan.ingest.base import Rejected, as_float, as_int, as_str, maybe_json, parse_time
from extractscan.ingest.formats.generic import (
    SafeReader,
    fill,
    mapping_or_empty,
    safe_request_hinted,
    safe_response,
    status_from_code,
    tags_from,
)

_PROVIDERS = {
    "AZURE": "azure-openai",
    "AWS": "aws-bedrock",
    "BEDROCK": "aws-bedrock",
    "VERTEXAI": "google-vertex",
    "VERTEX": "google-vertex",
    "GOOGLE": "google",
}


def _placeholder(body: Any) -> bool:
    return isinstance(body, Mapping) and "helicone_message" in body


def _session(props: Mapping[str, Any]) -> str | None:
    for k, v in props.items():
        if isinstance(k, str) and k.lower() in ("helicone-session-id", "session-id", "session_id"):
            return as_str(v)
    return None


class HeliconeReader(SafeReader):
    name: ClassVar[str] = "helicone"
    summary: ClassVar[str] = "Helicone request export (@helicone/export JSON, JSONL or CSV)"
    priority: ClassVar[int] = 70

    def _sniff(self, o: Mapping[str, Any]) -> bool:
        return "request_created_at" in o or "helicone_user" in o or "signed_body_url" in o

    def _parse(self, o: Mapping[str, Any]) -> Iterator[dict[str, Any] | Rejected]:
        req_raw, resp_raw = maybe_json(o.get("request_body")), maybe_json(o.get("response_body"))
        url = o.get("request_path") or o.get("target_url")
        req = {} if _placeholder(req_raw) else safe_request_hinted(req_raw, url)
        resp = {} if _placeholder(resp_raw) else safe_response(resp_raw)
        props = mapping_or_empty(o.get("request_properties")) or mapping_or_empty(o.get("properties"))
        start = parse_time(o.get("request_created_at"))
        end = parse_time(o.get("response_created_at"))
        latency = as_float(o.get("delay_ms"))
        if latency is None:
            latency = as_float(o.get("latency"))  # CSV column (usually empty)
        if latency is None and start and end:
            latency = (end - start).total_seconds() * 1000
        code = as_int(o.get("response_status"))
        user = as_str(o.get("request_user_id"))
        provider = as_str(o.get("provider"))
        request_id = as_str(o.get("request_id"))
        helicone_response_id = as_str(o.get("response_id"))  # Helicone's row id, not the provider's
        env: dict[str, Any] = {
            "record_id": None if request_id else (f"helicone:response:{helicone_response_id}" if helicone_response_id else None),
            "request_id": request_id,
            "event_time": start,
            "end_time": end,
            "latency_ms": latency,
            "account_id": user,
            "end_user_id": user,
            "api_key_id": as_str(o.get("helicone_user")),
            "session_id": _session(props),
            "country_code": as_str(o.get("country_code")),
            "tags": tags_from(props),
            "provider": _PROVIDERS.get(provider.upper(), provider.lower()) if provider else None,
            "model_requested": as_str(o.get("request_model")) or as_str(o.get("model")),
            "model_served": as_str(o.get("response_model")),
            "input_tokens": as_int(o.get("prompt_tokens")),
            "output_tokens": as_int(o.get("completion_tokens")),
            "total_tokens": as_int(o.get("total_tokens")),
            "cache_read_tokens": as_int(o.get("prompt_cache_read_tokens")),
            "cache_write_tokens": as_int(o.get("prompt_cache_write_tokens")),
            "cost_usd": as_float(o.get("costUSD")) if o.get("costUSD") is not None else as_float(o.get("cost")),
            "status_code": code if code is not None and code > 0 else None,
            "status": status_from_code(code),
        }
        row = fill(env, req, resp)
        if row.get("input_tokens") is not None and row.get("output_tokens") is not None and not row.get("total_tokens"):
            row["total_tokens"] = row["input_tokens"] + row["output_tokens"]
        has_prompt = bool(row.get("messages") or row.get("system_text"))
        if _placeholder(req_raw) or _placeholder(resp_raw):
            row["body_status"] = "truncated"
        elif not has_prompt and as_str(o.get("signed_body_url")):
            row["body_uri"] = as_str(o.get("signed_body_url"))
            row["body_status"] = "offloaded"
        yield row
