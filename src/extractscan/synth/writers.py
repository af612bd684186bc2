"""One writer per log format: field names and nesting follow the reference examples of each real format.

Writers receive calls in time order and stream them to files: JSONL split by UTC day (optionally gzip),
Bedrock's S3 layout of hourly ``.json.gz`` objects per account, and OpenAI Batch input files per account.
gzip output is written with ``mtime=0`` and no file name so the same calls give byte-identical files.
"""

from __future__ import annotations

import gzip
import hashlib
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

import orjson

from extractscan.synth.accounts import Account, Plan
from extractscan.synth.records import (
    Call,
    anthropic_request,
    anthropic_response,
    converse_request,
    converse_response,
    hexs,
    openai_chat_request,
    openai_chat_response,
    request_body,
    response_body,
    responses_request,
    uuid4,
)
from extractscan.synth.text import Rand, mix

GZIP_LEVEL = 5
_FLUSH_BYTES = 1 << 20

# Where each format keeps the account id written to labels.csv, and the canonical column it maps to.
ACCOUNT_FIELDS: dict[str, dict[str, str]] = {
    "envelope": {"field": "account_id", "canonical": "account_id"},
    "bedrock": {"field": "accountId", "canonical": "account_id"},
    "litellm": {"field": "metadata.user_api_key_team_id", "canonical": "account_id"},
    "langfuse": {"field": "user_id", "canonical": "account_id"},
    "helicone": {"field": "request_user_id", "canonical": "account_id"},
    "portkey": {"field": "metadata._user", "canonical": "account_id"},
    "openai_batch": {"field": "directory name (batch owner)", "canonical": "account_id"},
}


class _Clock:
    """Fast timestamp strings: the date part is cached per UTC day."""

    def __init__(self) -> None:
        self._day = -1
        self._date = ""

    def parts(self, ts: float) -> tuple[str, int, int, int, int]:
        day = int(ts // 86400)
        if day != self._day:
            self._day = day
            self._date = datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%d")
        ms_total = round((ts - day * 86400) * 1000)
        ms_total = min(ms_total, 86_399_999)
        s, ms = divmod(ms_total, 1000)
        h, rem = divmod(s, 3600)
        m, sec = divmod(rem, 60)
        return self._date, h, m, sec, ms

    def iso_ms(self, ts: float) -> str:
        d, h, m, s, ms = self.parts(ts)
        return f"{d}T{h:02d}:{m:02d}:{s:02d}.{ms:03d}Z"

    def iso_s(self, ts: float) -> str:
        d, h, m, s, _ = self.parts(ts)
        return f"{d}T{h:02d}:{m:02d}:{s:02d}Z"

    def langfuse(self, ts: float) -> str:
        d, h, m, s, ms = self.parts(ts)
        return f"{d} {h:02d}:{m:02d}:{s:02d}.{ms:03d}000"

    def date(self, ts: float) -> str:
        return self.parts(ts)[0]


def _open(path: Path, compress: bool) -> BinaryIO:
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = open(path, "wb")  # noqa: SIM115 - closed by the writer
    if compress:
        return gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=GZIP_LEVEL, mtime=0)  # type: ignore[return-value]
    return raw


class FormatWriter:
    """Base: JSONL files named by UTC day under ``root/<name>/``."""

    name: ClassVar[str] = ""

    def __init__(self, out_dir: Path, plan: Plan, compress: bool) -> None:
        self.root = out_dir / self.name
        self.plan = plan
        self.compress = compress
        self.clock = _Clock()
        self.records = 0
        self.extra_records = 0  # rows that are not model calls (Langfuse spans)
        self.files: list[Path] = []
        self._day = ""
        self._fh: BinaryIO | None = None
        self._buf: list[bytes] = []
        self._buf_bytes = 0

    # -- file handling --------------------------------------------------------------------------------
    def _path_for_day(self, day: str) -> Path:
        return self.root / f"{day}.jsonl{'.gz' if self.compress else ''}"

    def _emit(self, ts: float, line: bytes) -> None:
        day = self.clock.date(ts)
        if day != self._day:
            self._close_file()
            self._day = day
            path = self._path_for_day(day)
            self._fh = _open(path, self.compress)
            self.files.append(path)
        self._buf.append(line)
        self._buf_bytes += len(line)
        if self._buf_bytes >= _FLUSH_BYTES:
            self._flush()

    def _flush(self) -> None:
        if self._fh is not None and self._buf:
            self._fh.write(b"".join(self._buf))
        self._buf = []
        self._buf_bytes = 0

    def _close_file(self) -> None:
        self._flush()
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def close(self) -> None:
        self._close_file()

    def bytes_written(self) -> int:
        return sum(p.stat().st_size for p in self.files if p.exists())

    # -- records ---------------------------------------------------------------------------------------
    def write(self, c: Call) -> None:
        r = Rand(mix(c.rnd, 101))
        self._emit(c.ts, orjson.dumps(self.record(c, r)) + b"\n")
        self.records += 1

    def record(self, c: Call, r: Rand) -> dict[str, Any]:
        """The format's JSON record for one call; writers that emit several records per call (Langfuse)
        override ``write`` instead."""
        raise NotImplementedError(f"{type(self).__name__} writes one record per call: override record()")


