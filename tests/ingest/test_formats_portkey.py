"""Portkey reader: nested and flattened JSONL exports."""

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

READERS = ("portkey",)
EXAMPLES = {"portkey": load("portkey_logs_export.jsonl")}
EXAMPLES["portkey"].append(
    {  # flattened export: dotted keys, JSON strings, metadata key/value columns
        "created_at": "2025-06-02 14:21:00",
        "request.body": json.dumps(
            {
                "model": "gpt-4o-mini",
                "messages": [
                    {"role": "developer", "content": "Answer in JSON."},
                    {"role": "user", "content": "Give 10 riddles."},
                ],
                "n": 3,
                "logprobs": True,
                "top_logprobs": 2,
            }
        ),
        "response.body": json.dumps(
            {
                "id": "chatcmpl-pk2",
                "object": "chat.completion",
                "model": "gpt-4o-mini-2024-07-18",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "{...}"},
                        "finish_reason": "length",
                    }
                ],
            }
        ),
        "is_success": "0",
        "ai_org": "openai",
        "req_units": "20",
        "res_units": "400",
        "total_units": "",
        "cost": "15",
        "response_status_code": "500",
        "trace_id": "",
        "virtual_key": "openai-vk-2",
        "metadata.key": "_user",
        "metadata.value": "user-999",
        "workspace_slug": "ws-research",
        "runtime": "node",
        "sdk_version": "1.3.0",
        "stream_mode": "true",
    }
)


def test_sniff_claims_only_own_examples() -> None:
    for fname, rec in all_examples():
        claims = [n for n in MINE if get_reader(n).sniff(rec)]
        assert len(claims) <= 1, (fname, claims)
        assert get_reader("portkey").sniff(rec) == (fname == "portkey_logs_export.jsonl"), fname
    assert getattr(sniff(EXAMPLES["portkey"][0]), "name", None) == "portkey"
    assert get_reader("portkey").sniff(EXAMPLES["portkey"][1])


def test_mapping() -> None:
    row = one("portkey", EXAMPLES["portkey"][0])
    assert row["event_time"] == datetime(2025, 6, 2, 14, 20, 11, tzinfo=UTC)
    assert row["latency_ms"] == 18234.0
    assert row["account_id"] == "user-123" and row["end_user_id"] == "user-123"
    assert row["api_key_id"].startswith("key:") and "anthropic-prod-vk" not in row["api_key_id"]
    assert row["session_id"] == "trace-6c1d2e"
    assert row["user_agent"] == "portkey-python/1.9.0 (python 3.11.9)"
    assert {"key": "environment", "value": "production"} in row["tags"]
    assert (row["provider"], row["api_surface"]) == ("anthropic", "messages")  # from request_url
    assert row["model_requested"] == "claude-3-5-sonnet-20241022"
    assert row["last_user_text"] == "Write 25 SQL interview questions with model answers."
    assert row["max_output_tokens"] == 2000
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (19, 1874, 1893)
    assert row["cost_usd"] == pytest.approx(0.0282)  # 2.82 cents
    assert (row["status_code"], row["status"]) == (200, "success")
    assert row["response_id"] == "msg_01PkAaBbCcDdEeFfGg" and row["record_id"] == "portkey:msg_01PkAaBbCcDdEeFfGg"
    assert row["response_text"] == "1. What is a JOIN? ..." and row["finish_reason"] == "end_turn"
    assert row["stream"] is False


def test_flattened_export() -> None:
    row = one("portkey", EXAMPLES["portkey"][1])
    assert row["event_time"] == datetime(2025, 6, 2, 14, 21, tzinfo=UTC)
    assert row["account_id"] == "ws-research"  # the workspace wins over metadata._user
    assert row["end_user_id"] == "user-999"
    assert row["user_agent"] == "portkey-node/1.3.0"
    assert row["system_text"] == "Answer in JSON." and row["last_user_text"] == "Give 10 riddles."
    assert (row["n_requested"], row["logprobs"], row["top_logprobs"]) == (3, True, 2)
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (20, 400, 420)
    assert row["cost_usd"] == pytest.approx(0.15)
    assert (row["status_code"], row["status"]) == (500, "error")
    assert row["finish_reason"] == "length" and row["stream"] is True
    assert "session_id" not in row


@pytest.mark.parametrize("bad", [None, 3, "x", [1, 2], {}])
def test_bad_records_are_rejected_not_raised(bad: Any) -> None:
    out = list(get_reader("portkey").parse(bad, REF))
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
