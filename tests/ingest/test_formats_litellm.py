"""LiteLLM readers: StandardLoggingPayload and SpendLogs (JSON and CSV export)."""

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

# ---- tests -----------------------------------------------------------------------------------------
READERS = ("litellm_slp", "litellm_spendlogs")
EXAMPLES = {
    "litellm_slp": load("litellm_standard_logging_payload.jsonl"),
    "litellm_spendlogs": load("litellm_spendlogs.jsonl") + load("litellm_spendlogs_export.csv"),
}


def test_sniff_claims_only_own_examples() -> None:
    own = {
        "litellm_standard_logging_payload.jsonl": "litellm_slp",
        "litellm_spendlogs.jsonl": "litellm_spendlogs",
        "litellm_spendlogs_export.csv": "litellm_spendlogs",
    }
    for fname, rec in all_examples():
        claims = [n for n in MINE if get_reader(n).sniff(rec)]
        assert len(claims) <= 1, (fname, claims)
        for n in READERS:
            assert get_reader(n).sniff(rec) == (own.get(fname) == n), (fname, n)
        if fname in own:
            assert getattr(sniff(rec), "name", None) == own[fname]


def test_slp_mapping() -> None:
    row = one("litellm_slp", EXAMPLES["litellm_slp"][0])
    assert row["event_time"] == datetime(2025, 6, 2, 14, 10, 5, 123000, tzinfo=UTC)
    assert row["end_time"] == datetime(2025, 6, 2, 14, 10, 7, 456000, tzinfo=UTC)
    assert row["latency_ms"] == pytest.approx(2333.0)
    assert row["request_id"] == "chatcmpl-9f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
    assert row["record_id"] == "litellm_slp:chatcmpl-9f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
    assert row["account_id"] == "team_7d1e"
    assert row["api_key_id"] == "key:88dc28d0f030c55ed4ab77ed"
    assert row["principal_id"] == "internal-user-42"
    assert row["end_user_id"] == "customer-991"
    assert row["session_id"] == "0e5d4c3b-2a19-4807-b6f5-e4d3c2b1a090"
    assert row["client_ip"] == "203.0.113.24"
    assert row["user_agent"] == "OpenAI/Python 1.82.0"
    assert row["provider"] == "openai" and row["api_surface"] == "chat.completions"
    assert row["model_requested"] == "gpt-4o-mini" and row["model_served"] == "gpt-4o-mini"
    assert row["system_text"] == "You are a tutor."
    assert row["messages"] == [{"role": "user", "text": "Derive the quadratic formula step by step."}]
    assert row["last_user_text"] == "Derive the quadratic formula step by step."
    assert row["temperature"] == 0.3 and row["stream"] is False
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (120, 392, 512)
    assert row["cost_usd"] == pytest.approx(0.000412)
    assert row["response_text"] == "Here is a detailed derivation..." and row["finish_reason"] == "stop"
    assert row["status"] == "success" and row["body_status"] == "inline"
    assert "tags" not in row  # only User-Agent tags, which went to user_agent


def test_slp_identity_fallbacks_and_string_messages() -> None:
    rec = dict(EXAMPLES["litellm_slp"][0])
    rec["metadata"] = {"user_api_key_hash": "A" * 64, "user_api_key_org_id": "org_9"}
    rec.pop("user_agent")
    rec["messages"] = "Just a prompt string"
    rec["model_parameters"] = json.dumps({"max_tokens": "256", "top_k": 3, "n": 2})
    rec["status"] = "failure"
    rec["error_information"] = {"error_code": "400", "error_class": "BadRequestError"}
    rec["response"] = "plain text response"
    row = one("litellm_slp", rec)
    assert row["account_id"] == "org_9"
    assert row["api_key_id"] == "key:" + "a" * 24
    assert row["user_agent"] == "OpenAI/Python 1.82.0"  # the fuller User-Agent tag
    assert row["messages"] == [{"role": "user", "text": "Just a prompt string"}]
    assert (row["max_output_tokens"], row["top_k"], row["n_requested"]) == (256, 3, 2)
    assert (row["status"], row["status_code"], row["error_code"]) == ("error", 400, "BadRequestError")
    assert row["response_text"] == "plain text response"
    rec["metadata"] = {"user_api_key_hash": "b" * 64}
    assert one("litellm_slp", rec)["account_id"] == "key:" + "b" * 24  # the key hash, in api_key_id form


