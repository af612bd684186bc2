"""The reader contract and the helpers every reader shares.

A reader turns one decoded input record (a JSON object, a CSV row as a dict, a Parquet row) into zero or
more canonical rows. Readers are registered in :mod:`extractscan.ingest.registry` and picked per file by
content (``sniff``), or forced with ``--format``.

A reader never raises on bad input: it yields :class:`Rejected` for what it cannot map, so that every input
record ends either in the store or in the quarantine with a reason.
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import orjson

from extractscan.schema import CanonicalRow, Message


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Where a record came from: the file as given to ingest and its 1-based line / row / element."""

    file: str
    offset: int


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that is not stored. ``kind`` is ``error`` (bad input) or ``skipped`` (not a model call)."""

    reason: str  # short stable code: invalid_json, wrong_type, missing_field, not_a_model_call, ...
    message: str
    kind: str = "error"


ParseOutcome = CanonicalRow | Rejected


class Reader(ABC):
    """Base class of a log-format reader.

    Subclasses set ``name`` (the ``source_format`` value), ``summary`` and ``priority`` (higher sniffs
    first, so specific formats win over generic ones), and implement ``sniff`` and ``parse``.
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    priority: ClassVar[int] = 50

    @abstractmethod
    def sniff(self, obj: Mapping[str, Any]) -> bool:
        """True if a decoded record looks like this format. Must be cheap and never raise."""

    @abstractmethod
    def parse(self, obj: Any, ref: SourceRef) -> Iterable[ParseOutcome]:
        """Map one decoded record onto canonical rows (usually exactly one)."""


# --------------------------------------------------------------------------------------------------
# Coercion helpers: logs are written by many systems, so every field may have the wrong type.


def as_str(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, str):
        return v or None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return str(v)
    return None


def as_int(v: Any) -> int | None:
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v if -(2**63) <= v < 2**63 else None
    if isinstance(v, float):
        return int(v) if v == v and abs(v) < 2**63 else None
    if isinstance(v, str):
        s = v.strip()
        try:
            return int(s)
        except ValueError:
            try:
                f = float(s)
            except ValueError:
                return None
            return int(f) if f == f and abs(f) < 2**63 else None
    return None


def as_float(v: Any) -> float | None:
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        f = float(v)
        return f if f == f else None
    if isinstance(v, str):
        try:
            f = float(v.strip())
        except ValueError:
            return None
        return f if f == f else None
    return None


def as_bool(v: Any) -> bool | None:
    if isinstance(v, bool):
        return v
    if isinstance(v, int) and v in (0, 1):
        return bool(v)
    if isinstance(v, str):
        s = v.strip().lower()
        if s in ("true", "1", "yes"):
            return True
        if s in ("false", "0", "no"):
            return False
    return None


def get_path(obj: Any, *path: str | int) -> Any:
    """``obj[path[0]][path[1]]...`` or None when any step is missing or of the wrong type."""
    cur = obj
    for p in path:
        if isinstance(p, int):
            if not isinstance(cur, list) or not -len(cur) <= p < len(cur):
                return None
            cur = cur[p]
        else:
            if not isinstance(cur, (dict, Mapping)):  # dict first: a C check, Mapping is an ABC check
                return None
            cur = cur.get(p)
        if cur is None:
            return None
    return cur


def maybe_json(v: Any) -> Any:
    """Decode JSON-in-a-string (Langfuse input, Azure properties, LiteLLM columns); else return as is."""
    if isinstance(v, str):
        s = v.strip()
        if s[:1] in ("{", "[") or s == "null":
            try:
                return orjson.loads(s)
            except orjson.JSONDecodeError:
                return v
    return v


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DOTNET_EPOCH_TICKS = 621355968000000000  # .NET ticks at 1970-01-01
_TS_MIN = datetime(1990, 1, 1, tzinfo=UTC)
_TS_MAX = datetime(2200, 1, 1, tzinfo=UTC)
_TRAILING_TZ = re.compile(r"\s*(UTC|GMT|Z)$", re.IGNORECASE)


def parse_time(v: Any) -> datetime | None:
    """RFC 3339 / ISO 8601 strings (with or without zone; naive means UTC), `YYYY-MM-DD HH:MM:SS.ffffff`,
    `... UTC`, epoch seconds / milliseconds / microseconds (number or numeric string) and .NET ticks.
    Returns an aware UTC datetime, or None for anything unparseable or out of range (1990–2200)."""
    if v is None or isinstance(v, bool):
        return None
    dt: datetime | None = None
    if isinstance(v, int | float):
        dt = _from_number(float(v))
    elif isinstance(v, str):
        s = v.strip()
        if not s:
            return None
        if len(s) >= 10 and s[4] == "-":
            # Fast path for the common ISO date-time (14 us -> 0.3 us per call, once or twice per record):
            # 3.11's fromisoformat reads "Z" as UTC and cuts fractions to 6 digits, as the general path
            # below does; anything it refuses ("... UTC", numbers) takes that path.
            try:
                dt = datetime.fromisoformat(s)
            except ValueError:
                dt = None
            if dt is not None:
                if dt.tzinfo is None:
                    dt = dt.replace(tzinfo=UTC)
                return _in_range(dt)
        try:
            dt = _from_number(float(s))
        except ValueError:
            s2 = _TRAILING_TZ.sub("", s)
            # Python's fromisoformat accepts at most 6 fractional digits; Azure writes 7.
            m = re.match(r"^(.*?[T ]\d{2}:\d{2}:\d{2})\.(\d+)(.*)$", s2)
            if m:
                s2 = f"{m.group(1)}.{m.group(2)[:6]}{m.group(3)}"
            try:
                dt = datetime.fromisoformat(s2)
            except ValueError:
                return None
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=UTC)
    else:
        return None
    if dt is None:
        return None
    return _in_range(dt)


