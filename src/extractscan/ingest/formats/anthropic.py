"""Anthropic Messages API bodies and Message Batches results.

* ``anthropic_messages``: request bodies (``max_tokens`` + ``messages`` with an Anthropic-only marker) and
  response bodies (``type == "message"``, and ``type == "error"`` error bodies).
* ``anthropic_batch``: Message Batches results lines ``{custom_id, result}`` (succeeded / errored /
  canceled / expired), and batch request lines ``{custom_id, params}``.

A plain ``{model, max_tokens, messages}`` body is valid for both the Anthropic Messages and the OpenAI Chat
Completions APIs; it is left to ``openai_chat`` unless it has an Anthropic marker (top-level ``system``,
``thinking``, ``top_k``, ``stop_sequences``, ``anthropic_version``, ``metadata.user_id`` alone, tools
with ``input_schema``, or Anthropic content block types): see ``bodies.anthropic_markers``.
Bodies carry no tenant and no time. See docs/formats/anthropic.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from extractscan.ingest.base import ParseOutcome, Reader, Rejected, SourceRef, as_str, get_path, maybe_json
from extractscan.ingest.bodies import (
    anthropic_markers,
    merge,
    request_body,
    request_kind,
    response_body,
    safe_outcomes,
)
from extractscan.schema import CanonicalRow

# Request parameters of POST /v1/messages (anthropic-sdk-python message_create_params), plus the
# Bedrock / Vertex ``anthropic_version`` and the beta header some gateways fold into the body.
MESSAGES_KEYS = frozenset(
    (
        "model",
        "max_tokens",
        "messages",
        "system",
        "metadata",
        "temperature",
        "top_p",
        "top_k",
        "stop_sequences",
        "thinking",
        "tools",
        "tool_choice",
        "service_tier",
        "container",
        "cache_control",
        "output_config",
        "output_format",
        "inference_geo",
        "stream",
        "mcp_servers",
        "context_management",
        "anthropic_version",
        "anthropic_beta",
        "betas",
    )
)
MAX_UNKNOWN_KEYS = 3

# HTTP status of the Anthropic API error types (docs "Errors").
ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


def is_messages_request(obj: Mapping[str, Any]) -> bool:
    if not isinstance(obj.get("messages"), list):
        return False
    if "max_tokens" not in obj and "anthropic_version" not in obj:
        return False
    unknown = sum(1 for k in obj if k not in MESSAGES_KEYS)
    if unknown > MAX_UNKNOWN_KEYS:
        return False
    return anthropic_markers(obj) and request_kind(obj) == "anthropic"


def is_message_response(obj: Mapping[str, Any]) -> bool:
    return obj.get("type") == "message" and obj.get("role") == "assistant" and "content" in obj


def is_error_body(obj: Mapping[str, Any]) -> bool:
    return (
        obj.get("type") == "error"
        and isinstance(obj.get("error"), Mapping)
        and all(k in ("type", "error", "request_id") for k in obj)
    )


def _put(row: CanonicalRow, key: str, value: Any) -> None:
    if value is not None and row.get(key) is None:
        row[key] = value  # type: ignore[literal-required]


def _error_row(err: Any) -> CanonicalRow:
    """An ``{"type": "error", "error": {type, message}, "request_id"?}`` object (or its inner error)."""
    row: CanonicalRow = {"provider": "anthropic", "api_surface": "messages", "status": "error"}
    if not isinstance(err, Mapping):
        return row
    code = as_str(get_path(err, "error", "type")) or as_str(err.get("type"))
    if code == "error":
        code = None
    _put(row, "error_code", code)
    _put(row, "status_code", ERROR_STATUS.get(code or ""))
    _put(row, "request_id", as_str(err.get("request_id")))
    return row


def response_row(body: Mapping[str, Any]) -> CanonicalRow:
    row: CanonicalRow = {"provider": "anthropic", "api_surface": "messages"}
    merge(row, response_body(body))
    row["body_status"] = "absent"
    return row


class AnthropicMessagesReader(Reader):
    name = "anthropic_messages"
    summary = "Anthropic Messages API request bodies (with Anthropic markers) and Message response bodies"
    priority = 30  # above openai_chat: it only claims bodies with an Anthropic-only marker

    def sniff(self, obj: Mapping[str, Any]) -> bool:
        return is_message_response(obj) or is_error_body(obj) or is_messages_request(obj)

    def parse(self, obj: Any, ref: SourceRef) -> Iterable[ParseOutcome]:
        return safe_outcomes(lambda: self._parse(obj))

    def _parse(self, obj: Any) -> Iterator[ParseOutcome]:
        if not isinstance(obj, Mapping):
            yield Rejected("wrong_type", f"an Anthropic body must be a JSON object, got {type(obj).__name__}")
        elif obj.get("type") == "message":
            yield response_row(obj)
        elif obj.get("type") == "error":
            row = _error_row(obj)
            row["body_status"] = "absent"
            yield row
        elif "messages" not in obj:
            yield Rejected("missing_field", "Anthropic Messages request has no `messages`")
        elif not isinstance(obj.get("messages"), list):
            yield Rejected("wrong_type", f"`messages` must be a list, got {type(obj['messages']).__name__}")
        else:
            yield request_body(obj, "anthropic")


class AnthropicBatchReader(Reader):
    name = "anthropic_batch"
    summary = "Anthropic Message Batches results {custom_id, result} and request lines {custom_id, params}"
    priority = 80

    def sniff(self, obj: Mapping[str, Any]) -> bool:
        if "custom_id" not in obj:
            return False
        return isinstance(obj.get("result"), Mapping) or isinstance(obj.get("params"), Mapping)

    def parse(self, obj: Any, ref: SourceRef) -> Iterable[ParseOutcome]:
        return safe_outcomes(lambda: [self._one(obj)])

    def _one(self, obj: Any) -> ParseOutcome:
        if not isinstance(obj, Mapping):
            return Rejected("wrong_type", f"a batch line must be a JSON object, got {type(obj).__name__}")
        custom_id = as_str(obj.get("custom_id"))
        row: CanonicalRow
        if "result" not in obj and "params" in obj:  # a request line of the batch
            params = maybe_json(obj.get("params"))
            if not isinstance(params, Mapping):
                got = type(params).__name__
                return Rejected("wrong_type", f"batch `params` must be an object, got {got}")
            row = request_body(params, "anthropic")
            _put(row, "batch_custom_id", custom_id)
            return row
        result = maybe_json(obj.get("result"))
        if result is None:
            return Rejected("missing_field", "batch results line has no `result`")
        if not isinstance(result, Mapping):
            return Rejected("wrong_type", f"batch `result` must be an object, got {type(result).__name__}")
        rtype = as_str(result.get("type"))
        if rtype == "succeeded":
            message = maybe_json(result.get("message"))
            if not isinstance(message, Mapping):
                return Rejected("wrong_type", "succeeded batch result needs a `message` object")
            row = response_row(message)
            _put(row, "status_code", 200)
        elif rtype == "errored":
            row = _error_row(maybe_json(result.get("error")))
            row["body_status"] = "absent"
        elif rtype in ("canceled", "expired"):
            # Submitted but never run: kept (as an error) so that batch volume and timing stay complete.
            row = {"provider": "anthropic", "api_surface": "messages", "status": "error", "error_code": rtype}
            row["body_status"] = "absent"
        else:
            return Rejected("wrong_type", f"unknown batch result type {rtype!r}")
        _put(row, "batch_custom_id", custom_id)
        return row
