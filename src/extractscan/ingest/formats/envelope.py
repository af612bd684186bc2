"""The extractscan envelope: one JSON object a line, written by a gateway or an application itself.

    {"timestamp": "2025-06-02T14:07:31Z", "account_id": "team-a", "api_key_id": "sk-…",
     "principal_id": "svc-x", "end_user_id": "u1", "session_id": "s1", "client_ip": "203.0.113.9",
     "user_agent": "python-httpx/0.28", "request_id": "r1", "tags": {"app": "tutor"},
     "request": {<OpenAI Chat Completions, OpenAI Responses or Anthropic Messages request body>},
     "response": {<its response body>}}

Only ``request`` is required. Envelope fields win over what the bodies say (``end_user_id`` over the
body's ``user`` / ``metadata.user_id``; envelope ``tags`` keys over body ``metadata`` keys). The raw API key
is hashed by ``finalize_row`` and never stored. Full description: docs/formats/envelope.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from extractscan.ingest.base import ParseOutcome, Reader, Rejected, SourceRef, maybe_json, parse_time
from extractscan.ingest.bodies import (
    merge,
    request_body,
    request_kind,
    response_body,
    response_time,
    safe_outcomes,
    tags,
)
from extractscan.schema import CanonicalRow

# Envelope string fields, each the canonical column of the same name.
STRING_FIELDS = (
    "account_id",
    "api_key_id",
    "principal_id",
    "end_user_id",
    "session_id",
    "client_ip",
    "user_agent",
    "request_id",
)
BODY_KINDS = {
    "openai_chat": "OpenAI Chat Completions",
    "openai_responses": "OpenAI Responses",
    "anthropic": "Anthropic Messages",
    "converse": "Bedrock Converse",
    "gemini": "Gemini generateContent",
    "openai_completions": "OpenAI legacy Completions",
}


_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}


def _type(v: Any) -> str:
    return _JSON_TYPES.get(type(v), type(v).__name__)


def _string(name: str, v: Any) -> str | Rejected | None:
    """A string field: numbers are coerced (``"account_id": 1234`` -> ``"1234"``), anything else rejected."""
    if v is None:
        return None
    if isinstance(v, str):
        return v.strip() or None
    if isinstance(v, int | float) and not isinstance(v, bool):
        return str(v)
    return Rejected("wrong_type", f"envelope `{name}` must be a string, got {_type(v)}")


def map_envelope(obj: Any) -> ParseOutcome:
    if not isinstance(obj, Mapping):
        return Rejected("wrong_type", f"an envelope line must be a JSON object, got {_type(obj)}")
    if obj.get("request") is None:
        return Rejected("missing_field", "envelope has no `request` (the provider request body)")
    req = maybe_json(obj["request"])
    if not isinstance(req, Mapping):
        return Rejected("wrong_type", f"envelope `request` must be a JSON object, got {_type(req)}")
    kind = request_kind(req)
    if kind is None:
        return Rejected(
            "unrecognized_body",
            "envelope `request` is not an OpenAI Chat Completions (`messages`), OpenAI Responses (`input`) "
            "or Anthropic Messages (`messages`) request body",
        )
    resp = maybe_json(obj.get("response"))
    if resp is not None and not isinstance(resp, Mapping):
        return Rejected("wrong_type", f"envelope `response` must be a JSON object, got {_type(resp)}")

    row: CanonicalRow = {}
    ts = obj.get("timestamp")
    if ts is not None:
        t = parse_time(ts)
        if t is None:
            shown = repr(ts) if not isinstance(ts, dict | list) else _type(ts)
            return Rejected(
                "wrong_type",
                f"envelope `timestamp` must be an RFC 3339 string or epoch seconds (years 1990-2200), got {shown:.80}",
            )
        row["event_time"] = t
    for name in STRING_FIELDS:
        v = _string(name, obj.get(name))
        if isinstance(v, Rejected):
            return v
        if v is not None:
            row[name] = v  # type: ignore[literal-required]
    env_tags = obj.get("tags")
    if env_tags is not None and not isinstance(env_tags, Mapping):
        return Rejected("wrong_type", f"envelope `tags` must be an object of strings, got {_type(env_tags)}")

    req_row = request_body(req, kind)
    resp_row = response_body(resp) if resp is not None else {}
    env_keys = set(env_tags) if isinstance(env_tags, Mapping) else set()
    body_tags = [t for t in req_row.pop("tags", None) or [] if t["key"] not in env_keys]
    merged_tags = (tags(env_tags) or []) + body_tags
    if merged_tags:
        row["tags"] = merged_tags
    merge(row, req_row, resp_row)
    if resp is not None:
        start, end = response_time(resp)
        if row.get("event_time") is None and start is not None:
            row["event_time"] = start
        if end is not None:
            row["end_time"] = end
    return row


class EnvelopeReader(Reader):
    name = "envelope"
    summary = "extractscan envelope: {timestamp, account_id, …, request: <provider body>, response?}"
    priority = 95  # unambiguous: a `request` object next to `timestamp` / `account_id`

    def sniff(self, obj: Mapping[str, Any]) -> bool:
        return "request" in obj and ("timestamp" in obj or "account_id" in obj)

    def parse(self, obj: Any, ref: SourceRef) -> Iterable[ParseOutcome]:
        return safe_outcomes(lambda: [map_envelope(obj)])
