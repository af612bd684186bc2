"""Azure logs: Azure OpenAI ``RequestResponse`` resource logs, API Management ``GatewayLogs`` resource logs
and the ``ApiManagementGatewayLlmLog`` Log Analytics table.

Field names are matched case-insensitively, so the resource-log JSON (``time``, ``resourceId``,
``callerIpAddress``) and the Log Analytics flattening (``TimeGenerated``, ``ResourceId``,
``CallerIpAddress``) both work. ARM resource ids are lower-cased (Azure writes them in either case), so
the same resource is one ``account_id`` across the three logs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from extractscan.ingest.base import Rejected, as_bool, as_float, as_int, as_str, maybe_json, parse_time
from extractscan.ingest.formats.generic import (
    SafeReader,
    fill,
    safe_request,
    safe_response,
    safe_text,
    status_from_code,
)

# operationName -> api_surface
_SURFACES = {
    "chatcompletions_create": "chat.completions",
    "completions_create": "completions",
    "embeddings_create": "embeddings",
    "responses_create": "responses",
    "imagesgenerations_create": "images",
}
_DEPLOYMENT = re.compile(r"/deployments/([^/?]+)")


class _CI:
    """Case-insensitive view of a record's top-level keys."""

    __slots__ = ("_low", "_obj")

    def __init__(self, obj: Mapping[str, Any]) -> None:
        self._obj = obj
        self._low: dict[str, str] | None = None

    def get(self, *names: str) -> Any:
        for n in names:
            if n in self._obj and self._obj[n] is not None:
                return self._obj[n]
        if self._low is None:
            self._low = {k.lower(): k for k in self._obj if isinstance(k, str)}
        for n in names:
            k = self._low.get(n.lower())
            if k is not None and self._obj[k] is not None:
                return self._obj[k]
        return None


def _props(c: _CI) -> _CI:
    p = maybe_json(c.get("properties", "properties_s"))
    return _CI(p if isinstance(p, Mapping) else {})


def _resource(v: Any) -> str | None:
    s = as_str(v)
    return s.lower() if s else None


def _surface(v: Any) -> str | None:
    s = as_str(v)
    return _SURFACES.get(s.lower()) if s else None


def _category(c: _CI) -> str:
    return (as_str(c.get("category", "Category")) or "").lower()


def _resource_has(c: _CI, provider: str) -> bool:
    r = as_str(c.get("resourceId", "ResourceId", "_ResourceId")) or ""
    return f"/providers/{provider}/" in r.lower()


class AzureOpenAIRequestResponse(SafeReader):
    name: ClassVar[str] = "azure_aoai_rr"
    summary: ClassVar[str] = "Azure OpenAI RequestResponse resource logs (metadata only, no prompt)"
    priority: ClassVar[int] = 70

    def _sniff(self, o: Mapping[str, Any]) -> bool:
        c = _CI(o)
        cat = _category(c)
        if cat == "requestresponse":
            return True
        return cat in ("", "audit", "trace", "azureopenairequestusage") and _resource_has(c, "microsoft.cognitiveservices")

    def _parse(self, o: Mapping[str, Any]) -> Iterator[dict[str, Any] | Rejected]:
        c = _CI(o)
        cat = _category(c)
        if cat and cat != "requestresponse":
            yield Rejected("not_a_model_call", f"Azure OpenAI log category {cat!r} is not a request log", kind="skipped")
            return
        p = _props(c)
        code = as_int(c.get("resultSignature", "ResultSignature"))
        name, version = as_str(p.get("modelName")), as_str(p.get("modelVersion"))
        stream = as_str(p.get("streamType"))
        t_req, t_resp = parse_time(p.get("requestTime")), parse_time(p.get("responseTime"))
        yield {
            "request_id": as_str(c.get("correlationId", "CorrelationId")),
            "event_time": t_req or parse_time(c.get("time", "TimeGenerated")),
            "end_time": t_resp,
            "latency_ms": as_float(c.get("durationMs", "DurationMs")),
            "account_id": _resource(c.get("resourceId", "ResourceId", "_ResourceId")),
            "principal_id": as_str(p.get("objectId")),
            "client_ip": as_str(c.get("callerIpAddress", "CallerIPAddress")),
            "provider": "azure-openai",
            "api_surface": _surface(c.get("operationName", "OperationName")),
            "model_requested": as_str(p.get("modelDeploymentName")),
            "model_served": f"{name}-{version}" if name and version else name,
            "stream": (stream.lower() == "streaming") if stream else None,
            "status_code": code,
            "status": status_from_code(code),
        }


def _apim_body(v: Any) -> tuple[Any, bool]:
    """(decoded body, True when it is a string that should have been JSON but does not parse: cut)."""
    d = maybe_json(v)
    cut = isinstance(d, str) and d.lstrip()[:1] in ("{", "[")
    return d, cut


