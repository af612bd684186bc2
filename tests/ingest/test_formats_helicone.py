"""Helicone reader: JSON / JSONL records and CSV rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from _format_helpers import (  # shared helpers of the gateway-format reader tests
    JSON,
    MINE,
    REF,
    all_examples,
    check_outcomes,
    load,
    mutated,
    one,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extractscan.ingest.base import Rejected
from extractscan.ingest.registry import get_reader, sniff

READERS = ("helicone",)
EXAMPLES = {"helicone": load("helicone_export.jsonl") + load("helicone_export.csv") + load("helicone_variants.jsonl")}


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
