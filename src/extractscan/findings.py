"""Typed records of a scan: what every report writer reads. Plain frozen dataclasses, JSON-serialisable.

One immutable :class:`ScanResult` feeds every writer; ``report.json`` is its canonical serialisation and
``ScanResult.from_dict`` reads it back, so every other format can be rendered without re-scanning.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

RESULT_VERSION = 1


@dataclass(frozen=True)
class DetectorResult:
    detector_id: str
    name: str
    value: float | None
    score: float
    confidence: float
    weight: float
    contribution: float  # share of the account's evidence from this detector, in [0, 1]
    summary: str
    request_ids: tuple[str, ...] = ()
    cluster_ids: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccountFinding:
    entity_id: str
    rank: int
    score: float  # calibrated suspicion in [0, 1]
    severity: str  # critical / high / medium / low / none
    confidence: float  # how much data supports the score, in [0, 1]
    flagged: bool
    reasons: str  # one sentence built from the top contributions
    n_requests: int
    first_seen: float | None
    last_seen: float | None
    campaign_id: str | None
    base_score: float  # before the campaign lift
    detectors: tuple[DetectorResult, ...] = ()
    suppressed: str | None = None  # reason, when a suppression matched


@dataclass(frozen=True)
class LinkEdge:
    a: str
    b: str
    kind: str  # template / timing / infrastructure / semantic
    weight: float  # similarity in [0, 1]
    evidence: str  # short human-readable evidence (shared template ids, buckets, ranges)


@dataclass(frozen=True)
class Campaign:
    campaign_id: str
    account_ids: tuple[str, ...]
    score: float
    size: int
    edge_kinds: tuple[str, ...]
    evidence: str
    edges: tuple[LinkEdge, ...] = ()
    template_fingerprints: tuple[str, ...] = ()  # hashed skeletons shared by members (shareable IOCs)


@dataclass(frozen=True)
class ScanStats:
    requests: int
    entities: int
    unattributed_requests: int  # rows without the scored identity
    partitions: int
    lsh_candidates: int
    lsh_confirmed: int
    embedded_texts: int
    embedding_cache_hits: int
    stage_seconds: dict[str, float] = field(default_factory=dict)  # with workers > 1: summed over workers
    workers: int = 1  # processes that scanned the partitions


@dataclass(frozen=True)
class ScanResult:
    version: int
    tool_version: str
    created_at: str  # ISO time of the scan; removed by --stable
    entity: str
    window: tuple[float | None, float | None]
    alert_threshold: float
    config: dict[str, Any]
    manifest: list[dict[str, Any]]
    stats: ScanStats
    accounts: tuple[AccountFinding, ...]
    campaigns: tuple[Campaign, ...]
    detectors: tuple[dict[str, str], ...]  # id, name, summary of every detector that ran

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @staticmethod
    def from_dict(d: dict[str, Any]) -> ScanResult:
        accounts = tuple(
            AccountFinding(
                **{
                    **a,
                    "detectors": tuple(
                        DetectorResult(
                            **{
                                **r,
                                "request_ids": tuple(r.get("request_ids", ())),
                                "cluster_ids": tuple(r.get("cluster_ids", ())),
                                "examples": tuple(r.get("examples", ())),
                            }
                        )
                        for r in a.get("detectors", ())
                    ),
                }
            )
            for a in d["accounts"]
        )
        campaigns = tuple(
            Campaign(
                **{
                    **c,
                    "account_ids": tuple(c["account_ids"]),
                    "edge_kinds": tuple(c["edge_kinds"]),
                    "edges": tuple(LinkEdge(**e) for e in c.get("edges", ())),
                    "template_fingerprints": tuple(c.get("template_fingerprints", ())),
                }
            )
            for c in d["campaigns"]
        )
        return ScanResult(
            version=d["version"],
            tool_version=d["tool_version"],
            created_at=d["created_at"],
            entity=d["entity"],
            window=(d["window"][0], d["window"][1]),
            alert_threshold=d["alert_threshold"],
            config=d["config"],
            manifest=d["manifest"],
            stats=ScanStats(**d["stats"]),
            accounts=accounts,
            campaigns=campaigns,
            detectors=tuple(d["detectors"]),
        )

    def flagged(self) -> list[AccountFinding]:
        return [a for a in self.accounts if a.flagged]
