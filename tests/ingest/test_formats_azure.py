"""Azure readers: Azure OpenAI RequestResponse, APIM GatewayLogs, ApiManagementGatewayLlmLog."""

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

READERS = ("azure_aoai_rr", "azure_apim_gateway", "azure_apim_llm")
EXAMPLES = {
    "azure_aoai_rr": load("azure_openai_requestresponse.jsonl") + load("azure_openai_requestresponse_variants.jsonl"),
    "azure_apim_gateway": load("azure_apim_gatewaylogs.jsonl"),
    "azure_apim_llm": load("azure_apim_llmlog.jsonl"),
}
APIM = "/subscriptions/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b/resourcegroups/rg-ai-prod/providers/microsoft.apimanagement/service/apim-ai-gw"  # noqa: E501


def test_sniff_claims_only_own_examples() -> None:
    own = {
        "azure_openai_requestresponse.jsonl": "azure_aoai_rr",
        "azure_openai_requestresponse_variants.jsonl": "azure_aoai_rr",
        "azure_apim_gatewaylogs.jsonl": "azure_apim_gateway",
        "azure_apim_llmlog.jsonl": "azure_apim_llm",
    }
    for fname, rec in all_examples():
        claims = [n for n in MINE if get_reader(n).sniff(rec)]
        assert len(claims) <= 1, (fname, claims)
        for n in READERS:
            assert get_reader(n).sniff(rec) == (own.get(fname) == n), (fname, n)
        if fname in own:
            assert getattr(sniff(rec), "name", None) == own[fname]


def test_request_response_string_properties() -> None:
    rec = EXAMPLES["azure_aoai_rr"][0]
    assert isinstance(rec["properties"], str)
    row = one("azure_aoai_rr", rec)
    # requestTime / responseTime are .NET ticks: the request start and the response end.
    assert row["event_time"] == datetime(2025, 6, 2, 14, 25, 0, tzinfo=UTC)
    assert row["end_time"] == datetime(2025, 6, 2, 14, 25, 2, 104000, tzinfo=UTC)
    assert row["latency_ms"] == 2104.0
    assert row["request_id"] == "3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7"
    assert row["account_id"] == (
        "/subscriptions/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b/resourcegroups/rg-ai-prod/"
        "providers/microsoft.cognitiveservices/accounts/aoai-prod-eastus"
    )
    assert row["client_ip"] == "198.51.100.***"
    assert "principal_id" not in row  # empty objectId: key auth
    assert (row["provider"], row["api_surface"]) == ("azure-openai", "chat.completions")
    assert (row["model_requested"], row["model_served"]) == ("gpt4o-prod", "gpt-4o-2024-08-06")
    assert (row["status_code"], row["status"], row["stream"]) == (200, "success", False)
    assert row["body_status"] == "absent" and "messages" not in row


def test_request_response_object_properties_and_other_categories() -> None:
    rec, audit = EXAMPLES["azure_aoai_rr"][1:]
    row = one("azure_aoai_rr", rec)
    assert row["event_time"] == datetime(2025, 6, 2, 15, 0, 0, 123456, tzinfo=UTC)  # `time`: 7 digits cut to 6
    assert row["principal_id"] == "11111111-2222-3333-4444-555555555555"
    assert (row["status_code"], row["status"], row["stream"]) == (429, "error", True)
    assert row["model_served"] == "gpt-4o-mini-2024-07-18" and row["latency_ms"] == 12.0
    (out,) = get_reader("azure_aoai_rr").parse(audit, REF)
    assert isinstance(out, Rejected) and (out.kind, out.reason) == ("skipped", "not_a_model_call")
    # Log Analytics flattening: capitalised names and properties_s.
    flat = {
        "TimeGenerated": "2025-06-02T15:00:00Z",
        "ResourceId": rec["resourceId"],
        "Category": "RequestResponse",
        "OperationName": "Completions_Create",
        "ResultSignature": "200",
        "DurationMs": 5,
        "CallerIPAddress": "10.0.0.1",
        "CorrelationId": "c-9",
        "properties_s": json.dumps(rec["properties"]),
    }
    row = one("azure_aoai_rr", flat)
    assert (row["request_id"], row["client_ip"], row["api_surface"]) == ("c-9", "10.0.0.1", "completions")
    assert row["account_id"].startswith("/subscriptions/aaaa/")