class AzureAPIMGatewayLogs(SafeReader):
    name: ClassVar[str] = "azure_apim_gateway"
    summary: ClassVar[str] = "Azure API Management GatewayLogs resource logs (bodies when body logging is on)"
    priority: ClassVar[int] = 70

    def _sniff(self, o: Mapping[str, Any]) -> bool:
        if "RequestMessages" in o or "ResponseMessages" in o:
            return False
        c = _CI(o)
        cat = _category(c)
        return cat == "gatewaylogs" or (
            cat == "" and _resource_has(c, "microsoft.apimanagement") and c.get("properties") is not None
        )

    def _parse(self, o: Mapping[str, Any]) -> Iterator[dict[str, Any] | Rejected]:
        c = _CI(o)
        p = _props(c)
        req_raw, req_cut = _apim_body(p.get("requestBody") or p.get("backendRequestBody"))
        resp_raw, _ = _apim_body(p.get("responseBody") or p.get("backendResponseBody"))
        req, resp = safe_request(req_raw), safe_response(resp_raw)
        code = as_int(p.get("responseCode")) or as_int(p.get("backendResponseCode"))
        ok = as_bool(c.get("isRequestSuccess", "IsRequestSuccess"))
        url = as_str(p.get("url")) or as_str(p.get("backendUrl")) or ""
        dep = _DEPLOYMENT.search(url)
        env: dict[str, Any] = {
            "request_id": as_str(c.get("correlationId", "CorrelationId")),
            "event_time": parse_time(c.get("time", "TimeGenerated")),
            "latency_ms": as_float(c.get("durationMs", "DurationMs", "TotalTime")),
            "account_id": _resource(c.get("resourceId", "ResourceId", "_ResourceId")),
            "api_key_id": as_str(p.get("apimSubscriptionId", "subscriptionId")) or as_str(c.get("ApimSubscriptionId")),
            "principal_id": as_str(p.get("userId")) or as_str(c.get("UserId")),
            "client_ip": as_str(c.get("callerIpAddress", "CallerIpAddress")),
            "user_agent": as_str(p.get("userAgent")) or as_str(c.get("UserAgent")),
            "provider": "azure-openai",
            "api_surface": _surface(p.get("operationId")),
            "model_requested": None,
            "status_code": code,
            "status": ("success" if ok else "error") if ok is not None else status_from_code(code),
        }
        row = fill(env, req, resp)
        if row.get("model_requested") is None and dep:
            row["model_requested"] = dep.group(1)
        truncated = as_int(c.get("truncated"))
        if req_cut or (truncated and (row.get("messages") or row.get("system_text"))):
            row["body_status"] = "truncated"
        yield row


def _messages_list(v: Any) -> list[Any]:
    d = maybe_json(v)
    if isinstance(d, Mapping):
        return [d]
    return d if isinstance(d, list) else []


class AzureAPIMLlmLog(SafeReader):
    name: ClassVar[str] = "azure_apim_llm"
    summary: ClassVar[str] = "Azure API Management ApiManagementGatewayLlmLog rows (prompt and completion)"
    priority: ClassVar[int] = 70

    def _sniff(self, o: Mapping[str, Any]) -> bool:
        if "RequestMessages" in o or "ResponseMessages" in o:
            return True
        t = as_str(o.get("Type"))
        return t == "ApiManagementGatewayLlmLog" or ("PromptTokens" in o and "DeploymentName" in o and "CorrelationId" in o)

    def _parse(self, o: Mapping[str, Any]) -> Iterator[dict[str, Any] | Rejected]:
        c = _CI(o)
        corr = as_str(c.get("CorrelationId"))
        rid = as_str(c.get("RequestId"))
        seq = as_int(c.get("SequenceNumber"))
        native = corr or rid
        req_msgs = _messages_list(c.get("RequestMessages"))
        resp_msgs = _messages_list(c.get("ResponseMessages"))
        req = safe_request({"messages": req_msgs}, "openai_chat") if req_msgs else {}
        req.pop("provider", None)
        first = next((m for m in resp_msgs if isinstance(m, Mapping)), None)
        env: dict[str, Any] = {
            "record_id": f"azure_apim_llm:{native}:{seq if seq is not None else 0}" if native else None,
            "request_id": corr or rid,
            "response_id": rid if corr else None,
            "event_time": parse_time(c.get("TimeGenerated", "time")),
            "account_id": _resource(c.get("_ResourceId", "ResourceId", "resourceId")),
            "provider": "azure-openai",
            "api_surface": _surface(c.get("OperationName")) or req.get("api_surface"),
            "model_requested": as_str(c.get("DeploymentName")),
            "model_served": as_str(c.get("ModelName")),
            "stream": as_bool(c.get("IsStreamCompletion")),
            "input_tokens": as_int(c.get("PromptTokens")),
            "output_tokens": as_int(c.get("CompletionTokens")),
            "total_tokens": as_int(c.get("TotalTokens")),
            "tags": [{"key": "apim.sequence_number", "value": str(seq)}] if seq else None,
        }
        if first is not None:
            env["response_text"] = safe_text(first.get("content"))
            env["n_response_choices"] = len(resp_msgs)
        yield fill(env, req)
