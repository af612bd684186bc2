"""Langfuse exports: blob-storage ``observations_v2/`` rows (and legacy ``observations/``), legacy
``traces/`` rows, and the UI / public-API JSON export of observations (camelCase).

Only ``GENERATION`` observations are model calls; other observation types (SPAN, EVENT, TOOL, ...) are
skipped with ``not_a_model_call``. ``input`` / ``output`` / ``model_parameters`` are usually JSON strings.
Identities: ``account_id`` = ``user_id``, else ``project_id``; ``end_user_id`` = ``user_id``;
``session_id`` = ``session_id``, else ``trace_id``; ``tags`` from the trace tags (``key=tag, value=""``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from extractscan.ingest.base import Rejected, as_float, as_int, as_str, maybe_json, parse_time
from extractscan.ingest.bodies import request_kind
from extractscan.ingest.formats.generic import (
    SafeReader,
    dumps_safe,
    fill,
    mapping_or_empty,
    safe_request,
    safe_response,
    safe_text,
    tags_from,
)

# Sampling parameters read from `model_parameters` whatever the provider.
_PARAM_COLS = (
    "max_output_tokens",
    "temperature",
    "top_p",
    "n_requested",
    "logprobs",
    "top_logprobs",
    "seed",
    "stream",
    "reasoning_effort",
    "response_format_type",
    "tools_count",
)


def params_row(params: Mapping[str, Any]) -> dict[str, Any]:
    if not params:
        return {}
    got = safe_request({**params, "messages": []}, "openai_chat")
    out = {k: got[k] for k in _PARAM_COLS if k in got}
    out["top_k"] = as_int(params.get("top_k"))
    if out.get("max_output_tokens") is None:
        out["max_output_tokens"] = as_int(params.get("max_output_tokens", params.get("maxOutputTokens")))
    return out


def _object_text(v: Mapping[str, Any]) -> str | None:
    strings = [x for x in v.values() if isinstance(x, str) and x]
    return strings[0] if len(v) == 1 and len(strings) == 1 else dumps_safe(v)


def input_row(raw: Any) -> dict[str, Any]:
    """The prompt of a Langfuse ``input``: a chat list, a full provider body, one message, plain text, or an
    app-level object (kept as text: one string value, else its JSON)."""
    v = maybe_json(raw)
    if v is None or v == "" or v == [] or v == {}:
        return {}
    if isinstance(v, str):
        return {"messages": [{"role": "user", "text": v}]}
    if isinstance(v, list):
        got = safe_request({"messages": v}, "openai_chat")
        return {k: got[k] for k in ("messages", "system_text", "part_types", "tools_count") if k in got}
    if isinstance(v, Mapping):
        if request_kind(v) is not None and request_kind(v) != "openai_chat":
            return safe_request(v)
        if isinstance(v.get("messages"), list):
            got = safe_request(v, "openai_chat")
            if not as_str(v.get("model")):
                got.pop("provider", None)
                got.pop("api_surface", None)
            return got
        if "role" in v or "content" in v or "parts" in v:
            got = safe_request({"messages": [v]}, "openai_chat")
            return {k: got[k] for k in ("messages", "system_text", "part_types") if k in got}
        text = _object_text(v)
        return {"messages": [{"role": "user", "text": text}]} if text else {}
    s = as_str(v)
    return {"messages": [{"role": "user", "text": s}]} if s else {}


def output_row(raw: Any) -> dict[str, Any]:
    v = maybe_json(raw)
    if v is None or v == "":
        return {}
    if isinstance(v, str):
        return {"response_text": v, "n_response_choices": 1}
    if isinstance(v, list):
        first = v[0] if v else None
        if isinstance(first, Mapping):
            return output_row(first)
        text = "\n".join(s for s in (as_str(x) for x in v) if s)
        return {"response_text": text, "n_response_choices": 1} if text else {}
    if isinstance(v, Mapping):
        got = safe_response(v)
        if got.get("response_text") is None:
            for k in ("text", "completion", "output", "content", "message"):
                if k in v:
                    text = v[k] if isinstance(v[k], str) else safe_text(v[k])
                    if text:
                        got["response_text"] = text
                        got["n_response_choices"] = 1
                        break
        if not got:  # an app-level object: its one string value, else its JSON
            obj_text = _object_text(v)
            if obj_text:
                got = {"response_text": obj_text, "n_response_choices": 1}
        return got
    s = as_str(v)
    return {"response_text": s, "n_response_choices": 1} if s else {}


@dataclass(frozen=True)
class _Keys:
    trace_id: str
    type: str
    start: str
    end: str
    model: str
    params: str
    usage: tuple[str, ...]
    cost: tuple[str, ...]
    user: str
    session: str
    project: str
    status_message: str


_SNAKE = _Keys(
    "trace_id",
    "type",
    "start_time",
    "end_time",
    "provided_model_name",
    "model_parameters",
    ("usage_details", "provided_usage_details"),
    ("total_cost", "calculated_total_cost"),
    "user_id",
    "session_id",
    "project_id",
    "status_message",
)
_CAMEL = _Keys(
    "traceId",
    "type",
    "startTime",
    "endTime",
    "model",
    "modelParameters",
    ("usageDetails", "usage"),
    ("totalCost", "calculatedTotalCost"),
    "userId",
    "sessionId",
    "projectId",
    "statusMessage",
)

_CACHE_READ = ("input_cached_tokens", "cache_read_input_tokens", "input_cache_read", "cached_tokens")
_CACHE_WRITE = ("cache_creation_input_tokens", "input_cache_creation", "input_cache_write")
_REASONING = ("output_reasoning_tokens", "reasoning_tokens", "output_reasoning")


def _first_int(m: Mapping[str, Any], keys: tuple[str, ...]) -> int | None:
    for k in keys:
        i = as_int(m.get(k))
        if i is not None:
            return i
    return None


def _usage(o: Mapping[str, Any], k: _Keys) -> dict[str, Any]:
    u: Mapping[str, Any] = {}
    for key in k.usage:
        u = mapping_or_empty(o.get(key))
        if u:
            break
    return {
        "input_tokens": _coalesce(
            _first_int(u, ("input", "promptTokens", "prompt_tokens", "input_tokens")),
            as_int(o.get("promptTokens")),
        ),
        "output_tokens": _coalesce(
            _first_int(u, ("output", "completionTokens", "completion_tokens", "output_tokens")),
            as_int(o.get("completionTokens")),
        ),
        "total_tokens": _coalesce(_first_int(u, ("total", "totalTokens", "total_tokens")), as_int(o.get("totalTokens"))),
        "cache_read_tokens": _first_int(u, _CACHE_READ),
        "cache_write_tokens": _first_int(u, _CACHE_WRITE),
        "reasoning_tokens": _first_int(u, _REASONING),
    }


def _coalesce(*vals: int | None) -> int | None:
    return next((v for v in vals if v is not None), None)


def _cost(o: Mapping[str, Any], k: _Keys) -> float | None:
    for key in k.cost:
        c = as_float(o.get(key))
        if c is not None:
            return c
    return as_float(mapping_or_empty(o.get("cost_details", o.get("costDetails"))).get("total"))


def _short(v: Any) -> str | None:
    s = as_str(v)
    return s[:120] if s else None


def _level_status(level: Any) -> str | None:
    s = as_str(level)
    if not s:
        return None
    return "error" if s.upper() == "ERROR" else "success"


def observation_row(o: Mapping[str, Any], k: _Keys) -> dict[str, Any] | Rejected:
    otype = as_str(o.get(k.type))
    model = as_str(o.get(k.model))
    if otype is None and model is None:
        return Rejected("not_a_model_call", "observation without a type or a model", kind="skipped")
    if otype is not None and otype.upper() != "GENERATION":
        return Rejected("not_a_model_call", f"observation of type {otype} is not a model call", kind="skipped")
    start, end = parse_time(o.get(k.start)), parse_time(o.get(k.end))
    latency = (end - start).total_seconds() * 1000 if start and end else None
    if latency is None:
        lat = as_float(o.get("latency"))  # seconds (milliseconds for integrations created before 2026-04)
        latency = lat * 1000 if lat is not None else None
    user = as_str(o.get(k.user))
    trace = as_str(o.get(k.trace_id))
    level = _level_status(o.get("level"))
    env: dict[str, Any] = {
        "request_id": as_str(o.get("id")),
        "event_time": start,
        "end_time": end,
        "latency_ms": latency,
        "account_id": user or as_str(o.get(k.project)),
        "end_user_id": user,
        "session_id": as_str(o.get(k.session)) or trace,
        "tags": tags_from(o.get("tags")),
        "model_requested": model,
        "cost_usd": _cost(o, k),
        "status": level,
        "error_code": _short(o.get(k.status_message)) if level == "error" else None,
    }
    env.update({c: v for c, v in _usage(o, k).items() if v is not None})
    params = mapping_or_empty(o.get(k.params))
    return fill(env, input_row(o.get("input")), params_row(params), output_row(o.get("output")))


class LangfuseObservations(SafeReader):
    name: ClassVar[str] = "langfuse_obs_v2"
    summary: ClassVar[str] = "Langfuse blob-storage export: observations_v2/ (and legacy observations/) rows"
    priority: ClassVar[int] = 70

    def _sniff(self, o: Mapping[str, Any]) -> bool:
        return "trace_id" in o and "start_time" in o and ("type" in o or "provided_model_name" in o or "usage_details" in o)

    def _parse(self, o: Mapping[str, Any]) -> Iterator[dict[str, Any] | Rejected]:
        yield observation_row(o, _SNAKE)


class LangfuseUIExport(SafeReader):
    name: ClassVar[str] = "langfuse_ui"
    summary: ClassVar[str] = "Langfuse UI / public-API export of observations (JSON array, camelCase)"
    priority: ClassVar[int] = 70

    def _sniff(self, o: Mapping[str, Any]) -> bool:
        return "traceId" in o and "startTime" in o

    def _parse(self, o: Mapping[str, Any]) -> Iterator[dict[str, Any] | Rejected]:
        yield observation_row(o, _CAMEL)


class LangfuseTraces(SafeReader):
    name: ClassVar[str] = "langfuse_trace"
    summary: ClassVar[str] = "Langfuse legacy blob-storage export: traces/ rows (app-level input/output)"
    priority: ClassVar[int] = 40

    def _sniff(self, o: Mapping[str, Any]) -> bool:
        if "timestamp" not in o or "project_id" not in o or "trace_id" in o or "start_time" in o:
            return False
        return "user_id" in o or "session_id" in o or "bookmarked" in o or "public" in o or "release" in o

    def _parse(self, o: Mapping[str, Any]) -> Iterator[dict[str, Any] | Rejected]:
        user = as_str(o.get("user_id"))
        tid = as_str(o.get("id"))
        env: dict[str, Any] = {
            "request_id": tid,
            "event_time": parse_time(o.get("timestamp")),
            "account_id": user or as_str(o.get("project_id")),
            "end_user_id": user,
            "session_id": as_str(o.get("session_id")) or tid,
            "tags": tags_from(o.get("tags")),
        }
        yield fill(env, input_row(o.get("input")), output_row(o.get("output")))
