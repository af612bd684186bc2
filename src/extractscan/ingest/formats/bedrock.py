"""AWS Bedrock model-invocation logs, as delivered to S3 (one record a line) and to CloudWatch Logs.

One record is one ``Converse`` / ``ConverseStream`` / ``InvokeModel`` / ``InvokeModelWithResponseStream``
call. The envelope gives the tenant (``accountId``), the caller (``identity.arn``), the time, the model,
token counts and ``requestMetadata`` tags; ``input.inputBodyJson`` is the request body as sent (Converse
shape, or the provider's native body for InvokeModel) and ``output.outputBodyJson`` the response. Bodies
over 100 KB are offloaded to S3 (``inputBodyS3Path`` / ``outputBodyS3Path``) and are not in the record.

Both readers give the row the record id ``bedrock_invocation:<requestId>``, so the S3 and the CloudWatch
copy of one invocation dedupe in the store. See docs/formats/bedrock.md.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from functools import partial
from typing import Any

import orjson

from extractscan.ingest.base import (
    ParseOutcome,
    Reader,
    Rejected,
    SourceRef,
    as_float,
    as_int,
    as_str,
    get_path,
    maybe_json,
    parse_time,
)
from extractscan.ingest.bodies import (
    as_int32,
    content_text,
    merge,
    request_body,
    request_kind,
    response_body,
    safe_outcomes,
    tags,
    token_sum,
)
from extractscan.schema import CanonicalRow, Message

RECORD_ID_PREFIX = "bedrock_invocation"
PERMISSION_CHECK = "amazon-bedrock-logs-permission-check"

# HTTP status of the Bedrock Runtime errors (AWS API reference, "Errors" of Converse / InvokeModel).
_ERROR_STATUS = {
    "AccessDeniedException": 403,
    "ConflictException": 400,
    "InternalServerException": 500,
    "ModelErrorException": 424,
    "ModelNotReadyException": 429,
    "ModelStreamErrorException": 424,
    "ModelTimeoutException": 408,
    "ResourceNotFoundException": 404,
    "ServiceQuotaExceededException": 400,
    "ServiceUnavailableException": 503,
    "ThrottlingException": 429,
    "ValidationException": 400,
}
_SUCCESS = frozenset(("success", "succeeded", "successful", "ok", "completed", "200"))
_INVOCATION_KEYS = ("modelId", "requestId", "operation")
_VENDORS = (
    "anthropic",
    "amazon",
    "meta",
    "mistral",
    "cohere",
    "ai21",
    "deepseek",
    "openai",
    "qwen",
    "writer",
    "stability",
    "twelvelabs",
)


def is_permission_check(obj: Mapping[str, Any]) -> bool:
    """The object AWS writes to check it may deliver logs: it names ``amazon-bedrock-logs-permission-check``
    in a top-level key or short string value and has none of an invocation's ``modelId`` / ``requestId``
    / ``operation``."""
    if any(k in obj for k in _INVOCATION_KEYS):
        return False
    for i, (k, v) in enumerate(obj.items()):
        if i >= 32:
            break
        if isinstance(k, str) and PERMISSION_CHECK in k:
            return True
        if isinstance(v, str) and len(v) <= 4096 and PERMISSION_CHECK in v:
            return True
    return False


def vendor(model_id: str | None) -> str | None:
    """Model vendor of a Bedrock model id / inference profile (``us.anthropic.claude-…`` -> anthropic)."""
    if not model_id:
        return None
    name = model_id.rsplit("/", 1)[-1].lower()  # ARNs end with the model or profile id
    for part in name.split(".")[:3]:
        if part in _VENDORS:
            return part
    return None


def _surface(op: str | None) -> str | None:
    if not op:
        return None
    if op.startswith("Converse"):
        return "converse"
    if op.startswith("InvokeModel"):
        return "invoke_model"
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", op).lower()


# --------------------------------------------------------------------------------------------------
# Native InvokeModel bodies of the non-Anthropic vendors (Anthropic, Nova and OpenAI-style bodies are
# parsed by bodies.request_body / response_body).

_COHERE_ROLES = {"USER": "user", "CHATBOT": "assistant", "SYSTEM": "system", "TOOL": "tool"}


def _native_request(body: Mapping[str, Any]) -> CanonicalRow:
    row: CanonicalRow = {}
    text = body.get("inputText")  # Amazon Titan text
    if isinstance(text, str):
        row["messages"] = [{"role": "user", "text": text}]
        cfg = body.get("textGenerationConfig")
        if isinstance(cfg, Mapping):
            _put(row, "max_output_tokens", as_int(cfg.get("maxTokenCount")))
            _put(row, "temperature", as_float(cfg.get("temperature")))
            _put(row, "top_p", as_float(cfg.get("topP")))
    elif isinstance(body.get("message"), str):  # Cohere Command R: message + chat_history + preamble
        msgs: list[Message] = []
        history = body.get("chat_history")
        for turn in history if isinstance(history, list) else []:
            if isinstance(turn, Mapping):
                role = _COHERE_ROLES.get(str(turn.get("role")).upper(), "user")
                msgs.append({"role": role, "text": as_str(turn.get("message")) or ""})
        msgs.append({"role": "user", "text": body["message"]})
        row["messages"] = msgs
        _put(row, "system_text", as_str(body.get("preamble")))
    _put(row, "max_output_tokens", as_int(body.get("max_gen_len")))  # Meta Llama
    _put(row, "max_output_tokens", as_int(body.get("max_tokens")))
    _put(row, "top_p", as_float(body.get("p")))  # Cohere
    _put(row, "top_k", as_int32(body.get("k")))
    _put(row, "top_k", as_int32(body.get("top_k")))  # Mistral
    _put(row, "n_requested", as_int32(body.get("num_generations")))
    _put(row, "seed", as_int(body.get("seed")))
    _put(row, "temperature", as_float(body.get("temperature")))
    return row


def _native_response(body: Any) -> CanonicalRow:
    """Titan, Llama, Mistral and Cohere responses, and streamed chunk lists (any vendor)."""
    if isinstance(body, list):
        return _assemble_stream(body)
    row: CanonicalRow = {}
    if not isinstance(body, Mapping):
        return row
    text: str | None = None
    results = body.get("results")
    if isinstance(results, list) and results and isinstance(results[0], Mapping):  # Titan
        text = as_str(results[0].get("outputText")) or ""
        _put(row, "finish_reason", as_str(results[0].get("completionReason")))
        _put(row, "output_tokens", as_int(results[0].get("tokenCount")))
        _put(row, "input_tokens", as_int(body.get("inputTextTokenCount")))
        row["n_response_choices"] = len(results)
    elif isinstance(body.get("generation"), str):  # Llama
        text = body["generation"]
        _put(row, "finish_reason", as_str(body.get("stop_reason")))
        _put(row, "input_tokens", as_int(body.get("prompt_token_count")))
        _put(row, "output_tokens", as_int(body.get("generation_token_count")))
    elif isinstance(body.get("outputs"), list):  # Mistral
        outs = body["outputs"]
        first = outs[0] if outs and isinstance(outs[0], Mapping) else {}
        text = as_str(first.get("text")) or ""
        _put(row, "finish_reason", as_str(first.get("stop_reason")))
        row["n_response_choices"] = len(outs)
    elif isinstance(body.get("generations"), list):  # Cohere Command
        gens = body["generations"]
        first = gens[0] if gens and isinstance(gens[0], Mapping) else {}
        text = as_str(first.get("text")) or ""
        _put(row, "finish_reason", as_str(first.get("finish_reason")))
        row["n_response_choices"] = len(gens)
    elif isinstance(body.get("text"), str):  # Cohere Command R
        text = body["text"]
        _put(row, "finish_reason", as_str(body.get("finish_reason")))
        _put(row, "response_id", as_str(body.get("response_id")))
    if text is None:
        return {}
    row["response_text"] = text
    row.setdefault("n_response_choices", 1)
    row["status"] = "success"
    return row


def _assemble_stream(chunks: list[Any]) -> CanonicalRow:
    """A streamed response logged as its list of chunks: Anthropic events or a vendor's text chunks."""
    row: CanonicalRow = {}
    texts: list[str] = []
    pt: set[str] = set()
    for c in chunks:
        c = maybe_json(c)
        if not isinstance(c, Mapping):
            continue
        t = c.get("type")
        if t == "message_start" and isinstance(c.get("message"), Mapping):
            start = response_body(c["message"])
            for partial_key in ("response_text", "output_tokens", "total_tokens", "status"):
                start.pop(partial_key, None)  # type: ignore[misc]
            merge(row, start)
        elif t == "content_block_delta":
            d = c.get("delta")
            if isinstance(d, Mapping) and isinstance(d.get("text"), str):
                texts.append(d["text"])
        elif t == "content_block_start":
            block = c.get("content_block")
            if isinstance(block, Mapping) and block.get("type") != "text":
                content_text([block], pt)
        elif t == "message_delta":
            _put(row, "finish_reason", as_str(get_path(c, "delta", "stop_reason")))
            out = as_int(get_path(c, "usage", "output_tokens"))
            if out is not None:
                row["output_tokens"] = out
        else:
            for key in ("outputText", "generation", "completion", "text"):
                if isinstance(c.get(key), str):
                    texts.append(c[key])
                    break
            else:
                outs = c.get("outputs")
                if isinstance(outs, list) and outs and isinstance(outs[0], Mapping):
                    texts.append(as_str(outs[0].get("text")) or "")
            for key in ("completionReason", "stop_reason", "finish_reason"):
                _put(row, "finish_reason", as_str(c.get(key)))
        metrics = c.get("amazon-bedrock-invocationMetrics")
        if isinstance(metrics, Mapping):
            _put(row, "input_tokens", as_int(metrics.get("inputTokenCount")))
            _put(row, "output_tokens", as_int(metrics.get("outputTokenCount")))
            _put(row, "latency_ms", as_float(metrics.get("invocationLatency")))
    if not texts and not row:
        return {}
    _put(row, "total_tokens", token_sum(row.get("input_tokens"), row.get("output_tokens")))
    row["response_text"] = "".join(texts)
    row["n_response_choices"] = 1
    row["status"] = "success"
    return row