class EnvelopeWriter(FormatWriter):
    """The extractscan envelope: a provider request/response pair with who/where/when around it."""

    name = "envelope"

    def record(self, c: Call, r: Rand) -> dict[str, Any]:
        rec: dict[str, Any] = {
            "timestamp": self.clock.iso_ms(c.ts),
            "account_id": c.account.account_id,
            "api_key_id": c.key,
        }
        if c.end_user:
            rec["end_user_id"] = c.end_user
        rec["client_ip"] = c.ip
        rec["user_agent"] = c.ua
        rec["request"] = request_body(c)
        rec["response"] = response_body(c, r)
        return rec


class LiteLLMWriter(FormatWriter):
    """LiteLLM ``StandardLoggingPayload`` (what its S3/GCS/custom callbacks receive), one JSON per line."""

    name = "litellm"

    def record(self, c: Call, r: Rand) -> dict[str, Any]:
        a = c.account
        provider = "anthropic" if a.family == "anthropic" else "openai"
        resp = openai_chat_response(c, r)
        req = openai_chat_request(c, include_model=False)
        params = {k: v for k, v in req.items() if k not in ("messages",)}
        if "max_completion_tokens" in params:
            params["max_tokens"] = params.pop("max_completion_tokens")
        params.pop("stream_options", None)
        model_id = _model_id(a, c.model.name)
        start = c.ts
        end = round(c.ts + c.latency_ms / 1000.0, 3)
        ident = a.ident
        meta: dict[str, Any] = {
            "user_api_key_hash": c.key,
            "user_api_key_alias": ident.get("key_alias"),
            "user_api_key_org_id": None,
            "user_api_key_team_id": a.account_id,
            "user_api_key_user_id": ident.get("user_id"),
            "user_api_key_team_alias": ident.get("team_alias"),
            "user_api_key_end_user_id": c.end_user,
            "spend_logs_metadata": None,
            "requester_ip_address": c.ip,
            "user_agent": c.ua,
            "requester_metadata": {},
        }
        tags = [f"User-Agent: {c.ua.split('/')[0]}", f"User-Agent: {c.ua}"]
        api_base = "https://api.anthropic.com/v1" if provider == "anthropic" else "https://api.openai.com/v1"
        return {
            "id": resp["id"],
            "trace_id": uuid4(r),
            "call_id": uuid4(r),
            "call_type": "acompletion" if a.idx % 2 else "completion",
            "stream": c.stream,
            "response_cost": c.cost,
            "status": "success",
            "custom_llm_provider": provider,
            "total_tokens": c.in_tok + c.out_tok,
            "prompt_tokens": c.in_tok,
            "completion_tokens": c.out_tok,
            "startTime": start,
            "endTime": end,
            "completionStartTime": round(c.ts + c.ttft_ms / 1000.0, 3),
            "response_time": round(c.latency_ms / 1000.0, 3),
            "model": c.model.name,
            "model_id": model_id,
            "model_group": c.model.name,
            "api_base": api_base,
            "metadata": meta,
            "cache_hit": False,
            "cache_key": None,
            "saved_cache_cost": 0.0,
            "request_tags": tags,
            "end_user": c.end_user or "",
            "requester_ip_address": c.ip,
            "user_agent": c.ua,
            "messages": req["messages"],
            "response": resp,
            "error_str": None,
            "model_parameters": params,
            "hidden_params": {
                "model_id": model_id,
                "cache_key": None,
                "api_base": api_base,
                "response_cost": c.cost,
                "litellm_overhead_time_ms": round(1.0 + 4.0 * r.random(), 1),
                "additional_headers": None,
                "litellm_model_name": c.model.name,
            },
        }


