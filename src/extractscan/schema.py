"""The canonical request schema: one row per model call, whatever log format it came from.

Every reader maps its format onto these columns; every later stage reads only these columns.
The schema is versioned: bump ``SCHEMA_VERSION`` on any change and document it in docs/schema.md.
"""

from __future__ import annotations

from typing import Any, TypedDict

import pyarrow as pa

SCHEMA_VERSION = 1

MESSAGE_TYPE = pa.struct([("role", pa.string()), ("text", pa.string())])
TAG_TYPE = pa.struct([("key", pa.string()), ("value", pa.string())])

# (name, type, nullable, description). The description is the single source for docs/schema.md.
_COLUMNS: list[tuple[str, pa.DataType, bool, str]] = [
    # provenance
    (
        "record_id",
        pa.string(),
        False,
        "Stable id: `<format>:<native id>` or `sha256:<hash of the raw record>`",
    ),
    ("source_format", pa.string(), False, "Reader that produced the row, e.g. `bedrock_invocation`"),
    ("source_file", pa.string(), True, "Path of the input file as given to ingest"),
    (
        "source_offset",
        pa.int64(),
        True,
        "1-based line number (JSONL), row number (CSV/Parquet) or element index",
    ),
    # time
    ("event_time", pa.timestamp("us", tz="UTC"), True, "Request start, UTC (null when the log has none)"),
    ("end_time", pa.timestamp("us", tz="UTC"), True, "Response end, UTC"),
    ("latency_ms", pa.float64(), True, "End-to-end latency in milliseconds"),
    # identifiers
    ("request_id", pa.string(), True, "Provider or gateway request id"),
    ("response_id", pa.string(), True, "Response object id (`chatcmpl-…`, `msg_…`, `resp_…`)"),
    ("batch_custom_id", pa.string(), True, "Batch `custom_id`"),
    # identities, kept separate
    ("account_id", pa.string(), True, "Tenant: AWS account, team, org, project"),
    ("principal_id", pa.string(), True, "Caller principal: IAM ARN, internal user"),
    ("api_key_id", pa.string(), True, "Hashed API key (`key:<sha256 prefix>`); raw keys are never stored"),
    (
        "end_user_id",
        pa.string(),
        True,
        "Application end user (`user`, `safety_identifier`, `metadata.user_id`)",
    ),
    ("session_id", pa.string(), True, "Session / trace id"),
    ("client_ip", pa.string(), True, "Caller IP address (may be masked at source)"),
    ("user_agent", pa.string(), True, "Caller user agent"),
    ("country_code", pa.string(), True, "Caller country (Helicone)"),
    (
        "tags",
        pa.list_(TAG_TYPE),
        True,
        "Free-form key/value tags (Bedrock requestMetadata, OpenAI metadata, …)",
    ),
    # model
    ("provider", pa.string(), True, "`openai`, `anthropic`, `aws-bedrock`, `google-vertex`, …"),
    ("api_surface", pa.string(), True, "`chat.completions`, `responses`, `messages`, `converse`, …"),
    ("model_requested", pa.string(), True, "Model named in the request"),
    ("model_served", pa.string(), True, "Model named in the response"),
    # prompt
    ("system_text", pa.string(), True, "System / developer / instructions text, joined"),
    (
        "messages",
        pa.list_(MESSAGE_TYPE),
        True,
        "Conversation turns (role, text); non-text parts become `[image]` etc.",
    ),
    (
        "part_types",
        pa.list_(pa.string()),
        True,
        "Distinct non-text content part types seen (image, tool_use, …)",
    ),
    ("n_messages", pa.int32(), True, "Number of turns in `messages`"),
    ("n_user_turns", pa.int32(), True, "Number of user turns in `messages`"),
    (
        "last_user_text",
        pa.string(),
        True,
        "Text of the final user turn: the unit of per-account prompt analysis",
    ),
    ("prompt_hash", pa.string(), True, "sha256 hex of system text + all turns"),
    (
        "prefix_hash",
        pa.string(),
        True,
        "sha256 hex of system text + turns before the last user turn (threads)",
    ),
    ("prompt_chars", pa.int64(), True, "Length of `last_user_text` before any cap"),
    # response
    ("response_text", pa.string(), True, "First choice text, capped at `ingest.max_response_chars`"),
    ("response_chars", pa.int64(), True, "Length of the full first-choice text before the cap"),
    ("n_response_choices", pa.int32(), True, "Choices / candidates returned"),
    ("finish_reason", pa.string(), True, "Finish / stop reason"),
    # request parameters that matter for extraction
    (
        "max_output_tokens",
        pa.int64(),
        True,
        "max_tokens / max_completion_tokens / max_output_tokens / maxTokens",
    ),
    ("temperature", pa.float64(), True, "Sampling temperature"),
    ("top_p", pa.float64(), True, "Nucleus sampling"),
    ("top_k", pa.int32(), True, "Top-k sampling"),
    ("n_requested", pa.int32(), True, "Choices requested (`n`, `candidateCount`)"),
    ("logprobs", pa.bool_(), True, "Log-probabilities requested"),
    ("top_logprobs", pa.int32(), True, "Alternatives per token requested"),
    ("seed", pa.int64(), True, "Sampling seed"),
    ("stream", pa.bool_(), True, "Streaming requested"),
    ("reasoning_effort", pa.string(), True, "`reasoning_effort` / `reasoning.effort`"),
    ("thinking_budget_tokens", pa.int64(), True, "Anthropic `thinking.budget_tokens` (or -1 for adaptive)"),
    ("tools_count", pa.int32(), True, "Number of tools offered"),
    ("response_format_type", pa.string(), True, "`json_object`, `json_schema`, `text`, …"),
    # usage
    ("input_tokens", pa.int64(), True, "Prompt tokens"),
    ("output_tokens", pa.int64(), True, "Completion tokens"),
    ("total_tokens", pa.int64(), True, "Total tokens"),
    ("cache_read_tokens", pa.int64(), True, "Prompt-cache reads"),
    ("cache_write_tokens", pa.int64(), True, "Prompt-cache writes"),
    ("reasoning_tokens", pa.int64(), True, "Reasoning / thinking tokens"),
    ("cost_usd", pa.float64(), True, "Cost in USD"),
    # status
    ("status_code", pa.int32(), True, "HTTP status"),
    ("status", pa.string(), True, "`success` or `error`"),
    ("error_code", pa.string(), True, "Error type / code"),
    ("body_status", pa.string(), True, "`inline`, `offloaded`, `truncated` or `absent`"),
    ("body_uri", pa.string(), True, "Where an offloaded body lives (Bedrock S3 path, …)"),
]

