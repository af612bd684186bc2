"""Campaign linking (campaigns.py): edges with evidence, guards against giant components, campaigns."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from conftest import make_frame

from extractscan.campaigns import build_edges, form_campaigns, link_tokens, partition_link_parts, semantic_edges
from extractscan.config import ClusterConfig, Config, LinkConfig

CFG = Config()
_SUBJECTS = [
    "kinematics",
    "recursion",
    "photosynthesis",
    "inflation",
    "entropy",
    "the krebs cycle",
    "bayes rule",
    "tcp handshakes",
    "plate tectonics",
    "supply chains",
    "vaccines",
    "dynamic programming",
]


def sweep(name: str, offset: int, n: int = 8, **cols: Any) -> list[dict[str, Any]]:
    """One frame swept over *different* subjects per account: no two prompts are near-duplicates."""
    return [
        {
            "entity_id": name,
            "text": f"Explain {_SUBJECTS[(offset + i) % len(_SUBJECTS)]} to a graduate student, "
            "step by step, with every intermediate result",
            "ts": 1.7e9 + 3600.0 * i,
            **cols,
        }
        for i in range(n)
    ]


def chat(name: str, n: int = 8, **cols: Any) -> list[dict[str, Any]]:
    return [
        {"entity_id": name, "text": f"{name} wonders about thing number {i} today", "ts": 1.7e9 + 977.0 * i, **cols}
        for i in range(n)
    ]


def edges_for(rows: list[dict[str, Any]], scores: dict[str, float], link: LinkConfig | None = None) -> pl.DataFrame:
    link = link or CFG.link
    frame = make_frame(rows)
    c, b, i = partition_link_parts(frame, link, CFG.cluster)
    g = c.select("entity_id", "cluster_id", pl.col("cluster_id").alias("global_cluster_id"))
    tokens = link_tokens(g, b, i)
    base = pl.DataFrame({"entity_id": list(scores), "base_score": list(scores.values())})
    return build_edges(tokens, base, link, CFG.cluster)


def pairs(edges: pl.DataFrame, kind: str) -> set[tuple[str, str]]:
    return {(a, b) for a, b in edges.filter(pl.col("kind") == kind).select("a", "b").iter_rows()}


def test_frame_sweeps_link_accounts_that_share_no_prompt() -> None:
    rows = sweep("h1", 0) + sweep("h2", 4) + sweep("h3", 8) + chat("bystander")
    e = edges_for(rows, {"h1": 0.9, "h2": 0.9, "h3": 0.9, "bystander": 0.0})
    assert pairs(e, "template") == {("h1", "h2"), ("h1", "h3"), ("h2", "h3")}
    ev = e.filter(pl.col("kind") == "template")["evidence"][0]
    assert "shared templates" in ev


def test_infrastructure_alone_links_only_suspicious_accounts() -> None:
    infra = {"client_ip": "203.0.113.7", "user_agent": "python-httpx/0.27.0"}
    rows = chat("a", **infra) + chat("b", **infra) + chat("c", **infra) + chat("d", **infra)
    e = edges_for(rows, {"a": 0.9, "b": 0.8, "c": 0.1, "d": 0.0})
    assert pairs(e, "infrastructure") == {("a", "b")}


def test_common_tokens_make_no_edges() -> None:
    # A user agent shared by more accounts than max_accounts_per_ip is a proxy / SDK default.
    link = LinkConfig(max_accounts_per_ip=3)
    rows = [r for k in range(5) for r in chat(f"u{k}", client_ip="198.51.100.9", user_agent="corp-proxy/1.0")]
    e = edges_for(rows, {f"u{k}": 0.9 for k in range(5)}, link)
    assert e.is_empty()


def test_an_unsuspicious_account_needs_the_stronger_mixed_jaccard() -> None:
    # "mixer" shares the frame with the harvesters but most of its templates are its own.
    rows = sweep("h1", 0) + sweep("h2", 4) + sweep("mixer", 2, n=4)
    for s in _SUBJECTS[:6]:
        rows.append({"entity_id": "mixer", "text": f"Write a limerick about {s} for my niece's birthday party"})
        rows.append({"entity_id": "mixer", "text": f"Give me three fun facts about {s} that a ten year old would enjoy"})
    both = edges_for(rows, {"h1": 0.9, "h2": 0.9, "mixer": 0.9})
    mixed = edges_for(rows, {"h1": 0.9, "h2": 0.9, "mixer": 0.05})
    assert ("h1", "mixer") in pairs(both, "template")
    assert ("h1", "mixer") not in pairs(mixed, "template")
    assert ("h1", "h2") in pairs(mixed, "template")


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def test_semantic_edges_link_paraphrase_campaigns_not_partial_overlap() -> None:
    rng = np.random.default_rng(1)
    items = _unit(rng.standard_normal((20, 384)))

    def rephrase(idx: np.ndarray) -> np.ndarray:  # paraphrases: cosine ~0.9 to the item
        return _unit(items[idx] + 0.35 * _unit(rng.standard_normal((len(idx), 384))))

    ents, vecs = [], []
    for name in ("p1", "p2", "p3"):  # one item list, reworded per account
        vecs.append(rephrase(np.arange(12)))
        ents += [name] * 12
    vecs.append(np.vstack([rephrase(np.arange(3)), _unit(rng.standard_normal((9, 384)))]))  # 3 of 12 overlap
    ents += ["other"] * 12
    vecs.append(rephrase(np.arange(12)))  # the same items, but not suspicious
    ents += ["quiet"] * 12
    base = pl.DataFrame({"entity_id": ["p1", "p2", "p3", "other", "quiet"], "base_score": [0.9, 0.9, 0.9, 0.9, 0.1]})
    e = semantic_edges(np.array(ents, dtype=object), np.vstack(vecs), base, CFG.link, CFG.cluster, seed=0)
    assert pairs(e, "semantic") == {("p1", "p2"), ("p1", "p3"), ("p2", "p3")}
    assert (e["weight"] > 0.4).all()
    off = semantic_edges(np.array(ents, dtype=object), np.vstack(vecs), base, LinkConfig(semantic=False), CFG.cluster)
    assert off.is_empty()


def test_form_campaigns_components_scores_and_evidence() -> None:
    edges = pl.DataFrame(
        {
            "a": ["a", "b", "x"],
            "b": ["b", "c", "y"],
            "kind": ["template", "timing", "template"],
            "weight": [0.8, 0.5, 0.9],
            "evidence": ["e1", "e2", "e3"],
        }
    )
    base = pl.DataFrame({"entity_id": ["a", "b", "c", "x", "y"], "base_score": [0.95, 0.9, 0.2, 0.05, 0.02]})
    fps = pl.DataFrame({"entity_id": ["a", "b"], "fingerprint": ["sk:1", "sk:2"]})
    camps, member = form_campaigns(edges, base, fps, CFG.link)
    assert [c.account_ids for c in camps] == [("a", "b", "c")]  # x-y: nobody suspicious, not a campaign
    assert camps[0].score > 0.5
    low, _ = form_campaigns(edges, base, fps, LinkConfig(campaign_min_score=0.0))
    assert [c.account_ids for c in low] == [("a", "b", "c"), ("x", "y")]
    assert low[1].score < 0.5
    assert member["c"] == camps[0].campaign_id
    assert camps[0].edge_kinds == ("template", "timing") and len(camps[0].edges) == 2
    assert camps[0].template_fingerprints == ("sk:1", "sk:2")
    again, _ = form_campaigns(edges, base, fps, CFG.link)
    assert [c.campaign_id for c in again] == [c.campaign_id for c in camps]  # deterministic ids


def test_cluster_config_defaults_are_used_when_not_given() -> None:
    frame = make_frame(sweep("h1", 0))
    _, _, infra = partition_link_parts(frame, CFG.link)
    assert infra.filter(pl.col("kind") == "frame").height == 1  # the frame token
    _, _, none = partition_link_parts(frame, LinkConfig(min_frame_fills=50), ClusterConfig())
    assert none.filter(pl.col("kind") == "frame").is_empty()