def _model_id(a: Account, model: str) -> str:
    return hashlib.md5(f"{a.fmt}:{model}".encode()).hexdigest()


class LangfuseWriter(FormatWriter):
    """Langfuse blob-storage export ``observations_v2`` rows: GENERATION rows, plus SPAN parents for apps."""

    name = "langfuse"

    def write(self, c: Call) -> None:
        r = Rand(mix(c.rnd, 101))
        a = c.account
        trace_id = uuid4(r)
        parent = ""
        if a.kind == "benign_app" and r.chance(0.3):
            span_id = uuid4(r)
            self._emit(c.ts, orjson.dumps(self._span(c, r, span_id, trace_id)) + b"\n")
            self.extra_records += 1
            parent = span_id
        self._emit(c.ts, orjson.dumps(self._generation(c, r, trace_id, parent)) + b"\n")
        self.records += 1

    def _common(self, c: Call, trace_id: str) -> dict[str, Any]:
        a = c.account
        ident = a.ident
        return {
            "user_id": a.account_id,
            "session_id": f"sess-{c.session}" if c.session else None,
            "trace_name": ident.get("trace_name", "trace"),
            "tags": ["prod", a.app_name] if a.app_name else (["prod"] if a.kind != "benign_chat" else ["web"]),
            "release": ident.get("release"),
            "bookmarked": False,
            "public": False,
        }

    def _span(self, c: Call, r: Rand, span_id: str, trace_id: str) -> dict[str, Any]:
        start = c.ts - 0.05 - 0.2 * r.random()
        end = c.ts + c.latency_ms / 1000.0 + 0.02
        rec: dict[str, Any] = {
            "id": span_id,
            "trace_id": trace_id,
            "project_id": c.account.ident["project_id"],
            "environment": "production",
            "type": "SPAN",
            "parent_observation_id": "",
            "start_time": self.clock.langfuse(start),
            "end_time": self.clock.langfuse(end),
            "name": "handle-ticket",
            "metadata": {"route": f"/api/{c.account.app_kind}"},
            "level": "DEFAULT",
            "status_message": "",
            "version": "",
            "input": orjson.dumps({"ticket_chars": len(c.messages[-1][1])}).decode(),
            "output": orjson.dumps({"status": "ok"}).decode(),
            "provided_model_name": None,
            "model_parameters": None,
            "usage_details": {},
            "cost_details": {},
            "completion_start_time": None,
            "prompt_name": "",
            "prompt_version": None,
            "total_cost": None,
            "latency": round(end - start, 3),
            "time_to_first_token": None,
            "model_id": None,
            "created_at": self.clock.langfuse(end + 0.1),
            "updated_at": self.clock.langfuse(end + 0.3),
            "prompt_id": "",
            "tool_calls": [],
            "tool_call_names": [],
            "tool_definitions": {},
            "usage_pricing_tier_id": None,
            "usage_pricing_tier_name": None,
            "input_price": None,
            "output_price": None,
            "total_price": None,
        }
        rec.update(self._common(c, trace_id))
        return rec

    def _generation(self, c: Call, r: Rand, trace_id: str, parent: str) -> dict[str, Any]:
        req = openai_chat_request(c, include_model=False)
        params = {
            k: v
            for k, v in req.items()
            if k
            in (
                "max_tokens",
                "max_completion_tokens",
                "temperature",
                "n",
                "logprobs",
                "top_logprobs",
                "reasoning_effort",
                "seed",
            )
        }
        end = c.ts + c.latency_ms / 1000.0
        m = c.model
        in_cost = round(c.in_tok * m.price_in / 1e6, 8)
        out_cost = round(c.out_tok * m.price_out / 1e6, 8)
        output: dict[str, Any] = {"role": "assistant", "content": c.response}
        tool_calls: list[str] = []
        names: list[str] = []
        if c.tool_call:
            cid, name, args = c.tool_call
            tc = {"id": cid, "type": "function", "function": {"name": name, "arguments": args}}
            output["tool_calls"] = [tc]
            tool_calls.append(orjson.dumps(tc).decode())
            names.append(name)
        usage: dict[str, int] = {"input": c.in_tok, "output": c.out_tok, "total": c.in_tok + c.out_tok}
        if c.cached_tok:
            usage["input_cached_tokens"] = c.cached_tok
        if c.reasoning_tok:
            usage["reasoning_tokens"] = c.reasoning_tok
        rec: dict[str, Any] = {
            "id": uuid4(r),
            "trace_id": trace_id,
            "project_id": c.account.ident["project_id"],
            "environment": "production",
            "type": "GENERATION",
            "parent_observation_id": parent,
            "start_time": self.clock.langfuse(c.ts),
            "end_time": self.clock.langfuse(end),
            "name": "anthropic-messages" if c.account.family == "anthropic" else "openai-chat",
            "metadata": _lf_metadata(c),
            "level": "DEFAULT",
            "status_message": "",
            "version": "",
            "input": orjson.dumps(req["messages"]).decode(),
            "output": orjson.dumps(output).decode(),
            "provided_model_name": m.name,
            "model_parameters": orjson.dumps(params).decode(),
            "usage_details": usage,
            "cost_details": {"input": in_cost, "output": out_cost, "total": round(in_cost + out_cost, 8)},
            "completion_start_time": self.clock.langfuse(c.ts + c.ttft_ms / 1000.0),
            "prompt_name": "",
            "prompt_version": None,
            "total_cost": round(in_cost + out_cost, 8),
            "latency": round(c.latency_ms / 1000.0, 3),
            "time_to_first_token": round(c.ttft_ms / 1000.0, 3),
            "model_id": "cl" + hexs(Rand(mix(7, len(m.name))), 22),
            "created_at": self.clock.langfuse(end + 0.1),
            "updated_at": self.clock.langfuse(end + 0.35),
            "prompt_id": "",
            "tool_calls": tool_calls,
            "tool_call_names": names,
            "tool_definitions": {"search_web": "Search the web and return the top results."} if c.tools else {},
            "usage_pricing_tier_id": None,
            "usage_pricing_tier_name": None,
            "input_price": f"{m.price_in / 1e6:.10f}".rstrip("0"),
            "output_price": f"{m.price_out / 1e6:.10f}".rstrip("0"),
            "total_price": None,
        }
        rec.update(self._common(c, trace_id))
        return rec


