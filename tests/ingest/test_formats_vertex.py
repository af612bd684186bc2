"""Vertex AI request-response logging reader."""

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

READERS = ("vertex_rr",)
EXAMPLES = {"vertex_rr": load("vertex_request_response_logging.jsonl")}
_base = EXAMPLES["vertex_rr"][0]
EXAMPLES["vertex_rr"].append(
    {  # BigQuery export with JSON columns as strings; Claude on Vertex
        "logging_time": "2025-06-02T14:31:00Z",
        "request_id": 7312947560021199999,
        "model": "projects/acme-ml-prod/locations/us-east5/publishers/anthropic/models/claude-3-5-sonnet-v2@20241022",
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