def _put(row: CanonicalRow, key: str, value: Any) -> None:
    """Set ``key`` unless the value is null or the row already has one."""
    if value is not None and row.get(key) is None:
        row[key] = value  # type: ignore[literal-required]


# --------------------------------------------------------------------------------------------------
# The record mapping shared by both readers


def _section(rec: Mapping[str, Any], key: str) -> Mapping[str, Any] | Rejected:
    v = maybe_json(rec.get(key))
    if v is None:
        return {}
    if not isinstance(v, Mapping):
        return Rejected("wrong_type", f"Bedrock `{key}` must be an object, got {type(v).__name__}")
    return v


def _request(body: Any, op: str | None, model_id: str | None) -> CanonicalRow:
    if not isinstance(body, Mapping):
        return {}
    if op and op.startswith("Converse"):
        kind: str | None = "converse"
    elif vendor(model_id) == "anthropic" and isinstance(body.get("messages"), list):
        kind = "anthropic"  # an Anthropic body without any Anthropic-only marker is still Anthropic here
    else:
        kind = request_kind(body)
    row = request_body(body, kind) if kind else {}
    return merge(row, _native_request(body))


def _response(body: Any) -> CanonicalRow:
    row = response_body(body) if isinstance(body, Mapping) else {}
    if row.get("response_text") is None and row.get("status") != "error":
        return merge(row, _native_response(body))
    return row


