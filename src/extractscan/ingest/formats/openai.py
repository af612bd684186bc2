"""OpenAI request / response bodies and Batch API files.

* ``openai_chat``: Chat Completions request bodies (``model`` + ``messages``) and response bodies
  (``object == "chat.completion"``).
* ``openai_responses``: Responses API request bodies (``model`` + ``input``) and response bodies
  (``object == "response"``).
* ``openai_batch_input``: Batch input lines ``{custom_id, method, url, body}``.
* ``openai_batch_output``: Batch output / error lines ``{id, custom_id, response, error}``.

Raw bodies carry no tenant and requests no time: those columns stay null (the pipeline applies
``ingest.default_account_id``). A response body alone still gives a row: the response side, with
``body_status="absent"`` and its ``created`` time. See docs/formats/openai.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from extractscan.ingest.base import (
    ParseOutcome,
    Reader,
    Rejected,
    SourceRef,
    as_str,
    get_path,
    maybe_json,
)
from extractscan.ingest.bodies import (
    as_int32,
    merge,
    request_body,
    request_kind,
    response_body,
    response_surface,
    response_time,
    safe_outcomes,
)
from extractscan.schema import CanonicalRow

# Request parameters of POST /v1/chat/completions (openai-python completion_create_params).
CHAT_KEYS = frozenset(
    (
        "model",
        "messages",
        "max_completion_tokens",
        "max_tokens",
        "temperature",
        "top_p",
        "n",
        "logprobs",
        "top_logprobs",
        "logit_bias",
        "seed",
        "stop",
        "stream",
        "stream_options",
        "user",
        "safety_identifier",
        "prompt_cache_key",
        "prompt_cache_retention",
        "prompt_cache_options",
        "metadata",
        "store",
        "reasoning_effort",
        "response_format",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "functions",
        "function_call",
        "frequency_penalty",
        "presence_penalty",
        "modalities",
        "audio",
        "prediction",
        "service_tier",
        "verbosity",
        "web_search_options",
        "moderation",
    )
)
# Request parameters of POST /v1/responses.
RESPONSES_KEYS = frozenset(
    (
        "model",
        "input",
        "instructions",
        "max_output_tokens",
        "max_tool_calls",
        "temperature",
        "top_p",
        "top_logprobs",
        "reasoning",
        "previous_response_id",
        "conversation",
        "store",
        "metadata",
        "user",
        "safety_identifier",
        "prompt_cache_key",
        "prompt_cache_retention",
        "tools",
        "tool_choice",
        "text",
        "truncation",
        "background",
        "service_tier",
        "stream",
        "stream_options",
        "include",
        "parallel_tool_calls",
        "prompt",
        "context_management",
    )
)
# Unknown keys a body may carry (newer SDK fields, vendor extensions) before it stops looking like one.
MAX_UNKNOWN_KEYS = 3


def looks_like(obj: Mapping[str, Any], known: frozenset[str], *, has_model: bool) -> bool:
    """Few keys outside the API's parameters (none at all when ``model`` is missing). Gateway records that
    embed a body next to their own fields (LiteLLM, Langfuse, …) have many and are not claimed."""
    unknown = 0
    limit = MAX_UNKNOWN_KEYS if has_model else 0
    for k in obj:
        if k not in known:
            unknown += 1
            if unknown > limit:
                return False
    return True


def is_chat_request(obj: Mapping[str, Any]) -> bool:
    if not isinstance(obj.get("messages"), list):
        return False
    has_model = isinstance(obj.get("model"), str)
    return looks_like(obj, CHAT_KEYS, has_model=has_model) and request_kind(obj) == "openai_chat"


def is_responses_request(obj: Mapping[str, Any]) -> bool:
    if "messages" in obj or not isinstance(obj.get("input"), str | list):
        return False
    return looks_like(obj, RESPONSES_KEYS, has_model=isinstance(obj.get("model"), str))


def response_only(body: Mapping[str, Any]) -> CanonicalRow:
    """The row of a response body seen without its request: response columns, its time, no prompt."""
    row = response_body(body)
    provider, surface = response_surface(body)
    start, end = response_time(body)
    _put(row, "provider", provider)
    _put(row, "api_surface", surface)
    _put(row, "event_time", start)
    _put(row, "end_time", end)
    row["body_status"] = "absent"
    return row


def _put(row: CanonicalRow, key: str, value: Any) -> None:
    if value is not None and row.get(key) is None:
        row[key] = value  # type: ignore[literal-required]


def _not_object(what: str, v: Any) -> Rejected:
    return Rejected("wrong_type", f"{what} must be a JSON object, got {type(v).__name__}")


_NON_MODEL_MODEL = ("embedding", "moderation", "whisper", "tts", "dall-e", "image")


class OpenAIChatReader(Reader):
    name = "openai_chat"
    summary = "OpenAI Chat Completions request bodies and chat.completion response bodies"
    priority = 20  # generic bodies: gateway formats and anthropic_messages sniff first

    def sniff(self, obj: Mapping[str, Any]) -> bool:
        if obj.get("object") == "chat.completion" and isinstance(obj.get("choices"), list):
            return True
        return is_chat_request(obj)

    def parse(self, obj: Any, ref: SourceRef) -> Iterable[ParseOutcome]:
        return safe_outcomes(lambda: self._parse(obj))

    def _parse(self, obj: Any) -> Iterator[ParseOutcome]:
        if not isinstance(obj, Mapping):
            yield _not_object("a Chat Completions body", obj)
        elif obj.get("object") == "chat.completion" or ("choices" in obj and "messages" not in obj):
            if not isinstance(obj.get("choices"), list):
                yield Rejected("wrong_type", "chat.completion `choices` must be a list")
            else:
                yield response_only(obj)
        elif "messages" not in obj:
            yield Rejected("missing_field", "Chat Completions request has no `messages`")
        elif not isinstance(obj.get("messages"), list):
            yield Rejected("wrong_type", f"`messages` must be a list, got {type(obj['messages']).__name__}")
        else:
            yield request_body(obj, "openai_chat")


# Request settings a Responses object echoes that are worth keeping on a response-only row (sampling
# parameters are echoed with their defaults, so they would not say what the caller asked for).
_ECHOED = ("system_text", "max_output_tokens", "reasoning_effort", "end_user_id", "session_id", "tags")


class OpenAIResponsesReader(Reader):
    name = "openai_responses"
    summary = "OpenAI Responses API request bodies (input) and response bodies (object=response)"
    priority = 21

    def sniff(self, obj: Mapping[str, Any]) -> bool:
        if obj.get("object") == "response" and ("output" in obj or "status" in obj):
            return True
        return is_responses_request(obj)

    def parse(self, obj: Any, ref: SourceRef) -> Iterable[ParseOutcome]:
        return safe_outcomes(lambda: self._parse(obj))

    def _parse(self, obj: Any) -> Iterator[ParseOutcome]:
        if not isinstance(obj, Mapping):
            yield _not_object("a Responses API body", obj)
            return
        if obj.get("object") == "response":
            row = response_only(obj)
            # The response echoes the request's instructions and settings: keep what is not a default.
            echo = request_body({k: v for k, v in obj.items() if k != "input"}, "openai_responses")
            for k in _ECHOED:
                _put(row, k, echo.get(k))
            yield row
            return
        if "input" not in obj:
            yield Rejected("missing_field", "Responses API request has no `input`")
            return
        if not isinstance(obj.get("input"), str | list):
            got = type(obj["input"]).__name__
            yield Rejected("wrong_type", f"`input` must be a string or a list, got {got}")
            return
        model = (as_str(obj.get("model")) or "").lower()
        if "encoding_format" in obj or "dimensions" in obj or any(m in model for m in _NON_MODEL_MODEL):
            yield Rejected("not_a_model_call", f"embeddings / moderation body (model {model!r})", "skipped")
            return
        yield request_body(obj, "openai_responses")


# --------------------------------------------------------------------------------------------------
# Batch API

_URL_KINDS = (
    ("/chat/completions", "openai_chat"),
    ("/responses", "openai_responses"),
    ("/completions", "openai_completions"),
)
_NON_MODEL_URLS = ("/embeddings", "/moderations", "/images", "/audio", "/videos", "/files", "/uploads")


def url_kind(url: str) -> str | None:
    """Body kind of a batch ``url`` (``/v1/chat/completions`` …); ``"skip"`` for non-generation endpoints."""
    path = url.split("?", 1)[0].rstrip("/").lower()
    for suffix, kind in _URL_KINDS:
        if path.endswith(suffix):
            return kind
    if any(seg in path for seg in _NON_MODEL_URLS):
        return "skip"
    return None


class OpenAIBatchInputReader(Reader):
    name = "openai_batch_input"
    summary = "OpenAI Batch API input lines {custom_id, method, url, body}"
    priority = 80

    def sniff(self, obj: Mapping[str, Any]) -> bool:
        return "custom_id" in obj and "url" in obj and "body" in obj

    def parse(self, obj: Any, ref: SourceRef) -> Iterable[ParseOutcome]:
        return safe_outcomes(lambda: [self._one(obj)])

    def _one(self, obj: Any) -> ParseOutcome:
        if not isinstance(obj, Mapping):
            return _not_object("a batch input line", obj)
        url = obj.get("url")
        if not isinstance(url, str):
            reason = "wrong_type" if url is not None else "missing_field"
            return Rejected(reason, "batch input line needs a string `url`")
        body = maybe_json(obj.get("body"))
        if body is None:
            return Rejected("missing_field", "batch input line has no `body`")
        if not isinstance(body, Mapping):
            return _not_object("batch `body`", body)
        kind = url_kind(url)
        if kind == "skip":
            return Rejected("not_a_model_call", f"batch request to {url} is not a model call", "skipped")
        kind = kind or request_kind(body)
        if kind is None:
            return Rejected("unsupported_endpoint", f"batch url {url!r} with an unrecognised body")
        row = request_body(body, kind)
        _put(row, "batch_custom_id", as_str(obj.get("custom_id")))
        if "provider" not in row:
            row["provider"] = "openai"
        return row


class OpenAIBatchOutputReader(Reader):
    name = "openai_batch_output"
    summary = "OpenAI Batch API output / error lines {id, custom_id, response, error}"
    priority = 80

    def sniff(self, obj: Mapping[str, Any]) -> bool:
        return "custom_id" in obj and ("response" in obj or "error" in obj) and "result" not in obj and "url" not in obj

    def parse(self, obj: Any, ref: SourceRef) -> Iterable[ParseOutcome]:
        return safe_outcomes(lambda: [self._one(obj)])

    def _one(self, obj: Any) -> ParseOutcome:
        if not isinstance(obj, Mapping):
            return _not_object("a batch output line", obj)
        resp = maybe_json(obj.get("response"))
        err = maybe_json(obj.get("error"))
        if resp is not None and not isinstance(resp, Mapping):
            return _not_object("batch `response`", resp)
        if err is not None and not isinstance(err, Mapping):
            return _not_object("batch `error`", err)
        if not resp and not err:
            return Rejected("missing_field", "batch output line has neither `response` nor `error`")
        row: CanonicalRow = {"provider": "openai"}
        _put(row, "batch_custom_id", as_str(obj.get("custom_id")))
        body_row: CanonicalRow = {}
        code: int | None = None
        if resp:
            code = as_int32(resp.get("status_code"))
            _put(row, "status_code", code)
            _put(row, "request_id", as_str(resp.get("request_id")))
            body = maybe_json(resp.get("body"))
            if isinstance(body, Mapping):
                if body.get("object") in ("list", "embedding") or get_path(body, "data", 0, "embedding"):
                    return Rejected("not_a_model_call", "batch output of a non-model endpoint", "skipped")
                body_row = response_body(body)
                _put(body_row, "api_surface", response_surface(body)[1])
                start, end = response_time(body)
                _put(row, "event_time", start)
                _put(row, "end_time", end)
            elif body is not None:
                return _not_object("batch `response.body`", body)
        if err:
            row["status"] = "error"
            _put(row, "error_code", as_str(err.get("code")) or as_str(err.get("type")))
        elif code is not None and code >= 400:
            row["status"] = "error"
        merge(row, body_row)
        if row.get("status") is None and code is not None and 200 <= code < 300:
            row["status"] = "success"
        if row.get("status") == "error" and row.get("error_code") is None and code is not None:
            row["error_code"] = f"http_{code}"
        row["body_status"] = "absent"
        return row