def _lf_metadata(c: Call) -> dict[str, Any]:
    a = c.account
    if a.kind == "benign_app":
        return {"route": f"/api/{a.app_kind}", "end_user": c.end_user} if c.end_user else {"route": f"/api/{a.app_kind}"}
    if a.kind in ("benign_chat", "diluted", "paraphrase"):
        return {"route": "/api/chat"}
    return {}


class HeliconeWriter(FormatWriter):
    """``@helicone/export`` JSONL (``HeliconeRequest`` with bodies included)."""

    name = "helicone"

    def record(self, c: Call, r: Rand) -> dict[str, Any]:
        a = c.account
        anthropic = a.surface == "messages"
        end = c.ts + c.latency_ms / 1000.0
        props = {
            "Helicone-Session-Id": f"sess-{c.session}" if c.session else f"sess-{a.idx}",
            "environment": "production",
        }
        return {
            "response_id": uuid4(r),
            "response_created_at": self.clock.iso_ms(end),
            "response_body": response_body(c, r),
            "response_status": 200,
            "response_model": c.model.served,
            "request_id": c.request_id,
            "request_created_at": self.clock.iso_ms(c.ts),
            "request_body": request_body(c),
            "request_path": "https://api.anthropic.com/v1/messages"
            if anthropic
            else (
                "https://api.openai.com/v1/responses"
                if a.surface == "responses"
                else "https://api.openai.com/v1/chat/completions"
            ),
            "request_user_id": a.account_id,
            "request_properties": props,
            "request_model": c.model.name,
            "model_override": None,
            "helicone_user": c.key,
            "provider": "ANTHROPIC" if anthropic else "OPENAI",
            "delay_ms": c.latency_ms,
            "time_to_first_token": c.ttft_ms,
            "total_tokens": c.in_tok + c.out_tok,
            "prompt_tokens": c.in_tok,
            "prompt_cache_write_tokens": 0,
            "prompt_cache_read_tokens": c.cached_tok,
            "completion_tokens": c.out_tok,
            "prompt_id": None,
            "feedback_created_at": None,
            "feedback_id": None,
            "feedback_rating": None,
            "signed_body_url": None,
            "country_code": a.country,
            "asset_ids": None,
            "asset_urls": None,
            "scores": None,
            "costUSD": c.cost,
            "properties": props,
            "assets": [],
            "target_url": "https://api.anthropic.com" if anthropic else "https://api.openai.com",
            "model": c.model.name,
        }


