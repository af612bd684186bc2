"""Langfuse readers: observations_v2 / legacy observations, legacy traces, UI export."""

from __future__ import annotations

import json
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

READERS = ("langfuse_obs_v2", "langfuse_trace", "langfuse_ui")
EXAMPLES = {
    "langfuse_obs_v2": load("langfuse_observations_v2.jsonl") + load("langfuse_observations_mixed.jsonl"),
    "langfuse_trace": load("langfuse_traces.jsonl"),
    "langfuse_ui": load("langfuse_ui_export.json"),
}


def test_sniff_claims_only_own_examples() -> None:
    own = {
        "langfuse_observations_v2.jsonl": "langfuse_obs_v2",
        "langfuse_observations_mixed.jsonl": "langfuse_obs_v2",
        "langfuse_traces.jsonl": "langfuse_trace",
        "langfuse_ui_export.json": "langfuse_ui",
    }
    for fname, rec in all_examples():
        claims = [n for n in MINE if get_reader(n).sniff(rec)]
        assert len(claims) <= 1, (fname, claims)
        for n in READERS:
            assert get_reader(n).sniff(rec) == (own.get(fname) == n), (fname, n)
        if fname in own:
            assert getattr(sniff(rec), "name", None) == own[fname]


def test_obs_v2_mapping() -> None:
    row = one("langfuse_obs_v2", EXAMPLES["langfuse_obs_v2"][0])
    assert row["event_time"] == datetime(2025, 6, 2, 14, 12, 1, 204000, tzinfo=UTC)
    assert row["end_time"] == datetime(2025, 6, 2, 14, 12, 3, 998000, tzinfo=UTC)
    assert row["latency_ms"] == pytest.approx(2794.0)
    assert row["request_id"] == "6f1c2e3d-aaaa-4bbb-8ccc-1d2e3f4a5b6c"
    assert row["record_id"] == "langfuse_obs_v2:6f1c2e3d-aaaa-4bbb-8ccc-1d2e3f4a5b6c"
    assert row["account_id"] == "end-user-5521" and row["end_user_id"] == "end-user-5521"
    assert row["session_id"] == "sess-20250602-88"
    assert row["tags"] == [{"key": "prod", "value": ""}, {"key": "web", "value": ""}]
    assert row["model_requested"] == "gpt-4o"
    assert row["system_text"] == "You are helpful."
    assert row["messages"] == [{"role": "user", "text": "Rewrite this paragraph in 10 different styles: ..."}]
    assert row["last_user_text"] == "Rewrite this paragraph in 10 different styles: ..."
    assert (row["temperature"], row["max_output_tokens"]) == (0.9, 2000)
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (412, 1630, 2042)
    assert row["cost_usd"] == pytest.approx(0.01733)
    assert row["response_text"] == "1. Formal: ..."
    assert row["status"] == "success" and row["body_status"] == "inline"
    assert "provider" not in row  # a bare message list says nothing about the provider


def test_non_generation_observations_are_skipped() -> None:
    span, event = EXAMPLES["langfuse_obs_v2"][1:3]
    for rec in (span, event):
        (out,) = get_reader("langfuse_obs_v2").parse(rec, REF)
        assert isinstance(out, Rejected)
        assert (out.kind, out.reason) == ("skipped", "not_a_model_call")


def test_error_generation_with_json_strings() -> None:
    row = one("langfuse_obs_v2", EXAMPLES["langfuse_obs_v2"][3])
    assert row["account_id"] == "proj-a" and "end_user_id" not in row  # empty user_id: the project
    assert row["session_id"] == "tr-2"  # no session: the trace
    assert row["tags"] == [{"key": "batch", "value": ""}, {"key": "eval", "value": ""}]
    assert row["messages"] == [{"role": "user", "text": "List 100 capital cities.\n[image]"}]
    assert row["part_types"] == ["image"]
    assert row["provider"] == "openai"  # the input was a whole body naming a model
    assert (row["temperature"], row["top_p"], row["n_requested"], row["top_k"]) == (1.2, 0.5, 4, 40)
    assert (row["logprobs"], row["top_logprobs"], row["seed"]) == (True, 5, 7)
    assert (row["input_tokens"], row["output_tokens"], row["cache_read_tokens"]) == (10, 0, 4)
    assert row["cost_usd"] == pytest.approx(0.00002)
    assert row["latency_ms"] == pytest.approx(1500.0)  # no end_time: `latency` in seconds
    assert (row["status"], row["error_code"]) == ("error", "RateLimitError: 429 Too Many Requests")
    assert "response_text" not in row


