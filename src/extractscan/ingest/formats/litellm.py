"""LiteLLM proxy logs: the ``StandardLoggingPayload`` written by callbacks (S3, GCS, ...) and the
``LiteLLM_SpendLogs`` table (``/spend/logs``, UI export; JSON or CSV).

Identities: ``account_id`` is the team (``team_id`` / ``metadata.user_api_key_team_id``), else the
organisation, else the hashed virtual key; ``api_key_id`` the key hash; ``principal_id`` the internal user
owning the key; ``end_user_id`` the customer (``end_user``). Strings LiteLLM cut with its
``... (… skipped N chars) ...`` marker make the row ``body_status = "truncated"``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from extractscan.ingest.base import (
    Rejected,
    as_bool,
    as_float,
    as_int,
    as_str,
    hash_api_key,
    maybe_json,
    parse_time,
)
from extractscan.ingest.bodies import request_kind
from extractscan.ingest.formats.generic import (
    SafeReader,
    fill,
    mapping_or_empty,
    safe_request,
    safe_response,
    status_from_code,
)

TRUNCATION_MARKER = re.compile(r"\.\.\. ?\(?(?:[\w.-]+ )?skipped \d+ chars\)? ?\.\.\.")

# custom_llm_provider -> canonical provider
_PROVIDERS = {
    "bedrock": "aws-bedrock",
    "bedrock_converse": "aws-bedrock",
    "sagemaker": "aws-sagemaker",
    "vertex_ai": "google-vertex",
    "vertex_ai_beta": "google-vertex",
    "gemini": "google",
    "azure": "azure-openai",
    "azure_ai": "azure-ai",
    "azure_text": "azure-openai",
    "text-completion-openai": "openai",
}

# call_type -> api_surface
_SURFACES = {
    "completion": "chat.completions",
    "acompletion": "chat.completions",
    "text_completion": "completions",
    "atext_completion": "completions",
    "responses": "responses",
    "aresponses": "responses",
    "anthropic_messages": "messages",
    "embedding": "embeddings",
    "aembedding": "embeddings",
    "image_generation": "images",
    "aimage_generation": "images",
}


def _provider(v: Any) -> str | None:
    s = as_str(v)
    return _PROVIDERS.get(s.lower(), s.lower()) if s else None


def _surface(v: Any) -> str | None:
    s = as_str(v)
    return _SURFACES.get(s) if s else None


def _list(v: Any) -> list[Any]:
    v = maybe_json(v)
    return v if isinstance(v, list) else []


def split_request_tags(tags: Any) -> tuple[str | None, list[dict[str, str]]]:
    """(the fullest ``User-Agent: …`` value, the other tags as ``key=tag, value=""``)."""
    ua: str | None = None
    out: list[dict[str, str]] = []
    for t in _list(tags):
        s = as_str(t)
        if not s:
            continue
        if s[:11].lower() == "user-agent:":
            val = s[11:].strip()
            if val and (ua is None or len(val) > len(ua)):
                ua = val
        else:
            out.append({"key": s, "value": ""})
    return ua, out


def _spend_tags(md: Mapping[str, Any]) -> list[dict[str, str]]:
    slm = mapping_or_empty(md.get("spend_logs_metadata"))
    out = []
    for k, v in slm.items():
        s = v if isinstance(v, str) else as_str(v)
        out.append({"key": str(k), "value": s or ""})
    return out


def _prompt_from_messages(messages: Any, params: Mapping[str, Any], model: Any) -> dict[str, Any]:
    """The prompt of a payload whose ``messages`` is a chat list, a prompt string, a body or a message."""
    m = maybe_json(messages)
    if m is None or m == {} or m == [] or m == "":
        return {}
    if isinstance(m, Mapping) and request_kind(m) not in (None, "openai_chat"):
        return safe_request({**params, **m})
    if isinstance(m, Mapping) and isinstance(m.get("messages"), list):
        m = m["messages"]
    body: dict[str, Any] = {**params, "messages": m}
    if model is not None:
        body["model"] = model
    return safe_request(body, "openai_chat")


def _params_extra(params: Mapping[str, Any]) -> dict[str, Any]:
    return {"top_k": as_int(params.get("top_k"))}


def _truncated(row: Mapping[str, Any]) -> bool:
    texts = [m.get("text") for m in row.get("messages") or [] if isinstance(m, Mapping)]
    texts.append(row.get("system_text"))
    return any(isinstance(t, str) and "skipped" in t and TRUNCATION_MARKER.search(t) for t in texts)


def _response(resp: Any) -> dict[str, Any]:
    r = maybe_json(resp)
    if isinstance(r, str):
        return {"response_text": r, "n_response_choices": 1} if r else {}
    out = safe_response(r)
    if not out and isinstance(r, Mapping) and isinstance(r.get("result"), str):  # non-model responses
        out = {"response_text": r["result"]}
    return out


def _status(v: Any) -> str | None:
    s = as_str(v)
    if not s:
        return None
    s = s.lower()
    if s in ("success", "succeeded", "ok"):
        return "success"
    if s in ("failure", "failed", "error"):
        return "error"
    return None


def _error(info: Any, row: dict[str, Any]) -> None:
    info = mapping_or_empty(info)
    code = as_str(info.get("error_code"))
    if code and code.isdigit() and 100 <= int(code) < 600:
        row["status_code"] = int(code)
    row["error_code"] = as_str(info.get("error_class")) or code


def _finish(env: dict[str, Any], prompt: dict[str, Any], resp: dict[str, Any], model_served: Any) -> dict[str, Any]:
    if env.get("model_served") is None:
        env["model_served"] = resp.get("model_served") or as_str(model_served)
    row = fill(env, prompt, resp)
    if row.get("status") is None and row.get("status_code") is not None:
        row["status"] = status_from_code(row["status_code"])
    if _truncated(row):
        row["body_status"] = "truncated"
    return row


class LiteLLMStandardLoggingPayload(SafeReader):
    name: ClassVar[str] = "litellm_slp"
    summary: ClassVar[str] = "LiteLLM StandardLoggingPayload (callback logs: S3, GCS, ...), one JSON per call"
    priority: ClassVar[int] = 70

    def _sniff(self, o: Mapping[str, Any]) -> bool:
        if "startTime" not in o or "spend" in o or "api_key" in o:
            return False
        return "model_parameters" in o or "hidden_params" in o or "response_cost" in o or ("call_type" in o and "trace_id" in o)

    def _parse(self, o: Mapping[str, Any]) -> Iterator[dict[str, Any] | Rejected]:
        md = mapping_or_empty(o.get("metadata"))
        params = mapping_or_empty(o.get("model_parameters"))
        start, end = parse_time(o.get("startTime")), parse_time(o.get("endTime"))
        key_hash = as_str(md.get("user_api_key_hash")) or as_str(md.get("user_api_key"))
        ua_tag, tags = split_request_tags(o.get("request_tags"))
        tags += _spend_tags(md)
        cache_hit = as_bool(o.get("cache_hit"))
        if cache_hit:
            tags.append({"key": "litellm.cache_hit", "value": "true"})
        latency = (end - start).total_seconds() * 1000 if start and end else None
        if latency is None:
            rt = as_float(o.get("response_time"))
            latency = rt * 1000 if rt is not None else None
        env: dict[str, Any] = {
            "request_id": as_str(o.get("id")) or as_str(o.get("call_id")),
            "event_time": start,
            "end_time": end,
            "latency_ms": latency,
            "account_id": as_str(md.get("user_api_key_team_id"))
            or as_str(md.get("user_api_key_org_id"))
            or hash_api_key(key_hash),
            "api_key_id": key_hash,
            "principal_id": as_str(md.get("user_api_key_user_id")),
            "end_user_id": as_str(o.get("end_user")) or as_str(md.get("user_api_key_end_user_id")),
            "session_id": as_str(o.get("trace_id")) or as_str(md.get("session_id")),
            "client_ip": as_str(o.get("requester_ip_address")) or as_str(md.get("requester_ip_address")),
            "user_agent": as_str(o.get("user_agent")) or as_str(md.get("user_agent")) or ua_tag,
            "tags": tags,
            "provider": _provider(o.get("custom_llm_provider")),
            "api_surface": _surface(o.get("call_type")),
            "model_requested": as_str(o.get("model_group")) or as_str(o.get("model")),
            "stream": as_bool(o.get("stream")),
            "input_tokens": as_int(o.get("prompt_tokens")),
            "output_tokens": as_int(o.get("completion_tokens")),
            "total_tokens": as_int(o.get("total_tokens")),
            "cost_usd": as_float(o.get("response_cost")),
            "status": _status(o.get("status")),
        }
        _error(o.get("error_information"), env)
        if env["status"] == "error" and not env.get("error_code"):
            env["error_code"] = as_str(_first_line(o.get("error_str")))
        prompt = _prompt_from_messages(o.get("messages"), params, o.get("model"))
        prompt = fill(prompt, _params_extra(params))
        yield _finish(env, prompt, _response(o.get("response")), o.get("model"))


def _first_line(v: Any) -> str | None:
    s = as_str(v)
    return s.strip().splitlines()[0][:120] if s and s.strip() else None


class LiteLLMSpendLogs(SafeReader):
    name: ClassVar[str] = "litellm_spendlogs"
    summary: ClassVar[str] = "LiteLLM_SpendLogs rows (/spend/logs, UI or database export; JSON or CSV)"
    priority: ClassVar[int] = 70

    def _sniff(self, o: Mapping[str, Any]) -> bool:
        return "startTime" in o and ("spend" in o or "api_key" in o) and "model_parameters" not in o and "hidden_params" not in o

    def _parse(self, o: Mapping[str, Any]) -> Iterator[dict[str, Any] | Rejected]:
        md = mapping_or_empty(o.get("metadata"))
        start, end = parse_time(o.get("startTime")), parse_time(o.get("endTime"))
        key_hash = as_str(o.get("api_key")) or as_str(md.get("user_api_key"))
        ua_tag, tags = split_request_tags(o.get("request_tags"))
        tags += _spend_tags(md)
        if as_bool(o.get("cache_hit")):
            tags.append({"key": "litellm.cache_hit", "value": "true"})
        latency = as_float(o.get("request_duration_ms"))
        if latency is None and start and end:
            latency = (end - start).total_seconds() * 1000
        usage_extra = mapping_or_empty(md.get("additional_usage_values"))
        env: dict[str, Any] = {
            "request_id": as_str(o.get("request_id")),
            "event_time": start,
            "end_time": end,
            "latency_ms": latency,
            "account_id": as_str(o.get("team_id"))
            or as_str(md.get("user_api_key_team_id"))
            or as_str(o.get("organization_id"))
            or as_str(md.get("user_api_key_org_id"))
            or hash_api_key(key_hash),
            "api_key_id": key_hash,
            "principal_id": as_str(o.get("user")) or as_str(md.get("user_api_key_user_id")),
            "end_user_id": as_str(o.get("end_user")),
            "session_id": as_str(o.get("session_id")),
            "client_ip": as_str(o.get("requester_ip_address")) or as_str(md.get("requester_ip_address")),
            "user_agent": ua_tag or as_str(md.get("user_agent")),
            "tags": tags,
            "provider": _provider(o.get("custom_llm_provider")),
            "api_surface": _surface(o.get("call_type")),
            "model_requested": as_str(o.get("model_group")) or as_str(o.get("model")),
            "input_tokens": as_int(o.get("prompt_tokens")),
            "output_tokens": as_int(o.get("completion_tokens")),
            "total_tokens": as_int(o.get("total_tokens")),
            "cache_read_tokens": as_int(mapping_or_empty(usage_extra.get("prompt_tokens_details")).get("cached_tokens")),
            "reasoning_tokens": as_int(mapping_or_empty(usage_extra.get("completion_tokens_details")).get("reasoning_tokens")),
            "cost_usd": as_float(o.get("spend")),
            "status": _status(o.get("status")) or _status(md.get("status")),
        }
        _error(md.get("error_information"), env)
        req = maybe_json(o.get("proxy_server_request"))
        if isinstance(req, Mapping) and request_kind(req) is None and "body" in req:
            req = maybe_json(req.get("body"))  # {"url", "method", "headers", "body"} form
        prompt = safe_request(req) if isinstance(req, Mapping) and req else {}
        if not prompt.get("messages") and not prompt.get("system_text"):
            # Older versions stored the prompt in `messages` (now always "{}").
            older = _prompt_from_messages(o.get("messages"), {}, o.get("model"))
            prompt = fill(older, prompt)
        yield _finish(env, prompt, _response(o.get("response")), o.get("model"))