class PortkeyWriter(FormatWriter):
    """Portkey logs export JSONL."""

    name = "portkey"

    def record(self, c: Call, r: Rand) -> dict[str, Any]:
        a = c.account
        anthropic = a.surface == "messages"
        ident = a.ident
        runtime = ident.get("runtime", "python")
        return {
            "created_at": self.clock.iso_ms(c.ts),
            "request": {"body": request_body(c)},
            "response": {"body": response_body(c, r)},
            "is_success": 1,
            "ai_org": "anthropic" if anthropic else "openai",
            "ai_model": c.model.name,
            "req_units": c.in_tok,
            "res_units": c.out_tok,
            "total_units": c.in_tok + c.out_tok,
            "cost": round(c.cost * 100, 6),
            "cost_currency": "USD",
            "request_url": "https://api.anthropic.com/v1/messages" if anthropic else "https://api.openai.com/v1/chat/completions",
            "request_method": "POST",
            "response_status_code": 200,
            "response_time": c.latency_ms,
            "cache_status": "DISABLED",
            "cache_type": None,
            "stream_mode": c.stream,
            "retry_success_count": 0,
            "trace_id": f"trace-{c.session or hexs(r, 6)}",
            "mode": "SINGLE",
            "virtual_key": c.key,
            "runtime": runtime,
            "runtime_version": "3.11.9" if runtime == "python" else "20.11.1",
            "sdk_version": ident.get("sdk", "1.9.0"),
            "config": f"pc-{a.account_id[-6:]}",
            "prompt_slug": None,
            "prompt_version_id": None,
            "metadata": {"_user": a.account_id, "environment": "production"},
        }