def test_spendlogs_json_mapping() -> None:
    row = one("litellm_spendlogs", EXAMPLES["litellm_spendlogs"][0])
    assert row["event_time"] == datetime(2025, 6, 2, 14, 10, 5, 123000, tzinfo=UTC)
    assert row["latency_ms"] == 2333.0
    assert row["account_id"] == "team_7d1e"
    assert row["api_key_id"] == "key:88dc28d0f030c55ed4ab77ed"
    assert row["principal_id"] == "internal-user-42"
    assert row["end_user_id"] == "customer-991"
    assert row["client_ip"] == "203.0.113.24"
    assert row["user_agent"] == "OpenAI/Python 1.82.0"
    assert row["session_id"] == "0e5d4c3b-2a19-4807-b6f5-e4d3c2b1a090"
    assert row["system_text"] == "You are a tutor."
    assert row["last_user_text"] == "Derive the quadratic formula step by step."
    assert row["temperature"] == 0.3
    assert row["cost_usd"] == pytest.approx(0.000412)
    assert row["cache_read_tokens"] == 0
    assert row["response_text"] == "Here is a detailed derivation..."
    assert row["status"] == "success" and row["body_status"] == "inline"


def test_spendlogs_csv_json_in_cells_and_truncation() -> None:
    ok, failed = EXAMPLES["litellm_spendlogs"][1:]
    assert isinstance(ok["proxy_server_request"], str)  # CSV: JSON in a cell
    row = one("litellm_spendlogs", ok)
    assert row["event_time"] == datetime(2025, 6, 3, 9, 0, 1, 500000, tzinfo=UTC)
    assert row["latency_ms"] == pytest.approx(2500.0)  # from start/end when request_duration_ms is empty
    assert row["account_id"] == "org_b2"  # no team: the organisation
    assert row["principal_id"] == "svc-batch"  # metadata.user_api_key_user_id when `user` is empty
    assert "end_user_id" not in row
    assert row["user_agent"] == "litellm/1.70.0 python-requests/2.32"
    assert {"key": "batch", "value": ""} in row["tags"] and {"key": "job", "value": "nightly"} in row["tags"]
    assert row["provider"] == "anthropic" and row["model_requested"] == "claude-sonnet"
    assert row["model_served"] == "claude-3-5-sonnet-20241022"
    assert (row["input_tokens"], row["output_tokens"], row["cache_read_tokens"]) == (1200, 330, 1024)
    assert (row["max_output_tokens"], row["top_k"]) == (4096, 5)
    assert row["cost_usd"] == pytest.approx(0.0021)
    assert row["response_text"] == "Voici la traduction..."
    assert row["body_status"] == "truncated"
    assert row["last_user_text"].startswith("Translate the following corpus.")

    row = one("litellm_spendlogs", failed)
    assert row["account_id"] == "team_x" and row["principal_id"] == "alice@example.com"
    assert row["end_user_id"] == "cust-7"
    assert row["api_key_id"].startswith("key:") and row["api_key_id"] != "litellm_proxy_master_key"
    assert (row["status"], row["status_code"], row["error_code"]) == ("error", 429, "RateLimitError")
    assert {"key": "litellm.cache_hit", "value": "true"} in row["tags"]
    assert row["provider"] == "azure-openai" and row["latency_ms"] == 250.0
    assert row["body_status"] == "absent" and "messages" not in row


def test_spendlogs_request_wrapper_and_older_messages_column() -> None:
    base = dict(EXAMPLES["litellm_spendlogs"][0])
    body = base.pop("proxy_server_request")
    row = one("litellm_spendlogs", {**base, "proxy_server_request": {"url": "/chat/completions", "body": body}})
    assert row["last_user_text"] == "Derive the quadratic formula step by step."
    row = one("litellm_spendlogs", {**base, "proxy_server_request": "{}", "messages": json.dumps(body["messages"])})
    assert row["system_text"] == "You are a tutor."
    assert row["last_user_text"] == "Derive the quadratic formula step by step."


@pytest.mark.parametrize("fmt", READERS)
@pytest.mark.parametrize("bad", [None, 3, "x", [1, 2], {}])
def test_bad_records_are_rejected_not_raised(fmt: str, bad: Any) -> None:
    out = list(get_reader(fmt).parse(bad, REF))
    assert len(out) == 1 and isinstance(out[0], Rejected)
    assert out[0].reason in ("wrong_type", "missing_field")


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
