"""Vertex AI request-response logging reader."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extractscan.ingest.base import Rejected, SourceRef, finalize_row
from extractscan.ingest.registry import get_reader, sniff
from extractscan.schema import CANONICAL_SCHEMA, CanonicalRow

# ---- shared test helpers (kept per file: each format test module stands alone) -------------------
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "formats"
MINE = (
    "litellm_slp", "litellm_spendlogs", "langfuse_obs_v2", "langfuse_trace", "langfuse_ui", "helicone",
    "portkey", "azure_aoai_rr", "azure_apim_gateway", "azure_apim_llm", "vertex_rr",
    "openrouter_generation", "openrouter_activity",
)  # fmt: skip
REF = SourceRef("test", 1)


def load(name: str) -> list[dict[str, Any]]:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    if name.endswith(".jsonl"):
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    if name.endswith(".csv"):
        return list(csv.DictReader(io.StringIO(text)))
    data = json.loads(text)
    return data if isinstance(data, list) else [data]


def all_examples() -> list[tuple[str, dict[str, Any]]]:
    return [(p.name, r) for p in sorted(FIXTURES.iterdir()) if p.suffix in (".jsonl", ".json", ".csv")
            for r in load(p.name)]  # fmt: skip


def finalize(fmt: str, outcomes: Any) -> list[Any]:
    out = []
    for o in outcomes:
        assert isinstance(o, Rejected | dict), o
        out.append(
            o
            if isinstance(o, Rejected)
            else finalize_row(
                cast(CanonicalRow, o),
                source_format=fmt,
                ref=REF,
                raw_digest="d",
                max_prompt_chars=200_000,
                max_response_chars=20_000,
            )
        )
    return out


def one(fmt: str, rec: Any) -> dict[str, Any]:
    out = finalize(fmt, get_reader(fmt).parse(rec, REF))
    assert len(out) == 1 and isinstance(out[0], dict), out
    pa.Table.from_pylist(out, schema=CANONICAL_SCHEMA)
    return out[0]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
    max_leaves=10,
)


# Cheap fixed odd values mixed into mutations (arbitrary JSON is drawn once per example: it is costly).
ODD_VALUES: tuple[Any, ...] = (
    None,
    -1,
    0,
    2**70,
    1e308,
    float("nan"),
    "",
    "x",
    "{",
    "[1]",
    [],
    {},
    True,
    [None],
    {"": None},
)


@st.composite
def mutated(draw: Any, example: Any) -> Any:
    """The example with keys dropped, replaced by arbitrary JSON, JSON-encoded or stringified (CSV).
    One seed and a small pool of JSON values are drawn; the walk itself is plain ``random`` (fast)."""
    rnd = random.Random(draw(st.integers(0, 2**32)))
    pool = [draw(JSON), *ODD_VALUES]

    def walk(v: Any) -> Any:
        if isinstance(v, dict):
            out = {}
            for k, x in v.items():
                op = rnd.choice(("keep", "keep", "keep", "drop", "json", "dumps", "str", "deep"))
                if op == "drop":
                    continue
                out[k] = {"keep": x, "json": rnd.choice(pool), "dumps": json.dumps(x), "str": str(x)}.get(op)
                if op == "deep":
                    out[k] = walk(x)
            return out
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    return walk(example)


def check_outcomes(fmt: str, rec: Any) -> None:
    outcomes = list(get_reader(fmt).parse(rec, REF))
    rows = [r for r in finalize(fmt, outcomes) if not isinstance(r, Rejected)]
    pa.Table.from_pylist(rows, schema=CANONICAL_SCHEMA)


READERS = ("vertex_rr",)
EXAMPLES = {"vertex_rr": load("vertex_request_response_logging.jsonl")}
_base = EXAMPLES["vertex_rr"][0]
EXAMPLES["vertex_rr"].append(
    {  # BigQuery export with JSON columns as strings; Claude on Vertex
        "logging_time": "2025-06-02T14:31:00Z",
        "request_id": 7312947560021199999,
        "model": "projects/acme-ml-prod/locations/us-east5/publishers/anthropic/models/"
        "claude-3-5-sonnet-v2@20241022",
        "full_request": json.dumps(
            {
                "anthropic_version": "vertex-2023-10-16",
                "max_tokens": 512,
                "system": "Be brief.",
                "messages": [{"role": "user", "content": "Name three primes."}],
                "labels": {"principal_email": "dev@acme.example", "caller": "svc-x"},
            }
        ),
        "full_response": json.dumps(
            {
                "id": "msg_vtx",
                "type": "message",
                "role": "assistant",
                "content": [{"type": "text", "text": "2, 3, 5"}],
                "stop_reason": "end_turn",
                "usage": {"input_tokens": 9, "output_tokens": 5},
            }
        ),
        "metadata": '{"request_latency": 350}',
    }
)


def test_sniff_claims_only_own_examples() -> None:
    for fname, rec in all_examples():
        claims = [n for n in MINE if get_reader(n).sniff(rec)]
        assert len(claims) <= 1, (fname, claims)
        assert get_reader("vertex_rr").sniff(rec) == (fname == "vertex_request_response_logging.jsonl"), fname
    assert getattr(sniff(_base), "name", None) == "vertex_rr"
    assert getattr(sniff(EXAMPLES["vertex_rr"][1]), "name", None) == "vertex_rr"


def test_gemini_row() -> None:
    row = one("vertex_rr", _base)
    assert row["event_time"] == datetime(2025, 6, 2, 14, 30, 12, 118000, tzinfo=UTC)
    assert row["request_id"] == "7312947560021193728" and row["record_id"] == "vertex_rr:7312947560021193728"
    assert row["account_id"] == "acme-ml-prod"
    assert row["model_requested"] == "gemini-2.0-flash-001" and row["model_served"] == "gemini-2.0-flash-001"
    assert row["principal_id"] == "svc-tutor"  # labels.caller
    assert row["tags"] == [{"key": "caller", "value": "svc-tutor"}, {"key": "app", "value": "tutor-api"}]
    assert (row["provider"], row["api_surface"]) == ("google-vertex", "generate_content")
    assert row["system_text"] == "You are a mathematics professor."
    assert row["last_user_text"] == "Explain the proof of Fermat's little theorem in full detail."
    assert (row["temperature"], row["top_p"], row["max_output_tokens"], row["n_requested"]) == (
        0.8,
        0.95,
        2048,
        1,
    )
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"], row["reasoning_tokens"]) == (
        21,
        1402,
        1423,
        0,
    )
    assert row["latency_ms"] == 6811.0
    assert row["response_text"] == "Fermat's little theorem states that..." and row["finish_reason"] == "STOP"


def test_claude_row_with_json_string_columns() -> None:
    row = one("vertex_rr", EXAMPLES["vertex_rr"][1])
    assert row["request_id"] == "7312947560021199999"
    assert row["model_requested"] == "claude-3-5-sonnet-v2@20241022" and row["account_id"] == "acme-ml-prod"
    assert row["principal_id"] == "dev@acme.example"  # principal_email wins over caller
    assert (row["provider"], row["api_surface"]) == ("google-vertex", "messages")
    assert row["system_text"] == "Be brief." and row["last_user_text"] == "Name three primes."
    assert (row["input_tokens"], row["output_tokens"], row["latency_ms"]) == (9, 5, 350.0)
    assert row["response_text"] == "2, 3, 5"


@pytest.mark.parametrize("bad", [None, 3, "x", [1, 2], {}])
def test_bad_records_are_rejected_not_raised(bad: Any) -> None:
    out = list(get_reader("vertex_rr").parse(bad, REF))
    assert len(out) == 1 and isinstance(out[0], Rejected)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_never_raises_on_arbitrary_or_mutated_input(data: Any) -> None:
    fmt = data.draw(st.sampled_from(READERS))
    if data.draw(st.booleans()):
        rec = data.draw(JSON)
    else:
        rec = data.draw(mutated(data.draw(st.sampled_from(EXAMPLES[fmt]))))
    assert isinstance(get_reader(fmt).sniff(rec) if isinstance(rec, dict) else False, bool)
    check_outcomes(fmt, rec)