class BedrockWriter(FormatWriter):
    """Bedrock model-invocation logs as delivered to S3: ``AWSLogs/<acct>/BedrockModelInvocationLogs/<region>/
    YYYY/MM/DD/HH/<time>_<hex>.json.gz``, newline-delimited records, plus the permission-check object."""

    name = "bedrock"

    def __init__(self, out_dir: Path, plan: Plan, compress: bool) -> None:
        super().__init__(out_dir, plan, compress=True)
        self._hour = -1
        self._open: dict[tuple[int, int], tuple[float, list[bytes]]] = {}
        # AWS writes a zero-byte object under the configured prefix when logging is set up.
        check = self.root / "amazon-bedrock-logs-permission-check"
        check.parent.mkdir(parents=True, exist_ok=True)
        check.write_bytes(b"")
        self.files.append(check)

    def write(self, c: Call) -> None:
        r = Rand(mix(c.rnd, 101))
        hour = int(c.ts // 3600)
        if hour != self._hour:
            self._flush_hours(hour)
            self._hour = hour
        key = (c.account.idx, hour)
        slot = self._open.get(key)
        if slot is None:
            slot = (c.ts, [])
            self._open[key] = slot
        slot[1].append(orjson.dumps(self.record(c, r)) + b"\n")
        self.records += 1

    def _flush_hours(self, before: int) -> None:
        for key in sorted(k for k in self._open if k[1] < before):
            first_ts, lines = self._open.pop(key)
            a = self.plan.accounts[key[0]]
            d, h, m, s, ms = self.clock.parts(first_ts)
            y, mo, dd = d.split("-")
            name = f"{y}{mo}{dd}T{h:02d}{m:02d}{s:02d}{ms:03d}Z_{hexs(Rand(mix(key[0], key[1], 5)), 16)}.json.gz"
            path = (
                self.root / "AWSLogs" / a.account_id / "BedrockModelInvocationLogs" / a.region / y / mo / dd / f"{h:02d}" / name
            )
            path.parent.mkdir(parents=True, exist_ok=True)
            buf = io.BytesIO()
            with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=GZIP_LEVEL, mtime=0) as gz:
                gz.write(b"".join(lines))
            path.write_bytes(buf.getvalue())
            self.files.append(path)

    def close(self) -> None:
        self._flush_hours(1 << 62)

    def record(self, c: Call, r: Rand) -> dict[str, Any]:
        a = c.account
        invoke = a.surface == "invoke" and "anthropic" in c.model.name
        if invoke:
            op = "InvokeModelWithResponseStream" if c.stream else "InvokeModel"
            body_in = anthropic_request(c, bedrock=True)
            body_out = anthropic_response(c, r, bedrock=True)
        else:
            op = "ConverseStream" if c.stream else "Converse"
            body_in = converse_request(c)
            body_out = converse_response(c)
        rec: dict[str, Any] = {
            "schemaType": "ModelInvocationLog",
            "schemaVersion": "1.0",
            "timestamp": self.clock.iso_s(c.ts),
            "accountId": a.account_id,
            "identity": {"arn": c.key},
            "region": a.region,
            "requestId": c.request_id,
            "operation": op,
            "modelId": c.model.name,
        }
        if c.model.name.startswith("us."):
            rec["inferenceRegion"] = ("us-east-1", "us-east-2", "us-west-2")[r.below(3)]
        rec["input"] = {
            "inputContentType": "application/json",
            "inputBodyJson": body_in,
            "inputTokenCount": c.in_tok - c.cached_tok,
            "cacheReadInputTokenCount": c.cached_tok,
            "cacheWriteInputTokenCount": 0,
        }
        rec["output"] = {
            "outputContentType": "application/json",
            "outputBodyJson": body_out,
            "outputTokenCount": c.out_tok,
        }
        if a.kind == "benign_app":
            rec["requestMetadata"] = {"app": a.app_name, "tenant": a.company.split()[0].lower()}
        elif a.kind == "hydra":
            rec["requestMetadata"] = {"job": f"batch-{c.session[-2:]}"}
        return rec


class OpenAIBatchWriter(FormatWriter):
    """OpenAI Batch API input files: one per account and day, ``openai_batch/<account>/batch-<day>.jsonl``.
    The lines carry no time and no account: the batch owner is the directory."""

    name = "openai_batch"

    def __init__(self, out_dir: Path, plan: Plan, compress: bool) -> None:
        super().__init__(out_dir, plan, compress)
        self._bufs: dict[int, list[bytes]] = {}
        self._n: dict[int, int] = {}

    def write(self, c: Call) -> None:
        day = self.clock.date(c.ts)
        if day != self._day:
            self._flush_day()
            self._day = day
        a = c.account
        k = self._n.get(a.idx, 0) + 1
        self._n[a.idx] = k
        surface = a.surface
        if surface == "responses":
            body = responses_request(c)
            url = "/v1/responses"
        else:
            body = openai_chat_request(c)
            url = "/v1/chat/completions"
        body.pop("stream", None)
        body.pop("stream_options", None)
        line = {"custom_id": f"req-{k:06d}", "method": "POST", "url": url, "body": body}
        self._bufs.setdefault(a.idx, []).append(orjson.dumps(line) + b"\n")
        self.records += 1

    def _flush_day(self) -> None:
        for idx in sorted(self._bufs):
            a = self.plan.accounts[idx]
            path = self.root / a.account_id / f"batch-{self._day}.jsonl{'.gz' if self.compress else ''}"
            fh = _open(path, self.compress)
            fh.write(b"".join(self._bufs[idx]))
            fh.close()
            self.files.append(path)
        self._bufs = {}

    def close(self) -> None:
        self._flush_day()


WRITERS: dict[str, type[FormatWriter]] = {
    w.name: w
    for w in (
        EnvelopeWriter,
        BedrockWriter,
        LiteLLMWriter,
        LangfuseWriter,
        HeliconeWriter,
        PortkeyWriter,
        OpenAIBatchWriter,
    )
}
