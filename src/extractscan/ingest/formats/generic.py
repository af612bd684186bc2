"""The generic reader, driven by ``[ingest.mappings.<name>]`` in the TOML config, and the small toolkit the
gateway readers of this package share (a never-raising reader base, safe body parsing, row conformance).

A mapping names, for each canonical column, a dotted path into the decoded record::

    [ingest.mappings.myproxy]
    match = "myproxy-*.jsonl"
    time_format = "%d/%m/%Y %H:%M:%S"
    columns = { event_time = "ts", account_id = "tenant.id", last_user_text = "prompt" }

Mapped values are coerced to the column's type. Two extra keys, ``request_body`` and ``response_body``, point
at a whole provider body, parsed with :mod:`extractscan.ingest.bodies`; ``prompt`` is an alias of
``last_user_text``. :class:`GenericReader` is not registered (its class-level ``name`` is empty): the
pipeline builds one per mapping with :func:`generic_readers` and selects it by ``match`` or
``--format generic:<name>``.
"""

from __future__ import annotations

import fnmatch
import re
from abc import abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, cast

import orjson
import pyarrow as pa

from extractscan.config import ConfigError, FieldMapping, IngestConfig
from extractscan.ingest.base import (
    ParseOutcome,
    Reader,
    Rejected,
    SourceRef,
    as_bool,
    as_float,
    as_int,
    as_str,
    maybe_json,
    parse_time,
)
from extractscan.ingest.bodies import content_text, request_body, response_body
from extractscan.schema import CANONICAL_SCHEMA, CanonicalRow, Message

# --------------------------------------------------------------------------------------------------
# Shared toolkit


def _column_kinds() -> dict[str, str]:
    kinds: dict[str, str] = {}
    for f in CANONICAL_SCHEMA:
        t = f.type
        if pa.types.is_string(t):
            kinds[f.name] = "str"
        elif pa.types.is_int32(t):
            kinds[f.name] = "int32"
        elif pa.types.is_int64(t):
            kinds[f.name] = "int64"
        elif pa.types.is_floating(t):
            kinds[f.name] = "float"
        elif pa.types.is_boolean(t):
            kinds[f.name] = "bool"
        elif pa.types.is_timestamp(t):
            kinds[f.name] = "time"
        elif pa.types.is_list(t) and pa.types.is_struct(t.value_type):
            kinds[f.name] = "messages" if t.value_type.get_field_index("role") >= 0 else "tags"
        elif pa.types.is_list(t):
            kinds[f.name] = "strlist"
    return kinds


COLUMN_KINDS: dict[str, str] = _column_kinds()
_INT32 = (-(2**31), 2**31)
_INT64 = (-(2**63), 2**63)
_TS_MIN = datetime(1990, 1, 1, tzinfo=UTC)
_TS_MAX = datetime(2200, 1, 1, tzinfo=UTC)


def _in_range(i: int | None, bounds: tuple[int, int]) -> int | None:
    return i if i is not None and bounds[0] <= i < bounds[1] else None


def conform_value(kind: str, v: Any) -> Any:
    """Coerce one value to a canonical column kind, or None when it cannot be (never raises)."""
    if v is None:
        return None
    if kind == "str":
        return v if isinstance(v, str) else as_str(v)
    if kind == "int32":
        return _in_range(as_int(v), _INT32)
    if kind == "int64":
        return _in_range(as_int(v), _INT64)
    if kind == "float":
        return as_float(v)
    if kind == "bool":
        return as_bool(v)
    if kind == "time":
        if isinstance(v, datetime):
            if v.tzinfo is None:
                v = v.replace(tzinfo=UTC)
            try:
                v = v.astimezone(UTC)
            except (OverflowError, ValueError):
                return None
            return v if _TS_MIN <= v < _TS_MAX else None
        return parse_time(v)
    if kind == "messages":
        if not isinstance(v, list):
            return None
        msgs: list[Message] = []
        for m in v:
            if isinstance(m, Mapping):
                role, text = as_str(m.get("role")), m.get("text")
                text = text if isinstance(text, str) else as_str(text)
                msgs.append({"role": role or "user", "text": text or ""})
        return msgs or None
    if kind == "tags":
        return tags_from(v)
    if kind == "strlist":
        if not isinstance(v, list):
            return None
        out = [s for s in (as_str(x) for x in v) if s]
        return out or None
    return None


