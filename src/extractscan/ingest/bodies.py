"""Request and response *bodies* of the provider APIs, shared by every reader that carries them.

Gateways (LiteLLM, Helicone, Portkey, Langfuse, Bedrock, the extractscan envelope) all wrap one of a few
body shapes: OpenAI Chat Completions, OpenAI Responses, Anthropic Messages, Bedrock Converse and Gemini
``generateContent``. Each function here maps one shape onto a partial :class:`CanonicalRow`; readers merge
that with their envelope fields. Nothing here raises on odd input: unknown shapes give empty rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import orjson

from extractscan.ingest.base import (
    ParseOutcome,
    Rejected,
    as_bool,
    as_float,
    as_int,
    as_str,
    get_path,
    maybe_json,
    parse_time,
)
from extractscan.schema import CanonicalRow, Message

_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1

# ``isinstance(v, (dict, Mapping))`` throughout: decoded JSON objects are dicts, a dict check is a C type
# check, while ``Mapping`` alone is an ABC check in Python (millions of calls per million records); other
# Mappings (CSV rows, Parquet rows) still match.


def token_sum(a: int | None, b: int | None) -> int | None:
    """``a + b`` when both are known and the sum fits the int64 token columns."""
    if a is None or b is None:
        return None
    s = a + b
    return s if -(2**63) <= s < 2**63 else None


def _mapping(v: Any) -> Mapping[str, Any]:
    return v if isinstance(v, (dict, Mapping)) else {}


def as_int32(v: Any) -> int | None:
    """``as_int`` for the int32 columns (top_k, n, top_logprobs, status_code): out of range gives None,
    so that one absurd value cannot make a whole Arrow batch fail."""
    i = as_int(v)
    return i if i is not None and _INT32_MIN <= i <= _INT32_MAX else None


# Roles normalised to four values; Gemini's "model" is the assistant.
_ROLE_MAP = {
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "model": "assistant",
    "ai": "assistant",
    "system": "system",
    "developer": "system",
    "tool": "tool",
    "function": "tool",
    "ipython": "tool",
}


def _role(v: Any) -> str:
    r = as_str(v)
    return _ROLE_MAP.get(r.lower(), r.lower()) if r else "user"


_MEDIA_KEYS = ("image", "document", "video", "inlineData", "fileData")
_PART_KIND = {"image_url": "image", "input_image": "image", "inlineData": "media", "fileData": "file"}


def content_text(content: Any, part_types: set[str]) -> str:
    """Text of a message ``content`` in any provider shape: a string, or a list of parts/blocks.

    Text parts are joined with newlines; non-text parts add a ``[type]`` placeholder and are recorded in
    ``part_types``. Tool results are unwrapped to their text.
    """
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, (dict, Mapping)):
        content = [content]
    if not isinstance(content, list):
        return as_str(content) or ""
    out: list[str] = []
    for part in content:
        if isinstance(part, str):
            out.append(part)
            continue
        if not isinstance(part, (dict, Mapping)):
            continue
        ptype = as_str(part.get("type"))
        text = part.get("text")
        if isinstance(text, str) and ptype in (None, "text", "input_text", "output_text", "summary_text"):
            out.append(text)
        elif ptype is None and "cachePoint" in part and len(part) == 1:
            continue  # Converse prompt-cache marker: not content
        elif ptype is None and isinstance(part.get("guardContent"), (dict, Mapping)):  # Converse guarded text
            out.append(as_str(get_path(part, "guardContent", "text", "text")) or "")
        elif ptype == "redacted_thinking" or (ptype is None and "reasoningContent" in part):
            part_types.add("thinking")
        elif ptype in ("tool_result", "function_call_output") or "toolResult" in part:
            part_types.add("tool_result")
            inner = part.get("content", part.get("output", get_path(part, "toolResult", "content")))
            out.append(content_text(inner, part_types))
        elif ptype == "thinking":
            part_types.add("thinking")
        elif "toolUse" in part or "functionCall" in part or ptype in ("tool_use", "function_call"):
            part_types.add("tool_use")
        elif "functionResponse" in part:
            part_types.add("tool_result")
        elif isinstance(text, str):
            out.append(text)
        else:
            kind = ptype or next((k for k in _MEDIA_KEYS if k in part), None)
            kind = _PART_KIND.get(kind or "", kind or "part")
            part_types.add(kind)
            out.append(f"[{kind}]")
    return "\n".join(s for s in out if s)


def _messages(raw: Any, part_types: set[str]) -> tuple[list[Message], list[str]]:
    """(turns, system texts found inline as system/developer messages)."""
    msgs: list[Message] = []
    systems: list[str] = []
    if isinstance(raw, str):
        return [{"role": "user", "text": raw}], systems
    if isinstance(raw, (dict, Mapping)):
        raw = [raw]
    if not isinstance(raw, list):
        return msgs, systems
    for m in raw:
        if isinstance(m, str):
            msgs.append({"role": "user", "text": m})
            continue
        if not isinstance(m, (dict, Mapping)):
            continue
        if m.get("type") not in (None, "message"):
            # Responses API input items that are not messages (tool outputs, reasoning, calls).
            t = as_str(m.get("type")) or "item"
            if t.endswith("_output"):
                part_types.add("tool_result")
                msgs.append({"role": "tool", "text": content_text(m.get("output"), part_types)})
            else:
                part_types.add("tool_use" if t.endswith("_call") else t)
            continue
        role = _role(m.get("role"))
        content = m.get("content", m.get("parts"))
        text = content_text(content, part_types)
        if m.get("tool_calls") or m.get("function_call"):
            part_types.add("tool_use")
        if role == "system":
            systems.append(text)
        else:
            msgs.append({"role": role, "text": text})
    return msgs, systems


def _system_text(v: Any, part_types: set[str]) -> str:
    if isinstance(v, (list, dict, Mapping)):
        if isinstance(v, (dict, Mapping)) and "parts" in v:  # Gemini systemInstruction
            v = v["parts"]
        return content_text(v, part_types)
    return as_str(v) or ""


def _set(row: CanonicalRow, key: str, value: Any) -> None:
    if value is not None:
        row[key] = value  # type: ignore[literal-required]


def _finish_prompt(row: CanonicalRow, msgs: list[Message], systems: list[str], part_types: set[str]) -> None:
    if msgs:
        row["messages"] = msgs
    sys_text = "\n".join(s for s in systems if s)
    if sys_text:
        row["system_text"] = sys_text
    if part_types:
        row["part_types"] = sorted(part_types)


def _tools_count(v: Any) -> int | None:
    if isinstance(v, list):
        return len(v)
    if isinstance(v, (dict, Mapping)) and isinstance(v.get("tools"), list):  # Converse toolConfig
        return len(v["tools"])
    return None


def _tags(v: Any) -> list[dict[str, str]] | None:
    if not isinstance(v, (dict, Mapping)) or not v:
        return None
    out = []
    for k, val in v.items():
        s = val if isinstance(val, str) else as_str(val)
        if s is None and val is not None:
            try:  # nested values keep a stable JSON form rather than a Python repr
                s = orjson.dumps(val, option=orjson.OPT_SORT_KEYS).decode()
            except (TypeError, orjson.JSONEncodeError):
                s = str(val)
        out.append({"key": str(k), "value": s or ""})
    return out


def tags(v: Any) -> list[dict[str, str]] | None:
    """A ``{key: value}`` mapping as the canonical ``tags`` list (values as strings); None when empty."""
    return _tags(v)


def _first_int(*values: Any) -> int | None:
    """The first value that coerces to an int (a null ``max_completion_tokens`` must not hide
    ``max_tokens``)."""
    for v in values:
        i = as_int(v)
        if i is not None:
            return i
    return None


# --------------------------------------------------------------------------------------------------
# Request bodies


def openai_chat_request(body: Mapping[str, Any]) -> CanonicalRow:
    row: CanonicalRow = {"provider": "openai", "api_surface": "chat.completions"}
    pt: set[str] = set()
    msgs, systems = _messages(body.get("messages"), pt)
    _finish_prompt(row, msgs, systems, pt)
    _set(row, "model_requested", as_str(body.get("model")))
    _set(row, "max_output_tokens", _first_int(body.get("max_completion_tokens"), body.get("max_tokens")))
    _set(row, "temperature", as_float(body.get("temperature")))
    _set(row, "top_p", as_float(body.get("top_p")))
    _set(row, "n_requested", as_int32(body.get("n")))
    _set(row, "logprobs", as_bool(body.get("logprobs")))
    _set(row, "top_logprobs", as_int32(body.get("top_logprobs")))
    _set(row, "seed", as_int(body.get("seed")))
    _set(row, "stream", as_bool(body.get("stream")))
    _set(row, "reasoning_effort", as_str(body.get("reasoning_effort")))
    _set(row, "tools_count", _tools_count(body.get("tools") or body.get("functions")))
    _set(row, "response_format_type", as_str(get_path(body, "response_format", "type")))
    _set(row, "end_user_id", as_str(body.get("safety_identifier") or body.get("user")))
    _set(row, "tags", _tags(body.get("metadata")))
    return row


def openai_responses_request(body: Mapping[str, Any]) -> CanonicalRow:
    row: CanonicalRow = {"provider": "openai", "api_surface": "responses"}
    pt: set[str] = set()
    msgs, systems = _messages(body.get("input"), pt)
    instr = as_str(body.get("instructions"))
    _finish_prompt(row, msgs, ([instr] if instr else []) + systems, pt)
    _set(row, "model_requested", as_str(body.get("model")))
    _set(row, "max_output_tokens", as_int(body.get("max_output_tokens")))
    _set(row, "temperature", as_float(body.get("temperature")))
    _set(row, "top_p", as_float(body.get("top_p")))
    tl = as_int32(body.get("top_logprobs"))
    _set(row, "top_logprobs", tl)
    if tl:
        row["logprobs"] = True
    _set(row, "stream", as_bool(body.get("stream")))
    _set(row, "reasoning_effort", as_str(get_path(body, "reasoning", "effort")))
    _set(row, "tools_count", _tools_count(body.get("tools")))
    _set(row, "response_format_type", as_str(get_path(body, "text", "format", "type")))
    _set(row, "end_user_id", as_str(body.get("safety_identifier") or body.get("user")))
    conv = body.get("conversation")  # "conv_…" or {"id": "conv_…"}
    _set(row, "session_id", as_str(conv.get("id") if isinstance(conv, (dict, Mapping)) else conv))
    _set(row, "tags", _tags(body.get("metadata")))
    return row


def _thinking_budget(v: Any) -> int | None:
    if not isinstance(v, (dict, Mapping)):
        return None
    t = as_str(v.get("type"))
    if t == "enabled":
        return as_int(v.get("budget_tokens")) or 0
    if t == "adaptive":
        return -1
    return None


def anthropic_request(body: Mapping[str, Any]) -> CanonicalRow:
    row: CanonicalRow = {"provider": "anthropic", "api_surface": "messages"}
    pt: set[str] = set()
    msgs, systems = _messages(body.get("messages"), pt)
    sys_text = _system_text(body.get("system"), pt)
    _finish_prompt(row, msgs, ([sys_text] if sys_text else []) + systems, pt)
    _set(row, "model_requested", as_str(body.get("model")))
    _set(row, "max_output_tokens", as_int(body.get("max_tokens")))
    _set(row, "temperature", as_float(body.get("temperature")))
    _set(row, "top_p", as_float(body.get("top_p")))
    _set(row, "top_k", as_int32(body.get("top_k")))
    _set(row, "stream", as_bool(body.get("stream")))
    _set(row, "thinking_budget_tokens", _thinking_budget(body.get("thinking")))
    _set(row, "tools_count", _tools_count(body.get("tools")))
    _set(row, "end_user_id", as_str(get_path(body, "metadata", "user_id")))
    return row


def converse_request(body: Mapping[str, Any]) -> CanonicalRow:
    row: CanonicalRow = {"provider": "aws-bedrock", "api_surface": "converse"}
    pt: set[str] = set()
    msgs, systems = _messages(body.get("messages"), pt)
    sys_text = _system_text(body.get("system"), pt)
    _finish_prompt(row, msgs, ([sys_text] if sys_text else []) + systems, pt)
    cfg = _mapping(body.get("inferenceConfig"))
    # Converse uses camelCase; Nova's native InvokeModel body the same shape in snake_case.
    _set(row, "max_output_tokens", _first_int(cfg.get("maxTokens"), cfg.get("max_new_tokens")))
    _set(row, "temperature", as_float(cfg.get("temperature")))
    _set(row, "top_p", as_float(cfg.get("topP", cfg.get("top_p"))))
    _set(row, "top_k", as_int32(cfg.get("topK", cfg.get("top_k"))))
    extra = body.get("additionalModelRequestFields")
    if isinstance(extra, (dict, Mapping)):
        _set(row, "thinking_budget_tokens", _thinking_budget(extra.get("thinking")))
        if row.get("top_k") is None:
            _set(row, "top_k", as_int32(extra.get("top_k")))
    _set(row, "tools_count", _tools_count(body.get("toolConfig")))
    _set(row, "tags", _tags(body.get("requestMetadata")))
    return row


def gemini_request(body: Mapping[str, Any]) -> CanonicalRow:
    row: CanonicalRow = {"provider": "google", "api_surface": "generate_content"}
    pt: set[str] = set()
    msgs, systems = _messages(body.get("contents"), pt)
    sys_text = _system_text(body.get("systemInstruction") or body.get("system_instruction"), pt)
    _finish_prompt(row, msgs, ([sys_text] if sys_text else []) + systems, pt)
    cfg = _mapping(body.get("generationConfig"))
    _set(row, "max_output_tokens", as_int(cfg.get("maxOutputTokens")))
    _set(row, "temperature", as_float(cfg.get("temperature")))
    _set(row, "top_p", as_float(cfg.get("topP")))
    _set(row, "top_k", as_int32(cfg.get("topK")))
    _set(row, "n_requested", as_int32(cfg.get("candidateCount")))
    _set(row, "logprobs", as_bool(cfg.get("responseLogprobs")))
    _set(row, "top_logprobs", as_int32(cfg.get("logprobs")))
    _set(row, "seed", as_int(cfg.get("seed")))
    _set(row, "response_format_type", as_str(cfg.get("responseMimeType")))
    budget = get_path(cfg, "thinkingConfig", "thinkingBudget")
    _set(row, "thinking_budget_tokens", as_int(budget))
    _set(row, "tools_count", _tools_count(body.get("tools")))
    _set(row, "tags", _tags(body.get("labels")))
    return row


_CONVERSE_BLOCK_KEYS = frozenset(
    {"text", "image", "document", "video", "toolUse", "toolResult", "guardContent", "cachePoint"} | {"reasoningContent"}
)
# Content block types only the Anthropic Messages API uses (OpenAI uses image_url / input_image / file).
_ANTHROPIC_BLOCK_TYPES = frozenset(
    (
        "image",
        "document",
        "tool_use",
        "tool_result",
        "thinking",
        "redacted_thinking",
        "search_result",
        "server_tool_use",
        "web_search_tool_result",
        "container_upload",
    )
)
_ANTHROPIC_KEYS = ("anthropic_version", "anthropic_beta", "thinking", "stop_sequences", "top_k")


def _blocks(msgs: Any) -> list[Mapping[str, Any]]:
    """The content blocks of a message list (first 64 messages), for shape detection."""
    out: list[Mapping[str, Any]] = []
    if not isinstance(msgs, list):
        return out
    for m in msgs[:64]:
        c = m.get("content") if isinstance(m, (dict, Mapping)) else None
        if isinstance(c, list):
            out.extend(b for b in c if isinstance(b, (dict, Mapping)))
    return out


def is_converse_block(b: Any) -> bool:
    """A Bedrock Converse content block: ``{"text": …}``, ``{"toolUse": …}`` … without a ``type``."""
    return isinstance(b, (dict, Mapping)) and "type" not in b and any(k in b for k in _CONVERSE_BLOCK_KEYS)


def anthropic_markers(body: Any) -> bool:
    """True when a ``messages`` body has something only the Anthropic Messages API has: a top-level
    ``system`` (string or typed blocks), ``thinking``, ``top_k``, ``stop_sequences``, ``anthropic_version``,
    ``metadata`` holding only ``user_id``, tools with ``input_schema`` or Anthropic content block types.
    A plain ``{model, max_tokens, messages}`` has none and is left to OpenAI Chat Completions."""
    if not isinstance(body, (dict, Mapping)):
        return False
    if any(k in body for k in _ANTHROPIC_KEYS):
        return True
    system = body.get("system")
    if isinstance(system, str):
        return True
    if isinstance(system, list) and system and all(isinstance(b, (dict, Mapping)) and "type" in b for b in system):
        return True
    md = body.get("metadata")
    if isinstance(md, (dict, Mapping)) and list(md) == ["user_id"]:
        return True
    tools = body.get("tools")
    if isinstance(tools, list) and any(isinstance(t, (dict, Mapping)) and "input_schema" in t for t in tools[:64]):
        return True
    for b in _blocks(body.get("messages")):
        t = b.get("type")
        if isinstance(t, str) and t in _ANTHROPIC_BLOCK_TYPES:
            return True
    return False


def request_kind(body: Any) -> str | None:
    """Which request shape a body is: openai_chat, openai_responses, anthropic, converse, gemini,
    openai_completions; None when unknown. Ambiguous ``{model, max_tokens, messages}`` is openai_chat."""
    if not isinstance(body, (dict, Mapping)):
        return None
    if "contents" in body:
        return "gemini"
    if "input" in body and "messages" not in body:
        return "openai_responses"
    if "inferenceConfig" in body or "additionalModelRequestFields" in body:
        return "converse"
    msgs = body.get("messages")
    if isinstance(msgs, list):
        blocks = _blocks(msgs)
        if any(is_converse_block(b) for b in blocks):
            return "converse"
        system = body.get("system")
        if isinstance(system, list) and any(is_converse_block(b) for b in system):
            return "converse"
        if anthropic_markers(body):
            return "anthropic"
        return "openai_chat"
    if "prompt" in body:
        return "openai_completions"
    return None


def legacy_completions_request(body: Mapping[str, Any]) -> CanonicalRow:
    row = openai_chat_request({k: v for k, v in body.items() if k not in ("messages", "logprobs")})
    row["api_surface"] = "completions"
    # Legacy completions: ``logprobs`` is an int, the number of alternatives per token.
    lp = body.get("logprobs")
    if isinstance(lp, bool):
        row["logprobs"] = lp
    elif (n_lp := as_int32(lp)) is not None:
        row["logprobs"] = True
        row["top_logprobs"] = n_lp
    p = body.get("prompt")
    if isinstance(p, list):
        p = "\n".join(x for x in p if isinstance(x, str))
    text = p if isinstance(p, str) else ""
    if text:
        row["messages"] = [{"role": "user", "text": text}]
    return row


_REQUEST_PARSERS = {
    "openai_chat": openai_chat_request,
    "openai_responses": openai_responses_request,
    "anthropic": anthropic_request,
    "converse": converse_request,
    "gemini": gemini_request,
    "openai_completions": legacy_completions_request,
}


def request_body(body: Any, kind: str | None = None) -> CanonicalRow:
    """Parse any request body (JSON-in-a-string accepted). Unknown shapes give ``{}``."""
    body = maybe_json(body)
    k = kind or request_kind(body)
    if k is None or not isinstance(body, (dict, Mapping)):
        return {}
    return _REQUEST_PARSERS[k](body)


# --------------------------------------------------------------------------------------------------
# Response bodies


_CONTENT_KEYS = ("choices", "output", "content", "candidates")


def response_body(body: Any) -> CanonicalRow:
    """Parse any response body: OpenAI chat / responses, Anthropic message, Converse output, Gemini.

    A recognised successful body sets ``status="success"``; an error body (``{"error": {...}}``, Anthropic
    ``{"type": "error"}``, a failed Responses object) sets ``status="error"`` and ``error_code``.
    Unknown shapes give ``{}``. Readers merge their own envelope status first, so theirs wins."""
    body = maybe_json(body)
    row: CanonicalRow = {}
    if not isinstance(body, (dict, Mapping)):
        return row
    pt: set[str] = set()
    pending = False  # a background Responses object still queued / in progress: no outcome yet
    err = body.get("error")
    obj = as_str(body.get("object"))
    if isinstance(err, (dict, Mapping)) and err:
        row["status"] = "error"
        _set(row, "error_code", as_str(err.get("type") or err.get("code")))
        if obj != "response" and not any(body.get(k) for k in _CONTENT_KEYS):
            _set(row, "request_id", as_str(body.get("request_id")))
            return row
    usage = _mapping(body.get("usage"))
    _set(row, "model_served", as_str(body.get("model") or body.get("modelVersion")))
    if isinstance(body.get("choices"), list):  # OpenAI chat (and legacy completions)
        choices = body["choices"]
        row["n_response_choices"] = len(choices)
        first = choices[0] if choices and isinstance(choices[0], (dict, Mapping)) else {}
        msg = first.get("message") if isinstance(first.get("message"), (dict, Mapping)) else {}
        text = content_text(msg.get("content"), pt) if msg else as_str(first.get("text")) or ""
        row["response_text"] = text
        _set(row, "finish_reason", as_str(first.get("finish_reason")))
        _set(row, "response_id", as_str(body.get("id")))
        _openai_usage(row, usage)
    elif obj == "response" or isinstance(body.get("output"), list):  # OpenAI Responses
        texts = []
        output = body.get("output")
        for item in output if isinstance(output, list) else []:
            if isinstance(item, (dict, Mapping)) and item.get("type") == "message":
                texts.append(content_text(item.get("content"), pt))
        row["response_text"] = "\n".join(t for t in texts if t)
        row["n_response_choices"] = 1
        _set(row, "response_id", as_str(body.get("id")))
        status = as_str(body.get("status"))
        reason = as_str(get_path(body, "incomplete_details", "reason"))
        _set(row, "finish_reason", reason or status)
        if status in ("failed", "cancelled"):
            row["status"] = "error"
            if row.get("error_code") is None:
                row["error_code"] = status
        pending = status in ("in_progress", "queued")
        _set(row, "input_tokens", as_int(usage.get("input_tokens")))
        _set(row, "output_tokens", as_int(usage.get("output_tokens")))
        _set(row, "total_tokens", as_int(usage.get("total_tokens")))
        _set(row, "cache_read_tokens", as_int(get_path(usage, "input_tokens_details", "cached_tokens")))
        _set(row, "cache_write_tokens", as_int(get_path(usage, "input_tokens_details", "cache_write_tokens")))
        _set(row, "reasoning_tokens", as_int(get_path(usage, "output_tokens_details", "reasoning_tokens")))
    elif body.get("type") == "message" or (body.get("role") == "assistant" and "content" in body):
        # Anthropic Message; thinking blocks are not the answer.
        content = body.get("content")
        if isinstance(content, list):
            content = [b for b in content if not (isinstance(b, (dict, Mapping)) and b.get("type") == "thinking")]
        row["response_text"] = content_text(content, pt)
        row["n_response_choices"] = 1
        _set(row, "response_id", as_str(body.get("id")))
        _set(row, "finish_reason", as_str(body.get("stop_reason")))
        _set(row, "input_tokens", as_int(usage.get("input_tokens")))
        _set(row, "output_tokens", as_int(usage.get("output_tokens")))
        _set(row, "cache_read_tokens", as_int(usage.get("cache_read_input_tokens")))
        _set(row, "cache_write_tokens", as_int(usage.get("cache_creation_input_tokens")))
        _set(row, "total_tokens", token_sum(row.get("input_tokens"), row.get("output_tokens")))
    elif isinstance(get_path(body, "output", "message"), (dict, Mapping)):  # Converse
        row["response_text"] = content_text(get_path(body, "output", "message", "content"), pt)
        row["n_response_choices"] = 1
        _set(row, "finish_reason", as_str(body.get("stopReason")))
        _set(row, "input_tokens", as_int(usage.get("inputTokens")))
        _set(row, "output_tokens", as_int(usage.get("outputTokens")))
        _set(row, "total_tokens", as_int(usage.get("totalTokens")))
        _set(row, "cache_read_tokens", as_int(usage.get("cacheReadInputTokens")))
        _set(row, "cache_write_tokens", as_int(usage.get("cacheWriteInputTokens")))
        _set(row, "latency_ms", as_float(get_path(body, "metrics", "latencyMs")))
    elif isinstance(body.get("candidates"), list):  # Gemini
        cands = body["candidates"]
        row["n_response_choices"] = len(cands)
        first = cands[0] if cands and isinstance(cands[0], (dict, Mapping)) else {}
        row["response_text"] = content_text(get_path(first, "content", "parts"), pt)
        _set(row, "finish_reason", as_str(first.get("finishReason")))
        um = _mapping(body.get("usageMetadata"))
        _set(row, "input_tokens", as_int(um.get("promptTokenCount")))
        _set(row, "output_tokens", as_int(um.get("candidatesTokenCount")))
        _set(row, "total_tokens", as_int(um.get("totalTokenCount")))
        _set(row, "reasoning_tokens", as_int(um.get("thoughtsTokenCount")))
        _set(row, "cache_read_tokens", as_int(um.get("cachedContentTokenCount")))
    elif isinstance(body.get("content"), str | list):  # bare {"role","content"} (Langfuse output)
        row["response_text"] = content_text(body.get("content"), pt)
        row["n_response_choices"] = 1
    else:
        return row
    if not pending and row.get("status") is None:
        row["status"] = "success"
    return row


def response_time(body: Any) -> tuple[datetime | None, datetime | None]:
    """(created, completed) times a response body carries: OpenAI ``created`` / ``created_at`` and
    Responses ``completed_at`` (unix seconds). Anthropic, Converse and Gemini bodies carry none."""
    body = maybe_json(body)
    if not isinstance(body, (dict, Mapping)):
        return None, None
    start = parse_time(body.get("created", body.get("created_at")))
    end = parse_time(body.get("completed_at"))
    return start, end


def _openai_usage(row: CanonicalRow, usage: Mapping[str, Any]) -> None:
    _set(row, "input_tokens", as_int(usage.get("prompt_tokens")))
    _set(row, "output_tokens", as_int(usage.get("completion_tokens")))
    _set(row, "total_tokens", as_int(usage.get("total_tokens")))
    _set(row, "cache_read_tokens", as_int(get_path(usage, "prompt_tokens_details", "cached_tokens")))
    _set(row, "cache_write_tokens", as_int(get_path(usage, "prompt_tokens_details", "cache_write_tokens")))
    _set(row, "reasoning_tokens", as_int(get_path(usage, "completion_tokens_details", "reasoning_tokens")))


def merge(base: CanonicalRow, *more: CanonicalRow) -> CanonicalRow:
    """Later rows fill keys the earlier ones lack (envelope fields win over body fields)."""
    for m in more:
        for k, v in m.items():
            if v is not None and base.get(k) is None:
                base[k] = v  # type: ignore[literal-required]
    return base


_RESPONSE_SURFACE = {
    "chat.completion": ("openai", "chat.completions"),
    "text_completion": ("openai", "completions"),
    "response": ("openai", "responses"),
}


def response_surface(body: Any) -> tuple[str | None, str | None]:
    """(provider, api_surface) of a response body, for rows that have no request body."""
    body = maybe_json(body)
    if not isinstance(body, (dict, Mapping)):
        return None, None
    obj = as_str(body.get("object"))
    if obj in _RESPONSE_SURFACE:
        return _RESPONSE_SURFACE[obj]
    if isinstance(body.get("choices"), list):
        return "openai", "chat.completions"
    if body.get("type") in ("message", "error") and ("content" in body or "error" in body):
        return "anthropic", "messages"
    if isinstance(get_path(body, "output", "message"), (dict, Mapping)):
        return "aws-bedrock", "converse"
    if isinstance(body.get("candidates"), list):
        return "google", "generate_content"
    return None, None


# --------------------------------------------------------------------------------------------------
# Reader helpers


def safe_outcomes(fn: Callable[[], Iterable[ParseOutcome]]) -> list[ParseOutcome]:
    """Run a reader's mapping so that it cannot raise: a bug or an input nested beyond Python's recursion
    limit becomes one ``Rejected`` for the record instead of an exception that stops the ingest."""
    try:
        return list(fn())
    except RecursionError:
        return [Rejected("too_deep", "record nested too deeply to map")]
    except Exception as e:  # a reader never raises; the record goes to the quarantine with the reason
        return [Rejected("parse_error", f"{type(e).__name__}: {e}"[:500])]
