"""From a scheduled event to a :class:`Call` (one request/response pair) and its provider bodies.

A :class:`Call` holds everything a log writer needs; the body functions render it in the provider shapes
(OpenAI Chat Completions / Responses, Anthropic Messages, Bedrock Converse / InvokeModel). Only the writers
in :mod:`extractscan.synth.writers` know log formats.
"""

from __future__ import annotations

import base64
import hashlib
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from extractscan.synth.accounts import Account, Plan
from extractscan.synth.catalog import Model
from extractscan.synth.text import Rand, TextGen, mix
from extractscan.synth.timing import APP, BENCH, CHAT, EXTRACT, FILLER, PARA

EXTRACTION_SYSTEMS = (
    "You are a world-class expert. Always reason step by step and show all intermediate work before answering.",
    "You are a meticulous assistant. Explain your full chain of reasoning in detail, then give the final answer.",
    "You are an expert tutor. Think out loud, step by step, and never skip steps.",
)
CHAT_SYSTEMS = ("You are a helpful assistant.", "You are ChatBot, a friendly assistant.", "Be concise.")
APP_OUT_TOKENS = {
    "support": (90, 260),
    "summarise": (40, 110),
    "classify": (10, 20),
    "minutes": (150, 420),
    "extract": (40, 90),
    "sentiment": (1, 2),
}


_B64_TO_62 = str.maketrans({"+": "x", "/": "Q", "=": "7"})
_LCG_A, _LCG_C, _M64 = 6364136223846793005, 1442695040888963407, (1 << 64) - 1


def _digest(r: Rand, size: int) -> bytes:
    r.x = x = (r.x * _LCG_A + _LCG_C) & _M64
    return hashlib.blake2b(x.to_bytes(8, "little"), digest_size=size).digest()