def conform_row(row: Mapping[str, Any]) -> CanonicalRow:
    """Keep only canonical columns, each with a value of the column's type (int32 range included), so that
    a finalised row always converts to ``CANONICAL_SCHEMA``."""
    out: dict[str, Any] = {}
    for key, v in row.items():
        if v is None:
            continue
        kind = COLUMN_KINDS.get(key)
        if kind is None:
            continue
        # Most values already have the column's type: keep them without the coercion calls (this loop
        # sees every value of every gateway row). Each test gives what conform_value gives for that type.
        t = type(v)
        if t is str:
            if kind == "str":
                out[key] = v
                continue
        elif t is int:
            if (kind == "int64" and _INT64[0] <= v < _INT64[1]) or (kind == "int32" and _INT32[0] <= v < _INT32[1]):
                out[key] = v
                continue
        elif t is float:
            if kind == "float" and v == v:
                out[key] = v
                continue
        elif t is bool:
            if kind == "bool":
                out[key] = v
                continue
        elif t is datetime and kind == "time" and v.tzinfo is UTC and _TS_MIN <= v < _TS_MAX:
            out[key] = v
            continue
        c = conform_value(kind, v)
        if c is not None:
            out[key] = c
    return cast(CanonicalRow, out)


def tags_from(v: Any) -> list[dict[str, str]] | None:
    """Tags from a ``{key: value}`` map, a list of strings (``key=tag, value=""``), a list of
    ``{key, value}`` / ``{name, value}`` objects, or any of those JSON-encoded in a string."""
    v = maybe_json(v)
    out: list[dict[str, str]] = []
    if isinstance(v, Mapping):
        for k, val in v.items():
            s: str
            if val is None or isinstance(val, str):
                s = val or ""
            elif isinstance(val, list | Mapping):
                s = orjson.dumps(val, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
            else:
                s = as_str(val) or ""
            out.append({"key": str(k), "value": s})
    elif isinstance(v, list):
        for item in v:
            if isinstance(item, Mapping):
                k = as_str(item.get("key", item.get("name")))
                if k:
                    out.append({"key": k, "value": as_str(item.get("value")) or ""})
            else:
                t = as_str(item)
                if t:
                    out.append({"key": t, "value": ""})
    return out or None


def dumps_safe(v: Any) -> str | None:
    try:
        return orjson.dumps(v, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError):
        return None


def safe_request(body: Any, kind: str | None = None) -> dict[str, Any]:
    """:func:`bodies.request_body` that cannot take a reader down: odd bodies give ``{}``."""
    try:
        return dict(request_body(body, kind))
    except Exception:  # bodies must never raise; if it does, keep the envelope
        return {}


_URL_KINDS = (
    ("/chat/completions", "openai_chat"),
    ("/responses", "openai_responses"),
    ("/v1/messages", "anthropic"),
    (":generatecontent", "gemini"),
    (":streamgeneratecontent", "gemini"),
    ("/converse", "converse"),
)


def kind_from_url(url: Any) -> str | None:
    """The request-body shape implied by an endpoint URL / path (``.../v1/messages`` -> ``anthropic``), for
    bodies whose shape alone is ambiguous (an Anthropic request with only ``max_tokens`` + ``messages``)."""
    s = as_str(url)
    if not s:
        return None
    s = s.split("?", 1)[0].lower().rstrip("/")
    for suffix, kind in _URL_KINDS:
        if s.endswith(suffix):
            return kind
    return None


def safe_request_hinted(body: Any, url: Any) -> dict[str, Any]:
    """Parse a request body, trusting the endpoint URL for its shape when the body has the matching key."""
    body = maybe_json(body)
    kind = kind_from_url(url)
    if kind and isinstance(body, Mapping):
        key = {
            "openai_chat": "messages",
            "anthropic": "messages",
            "openai_responses": "input",
            "gemini": "contents",
            "converse": "messages",
        }[kind]
        if key in body:
            return safe_request(body, kind)
    return safe_request(body)


def safe_response(body: Any) -> dict[str, Any]:
    """:func:`bodies.response_body` that cannot take a reader down: odd bodies give ``{}``."""
    try:
        return dict(response_body(body))
    except Exception:  # e.g. {"object": "response", "output": 5}
        return {}


def safe_text(content: Any) -> str:
    try:
        return content_text(content, set())
    except Exception:
        return ""


def fill(base: dict[str, Any], *more: Mapping[str, Any]) -> dict[str, Any]:
    """Later rows fill keys the earlier ones lack (envelope fields win over body fields)."""
    for m in more:
        for k, v in m.items():
            if v is not None and base.get(k) is None:
                base[k] = v
    return base


def mapping_or_empty(v: Any) -> Mapping[str, Any]:
    v = maybe_json(v)
    return v if isinstance(v, Mapping) else {}


def status_from_code(code: int | None) -> str | None:
    if code is None or code <= 0:
        return None
    return "success" if code < 400 else "error"


# Columns of which at least one must be found for a row to be worth storing.
_ANCHORS = (
    "event_time",
    "request_id",
    "response_id",
    "account_id",
    "principal_id",
    "api_key_id",
    "end_user_id",
    "session_id",
    "messages",
    "system_text",
    "response_text",
)


class SafeReader(Reader):
    """Base of the readers in this package: ``parse`` never raises and its rows always conform.

    Subclasses implement ``_sniff`` (plain key tests) and ``_parse`` (a generator of plain dicts or
    :class:`Rejected`). Not registered itself: its ``name`` is empty.
    """

    def sniff(self, obj: Mapping[str, Any]) -> bool:
        try:
            return isinstance(obj, Mapping) and bool(self._sniff(obj))
        except Exception:
            return False

    def parse(self, obj: Any, ref: SourceRef) -> Iterable[ParseOutcome]:
        if not isinstance(obj, Mapping):
            return [Rejected("wrong_type", f"{self.name}: expected an object, got {type(obj).__name__}")]
        out: list[ParseOutcome] = []
        try:
            for item in self._parse(obj):
                if isinstance(item, Rejected):
                    out.append(item)
                    continue
                row = conform_row(item)
                if not any(k in row for k in _ANCHORS):
                    out.append(Rejected("missing_field", f"{self.name}: no time, id, identity or prompt in the record"))
                else:
                    out.append(row)
        except RecursionError:
            return [Rejected("too_deep", f"{self.name}: record nested too deeply to map")]
        except Exception as e:  # last line of defence: odd input must end in the quarantine, not a crash
            return [Rejected("parse_error", f"{self.name}: {type(e).__name__}: {e}"[:500])]
        return out

    @abstractmethod
    def _sniff(self, obj: Mapping[str, Any]) -> bool:
        """The format's own content check (``sniff`` wraps it so that it never raises)."""

    @abstractmethod
    def _parse(self, obj: Mapping[str, Any]) -> Iterator[dict[str, Any] | Rejected]:
        """The format's own mapping (``parse`` wraps it with type checks and error containment)."""


# --------------------------------------------------------------------------------------------------
# The generic reader

PROMPT_KEYS = frozenset({"messages", "last_user_text", "prompt", "request_body", "system_text"})
_SPECIAL_KEYS = frozenset({"request_body", "response_body", "prompt"})
# Set by the pipeline / finalize_row, never by a mapping.
_NOT_MAPPABLE = frozenset(
    {
        "source_format",
        "source_file",
        "source_offset",
        "n_messages",
        "n_user_turns",
        "prompt_hash",
        "prefix_hash",
        "prompt_chars",
    }
)
_DIGITS = re.compile(r"^-?\d+$")


def resolve_path(obj: Any, path: str) -> Any:
    """The value at a dotted path (``meta.user``, ``messages.0.content``). A key that literally contains
    the dots (a CSV header such as ``request.body``) wins; JSON-in-a-string is decoded on the way down."""
    if isinstance(obj, Mapping) and path in obj:
        return obj[path]
    cur = obj
    for seg in path.split("."):
        if isinstance(cur, str):
            cur = maybe_json(cur)
        if isinstance(cur, Mapping):
            cur = cur.get(seg)
        elif isinstance(cur, list) and _DIGITS.match(seg):
            i = int(seg)
            if not -len(cur) <= i < len(cur):
                return None
            cur = cur[i]
        else:
            return None
        if cur is None:
            return None
    return cur


class GenericReader(SafeReader):
    """A reader built from one ``[ingest.mappings.<name>]`` table; its ``name`` is ``generic:<name>``."""

    name: ClassVar[str] = ""  # empty at class level: not auto-registered
    summary: ClassVar[str] = "Any JSONL / JSON / CSV / Parquet log, mapped field by field in the config"
    priority: ClassVar[int] = 5

    def __init__(self, mapping_name: str, mapping: FieldMapping) -> None:
        unknown = [c for c in mapping.columns if c not in COLUMN_KINDS and c not in _SPECIAL_KEYS]
        if unknown:
            raise ConfigError(f"ingest.mappings.{mapping_name}.columns: unknown column(s) {', '.join(sorted(unknown))}")
        fixed = sorted(c for c in mapping.columns if c in _NOT_MAPPABLE)
        if fixed:
            raise ConfigError(f"ingest.mappings.{mapping_name}.columns: {', '.join(fixed)} are derived, not mappable")
        bad = [c for c, p in mapping.columns.items() if not isinstance(p, str) or not p]
        if bad:
            raise ConfigError(f"ingest.mappings.{mapping_name}.columns: {', '.join(bad)} must be a path string")
        self.name = f"generic:{mapping_name}"  # type: ignore[misc]  # instance name; class name stays ""
        self.mapping_name = mapping_name
        self.mapping = mapping
        self.match = mapping.match
        self.columns: dict[str, str] = dict(mapping.columns)
        mapped = set(self.columns)
        self._key_cols = (mapped & PROMPT_KEYS) | (mapped & {"event_time", "account_id"})

    def matches(self, path: str) -> bool:
        """True when ``match`` (a glob) selects this file, tried on the base name and the whole path."""
        if not self.match:
            return False
        base = path.replace("\\", "/").rsplit("/", 1)[-1]
        return fnmatch.fnmatch(base, self.match) or fnmatch.fnmatch(path, self.match)

    def _sniff(self, obj: Mapping[str, Any]) -> bool:
        cols = self._key_cols or set(self.columns)
        return any(resolve_path(obj, self.columns[c]) is not None for c in cols)

    def _time(self, v: Any) -> datetime | None:
        fmt = self.mapping.time_format
        if fmt and isinstance(v, str):
            try:
                dt = datetime.strptime(v.strip(), fmt)
            except ValueError:
                dt = None
            if dt is not None:
                return cast(datetime | None, conform_value("time", dt))
        return parse_time(v)

    def _parse(self, obj: Mapping[str, Any]) -> Iterator[dict[str, Any] | Rejected]:
        row: dict[str, Any] = {}
        found: set[str] = set()
        req: dict[str, Any] = {}
        resp: dict[str, Any] = {}
        prompt: str | None = None
        mapped_msgs: dict[str, Any] = {}
        for col, path in self.columns.items():
            raw = resolve_path(obj, path)
            if raw is None or raw == "":
                continue
            if col == "request_body":
                req = safe_request(raw)
                if req.get("messages") or req.get("system_text"):
                    found.add(col)
            elif col == "response_body":
                resp = safe_response(raw)
            elif col in ("last_user_text", "prompt"):
                if isinstance(raw, list | Mapping):
                    mapped_msgs = fill(mapped_msgs, safe_request({"messages": raw}, "openai_chat"))
                else:
                    prompt = as_str(raw)
                if prompt or mapped_msgs.get("messages"):
                    found.add(col)
            elif col == "messages":
                val = maybe_json(raw)
                if isinstance(val, str):
                    mapped_msgs["messages"] = [{"role": "user", "text": val}]
                else:
                    got = safe_request({"messages": val}, "openai_chat")
                    mapped_msgs = {k: got[k] for k in ("messages", "system_text", "part_types") if k in got}
                if mapped_msgs.get("messages") or mapped_msgs.get("system_text"):
                    found.add(col)
            elif col == "system_text":
                val = maybe_json(raw) if isinstance(raw, str) and raw.lstrip()[:1] == "[" else raw
                text = val if isinstance(val, str) else safe_text(val)
                if text:
                    row["system_text"] = text
                    found.add(col)
            elif col == "response_text":
                text = raw if isinstance(raw, str) else safe_text(raw)
                if text:
                    row["response_text"] = text
            elif col == "tags":
                tags = tags_from(raw)
                if tags:
                    row["tags"] = tags
            else:
                kind = COLUMN_KINDS[col]
                if kind == "time":
                    val = self._time(raw)
                elif kind in ("strlist", "messages"):
                    val = conform_value(kind, maybe_json(raw))
                else:
                    val = conform_value(kind, raw)
                if val is not None:
                    row[col] = val
                    found.add(col)
        msgs: list[Message] = list(mapped_msgs.get("messages") or [])
        if prompt and not any(m["role"] == "user" and m["text"] == prompt for m in msgs):
            msgs.append({"role": "user", "text": prompt})
        if msgs:
            row["messages"] = msgs
        fill(row, {k: v for k, v in mapped_msgs.items() if k != "messages"}, req, resp)
        if self._key_cols and not (found & self._key_cols):
            yield Rejected(
                "missing_field",
                f"{self.name}: none of the mapped fields "
                f"{', '.join(f'{c}={self.columns[c]}' for c in sorted(self._key_cols))} found",
            )
            return
        if not found and not resp:
            yield Rejected("missing_field", f"{self.name}: none of the mapped fields found")
            return
        yield row


def generic_readers(cfg: IngestConfig) -> dict[str, GenericReader]:
    """One :class:`GenericReader` per ``[ingest.mappings.<name>]``, keyed by its reader name
    ``generic:<name>``. Raises :class:`ConfigError` for a mapping naming an unknown column."""
    return {f"generic:{name}": GenericReader(name, m) for name, m in cfg.mappings.items()}
