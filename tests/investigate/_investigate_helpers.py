"""Test data for the investigation tests: hostile strings, a hand-built hostile store and scan result, and
the records the fixtures hand over."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from extractscan.config import Config
from extractscan.findings import (
    AccountFinding,
    Campaign,
    DetectorResult,
    LinkEdge,
    ScanResult,
    ScanStats,
)
from extractscan.schema import CANONICAL_SCHEMA

SCRIPT = "<script>alert(1)</script>"
ANSI = "\x1b[31mred\x1b]8;;http://evil\x07link\x1b[0m"
BIDI = "abc\u202eexe.txt"
NUL = "nul\x00byte"
FORMULA = '=HYPERLINK("http://x")'
MARKUP = "[bold red]boom[/]"
ESCAPE_ID = "../../etc/x"  # an account id that must never become a path
EVIL_ID = f"{SCRIPT}{ANSI}"
T0 = datetime(2026, 3, 2, tzinfo=UTC)


def no_embed() -> Config:
    cfg = Config()
    return cfg.replace(embed=dataclasses.replace(cfg.embed, enabled=False))


@dataclass(frozen=True)
class Scanned:
    root: Path
    logs: Path
    store: Path
    out: Path
    result: ScanResult


# ------------------------------------------------------------------------------------------------ hostile


def _row(i: int, account: str, text: str, *, minute: int, ip: str, ua: str) -> dict[str, object]:
    return {
        "record_id": f"envelope:req-{account[:6]}-{i}",
        "source_format": "envelope",
        "source_file": "hostile.jsonl",
        "source_offset": i + 1,
        "event_time": T0.replace(hour=(minute // 60) % 24, minute=minute % 60),
        "account_id": account,
        "api_key_id": "key:0123456789abcdef01234567",
        "client_ip": ip,
        "user_agent": ua,
        "provider": "openai",
        "api_surface": "chat.completions",
        "model_requested": "gpt-4o",
        "messages": [{"role": "user", "text": text}],
        "n_messages": 1,
        "n_user_turns": 1,
        "last_user_text": text,
        "max_output_tokens": 8000,
        "temperature": 1.0,
        "input_tokens": 40,
        "output_tokens": 2000 + i,
        "status": "success",
        "tags": [{"key": "env", "value": f"prod {SCRIPT}"}],
    }


def hostile_rows() -> pa.Table:
    rows = []
    for i in range(12):
        topic = ("graphs", "heaps", "tries", "queues")[i % 4]
        rows.append(
            _row(
                i,
                EVIL_ID,
                f"Explain {topic} step by step {SCRIPT} {ANSI} {BIDI} {NUL} {MARKUP} case {i}",
                minute=60 + i * 7,
                ip="203.0.113.77",
                ua=f"evil-agent {ANSI} {MARKUP}",
            )
        )
    for i in range(8):
        rows.append(
            _row(
                100 + i,
                ESCAPE_ID,
                f"{FORMULA} Explain heaps step by step {SCRIPT} case {i}" + (" x" * 3000 if i == 0 else ""),
                minute=61 + i * 9,
                ip="2001:db8:aa:bb::1",
                ua="python-requests/2.32",
            )
        )
    return pa.Table.from_pylist(rows, schema=CANONICAL_SCHEMA)


def _det(
    detector_id: str, name: str, score: float, contribution: float, summary: str, examples: tuple[str, ...]
) -> DetectorResult:
    return DetectorResult(
        detector_id=detector_id,
        name=name,
        value=score,
        score=score,
        confidence=0.9,
        weight=1.0,
        contribution=contribution,
        summary=summary,
        request_ids=(f"envelope:req-{EVIL_ID[:6]}-0",),
        cluster_ids=("0",),
        examples=examples,
    )


def hostile_result() -> ScanResult:
    t0 = T0.timestamp()
    evil = AccountFinding(
        entity_id=EVIL_ID,
        rank=1,
        score=0.97,
        severity="critical",
        confidence=0.9,
        flagged=True,
        reasons=f"Flagged — template_concentration: sweep {SCRIPT} {ANSI}",
        n_requests=12,
        first_seen=t0 + 3600,
        last_seen=t0 + 3600 + 77 * 60,
        campaign_id="C1",
        base_score=0.9,
        detectors=(
            _det("ES102", "template_concentration", 1.0, 0.7, f"1 frame {SCRIPT} {BIDI}", (f"template: explain {{…}} {ANSI}",)),
            _det("ES101", "volume", 0.4, 0.3, f"12 requests/day {FORMULA} {NUL}", (f"line one\nline two {NUL}",)),
        ),
    )
    escape = AccountFinding(
        entity_id=ESCAPE_ID,
        rank=2,
        score=0.8,
        severity="high",
        confidence=0.7,
        flagged=True,
        reasons=f"Flagged {FORMULA}",
        n_requests=8,
        first_seen=t0 + 61 * 60,
        last_seen=t0 + (61 + 63) * 60,
        campaign_id="C1",
        base_score=0.7,
        detectors=(),
    )
    campaign = Campaign(
        campaign_id="C1",
        account_ids=tuple(sorted((EVIL_ID, ESCAPE_ID))),
        score=0.9,
        size=2,
        edge_kinds=("template",),
        evidence=f"2 accounts linked by 1 template edges {SCRIPT}",
        edges=(LinkEdge(a=ESCAPE_ID, b=EVIL_ID, kind="template", weight=0.8, evidence=f"2 shared templates {ANSI}"),),
        template_fingerprints=("sk:0000000000000000",),
    )
    return ScanResult(
        version=1,
        tool_version="0.1.0",
        created_at="",
        entity="account",
        window=(t0 + 3600, t0 + 3600 + 77 * 60),
        alert_threshold=0.5,
        config={"seed": 0},
        manifest=[],
        stats=ScanStats(
            requests=20,
            entities=2,
            unattributed_requests=0,
            partitions=1,
            lsh_candidates=0,
            lsh_confirmed=0,
            embedded_texts=0,
            embedding_cache_hits=0,
        ),
        accounts=(evil, escape),
        campaigns=(campaign,),
        detectors=(
            {"id": "ES101", "name": "volume", "summary": "volume"},
            {"id": "ES102", "name": "template_concentration", "summary": "templates"},
        ),
    )


@dataclass(frozen=True)
class Hostile:
    store: Path
    out: Path
    result: ScanResult