def b62(r: Rand, n: int) -> str:
    """``n`` (<= 80) alphanumeric characters, for ids like ``chatcmpl-…``."""
    return base64.b64encode(_digest(r, min(64, n * 3 // 4 + 3))).decode().translate(_B64_TO_62)[:n]


def hexs(r: Rand, n: int) -> str:
    """``n`` (<= 128) hex digits."""
    return _digest(r, (n + 1) // 2).hex()[:n]


def uuid4(r: Rand) -> str:
    h = _digest(r, 16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"


TOOLS = (
    ("search_web", "Search the web and return the top results.", {"query": "string"}),
    ("run_python", "Execute Python code in a sandbox and return stdout.", {"code": "string"}),
    ("read_file", "Read a file from the workspace.", {"path": "string"}),
    ("send_email", "Send an email.", {"to": "string", "subject": "string", "body": "string"}),
)


def _schema(props: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {k: {"type": v} for k, v in props.items()},
        "required": list(props),
    }


OPENAI_TOOLS = [{"type": "function", "function": {"name": n, "description": d, "parameters": _schema(p)}} for n, d, p in TOOLS]
RESPONSES_TOOLS = [{"type": "function", "name": n, "description": d, "parameters": _schema(p)} for n, d, p in TOOLS]
ANTHROPIC_TOOLS = [{"name": n, "description": d, "input_schema": _schema(p)} for n, d, p in TOOLS]
CONVERSE_TOOLS = {
    "tools": [{"toolSpec": {"name": n, "description": d, "inputSchema": {"json": _schema(p)}}} for n, d, p in TOOLS]
}


@dataclass(slots=True)
class Call:
    ts: float
    latency_ms: int
    ttft_ms: int
    account: Account
    extraction: bool
    model: Model
    system: str | None
    messages: list[tuple[str, str]]  # (role, text), last is the current user turn
    response: str
    extra_choices: list[str]
    finish: str  # stop | length | tool_calls
    max_tokens: int | None
    temperature: float | None
    top_p: float | None
    n: int
    logprobs: bool
    top_logprobs: int | None
    seed: int | None
    stream: bool
    reasoning_effort: str | None
    thinking_budget: int | None
    tools: bool
    tool_call: tuple[str, str, str] | None  # (id, name, json arguments)
    in_tok: int
    out_tok: int
    reasoning_tok: int
    cached_tok: int
    cost: float
    ip: str
    ua: str
    key: str
    end_user: str | None
    session: str
    request_id: str
    rnd: int
    conv_turn: int


def _tokens(text: str) -> int:
    return max(1, (len(text) + 3) // 4)


class CallBuilder:
    """Turns scheduled events into calls; keeps the history of open conversations."""

    def __init__(self, plan: Plan, tg: TextGen, max_response_chars: int) -> None:
        self.plan = plan
        self.tg = tg
        self.cap = max_response_chars
        self.convs: dict[int, tuple[list[tuple[str, str]], str | None, int, Model]] = {}
        self.runs = plan.runs

    def _model(self, a: Account, r: Rand, ts: float) -> Model:
        if a.pivot_ts is not None and ts >= a.pivot_ts and r.chance(a.pivot_p):
            return self.plan.new_models[a.family]
        return a.models[r.below(len(a.models))] if len(a.models) > 1 else a.models[0]

    def build(
        self,
        ts: float,
        acct: int,
        mode: int,
        conv: int,
        turn: int,
        nturns: int,
        item: int,
        aux: int,
        rnd: int,
    ) -> Call:
        a = self.plan.accounts[acct]
        r = Rand(rnd)
        tg = self.tg
        extraction = False
        system: str | None = None
        tools = False
        stream = a.stream
        temperature = a.temperature
        max_tokens = a.max_tokens
        n = 1
        logprobs = False
        top_logprobs = None
        reasoning_effort = None
        thinking = None
        seed = None
        ua = a.uas[0] if len(a.uas) == 1 else a.uas[r.below(len(a.uas))]
        ip = a.ips[0] if len(a.ips) == 1 or r.chance(0.7) else a.ips[r.below(len(a.ips))]
        end_user = a.ident.get("end_user")
        session = ""
        conv_turn = 0
        extra: list[str] = []
        if mode == CHAT:
            state = self.convs.get(conv)
            if state is None:
                first_seed = mix(conv, 7)
                text, system = tg.chat_first(first_seed, a.topics or tg.chat_topics, a.register)
                if system is None and a.idx % 7 == 0:
                    system = CHAT_SYSTEMS[a.idx % len(CHAT_SYSTEMS)]
                history: list[tuple[str, str]] = []
                model = self._model(a, r, ts)  # a conversation stays on one model
                state = (history, system, first_seed, model)
                self.convs[conv] = state
            else:
                history, system, first_seed, model = state
                text = tg.chat_followup(rnd, max(turn, 1), first_seed, a.register)
            messages = [*history, ("user", text)]
            out = int(min(3500, max(12, math.exp(math.log(320) + 0.75 * _g(r)))))
            if max_tokens:
                out = min(out, max_tokens)
            response = tg.chat_response(rnd, min(out * 4, self.cap))
            history.append(("user", text))
            history.append(("assistant", response))
            if turn >= nturns - 1:
                self.convs.pop(conv, None)
            session = f"{conv:x}"
            conv_turn = turn
        elif mode == APP:
            text = tg.app_text(a.app_kind, rnd)
            system, user = tg.app_prompt(a.app_kind, a.company, text)
            messages = [("user", user)]
            lo, hi = APP_OUT_TOKENS[a.app_kind]
            out = lo + r.below(hi - lo + 1)
            response = tg.app_response(a.app_kind, rnd, out * 4)
            out = max(out, _tokens(response))
            model = a.models[0]
            stream = False
            if a.end_users:
                end_user = f"u_{mix(a.idx, r.below(a.end_users)) & 0xFFFFFFFF:08x}"
            session = f"{rnd & 0xFFFFFFFFFFFF:x}"
        elif mode == BENCH:
            run = self.runs[aux]
            prompt, answer = tg.bench_item(run.bench, item)
            if r.chance(0.25):  # wrong answers happen
                answer = "ABCD"[r.below(4)] if len(answer) == 1 and answer.isalpha() else str(r.below(1000))
            messages = [("user", prompt)]
            response = answer
            out = 1 + r.below(3)
            model = run.model
            stream = False
            seed = 1234 if a.idx % 2 else None
            session = f"run-{aux}"
        elif mode == FILLER:
            messages = [("user", tg.filler_prompt(rnd))]
            out = int(min(2500, max(20, math.exp(math.log(300) + 0.7 * _g(r)))))
            response = tg.chat_response(rnd, min(out * 4, self.cap))
            model = self._model(a, r, ts)
            max_tokens = None if a.surface not in ("messages", "invoke", "converse") else 1024
            out = min(out, 1024)
            temperature = None
            session = f"{rnd & 0xFFFFFF:x}"
        else:  # EXTRACT or PARA
            extraction = True
            slot = a.sweep_offset + a.counter
            a.counter += a.sweep_stride
            if r.chance(0.04):  # re-ask an earlier item for another sample
                slot -= a.sweep_stride * (1 + r.below(20))
            if mode == PARA:
                prompt = tg.paraphrase_prompt(a.para_cap, a.para_family, slot, rnd)
                cap = "coding" if a.para_cap == "coding_narrow" else "maths"
            else:
                tpl = a.templates[r.below(len(a.templates))] if len(a.templates) > 1 else a.templates[0]
                prompt, cap, tools = tg.extraction_prompt(tpl, slot, rnd)
                tools = tools and a.tools_p > 0
                if a.kind != "diluted" and (a.idx + tpl) % 2 == 0:
                    system = EXTRACTION_SYSTEMS[(a.idx if a.kind != "hydra" else len(a.campaign_id)) % 3]
            messages = [("user", prompt)]
            if a.kind == "diluted":
                model = a.ident["extract_model"]
                max_tokens = model.max_out
                temperature = 1.0
                ua = a.script_ua
                stream = False
            else:
                model = self._model(a, r, ts)
                n = a.n
                logprobs = a.logprobs
                top_logprobs = a.top_logprobs
                reasoning_effort = a.reasoning_effort if model.reasoning else None
                thinking = a.thinking_budget
            limit = max_tokens or model.max_out
            if max_tokens and max_tokens > model.max_out:  # pivoted to a model with another ceiling
                max_tokens = limit = model.max_out
            out = int(max(300, math.exp(math.log(1900) + 0.55 * _g(r))))
            if thinking:
                thinking = min(thinking, limit - 1024) if limit > 2048 else None
            out = min(out, limit)
            response = tg.cot_response(rnd, cap, min(out * 4, self.cap))
            if n > 1:
                extra = [tg.cot_response(rnd + k, cap, min(out * 4, self.cap) // 4) for k in range(1, n)]
            session = f"{(a.idx << 20) | (a.counter // 50):x}"
        extra_choices = extra
        if max_tokens:
            out = min(out, max_tokens)
        finish = "length" if max_tokens and out >= max_tokens else "stop"
        tool_call = None
        if tools and r.chance(0.5):
            name = TOOLS[r.below(len(TOOLS))][0]
            tool_call = (
                f"call_{b62(r, 24)}",
                name,
                '{"query": "' + messages[-1][1][:40].replace('"', "'") + '"}',
            )
            finish = "tool_calls"
        in_tok = sum(_tokens(t) + 4 for _, t in messages) + (_tokens(system) if system else 0) + 3
        cached = 0
        if mode == CHAT and len(messages) > 1 and r.chance(0.6):
            cached = (in_tok - _tokens(messages[-1][1])) // 128 * 128
        reasoning_tok = 0
        if model.reasoning:  # reasoning models think more when asked to show their work
            reasoning_tok = int(out * ((0.4 + 0.3 * r.random()) if extraction else (0.15 + 0.3 * r.random())))
        total_out = out * n if n > 1 else out
        ttft = int(250 + 900 * r.random() + in_tok / 40)
        tps = 45 + 70 * r.random()
        latency = ttft + int(1000 * total_out / tps)
        cost = (in_tok * model.price_in + total_out * model.price_out) / 1e6
        key = a.keys[0] if len(a.keys) == 1 else a.keys[r.below(len(a.keys))]
        if a.kind in ("extractor", "benign_app") or mode in (EXTRACT, PARA):
            stream = stream and mode not in (EXTRACT, PARA)
        if temperature is None and mode in (EXTRACT, PARA) and r.chance(0.2):
            temperature = 1.0
        return Call(
            ts=ts,
            latency_ms=latency,
            ttft_ms=ttft,
            account=a,
            extraction=extraction,
            model=model,
            system=system,
            messages=messages,
            response=response,
            extra_choices=extra_choices,
            finish=finish,
            max_tokens=max_tokens,
            temperature=temperature,
            top_p=None,
            n=n,
            logprobs=logprobs,
            top_logprobs=top_logprobs,
            seed=seed,
            stream=stream,
            reasoning_effort=reasoning_effort,
            thinking_budget=thinking,
            tools=tools,
            tool_call=tool_call,
            in_tok=in_tok,
            out_tok=total_out,
            reasoning_tok=reasoning_tok,
            cached_tok=cached,
            cost=round(cost, 8),
            ip=ip,
            ua=ua,
            key=key,
            end_user=end_user,
            session=session,
            request_id=uuid4(r),
            rnd=rnd,
            conv_turn=conv_turn,
        )


def _g(r: Rand) -> float:
    u1 = max(r.random(), 1e-12)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(6.283185307179586 * r.random())


# --------------------------------------------------------------------------------------------------
# Provider bodies


def _use_developer(c: Call) -> bool:
    return c.account.idx % 3 == 0


def openai_chat_request(c: Call, *, include_model: bool = True) -> dict[str, Any]:
    msgs: list[dict[str, Any]] = []
    if c.system:
        msgs.append({"role": "developer" if _use_developer(c) else "system", "content": c.system})
    msgs.extend({"role": role, "content": text} for role, text in c.messages)
    body: dict[str, Any] = {"model": c.model.name} if include_model else {}
    body["messages"] = msgs
    if c.max_tokens is not None:
        body["max_completion_tokens" if c.account.idx % 2 else "max_tokens"] = c.max_tokens
    if c.temperature is not None:
        body["temperature"] = c.temperature
    if c.n > 1:
        body["n"] = c.n
    if c.logprobs:
        body["logprobs"] = True
        if c.top_logprobs:
            body["top_logprobs"] = c.top_logprobs
    if c.seed is not None:
        body["seed"] = c.seed
    if c.reasoning_effort:
        body["reasoning_effort"] = c.reasoning_effort
    if c.tools:
        body["tools"] = OPENAI_TOOLS
        body["tool_choice"] = "auto"
    if c.stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    if c.end_user:
        body["user"] = c.end_user
    return body


def _logprobs(text: str, top: int | None) -> dict[str, Any]:
    return {"content": _logprob_tokens(text[:24], top or 0), "refusal": None}


@lru_cache(maxsize=512)
def _logprob_tokens(head: str, top: int) -> list[dict[str, Any]]:
    """Log-probabilities of the first tokens only (a full per-token list would dwarf the record)."""
    content = []
    for i, w in enumerate(head.split(" ")[:2]):
        tok = w if i == 0 else " " + w
        b = list(tok.encode())
        alts = [{"token": tok, "bytes": b, "logprob": -0.01 * (i + 1)}]
        alts += [{"token": f"{tok}{k}", "bytes": [*b, 48 + k % 10], "logprob": -2.0 - k} for k in range(max(top, 1) - 1)]
        content.append({"token": tok, "bytes": b, "logprob": -0.01 * (i + 1), "top_logprobs": alts})
    return content


def openai_chat_response(c: Call, r: Rand) -> dict[str, Any]:
    texts = [c.response, *c.extra_choices]
    choices = []
    for i, t in enumerate(texts):
        msg: dict[str, Any] = {"role": "assistant", "content": t, "refusal": None, "annotations": []}
        if i == 0 and c.tool_call:
            cid, name, args = c.tool_call
            msg["tool_calls"] = [{"id": cid, "type": "function", "function": {"name": name, "arguments": args}}]
        choices.append(
            {
                "index": i,
                "message": msg,
                "logprobs": _logprobs(t, c.top_logprobs) if c.logprobs else None,
                "finish_reason": c.finish if i == 0 else "stop",
            }
        )
    return {
        "id": "chatcmpl-" + b62(r, 29),
        "object": "chat.completion",
        "created": int(c.ts),
        "model": c.model.served,
        "choices": choices,
        "usage": {
            "prompt_tokens": c.in_tok,
            "completion_tokens": c.out_tok,
            "total_tokens": c.in_tok + c.out_tok,
            "prompt_tokens_details": {"cached_tokens": c.cached_tok, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": c.reasoning_tok,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": "fp_" + hexs(r, 10),
    }


def responses_request(c: Call) -> dict[str, Any]:
    body: dict[str, Any] = {"model": c.model.name}
    if c.system:
        body["instructions"] = c.system
    if len(c.messages) == 1 and c.account.idx % 2 == 0:
        body["input"] = c.messages[0][1]
    else:
        body["input"] = [
            {
                "role": role,
                "content": [{"type": "input_text" if role == "user" else "output_text", "text": text}],
            }
            for role, text in c.messages
        ]
    if c.max_tokens is not None:
        body["max_output_tokens"] = c.max_tokens
    if c.temperature is not None:
        body["temperature"] = c.temperature
    if c.logprobs and c.top_logprobs:
        body["top_logprobs"] = c.top_logprobs
    if c.reasoning_effort:
        body["reasoning"] = {"effort": c.reasoning_effort, "summary": "detailed"}
    if c.tools:
        body["tools"] = RESPONSES_TOOLS
    if c.stream:
        body["stream"] = True
    body["store"] = False
    if c.end_user:
        body["safety_identifier"] = c.end_user
    return body


def responses_response(c: Call, r: Rand) -> dict[str, Any]:
    output: list[dict[str, Any]] = []
    if c.reasoning_tok:
        output.append(
            {
                "id": "rs_" + hexs(r, 40),
                "type": "reasoning",
                "summary": [{"type": "summary_text", "text": c.response[:160]}],
            }
        )
    output.append(
        {
            "id": "msg_" + hexs(r, 40),
            "type": "message",
            "role": "assistant",
            "status": "completed" if c.finish != "length" else "incomplete",
            "content": [{"type": "output_text", "text": c.response, "annotations": []}],
        }
    )
    if c.tool_call:
        cid, name, args = c.tool_call
        output.append(
            {
                "id": "fc_" + hexs(r, 40),
                "type": "function_call",
                "status": "completed",
                "call_id": cid,
                "name": name,
                "arguments": args,
            }
        )
    body: dict[str, Any] = {
        "id": "resp_" + hexs(r, 48),
        "object": "response",
        "created_at": int(c.ts),
        "status": "completed" if c.finish != "length" else "incomplete",
        "model": c.model.served,
        "instructions": c.system,
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": RESPONSES_TOOLS if c.tools else [],
        "temperature": c.temperature if c.temperature is not None else 1.0,
        "top_p": 1.0,
        "max_output_tokens": c.max_tokens,
        "usage": {
            "input_tokens": c.in_tok,
            "input_tokens_details": {"cached_tokens": c.cached_tok, "cache_write_tokens": 0},
            "output_tokens": c.out_tok,
            "output_tokens_details": {"reasoning_tokens": c.reasoning_tok},
            "total_tokens": c.in_tok + c.out_tok,
        },
    }
    if c.end_user:
        body["safety_identifier"] = c.end_user
    return body


def anthropic_request(c: Call, *, bedrock: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"anthropic_version": "bedrock-2023-05-31"} if bedrock else {"model": c.model.name}
    body["max_tokens"] = c.max_tokens or 1024
    if c.system:
        body["system"] = c.system if c.account.idx % 2 else [{"type": "text", "text": c.system}]
    body["messages"] = [
        {"role": role, "content": text if (c.account.idx + i) % 3 else [{"type": "text", "text": text}]}
        for i, (role, text) in enumerate(c.messages)
    ]
    if c.temperature is not None and not c.thinking_budget:
        body["temperature"] = c.temperature
    if c.thinking_budget:
        body["thinking"] = {"type": "enabled", "budget_tokens": c.thinking_budget}
    if c.tools:
        body["tools"] = ANTHROPIC_TOOLS
    if c.stream and not bedrock:
        body["stream"] = True
    if c.end_user and not bedrock:
        body["metadata"] = {"user_id": c.end_user}
    return body


def anthropic_response(c: Call, r: Rand, *, bedrock: bool = False) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if c.thinking_budget:
        content.append({"type": "thinking", "thinking": c.response[:200], "signature": b62(r, 40)})
    content.append({"type": "text", "text": c.response})
    stop = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}[c.finish]
    if c.tool_call:
        cid, name, args = c.tool_call
        content.append({"type": "tool_use", "id": "toolu_" + cid[5:], "name": name, "input": {"query": args[11:-2]}})
    usage: dict[str, Any] = {
        "input_tokens": c.in_tok - c.cached_tok,
        "output_tokens": c.out_tok,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": c.cached_tok,
    }
    if not bedrock:
        usage["service_tier"] = "standard"
    return {
        "id": ("msg_bdrk_01" if bedrock else "msg_01") + b62(r, 22),
        "type": "message",
        "role": "assistant",
        "model": c.model.served,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": usage,
    }


def converse_request(c: Call) -> dict[str, Any]:
    body: dict[str, Any] = {
        "messages": [{"role": role, "content": [{"text": text}]} for role, text in c.messages],
    }
    if c.system:
        body["system"] = [{"text": c.system}]
    cfg: dict[str, Any] = {"maxTokens": c.max_tokens or 1024}
    if c.temperature is not None:
        cfg["temperature"] = c.temperature
    cfg["topP"] = 0.999 if c.extraction else 0.9
    cfg["stopSequences"] = []
    body["inferenceConfig"] = cfg
    extra: dict[str, Any] = {}
    if c.thinking_budget and "anthropic" in c.model.name:
        extra["thinking"] = {"type": "enabled", "budget_tokens": c.thinking_budget}
    body["additionalModelRequestFields"] = extra
    if c.tools:
        body["toolConfig"] = CONVERSE_TOOLS
    return body


def converse_response(c: Call) -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"text": c.response}]
    if c.tool_call:
        cid, name, args = c.tool_call
        content.append({"toolUse": {"toolUseId": "tooluse_" + cid[5:], "name": name, "input": {"query": args[11:-2]}}})
    stop = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}[c.finish]
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop,
        "metrics": {"latencyMs": c.latency_ms},
        "usage": {"inputTokens": c.in_tok, "outputTokens": c.out_tok, "totalTokens": c.in_tok + c.out_tok},
    }


def request_body(c: Call) -> dict[str, Any]:
    s = c.account.surface
    if s == "responses":
        return responses_request(c)
    if s == "messages":
        return anthropic_request(c)
    return openai_chat_request(c)


def response_body(c: Call, r: Rand) -> dict[str, Any]:
    s = c.account.surface
    if s == "responses":
        return responses_response(c, r)
    if s == "messages":
        return anthropic_response(c, r)
    return openai_chat_response(c, r)