def test_apim_gateway_logs() -> None:
    row = one("azure_apim_gateway", EXAMPLES["azure_apim_gateway"][0])
    assert row["event_time"] == datetime(2025, 6, 2, 14, 26, 31, 446590, tzinfo=UTC)
    assert row["latency_ms"] == 2250.0
    assert row["request_id"] == "99789635-18d0-480f-8182-a3a3c477a6a4"
    assert row["account_id"] == APIM
    assert row["client_ip"] == "198.51.100.77"
    assert row["model_requested"] == "gpt4o-prod"  # the deployment in the URL (the body names none)
    assert row["model_served"] == "gpt-4o-2024-08-06"
    assert row["messages"] == [{"role": "user", "text": "Give 40 examples of polite refusals, each with a rationale."}]
    assert row["last_user_text"] == "Give 40 examples of polite refusals, each with a rationale."
    assert row["max_output_tokens"] == 3000
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (24, 2410, 2434)
    assert row["response_text"] == "1. I'm sorry, but..." and row["response_id"] == "chatcmpl-AzA1b2C3d4E5"
    assert (row["status_code"], row["status"]) == (200, "success")
    assert row["body_status"] == "inline"


def test_apim_gateway_cut_body_is_truncated() -> None:
    rec = json.loads(json.dumps(EXAMPLES["azure_apim_gateway"][0]))
    rec["properties"]["requestBody"] = rec["properties"]["requestBody"][:60]
    rec["properties"]["backendRequestBody"] = None
    rec["truncated"] = 1
    rec["isRequestSuccess"] = False
    row = one("azure_apim_gateway", rec)
    assert row["body_status"] == "truncated" and row["status"] == "error"
    rec["properties"] = json.dumps(rec["properties"])  # properties as a JSON string too
    assert one("azure_apim_gateway", rec)["request_id"] == "99789635-18d0-480f-8182-a3a3c477a6a4"


def test_apim_llm_log() -> None:
    row = one("azure_apim_llm", EXAMPLES["azure_apim_llm"][0])
    assert row["record_id"] == "azure_apim_llm:99789635-18d0-480f-8182-a3a3c477a6a4:0"
    assert row["request_id"] == "99789635-18d0-480f-8182-a3a3c477a6a4"  # CorrelationId joins GatewayLogs
    assert row["response_id"] == "chatcmpl-AzA1b2C3d4E5"
    assert row["event_time"] == datetime(2025, 6, 2, 14, 26, 31, 446590, tzinfo=UTC)
    assert row["account_id"] == APIM  # same account as the GatewayLogs row
    assert (row["model_requested"], row["model_served"]) == ("gpt4o-prod", "gpt-4o-2024-08-06")
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (24, 2410, 2434)
    assert row["last_user_text"] == "Give 40 examples of polite refusals, each with a rationale."
    assert row["response_text"] == "1. I'm sorry, but..."
    assert (row["provider"], row["api_surface"], row["stream"]) == ("azure-openai", "chat.completions", False)
    rec = dict(EXAMPLES["azure_apim_llm"][0], SequenceNumber=2, RequestMessages=json.dumps([{"role": "user",
               "content": "...continued"}]))  # fmt: skip
    row = one("azure_apim_llm", rec)
    assert row["record_id"] == "azure_apim_llm:99789635-18d0-480f-8182-a3a3c477a6a4:2"
    assert row["last_user_text"] == "...continued"
    assert row["tags"] == [{"key": "apim.sequence_number", "value": "2"}]


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