def _in_range(dt: datetime) -> datetime | None:
    """``dt`` in UTC, or None when outside 1990-2200 (or when the offset overflows)."""
    try:
        dt = dt.astimezone(UTC)  # an offset near year 1 or 9999 overflows
    except OverflowError:
        return None
    if not (_TS_MIN <= dt < _TS_MAX):
        return None
    return dt


def _from_number(x: float) -> datetime | None:
    if x != x:
        return None
    ax = abs(x)
    try:
        if ax > 1e17:  # .NET ticks (100 ns since 0001-01-01)
            return _EPOCH + timedelta(microseconds=(x - _DOTNET_EPOCH_TICKS) / 10)
        if ax > 1e14:  # microseconds
            return _EPOCH + timedelta(microseconds=x)
        if ax > 1e11:  # milliseconds
            return _EPOCH + timedelta(milliseconds=x)
        return _EPOCH + timedelta(seconds=x)
    except OverflowError:
        return None


# --------------------------------------------------------------------------------------------------
# Row finalisation: derived columns computed once, the same way for every format.

_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


def hash_api_key(v: Any) -> str | None:
    """Never store a raw key: keep a stable short hash. A 64-hex value (LiteLLM's SHA-256 of the key) is
    already a hash and is shortened the same way, so the same key hashed upstream or here agrees only
    when it was hashed the same way upstream; an already-finalised ``key:`` id is kept."""
    s = as_str(v)
    if s is None:
        return None
    if s.startswith("key:"):
        return s
    if _SHA256_HEX.match(s.lower()):
        return "key:" + s.lower()[:24]
    return "key:" + hashlib.sha256(s.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def _sha(*parts: str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
    return h.hexdigest()


def finalize_row(
    row: CanonicalRow,
    *,
    source_format: str,
    ref: SourceRef,
    raw_digest: str,
    max_prompt_chars: int,
    max_response_chars: int,
) -> CanonicalRow:
    """Fill provenance and derived columns, cap text, hash keys. ``raw_digest`` identifies the raw
    record (content hash plus occurrence number) for the fallback record id."""
    row["source_format"] = source_format
    row["source_file"] = ref.file
    row["source_offset"] = ref.offset
    if not row.get("record_id"):
        native = row.get("request_id") or row.get("response_id")
        row["record_id"] = f"{source_format}:{native}" if native else f"sha256:{raw_digest}"

    if row.get("api_key_id") is not None:
        row["api_key_id"] = hash_api_key(row.get("api_key_id"))  # type: ignore[typeddict-item]

    messages: list[Message] = row.get("messages") or []
    system = row.get("system_text") or ""
    row["n_messages"] = len(messages)
    user_idx = [i for i, m in enumerate(messages) if m["role"] == "user"]
    row["n_user_turns"] = len(user_idx)
    last_user = messages[user_idx[-1]]["text"] if user_idx else None
    if messages or system:
        row["prompt_hash"] = _sha(system, *(f"{m['role']}:{m['text']}" for m in messages))
        prefix = messages[: user_idx[-1]] if user_idx else messages
        row["prefix_hash"] = _sha(system, *(f"{m['role']}:{m['text']}" for m in prefix))
    if last_user is not None:
        row["prompt_chars"] = len(last_user)
        if len(last_user) > max_prompt_chars:
            last_user = last_user[:max_prompt_chars]
            row["body_status"] = "truncated"
        row["last_user_text"] = last_user
    # Cap every stored turn and the system text too: a megabyte prompt must not blow up a batch.
    if any(len(m["text"]) > max_prompt_chars for m in messages):
        row["messages"] = [{"role": m["role"], "text": m["text"][:max_prompt_chars]} for m in messages]
        row["body_status"] = "truncated"
    if len(system) > max_prompt_chars:
        row["system_text"] = system[:max_prompt_chars]
        row["body_status"] = "truncated"
    resp = row.get("response_text")
    if resp is not None:
        row["response_chars"] = row.get("response_chars") or len(resp)
        if len(resp) > max_response_chars:
            row["response_text"] = resp[:max_response_chars]
    if not row.get("body_status"):
        row["body_status"] = "inline" if (messages or system) else "absent"
    return row
