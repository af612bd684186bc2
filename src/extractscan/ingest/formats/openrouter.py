"""OpenRouter: per-generation metadata (``GET /api/v1/generation``) and the activity export.

Generation metadata has no prompt (``body_status = "absent"``); the API key owner is implicit (whoever
exported the file), so ``external_user`` (the request ``user`` field) is both the ``end_user_id`` and the
``account_id``. Activity exports are daily aggregates, not requests: every record is skipped.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from extractscan.ingest.base import Rejected, as_bool, as_float, as_int, as_str, parse_time
from extractscan.ingest.formats.generic import SafeReader


def _unwrap(o: Mapping[str, Any]) -> Mapping[str, Any]:
    d = o.get("data")
    return d if isinstance(d, Mapping) and len(o) <= 2 else o  # {"data": {...}} API response


def _is_generation(o: Mapping[str, Any]) -> bool:
    return "tokens_prompt" in o or "native_tokens_prompt" in o or ("external_user" in o and "provider_name" in o)


def _provider(v: Any) -> str | None:
    s = as_str(v)
    return "-".join(s.lower().split()) if s else None


def _first(*vals: Any) -> int | None:
    for v in vals:
        i = as_int(v)
        if i is not None:
            return i
    return None


class OpenRouterGeneration(SafeReader):
    name: ClassVar[str] = "openrouter_generation"
    summary: ClassVar[str] = "OpenRouter per-generation metadata (no prompt text)"
    priority: ClassVar[int] = 60

    def _sniff(self, o: Mapping[str, Any]) -> bool:
        return _is_generation(_unwrap(o))

    def _parse(self, o: Mapping[str, Any]) -> Iterator[dict[str, Any] | Rejected]:
        o = _unwrap(o)
        user = as_str(o.get("external_user"))
        cancelled = as_bool(o.get("cancelled"))
        tin = _first(o.get("native_tokens_prompt"), o.get("tokens_prompt"))
        tout = _first(o.get("native_tokens_completion"), o.get("tokens_completion"))
        tags = [
            {"key": k, "value": s}
            for k in ("app_id", "http_referer", "origin", "api_type", "router", "preset_id")
            if (s := as_str(o.get(k)))
        ]
        yield {
            "request_id": as_str(o.get("id")),
            "response_id": as_str(o.get("upstream_id")),
            "event_time": parse_time(o.get("created_at")),
            "latency_ms": as_float(o.get("latency")),
            "account_id": user,
            "end_user_id": user,
            "user_agent": as_str(o.get("user_agent")),
            "tags": tags,
            "provider": _provider(o.get("provider_name")),
            "api_surface": "chat.completions" if as_str(o.get("api_type")) == "completions" else None,
            "model_requested": as_str(o.get("model")),
            "finish_reason": as_str(o.get("finish_reason")) or as_str(o.get("native_finish_reason")),
            "stream": as_bool(o.get("streamed")),
            "input_tokens": tin,
            "output_tokens": tout,
            "total_tokens": tin + tout if tin is not None and tout is not None else None,
            "reasoning_tokens": as_int(o.get("native_tokens_reasoning")),
            "cache_read_tokens": as_int(o.get("native_tokens_cached")),
            "cost_usd": as_float(o.get("total_cost")) if o.get("total_cost") is not None else as_float(o.get("usage")),
            "status": "error" if cancelled else "success",
            "error_code": "cancelled" if cancelled else None,
        }


class OpenRouterActivity(SafeReader):
    name: ClassVar[str] = "openrouter_activity"
    summary: ClassVar[str] = "OpenRouter activity export (daily aggregates: recognised and skipped)"
    priority: ClassVar[int] = 60

    def _sniff(self, o: Mapping[str, Any]) -> bool:
        return (
            "date" in o
            and "requests" in o
            and ("model_permaslug" in o or "endpoint_id" in o or "byok_usage_inference" in o or "usage" in o)
            and not _is_generation(o)
        )

    def _parse(self, o: Mapping[str, Any]) -> Iterator[dict[str, Any] | Rejected]:
        yield Rejected(
            "aggregate_not_per_request",
            "OpenRouter activity rows are daily totals per model/endpoint (date "
            f"{as_str(o.get('date')) or '?'}, {as_str(o.get('requests')) or '?'} requests), not individual "
            "requests: they carry no prompt, time of day or caller, so they cannot be scanned",
            kind="skipped",
        )
