"""OpenRouter readers: generation metadata and activity aggregates."""

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


READERS = ("openrouter_generation", "openrouter_activity")
EXAMPLES = {
    "openrouter_generation": load("openrouter_generation.jsonl"),
    "openrouter_activity": load("openrouter_activity.jsonl"),
}


def test_sniff_claims_only_own_examples() -> None:
    own = {
        "openrouter_generation.jsonl": "openrouter_generation",
        "openrouter_activity.jsonl": "openrouter_activity",
    }
    for fname, rec in all_examples():
        claims = [n for n in MINE if get_reader(n).sniff(rec)]
        assert len(claims) <= 1, (fname, claims)
        for n in READERS:
            assert get_reader(n).sniff(rec) == (own.get(fname) == n), (fname, n)
        if fname in own:
            assert getattr(sniff(rec), "name", None) == own[fname]


def test_generation_mapping() -> None:
    row = one("openrouter_generation", EXAMPLES["openrouter_generation"][0])
    assert row["event_time"] == datetime(2025, 6, 2, 14, 19, 59, 433273, tzinfo=UTC)
    assert row["request_id"] == "gen-1748873999-AbCdEfGhIjKlMnOp"
    assert row["record_id"] == "openrouter_generation:gen-1748873999-AbCdEfGhIjKlMnOp"
    assert row["response_id"] == "chatcmpl-791bcf62-080e-4568-87d0-94c72e3b4946"
    assert row["account_id"] == "user-123" and row["end_user_id"] == "user-123"
    assert row["user_agent"] == "Mozilla/5.0"
    assert {"key": "http_referer", "value": "https://myapp.example.com/"} in row["tags"]
    assert {"key": "app_id", "value": "12345"} in row["tags"]
    assert (row["provider"], row["model_requested"]) == ("openai", "openai/gpt-4o-mini")
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (
        402,
        1975,
        2377,
    )  # native counts
    assert row["cost_usd"] == pytest.approx(0.0031)
    assert (row["finish_reason"], row["stream"], row["latency_ms"]) == ("stop", True, 1250.0)
    assert row["status"] == "success"
    assert row["body_status"] == "absent" and "messages" not in row


def test_generation_api_wrapper_and_cancelled() -> None:
    rec = dict(EXAMPLES["openrouter_generation"][0], cancelled=True)
    for k in ("native_tokens_prompt", "native_tokens_completion"):
        rec.pop(k)
    row = one("openrouter_generation", {"data": rec})
    assert (row["input_tokens"], row["output_tokens"]) == (410, 1980)  # normalised counts as a fallback
    assert (row["status"], row["error_code"]) == ("error", "cancelled")


def test_activity_rows_are_skipped_aggregates() -> None:
    (out,) = get_reader("openrouter_activity").parse(EXAMPLES["openrouter_activity"][0], REF)
    assert isinstance(out, Rejected)
    assert (out.kind, out.reason) == ("skipped", "aggregate_not_per_request")
    assert "daily" in out.message and "1540 requests" in out.message


@pytest.mark.parametrize("bad", [None, 3, "x", [1, 2]])
def test_bad_records_are_rejected_not_raised(bad: Any) -> None:
    for fmt in READERS:
        out = list(get_reader(fmt).parse(bad, REF))
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
