"""The labelled-log simulator: determinism, labels, format fidelity, and the behaviours it must simulate."""

from __future__ import annotations

import csv
import gzip
import hashlib
import itertools
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from extractscan.synth import FORMATS, KINDS, PoolError, SpecError, SynthSpec, generate, plan_for
from extractscan.synth.text import Rand, TextGen, load_pool

POOLS = Path(__file__).resolve().parents[1] / "fixtures" / "pools"

# Every kind and every format, in three simulated days.
SPEC = SynthSpec(
    seed=11,
    scale="tiny",
    days=3,
    accounts={"benign_chat": 24, "benign_app": 4, "benchmark_runner": 2, "extractor": 3, "diluted": 3},
    hydra_campaigns=2,
    formats=FORMATS,
)
# Only formats that carry IPs and user agents, for the infrastructure checks.
IP_SPEC = SynthSpec(seed=5, scale="tiny", days=3, hydra_campaigns=2, formats=("envelope", "litellm"))
POOL_SPEC = SynthSpec(
    seed=3,
    scale="tiny",
    days=2,
    formats=("envelope",),
    benign_pool=str(POOLS / "benign.jsonl"),
    extraction_pool=str(POOLS / "extraction.jsonl"),
)

# Top-level keys of the reference example of each format (shared/reference/formats/).
LITELLM_KEYS = {
    "id",
    "trace_id",
    "call_id",
    "call_type",
    "stream",
    "response_cost",
    "status",
    "custom_llm_provider",
    "total_tokens",
    "prompt_tokens",
    "completion_tokens",
    "startTime",
    "endTime",
    "completionStartTime",
    "response_time",
    "model",
    "model_id",
    "model_group",
    "api_base",
    "metadata",
    "cache_hit",
    "cache_key",
    "saved_cache_cost",
    "request_tags",
    "end_user",
    "requester_ip_address",
    "user_agent",
    "messages",
    "response",
    "error_str",
    "model_parameters",
    "hidden_params",
}
LITELLM_METADATA_KEYS = {
    "user_api_key_hash",
    "user_api_key_alias",
    "user_api_key_org_id",
    "user_api_key_team_id",
    "user_api_key_user_id",
    "user_api_key_team_alias",
    "user_api_key_end_user_id",
    "spend_logs_metadata",
    "requester_ip_address",
    "user_agent",
    "requester_metadata",
}
LANGFUSE_KEYS = {
    "id",
    "trace_id",
    "project_id",
    "environment",
    "type",
    "parent_observation_id",
    "start_time",
    "end_time",
    "name",
    "metadata",
    "level",
    "status_message",
    "version",
    "input",
    "output",
    "provided_model_name",
    "model_parameters",
    "usage_details",
    "cost_details",
    "completion_start_time",
    "prompt_name",
    "prompt_version",
    "total_cost",
    "latency",
    "time_to_first_token",
    "model_id",
    "created_at",
    "updated_at",
    "prompt_id",
    "tool_calls",
    "tool_call_names",
    "tool_definitions",
    "usage_pricing_tier_id",
    "usage_pricing_tier_name",
    "input_price",
    "output_price",
    "total_price",
    "user_id",
    "session_id",
    "trace_name",
    "tags",
    "release",
    "bookmarked",
    "public",
}
HELICONE_KEYS = {
    "response_id",
    "response_created_at",
    "response_body",
    "response_status",
    "response_model",
    "request_id",
    "request_created_at",
    "request_body",
    "request_path",
    "request_user_id",
    "request_properties",
    "request_model",
    "model_override",
    "helicone_user",
    "provider",
    "delay_ms",
    "time_to_first_token",
    "total_tokens",
    "prompt_tokens",
    "prompt_cache_write_tokens",
    "prompt_cache_read_tokens",
    "completion_tokens",
    "prompt_id",
    "feedback_created_at",
    "feedback_id",
    "feedback_rating",
    "signed_body_url",
    "country_code",
    "asset_ids",
    "asset_urls",
    "scores",
    "costUSD",
    "properties",
    "assets",
    "target_url",
    "model",
}
PORTKEY_KEYS = {
    "created_at",
    "request",
    "response",
    "is_success",
    "ai_org",
    "ai_model",
    "req_units",
    "res_units",
    "total_units",
    "cost",
    "cost_currency",
    "request_url",
    "request_method",
    "response_status_code",
    "response_time",
    "cache_status",
    "cache_type",
    "stream_mode",
    "retry_success_count",
    "trace_id",
    "mode",
    "virtual_key",
    "runtime",
    "runtime_version",
    "sdk_version",
    "config",
    "prompt_slug",
    "prompt_version_id",
    "metadata",
}
BEDROCK_KEYS = {
    "schemaType",
    "schemaVersion",
    "timestamp",
    "accountId",
    "identity",
    "region",
    "requestId",
    "operation",
    "modelId",
    "input",
    "output",
}
BEDROCK_OPTIONAL = {"inferenceRegion", "requestMetadata"}
ENVELOPE_KEYS = {"timestamp", "account_id", "api_key_id", "client_ip", "user_agent", "request", "response"}
BEDROCK_PATH = re.compile(
    r"bedrock/AWSLogs/(\d{12})/BedrockModelInvocationLogs/[a-z]{2}-[a-z]+-\d/\d{4}/\d{2}/\d{2}/\d{2}/"
    r"\d{8}T\d{9}Z_[0-9a-f]{16}\.json\.gz$"
)
COT = re.compile(r"step by step|reasoning|show (all|your)|chain of thought|think", re.IGNORECASE)


