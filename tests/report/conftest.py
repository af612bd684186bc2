"""A small hand-built ScanResult with hostile attacker-controlled strings in every text field."""

from __future__ import annotations

import pytest

from extractscan.findings import (
    AccountFinding,
    Campaign,
    DetectorResult,
    LinkEdge,
    ScanResult,
    ScanStats,
)

T0 = 1772409600.0  # 2026-03-02T00:00:00Z

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
FORMULA = '=HYPERLINK("http://x")'
ANSI = "\x1b[31mred\x1b[0m"
FENCE = "```"
PIPE = "a|b"
NUL = "nul\x00byte"

HOSTILE = (SCRIPT, IMG, FORMULA, ANSI, FENCE, PIPE, NUL)


def _det(
    detector_id: str,
    name: str,
    score: float,
    contribution: float,
    summary: str,
    *,
    examples: tuple[str, ...] = (),
    cluster_ids: tuple[str, ...] = (),
    request_ids: tuple[str, ...] = (),
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
        request_ids=request_ids,
        cluster_ids=cluster_ids,
        examples=examples,
    )


def build_result() -> ScanResult:
    evil = AccountFinding(
        entity_id=SCRIPT,
        rank=1,
        score=0.97,
        severity="critical",
        confidence=0.95,
        flagged=True,
        reasons=f"Flagged — template_concentration: {PIPE} sweep {IMG}",
        n_requests=300,
        first_seen=T0,
        last_seen=T0 + 9000.0,
        campaign_id="C1",
        base_score=0.9,
        detectors=(
            _det(
                "ES102",
                "template_concentration",
                1.0,
                0.6,
                f"1 frame {SCRIPT}",
                examples=(
                    f"template: explain {{…}} {IMG} | fills: 'a', 'b'",
                    f"Explain {FENCE}python\nprint(1)\n{FENCE}\n```` four ticks {ANSI}",
                ),
                cluster_ids=("0", "1"),
                request_ids=("r1", f"r2{PIPE}"),
            ),
            _det(
                "ES101",
                "volume",
                0.8,
                0.4,
                f"300 requests/day {FORMULA}",
                examples=(f"line one\nline two {NUL}",),
            ),
            _det("ES105", "seat", 0.0, 0.0, "nothing"),
        ),
    )
    formula = AccountFinding(
        entity_id=FORMULA,
        rank=2,
        score=0.7,
        severity="high",
        confidence=0.8,
        flagged=True,
        reasons=f"Flagged {ANSI} and {NUL}",
        n_requests=120,
        first_seen=T0 + 3600.0,
        last_seen=T0 + 20000.0,
        campaign_id="C1",
        base_score=0.6,
        detectors=(
            _det(
                "ES102",
                "template_concentration",
                0.9,
                1.0,
                "same frame",
                examples=(f"template: explain {{…}} {IMG} | fills: 'c'",),
                cluster_ids=("0",),
            ),
        ),
    )
    benign = AccountFinding(
        entity_id=f"user|{ANSI}\n",
        rank=3,
        score=0.02,
        severity="none",
        confidence=0.5,
        flagged=False,
        reasons="No detector found evidence of extraction.",
        n_requests=12,
        first_seen=T0 + 100.0,
        last_seen=T0 + 80000.0,
        campaign_id=None,
        base_score=0.02,
        detectors=(),
    )
    quiet = AccountFinding(
        entity_id="plain-user",
        rank=4,
        score=0.01,
        severity="none",
        confidence=0.2,
        flagged=False,
        reasons="No detector found evidence of extraction.",
        n_requests=3,
        first_seen=None,
        last_seen=None,
        campaign_id=None,
        base_score=0.01,
        suppressed=f"allow-list {SCRIPT}",
    )
    campaign = Campaign(
        campaign_id="C1",
        account_ids=(SCRIPT, FORMULA),
        score=0.9,
        size=2,
        edge_kinds=("template", "timing"),
        evidence=f"shared template {IMG} {FENCE}",
        edges=(
            LinkEdge(a=SCRIPT, b=FORMULA, kind="template", weight=0.8, evidence=f"skeleton {PIPE} {SCRIPT}"),
            LinkEdge(a=SCRIPT, b=FORMULA, kind="timing", weight=0.5, evidence=f"bucket {ANSI}"),
        ),
        template_fingerprints=("fp:abc",),
    )
    return ScanResult(
        version=1,
        tool_version="0.1.0",
        created_at="2026-03-03T00:00:00+00:00",
        entity="account",
        window=(T0, T0 + 86400.0),
        alert_threshold=0.5,
        config={"seed": 0},
        manifest=[{"path": "logs.jsonl"}],
        stats=ScanStats(
            requests=435,
            entities=4,
            unattributed_requests=0,
            partitions=1,
            lsh_candidates=10,
            lsh_confirmed=5,
            embedded_texts=0,
            embedding_cache_hits=0,
            stage_seconds={"load": 1.5},
        ),
        accounts=(evil, formula, benign, quiet),
        campaigns=(campaign,),
        detectors=(
            {"id": "ES101", "name": "volume", "summary": "volume"},
            {"id": "ES102", "name": "template_concentration", "summary": "templates"},
            {"id": "ES105", "name": "seat", "summary": "seat"},
        ),
    )


@pytest.fixture
def hostile_result() -> ScanResult:
    return build_result()