def map_record(
    rec: Any,
    *,
    fallback_time: datetime | None = None,
    fallback_account: str | None = None,
) -> ParseOutcome:
    """Map one Bedrock invocation record onto a canonical row (or a ``Rejected``)."""
    if not isinstance(rec, Mapping):
        return Rejected("wrong_type", f"Bedrock record must be a JSON object, got {type(rec).__name__}")
    if not any(k in rec for k in _INVOCATION_KEYS) and rec.get("schemaType") != "ModelInvocationLog":
        if is_permission_check(rec):
            return Rejected("not_a_model_call", "Bedrock logging permission-check object, not an invocation", "skipped")
        return Rejected("missing_field", "not a Bedrock invocation record (no modelId, requestId, operation)")
    inp = _section(rec, "input")
    if isinstance(inp, Rejected):
        return inp
    out = _section(rec, "output")
    if isinstance(out, Rejected):
        return out

    op = as_str(rec.get("operation"))
    model_id = as_str(rec.get("modelId"))
    row: CanonicalRow = {"provider": "aws-bedrock"}
    request_id = as_str(rec.get("requestId"))
    if request_id:
        row["request_id"] = request_id
        row["record_id"] = f"{RECORD_ID_PREFIX}:{request_id}"
    _put(row, "event_time", parse_time(rec.get("timestamp")) or fallback_time)
    _put(row, "account_id", as_str(rec.get("accountId")) or fallback_account)
    identity = rec.get("identity")
    _put(row, "principal_id", as_str(identity.get("arn") if isinstance(identity, Mapping) else identity))
    _put(row, "model_requested", model_id)
    _put(row, "api_surface", _surface(op))
    if op and op.endswith("Stream"):
        row["stream"] = True
    _put(row, "tags", tags(maybe_json(rec.get("requestMetadata"))))
    _put(row, "input_tokens", as_int(inp.get("inputTokenCount")))
    _put(row, "cache_read_tokens", as_int(inp.get("cacheReadInputTokenCount")))
    _put(row, "cache_write_tokens", as_int(inp.get("cacheWriteInputTokenCount")))
    _put(row, "output_tokens", as_int(out.get("outputTokenCount")))

    error_code = as_str(rec.get("errorCode"))
    status = as_str(rec.get("status"))
    if error_code or (status and status.lower() not in _SUCCESS):
        row["status"] = "error"
        _put(row, "error_code", error_code or status)
        _put(row, "status_code", _ERROR_STATUS.get(error_code or ""))
    elif status:
        row["status"] = "success"

    in_body = maybe_json(inp.get("inputBodyJson"))
    in_s3 = as_str(inp.get("inputBodyS3Path"))
    out_body = maybe_json(out.get("outputBodyJson"))
    out_s3 = as_str(out.get("outputBodyS3Path"))
    if in_s3 and in_body is None:
        row["body_status"] = "offloaded"
        row["body_uri"] = in_s3
    elif out_s3:
        row["body_uri"] = out_s3  # the prompt is inline, only the response was offloaded

    req_row = _request(in_body, op, model_id)
    resp_row = _response(out_body) if out_body is not None else {}
    if out_s3 and out_body is None and row.get("status") is None:
        resp_row["status"] = "success"  # a response was produced, it is just not inline
    merge(row, req_row, resp_row)
    _put(row, "total_tokens", token_sum(row.get("input_tokens"), row.get("output_tokens")))
    return row


