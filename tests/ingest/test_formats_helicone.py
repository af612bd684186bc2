"""Helicone reader: JSON / JSONL records and CSV rows."""

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


READERS = ("helicone",)
EXAMPLES = {
    "helicone": load("helicone_export.jsonl") + load("helicone_export.csv") + load("helicone_variants.jsonl")
}


def test_sniff_claims_only_own_examples() -> None:
    own = {"helicone_export.jsonl", "helicone_export.csv", "helicone_variants.jsonl"}
    for fname, rec in all_examples():
        claims = [n for n in MINE if get_reader(n).sniff(rec)]
        assert len(claims) <= 1, (fname, claims)
        assert get_reader("helicone").sniff(rec) == (fname in own), fname
        if fname in own:
            assert getattr(sniff(rec), "name", None) == "helicone"


def test_jsonl_mapping() -> None:
    row = one("helicone", EXAMPLES["helicone"][0])
    assert row["event_time"] == datetime(2025, 6, 2, 14, 15, 3, 20000, tzinfo=UTC)
    assert row["end_time"] == datetime(2025, 6, 2, 14, 15, 9, 511000, tzinfo=UTC)
    assert row["latency_ms"] == 6491.0
    assert row["request_id"] == "1a2b3c4d-5e6f-4708-9a1b-2c3d4e5f6a7b"
    assert row["record_id"] == "helicone:1a2b3c4d-5e6f-4708-9a1b-2c3d4e5f6a7b"
    assert row["response_id"] == "chatcmpl-HcN1a2b3c4d5e6f7"
    assert row["account_id"] == "cust-4471" and row["end_user_id"] == "cust-4471"
    assert row["api_key_id"].startswith("key:")  # helicone_user, hashed like any key id
    assert row["session_id"] == "sess-77"
    assert row["tags"] == [{"key": "Helicone-Session-Id", "value": "sess-77"},
                           {"key": "environment", "value": "production"}]  # fmt: skip
    assert row["country_code"] == "DE"
    assert row["provider"] == "openai" and row["api_surface"] == "chat.completions"
    assert (row["model_requested"], row["model_served"]) == ("gpt-4o", "gpt-4o-2024-08-06")
    assert row["system_text"] == "You generate training data."
    assert row["last_user_text"] == "Produce 30 diverse question/answer pairs about organic chemistry."
    assert row["temperature"] == 1.0
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (95, 1804, 1899)
    assert (row["cache_read_tokens"], row["cache_write_tokens"]) == (0, 0)
    assert row["cost_usd"] == pytest.approx(0.01828)
    assert (row["status_code"], row["status"]) == (200, "success")
    assert row["response_text"] == "Sure - here are 30 question/answer pairs..."
    assert row["body_status"] == "inline"


def test_csv_row_with_json_cells() -> None:
    rec = EXAMPLES["helicone"][1]
    assert isinstance(rec["request_body"], str) and rec["prompt_tokens"] == "95"
    row = one("helicone", rec)
    assert row["record_id"] == "helicone:response:8e7d6c5b-4a39-4281-9170-6f5e4d3c2b1a"
    assert "request_id" not in row
    assert row["event_time"] == datetime(2025, 6, 2, 14, 15, 3, 20000, tzinfo=UTC)
    assert row["latency_ms"] == pytest.approx(6491.0)  # empty `latency`: response - request time
    assert row["account_id"] == "cust-4471" and row["session_id"] == "sess-77"
    assert row["last_user_text"] == "Produce 30 diverse question/answer pairs about organic chemistry."
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (95, 1804, 1899)
    assert "cost_usd" not in row  # empty `cost` cell
    assert (row["status_code"], row["status"]) == (200, "success")


def test_placeholder_bodies_and_offloaded_body() -> None:
    row = one("helicone", EXAMPLES["helicone"][2])
    assert row["body_status"] == "truncated" and "messages" not in row
    assert row["provider"] == "anthropic" and row["session_id"] == "s-2"
    assert (row["status_code"], row["status"]) == (500, "error")
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (5000, 0, 5000)
    assert row["country_code"] == "US"
    row = one("helicone", EXAMPLES["helicone"][3])
    assert row["body_status"] == "offloaded"
    assert row["body_uri"] == "https://s3.example.com/bodies/hc-req-3?sig=abc"


def test_anthropic_body_detected_from_request_path() -> None:
    rec = dict(EXAMPLES["helicone"][0])
    rec["request_path"] = "https://api.anthropic.com/v1/messages"
    rec["request_body"] = {
        "model": "claude-3-5-haiku",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "hi"}],
    }
    rec["provider"] = "ANTHROPIC"
    row = one("helicone", rec)
    assert (row["provider"], row["api_surface"], row["max_output_tokens"]) == ("anthropic", "messages", 100)


@pytest.mark.parametrize("bad", [None, 3, "x", [1, 2], {}])
def test_bad_records_are_rejected_not_raised(bad: Any) -> None:
    out = list(get_reader("helicone").parse(bad, REF))
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