# --------------------------------------------------------------------------------------------------
# Reading what was written


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    opener: Any = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as fh:
        for line in fh:
            assert line.endswith(b"\n")
            yield orjson.loads(line)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(p["text"] for p in content if isinstance(p, dict) and "text" in p)


def _body_view(body: dict[str, Any]) -> tuple[list[str], int, int | None]:
    """(user turns, number of messages, max output tokens) of any request body we write."""
    if "messages" in body:
        msgs = body["messages"]
        mt = body.get("max_completion_tokens", body.get("max_tokens"))
        if mt is None and "inferenceConfig" in body:
            mt = body["inferenceConfig"]["maxTokens"]
        users = [_text(m["content"]) for m in msgs if m["role"] == "user"]
        return users, len(msgs), mt
    inp = body["input"]
    if isinstance(inp, str):
        return [inp], 1, body.get("max_output_tokens")
    return [_text(m["content"]) for m in inp if m["role"] == "user"], len(inp), body.get("max_output_tokens")


def _ts(v: Any) -> float:
    if isinstance(v, int | float):
        return float(v)
    return datetime.fromisoformat(v.replace("Z", "+00:00") if "T" in v else v + "+00:00").timestamp()


def read_output(out: Path) -> list[dict[str, Any]]:
    """One flat row per request written, whatever the format."""
    rows: list[dict[str, Any]] = []

    def add(fmt: str, raw: dict[str, Any], account: str, ts: Any, body: dict[str, Any], **kw: Any) -> None:
        users, n_msgs, mt = _body_view(body)
        rows.append(
            {
                "fmt": fmt,
                "raw": raw,
                "account": account,
                "ts": _ts(ts) if ts is not None else None,
                "users": users,
                "n_msgs": n_msgs,
                "max_tokens": mt,
                "ip": kw.get("ip"),
                "ua": kw.get("ua"),
                "key": kw.get("key"),
                "model": kw.get("model"),
            }
        )

    for p in sorted((out / "envelope").glob("*.jsonl*")):
        for o in _lines(p):
            add(
                "envelope",
                o,
                o["account_id"],
                o["timestamp"],
                o["request"],
                ip=o["client_ip"],
                ua=o["user_agent"],
                key=o["api_key_id"],
                model=o["request"].get("model"),
            )
    for p in sorted((out / "litellm").glob("*.jsonl*")):
        for o in _lines(p):
            body = {"messages": o["messages"], **o["model_parameters"]}
            add(
                "litellm",
                o,
                o["metadata"]["user_api_key_team_id"],
                o["startTime"],
                body,
                ip=o["requester_ip_address"],
                ua=o["user_agent"],
                key=o["metadata"]["user_api_key_hash"],
                model=o["model"],
            )
    for p in sorted((out / "langfuse").glob("*.jsonl*")):
        for o in _lines(p):
            if o["type"] != "GENERATION":
                continue
            body = {"messages": orjson.loads(o["input"]), **orjson.loads(o["model_parameters"])}
            add("langfuse", o, o["user_id"], o["start_time"], body, model=o["provided_model_name"])
    for p in sorted((out / "helicone").glob("*.jsonl*")):
        for o in _lines(p):
            add(
                "helicone",
                o,
                o["request_user_id"],
                o["request_created_at"],
                o["request_body"],
                key=o["helicone_user"],
                model=o["request_model"],
            )
    for p in sorted((out / "portkey").glob("*.jsonl*")):
        for o in _lines(p):
            add(
                "portkey",
                o,
                o["metadata"]["_user"],
                o["created_at"],
                o["request"]["body"],
                key=o["virtual_key"],
                model=o["ai_model"],
            )
    for p in sorted((out / "bedrock").rglob("*.json.gz")):
        for o in _lines(p):
            add(
                "bedrock",
                o,
                o["accountId"],
                o["timestamp"],
                o["input"]["inputBodyJson"],
                key=o["identity"]["arn"],
                model=o["modelId"],
            )
    for p in sorted((out / "openai_batch").glob("*/*.jsonl*")):
        for o in _lines(p):
            add("openai_batch", o, p.parent.name, None, o["body"], model=o["body"]["model"])
    return rows