# --------------------------------------------------------------------------------------------------
# Readers


class BedrockInvocationReader(Reader):
    name = "bedrock_invocation"
    summary = "AWS Bedrock model-invocation log records (S3 delivery, one JSON record a line)"
    priority = 85

    def sniff(self, obj: Mapping[str, Any]) -> bool:
        if obj.get("schemaType") == "ModelInvocationLog":
            return True
        if "modelId" in obj and "operation" in obj and "accountId" in obj:
            return True
        return is_permission_check(obj)

    def parse(self, obj: Any, ref: SourceRef) -> Iterable[ParseOutcome]:
        return safe_outcomes(lambda: [map_record(obj)])


class BedrockCloudWatchReader(Reader):
    name = "bedrock_cloudwatch"
    summary = "Bedrock invocation records wrapped in a CloudWatch Logs subscription envelope (logEvents[])"
    priority = 90

    def sniff(self, obj: Mapping[str, Any]) -> bool:
        if isinstance(obj.get("messageType"), str) and ("logEvents" in obj or "logGroup" in obj):
            return True
        # One exported log event (`aws logs filter-log-events`, Logs Insights): {eventId, message, ...}
        msg = obj.get("message")
        return (
            isinstance(msg, str)
            and ("logStreamName" in obj or "eventId" in obj)
            and '"modelId"' in msg
            and msg.lstrip().startswith("{")
        )

    def parse(self, obj: Any, ref: SourceRef) -> Iterable[ParseOutcome]:
        return safe_outcomes(lambda: self._parse(obj))

    def _parse(self, obj: Any) -> Iterator[ParseOutcome]:
        if not isinstance(obj, Mapping):
            yield Rejected("wrong_type", f"CloudWatch envelope must be an object, got {type(obj).__name__}")
            return
        if "logEvents" not in obj and "messageType" not in obj and "message" in obj:
            yield _event(obj, None, "event")
            return
        mt = as_str(obj.get("messageType"))
        if mt == "CONTROL_MESSAGE":
            yield Rejected("not_a_model_call", "CloudWatch CONTROL_MESSAGE (subscription check)", "skipped")
            return
        events = obj.get("logEvents")
        if events is None:
            yield Rejected("missing_field", "CloudWatch envelope has no `logEvents`")
            return
        if not isinstance(events, list):
            yield Rejected("wrong_type", f"`logEvents` must be a list, got {type(events).__name__}")
            return
        if not events:
            yield Rejected("not_a_model_call", "CloudWatch envelope with no log events", "skipped")
            return
        owner = as_str(obj.get("owner"))
        for i, ev in enumerate(events):
            yield from safe_outcomes(partial(_one_event, ev, owner, f"logEvents[{i}]"))


def _one_event(ev: Any, owner: str | None, where: str) -> list[ParseOutcome]:
    return [_event(ev, owner, where)]


def _event(ev: Any, owner: str | None, where: str) -> ParseOutcome:
    if not isinstance(ev, Mapping):
        return Rejected("wrong_type", f"{where} must be an object, got {type(ev).__name__}")
    msg = ev.get("message")
    if msg is None:
        return Rejected("missing_field", f"{where} has no `message`")
    if isinstance(msg, str):
        try:
            rec = orjson.loads(msg)
        except orjson.JSONDecodeError as e:
            return Rejected("invalid_json", f"{where}.message is not JSON: {e}")
    else:
        rec = msg
    out = map_record(rec, fallback_time=parse_time(ev.get("timestamp")), fallback_account=owner)
    if isinstance(out, Rejected):
        return Rejected(out.reason, f"{where}: {out.message}", out.kind)
    if not out.get("record_id"):
        # Events of one envelope share its raw-record hash: without a requestId each event needs its own
        # id (CloudWatch event ids are unique), or the store would dedupe them into one.
        event_id = as_str(ev.get("id"))
        if event_id:
            out["record_id"] = f"bedrock_cloudwatch:{event_id}"
        else:
            raw = msg if isinstance(msg, str) else json.dumps(msg, sort_keys=True, default=str)
            out["record_id"] = "sha256:" + hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()
    return out
