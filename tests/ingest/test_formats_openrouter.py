"""OpenRouter readers: generation metadata and activity aggregates."""

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