def read_labels(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "labels.csv", newline="", encoding="utf-8") as fh:
        return {r["account_id"]: r for r in csv.DictReader(fh)}


def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("synth") / "out"
    generate(SPEC, d)
    return d


@pytest.fixture(scope="module")
def rows(out: Path) -> list[dict[str, Any]]:
    return read_output(out)


@pytest.fixture(scope="module")
def labels(out: Path) -> dict[str, dict[str, str]]:
    return read_labels(out)


def _by_kind(rows: list[dict[str, Any]], labels: dict[str, dict[str, str]], kind: str) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        if labels[r["account"]]["kind"] == kind:
            out[r["account"]].append(r)
    return out


# --------------------------------------------------------------------------------------------------
# Determinism


def test_same_seed_gives_identical_bytes(out: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate(SPEC, again)
    assert tree_digest(out) == tree_digest(again)


def test_different_seed_differs(out: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    generate(SynthSpec(**{**SPEC.__dict__, "seed": 12}), other)
    a, b = tree_digest(out), tree_digest(other)
    assert a["labels.csv"] != b["labels.csv"]
    assert set(a.values()) & set(b.values()) <= {hashlib.sha256(b"").hexdigest()}  # only the empty check object


def test_parallel_writing_gives_identical_bytes(tmp_path: Path) -> None:
    spec = SynthSpec(seed=2, scale="tiny", days=2, formats=("envelope", "litellm", "bedrock"))
    generate(spec, tmp_path / "one")
    generate(spec, tmp_path / "two", workers=2)
    assert tree_digest(tmp_path / "one") == tree_digest(tmp_path / "two")


def test_refuses_to_overwrite_without_permission(out: Path) -> None:
    with pytest.raises(SpecError, match="already holds"):
        generate(SPEC, out)


# --------------------------------------------------------------------------------------------------
# Labels


def test_labels_cover_every_kind(labels: dict[str, dict[str, str]]) -> None:
    assert set(Counter(r["kind"] for r in labels.values())) == set(KINDS)


def test_labels_and_logs_name_the_same_accounts(rows: list[dict[str, Any]], labels: dict[str, dict[str, str]]) -> None:
    assert {r["account"] for r in rows} == set(labels)


def test_label_columns(out: Path, labels: dict[str, dict[str, str]]) -> None:
    header = (out / "labels.csv").read_text().splitlines()[0]
    assert header == "account_id,kind,campaign_id,extraction_share"
    for row in labels.values():
        if row["kind"] in ("hydra", "paraphrase"):
            assert re.fullmatch(r"camp-\d{3}", row["campaign_id"])
        else:
            assert row["campaign_id"] == ""
        if row["kind"] == "diluted":
            assert 0.0 < float(row["extraction_share"]) < 1.0
        else:
            assert row["extraction_share"] == ""


def test_manifest_counts_match_the_files(out: Path, rows: list[dict[str, Any]], labels: dict[str, Any]) -> None:
    doc = orjson.loads((out / "synth.json").read_bytes())
    assert doc["seed"] == SPEC.seed
    assert Counter(r["fmt"] for r in rows) == Counter(doc["requests_per_format"])
    assert sum(doc["accounts_per_kind"].values()) == len(labels)
    per_kind = Counter(labels[r["account"]]["kind"] for r in rows)
    assert {k: v for k, v in doc["requests_per_kind"].items() if v} == dict(per_kind)
    assert set(doc["requests_per_format"]) == set(FORMATS)  # every format was written


# --------------------------------------------------------------------------------------------------
# Format fidelity


def test_every_format_is_faithful_to_its_reference(out: Path, rows: list[dict[str, Any]]) -> None:
    seen: Counter[str] = Counter()
    for r in rows:
        o, fmt = r["raw"], r["fmt"]
        seen[fmt] += 1
        if fmt == "envelope":
            assert ENVELOPE_KEYS <= set(o) <= ENVELOPE_KEYS | {"end_user_id"}
            _check_bodies(o["request"], o["response"])
        elif fmt == "litellm":
            assert set(o) == LITELLM_KEYS
            assert set(o["metadata"]) == LITELLM_METADATA_KEYS
            assert isinstance(o["startTime"], float) and o["endTime"] >= o["startTime"]
            assert o["response"]["object"] == "chat.completion"
        elif fmt == "langfuse":
            assert set(o) == LANGFUSE_KEYS
            assert o["type"] == "GENERATION"
            assert isinstance(o["input"], str) and isinstance(o["output"], str)
            assert isinstance(orjson.loads(o["model_parameters"]), dict)
            assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", o["start_time"])
        elif fmt == "helicone":
            assert set(o) == HELICONE_KEYS
            _check_bodies(o["request_body"], o["response_body"])
        elif fmt == "portkey":
            assert set(o) == PORTKEY_KEYS
            _check_bodies(o["request"]["body"], o["response"]["body"])
        elif fmt == "bedrock":
            assert BEDROCK_KEYS <= set(o) <= BEDROCK_KEYS | BEDROCK_OPTIONAL
            assert o["schemaType"] == "ModelInvocationLog" and o["schemaVersion"] == "1.0"
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", o["timestamp"])
            assert o["identity"]["arn"].startswith("arn:aws:") and o["accountId"] in o["identity"]["arn"]
            assert {"inputContentType", "inputBodyJson", "inputTokenCount"} <= set(o["input"])
            assert {"outputContentType", "outputBodyJson", "outputTokenCount"} <= set(o["output"])
            if o["operation"].startswith("Converse"):
                assert {"messages", "inferenceConfig"} <= set(o["input"]["inputBodyJson"])
                assert {"output", "stopReason", "usage", "metrics"} <= set(o["output"]["outputBodyJson"])
            else:
                assert o["input"]["inputBodyJson"]["anthropic_version"] == "bedrock-2023-05-31"
                _check_bodies(o["input"]["inputBodyJson"], o["output"]["outputBodyJson"])
        elif fmt == "openai_batch":
            assert set(o) == {"custom_id", "method", "url", "body"}
            assert o["method"] == "POST" and o["url"] in ("/v1/chat/completions", "/v1/responses")
    assert set(seen) == set(FORMATS)
    assert (out / "bedrock" / "amazon-bedrock-logs-permission-check").is_file()
    for p in (out / "bedrock").rglob("*.json.gz"):
        assert BEDROCK_PATH.search(p.as_posix()), p
    langfuse_types = Counter(o["type"] for p in (out / "langfuse").glob("*.jsonl") for o in _lines(p))
    assert langfuse_types["SPAN"] > 0  # a few app traces carry a parent span


def _check_bodies(req: dict[str, Any], resp: dict[str, Any]) -> None:
    if "anthropic_version" in req or resp.get("type") == "message":
        assert {"max_tokens", "messages"} <= set(req)
        assert {"id", "type", "role", "model", "content", "stop_reason", "usage"} <= set(resp)
        assert resp["stop_reason"] in ("end_turn", "max_tokens", "tool_use")
    elif resp.get("object") == "chat.completion":
        assert {"model", "messages"} <= set(req)
        assert {"id", "object", "created", "model", "choices", "usage"} <= set(resp)
        assert resp["id"].startswith("chatcmpl-") and len(resp["choices"]) == req.get("n", 1)
    else:
        assert {"model", "input"} <= set(req)
        assert resp["object"] == "response" and {"id", "created_at", "status", "output", "usage"} <= set(resp)


# --------------------------------------------------------------------------------------------------
# Simulated behaviours


def test_extractors_ask_for_long_reasoning(rows: list[dict[str, Any]], labels: dict[str, Any]) -> None:
    plan = plan_for(SPEC)
    ceiling = {a.account_id: max(m.max_out for m in a.models) for a in plan.accounts}
    for acct, rs in _by_kind(rows, labels, "extractor").items():
        assert len(rs) > 20
        cot = sum(bool(COT.search(r["users"][-1])) for r in rs) / len(rs)
        assert cot > 0.9, acct
        assert all(len(r["users"]) == 1 for r in rs)  # single-turn
        near_max = sum((r["max_tokens"] or 0) >= 0.85 * min(ceiling[acct], 32000) for r in rs) / len(rs)
        assert near_max > 0.8, acct


def test_benign_chats_are_multi_turn_conversations(rows: list[dict[str, Any]], labels: dict[str, Any]) -> None:
    chats = _by_kind(rows, labels, "benign_chat")
    multi = sum(len(r["users"]) > 1 for rs in chats.values() for r in rs)
    total = sum(len(rs) for rs in chats.values())
    assert multi / total > 0.3
    for rs in chats.values():  # a follow-up re-sends the history: messages grow within a conversation
        for r in rs:
            if len(r["users"]) > 1:
                assert r["n_msgs"] >= 2 * len(r["users"]) - 1
    # people rarely send each other's prompts
    firsts = [r["users"][0] for rs in chats.values() for r in rs if len(r["users"]) == 1]
    owners = defaultdict(set)
    for acct, rs in chats.items():
        for r in rs:
            owners[r["users"][0]].add(acct)
    shared = sum(1 for t in set(firsts) if len(owners[t]) > 1)
    assert shared / len(set(firsts)) < 0.05


def test_benign_apps_fill_one_slot_under_a_fixed_system_prompt(out: Path, labels: dict[str, Any]) -> None:
    systems: dict[str, set[str]] = defaultdict(set)
    for p in (out / "envelope").glob("*.jsonl"):
        for o in _lines(p):
            if labels[o["account_id"]]["kind"] != "benign_app":
                continue
            req = o["request"]
            sys_text = (
                req.get("system")
                or req.get("instructions")
                or next(
                    (m["content"] for m in req.get("messages", []) if m["role"] in ("system", "developer")),
                    None,
                )
            )
            systems[o["account_id"]].add(_text(sys_text) if sys_text else "")
    assert systems
    assert all(len(s) == 1 and next(iter(s)) for s in systems.values())


def test_benchmark_runs_are_short_deterministic_bursts(rows: list[dict[str, Any]], labels: dict[str, Any]) -> None:
    for acct, rs in _by_kind(rows, labels, "benchmark_runner").items():
        assert all((r["max_tokens"] or 0) <= 16 for r in rs), acct
        assert all(
            "Answer with only" in r["users"][-1]
            or "Respond with a single" in r["users"][-1]
            or "Give only the numeric" in r["users"][-1]
            for r in rs
        )
        ts = sorted(r["ts"] for r in rs if r["ts"] is not None)
        if len(ts) > 10:
            gaps = sorted(b - a for a, b in itertools.pairwise(ts))
            assert gaps[len(gaps) // 2] < 5.0  # a run fires several requests a second


@pytest.fixture(scope="module")
def ip_out(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    d = tmp_path_factory.mktemp("synth_ip") / "out"
    generate(IP_SPEC, d)
    return read_output(d), read_labels(d)


def test_hydra_members_share_infrastructure_and_fire_together(
    ip_out: tuple[list[dict[str, Any]], dict[str, Any]],
) -> None:
    rows, labels = ip_out
    camps: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        lab = labels[r["account"]]
        if lab["kind"] == "hydra":
            camps[lab["campaign_id"]][r["account"]].append(r)
    assert len(camps) == 2
    for members in camps.values():
        assert len(members) >= 4
        nets = {".".join(r["ip"].split(".")[:3]) for rs in members.values() for r in rs}
        assert len(nets) <= 3  # a few shared hosting /24s
        families = {r["ua"].split("/")[0].split(" ")[-1] for rs in members.values() for r in rs}
        assert len(families) == 1  # one user-agent family
        assert all(8 <= len(rs) <= 100 for rs in members.values())  # each member alone is small
        # synchronised: most requests land in 5-minute buckets where other members fire too
        bucket_members: dict[int, set[str]] = defaultdict(set)
        for acct, rs in members.items():
            for r in rs:
                bucket_members[int(r["ts"] // 300)].add(acct)
        together = sum(len(bucket_members[int(r["ts"] // 300)]) >= 2 for rs in members.values() for r in rs) / sum(
            len(rs) for rs in members.values()
        )
        assert together > 0.65
    # benign chats behind a corporate proxy share an IP and UA but never a template or a time bucket pattern
    chat_ips = Counter(r["ip"] for r in rows if labels[r["account"]]["kind"] == "benign_chat")
    assert chat_ips


def test_diluted_accounts_mix_extraction_into_benign_traffic(rows: list[dict[str, Any]], labels: dict[str, Any]) -> None:
    for acct, rs in _by_kind(rows, labels, "diluted").items():
        share = float(labels[acct]["extraction_share"])
        cot_single = [r for r in rs if len(r["users"]) == 1 and COT.search(r["users"][-1]) and (r["max_tokens"] or 0) >= 4000]
        assert len(cot_single) >= 2
        assert abs(len(cot_single) / len(rs) - share) < 0.15
        assert any(len(r["users"]) > 1 for r in rs) or len(rs) < 8


def test_paraphrase_campaigns_vary_wording_on_one_capability(rows: list[dict[str, Any]], labels: dict[str, Any]) -> None:
    texts = [r["users"][-1] for r in rows if labels[r["account"]]["kind"] == "paraphrase"]
    assert len(texts) > 20
    assert len(set(texts)) / len(texts) > 0.95

    def shingles(t: str) -> set[tuple[str, ...]]:
        w = t.lower().split()
        return {tuple(w[i : i + 3]) for i in range(len(w) - 2)}

    sh = [shingles(t) for t in texts[:60]]
    near = sum(len(a & b) / max(1, len(a | b)) >= 0.7 for i, a in enumerate(sh) for b in sh[i + 1 :])
    pairs = len(sh) * (len(sh) - 1) / 2
    assert near / pairs < 0.02  # MinHash-style near-duplicates are rare


def test_extraction_pivots_to_the_new_model(out: Path, rows: list[dict[str, Any]], labels: dict[str, Any]) -> None:
    doc = orjson.loads((out / "synth.json").read_bytes())
    release = _ts(doc["model_release"]["timestamp"])
    new = set(doc["model_release"]["models"].values())
    for acct, rs in _by_kind(rows, labels, "extractor").items():
        late = [r for r in rs if r["ts"] is not None and r["ts"] > release + 86400]
        early = [r for r in rs if r["ts"] is not None and r["ts"] < release]
        assert not any(r["model"] in new for r in early)
        if len(late) >= 10:
            assert sum(r["model"] in new for r in late) / len(late) > 0.6, acct


# --------------------------------------------------------------------------------------------------
# Pools


@pytest.fixture(scope="module")
def pool_out(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    d = tmp_path_factory.mktemp("synth_pool") / "out"
    generate(POOL_SPEC, d)
    return read_output(d), read_labels(d)


def test_pools_feed_benign_and_extraction_prompts(
    pool_out: tuple[list[dict[str, Any]], dict[str, Any]],
) -> None:
    rows, labels = pool_out
    chat_first = [r["users"][0] for r in rows if labels[r["account"]]["kind"] == "benign_chat"]
    assert chat_first and all(t.startswith("POOLBENIGN") for t in chat_first)
    followups = [u for r in rows if labels[r["account"]]["kind"] == "benign_chat" for u in r["users"][1:]]
    assert any(u.startswith("POOLFOLLOW") for u in followups)  # pool turns are the follow-ups
    for kind in ("extractor", "hydra", "paraphrase"):
        texts = [r["users"][-1] for r in rows if labels[r["account"]]["kind"] == kind]
        assert texts, kind
        extract = [t for t in texts if "POOLEXTRACT" in t]
        # hydra members mix in ordinary-looking requests, drawn from the benign pool
        assert all(t in extract or t.startswith("POOLBENIGN") for t in texts), kind
        assert len(extract) / len(texts) > 0.7, kind
    wrapped = [r["users"][-1] for r in rows if labels[r["account"]]["kind"] == "extractor"]
    assert all(COT.search(t) for t in wrapped)  # pool prompts wrapped with chain-of-thought instructions
    apps = [r["users"][-1] for r in rows if labels[r["account"]]["kind"] == "benign_app"]
    assert all("POOL" not in t for t in apps)  # apps keep their own generator


def test_pool_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "no prompt"}\n')
    with pytest.raises(PoolError, match="prompt"):
        load_pool(bad)
    with pytest.raises(PoolError):
        load_pool(tmp_path / "missing.jsonl")
    pool = load_pool(POOLS / "benign.jsonl")
    assert len(pool) == 5 and pool.items[1].turns


# --------------------------------------------------------------------------------------------------
# Spec and text


@pytest.mark.parametrize(
    "kwargs",
    [
        {"scale": "huge"},
        {"days": 0},
        {"formats": ("envelope", "nope")},
        {"formats": ()},
        {"accounts": {"hydra": 3}},
        {"diluted_share": (0.5, 0.2)},
        {"start": "June"},
        {"requests": 5},
        {"release_day": 99.0},
    ],
)
def test_invalid_specs_are_rejected(kwargs: dict[str, Any]) -> None:
    with pytest.raises(SpecError):
        SynthSpec(**kwargs).validate()


def test_requests_rescales_the_population() -> None:
    small = plan_for(SynthSpec(scale="tiny", days=2))
    big = plan_for(SynthSpec(scale="tiny", days=2, requests=6000))
    assert len(big.accounts) > 2 * len(small.accounts)
    hydra = [a for a in big.accounts if a.kind == "hydra"]
    assert all(a.total_target <= 60 for a in hydra)  # members stay small: more campaigns, not bigger ones


def test_benign_text_is_varied() -> None:
    tg = TextGen()
    texts = {tg.chat_first(i, tg.chat_topics, i % 3)[0] for i in range(3000)}
    assert len(texts) > 2900
    r = Rand(1)
    assert len({r.below(1000) for _ in range(2000)}) > 800