CANONICAL_SCHEMA = pa.schema(
    [pa.field(name, typ, nullable=nullable) for name, typ, nullable, _ in _COLUMNS],
    metadata={b"extractscan.schema_version": str(SCHEMA_VERSION).encode()},
)
COLUMN_NAMES: tuple[str, ...] = tuple(c[0] for c in _COLUMNS)
COLUMN_DOCS: dict[str, str] = {c[0]: c[3] for c in _COLUMNS}

# Hive partition column added by the store (not part of a row): `YYYY-MM-DD` or `unknown`.
PARTITION_COLUMN = "event_date"

QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("source_file", pa.string()),
        pa.field("source_offset", pa.int64()),
        pa.field("source_format", pa.string()),
        pa.field("kind", pa.string(), nullable=False),  # "error" (bad input) or "skipped" (not a model call)
        pa.field("reason", pa.string(), nullable=False),  # short stable code, e.g. "invalid_json"
        pa.field("message", pa.string()),  # human-readable detail
        pa.field("excerpt", pa.string()),  # first bytes of the raw record, decoded with replacement
        pa.field("raw_bytes", pa.int64()),  # size of the raw record
    ]
)


class Message(TypedDict):
    role: str
    text: str


class CanonicalRow(TypedDict, total=False):
    """One row under construction. Readers fill what their format has; ``finalize_row`` derives the rest.

    Keys are exactly the canonical column names; a missing key means null.
    """

    record_id: str
    source_format: str
    source_file: str
    source_offset: int
    event_time: Any  # datetime (tz-aware) or None
    end_time: Any
    latency_ms: float
    request_id: str
    response_id: str
    batch_custom_id: str
    account_id: str
    principal_id: str
    api_key_id: str
    end_user_id: str
    session_id: str
    client_ip: str
    user_agent: str
    country_code: str
    tags: list[dict[str, str]]
    provider: str
    api_surface: str
    model_requested: str
    model_served: str
    system_text: str
    messages: list[Message]
    part_types: list[str]
    n_messages: int
    n_user_turns: int
    last_user_text: str
    prompt_hash: str
    prefix_hash: str
    prompt_chars: int
    response_text: str
    response_chars: int
    n_response_choices: int
    finish_reason: str
    max_output_tokens: int
    temperature: float
    top_p: float
    top_k: int
    n_requested: int
    logprobs: bool
    top_logprobs: int
    seed: int
    stream: bool
    reasoning_effort: str
    thinking_budget_tokens: int
    tools_count: int
    response_format_type: str
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    cost_usd: float
    status_code: int
    status: str
    error_code: str
    body_status: str
    body_uri: str


def empty_table() -> pa.Table:
    return CANONICAL_SCHEMA.empty_table()