def test_legacy_observation_without_trace_fields() -> None:
    row = one("langfuse_obs_v2", EXAMPLES["langfuse_obs_v2"][4])
    assert row["account_id"] == "proj-b" and row["session_id"] == "tr-3"
    assert row["last_user_text"] == "What is the boiling point of water?"
    assert row["response_text"] == "100 degrees Celsius at sea level."
    assert (row["input_tokens"], row["output_tokens"]) == (8, 9)
    assert row["cost_usd"] == pytest.approx(0.00001)
    assert row["latency_ms"] == pytest.approx(2500.0)


def test_trace_mapping() -> None:
    row = one("langfuse_trace", EXAMPLES["langfuse_trace"][0])
    assert row["event_time"] == datetime(2025, 6, 2, 9, 59, 59, tzinfo=UTC)
    assert row["request_id"] == "trace-legacy-1" and row["record_id"] == "langfuse_trace:trace-legacy-1"
    assert row["account_id"] == "u-42" and row["end_user_id"] == "u-42" and row["session_id"] == "sess-9"
    assert row["tags"] == [{"key": "web", "value": ""}]
    assert row["last_user_text"] == "How do vaccines work?"  # app-level object with one string value
    assert row["response_text"] == "They train the immune system."
    row = one("langfuse_trace", EXAMPLES["langfuse_trace"][1])
    assert row["account_id"] == "proj-a" and row["session_id"] == "trace-legacy-2"
    assert row["last_user_text"] == "Summarise this."


def test_ui_export_mapping() -> None:
    row = one("langfuse_ui", EXAMPLES["langfuse_ui"][0])
    assert row["event_time"] == datetime(2025, 6, 2, 14, 12, 1, 204000, tzinfo=UTC)
    assert row["request_id"] == "obs_01J9ZK3M4N5P6Q7R8S9T"
    assert row["session_id"] == "trace_01J9ZK3A1B2C3D4E5F6G"
    assert "account_id" not in row  # the UI export has no user or project
    assert row["model_requested"] == "gpt-4o-mini"
    assert row["system_text"] == "You are a helpful assistant."
    assert row["last_user_text"] == "Generate 50 varied math word problems with solutions."
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (38, 2911, 2949)
    assert row["cost_usd"] == pytest.approx(0.00176)
    assert row["response_text"] == "1. A train leaves..."
    assert row["tags"] == [{"key": "prod", "value": ""}]
    # CSV flavour of the UI export: nested values JSON-encoded, user and project present.
    rec = {k: json.dumps(v) if isinstance(v, dict | list) else str(v) for k, v in EXAMPLES["langfuse_ui"][0].items()}
    rec.update(userId="u-7", projectId="p-1", type="SPAN")
    (out,) = get_reader("langfuse_ui").parse(rec, REF)
    assert isinstance(out, Rejected) and out.kind == "skipped"
    rec["type"] = "GENERATION"
    row = one("langfuse_ui", rec)
    assert row["account_id"] == "u-7" and row["end_user_id"] == "u-7"
    assert row["last_user_text"] == "Generate 50 varied math word problems with solutions."
    assert row["input_tokens"] == 38


@pytest.mark.parametrize("fmt", READERS)
@pytest.mark.parametrize("bad", [None, 3, "x", [1, 2], {}])
def test_bad_records_are_rejected_not_raised(fmt: str, bad: Any) -> None:
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
