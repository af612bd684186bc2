"""Campaign linking (campaigns.py): edges with evidence, guards against giant components, campaigns."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import polars as pl
import pytest
from conftest import make_frame
from polars.testing import assert_frame_equal

from extractscan import campaigns
from extractscan.campaigns import (
    EDGE_SCHEMA,
    INFRA_SCHEMA,
    TOKEN_SCHEMA,
    build_edges,
    form_campaigns,
    ip_range_expr,
    link_tokens,
    partition_link_parts,
    semantic_edges,
)
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
    infra: dict[str, Any] = {"client_ip": "203.0.113.7", "user_agent": "python-httpx/0.27.0"}
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


# ----------------------------------------------------------------------------------------------------------
# Equivalence with the reference algorithm. build_edges works on integer codes in blocks of entities (bounded
# memory); the oracle below is the straightforward algorithm it replaced (string tokens, one global join of
# the posting lists), kept verbatim: the edges (a, b, kind, weight, evidence) must be identical.


def _ref_frame_tokens(frame: pl.DataFrame, link: LinkConfig, cluster: ClusterConfig) -> list[pl.DataFrame]:
    from extractscan.cluster.normalize import frame_columns

    if frame.is_empty():
        return []
    f = frame_columns(
        frame.select("entity_id", "skeleton", "text_norm", "ts"),
        frame_words=cluster.frame_words,
        min_support=cluster.frame_min_support,
        min_share=cluster.frame_min_share,
        min_continuation=cluster.frame_min_continuation,
    ).filter(pl.col("frame_words") >= link.min_frame_words)
    swept = (
        f.group_by("entity_id", "frame_id")
        .agg(pl.col("text_norm").n_unique().alias("fills"))
        .filter(pl.col("fills") >= link.min_frame_fills)
        .select("entity_id", "frame_id")
    )
    f = f.join(swept, on=["entity_id", "frame_id"])
    tmpl = f.select("entity_id", pl.lit("frame").alias("kind"), pl.format("f{}", pl.col("frame_id")).alias("token"))
    timing = f.filter(pl.col("ts").is_not_null()).select(
        "entity_id",
        pl.lit("timing").alias("kind"),
        pl.format("sf{}:{}", pl.col("frame_id"), (pl.col("ts") // link.sync_bucket_seconds).cast(pl.Int64)).alias("token"),
    )
    return [tmpl.unique(), timing.unique()]


def _ref_infra(frame: pl.DataFrame, link: LinkConfig, cluster: ClusterConfig) -> pl.DataFrame:
    infra = []
    for kind, expr in (
        ("ip", ip_range_expr(pl.col("client_ip"))),
        ("ua", pl.col("user_agent").str.strip_chars()),
        ("key", pl.col("api_key_id")),
    ):
        infra.append(
            frame.select("entity_id", pl.lit(kind).alias("kind"), expr.alias("token")).filter(
                pl.col("token").is_not_null() & (pl.col("token") != "")
            )
        )
    infra.extend(_ref_frame_tokens(frame, link, cluster))
    return pl.concat([p.cast(TOKEN_SCHEMA) for p in infra]).unique()  # type: ignore[arg-type]


def _ref_link_tokens(clusters_global: pl.DataFrame, buckets: pl.DataFrame, infra: pl.DataFrame) -> pl.DataFrame:
    tmpl = clusters_global.select(
        "entity_id",
        pl.lit("template").alias("kind"),
        pl.format("t{}", pl.col("global_cluster_id")).alias("token"),
    )
    timing = buckets.join(clusters_global, on=["entity_id", "cluster_id"]).select(
        "entity_id",
        pl.lit("timing").alias("kind"),
        pl.format("s{}:{}", pl.col("global_cluster_id"), pl.col("bucket")).alias("token"),
    )
    return (
        pl.concat([tmpl.cast(TOKEN_SCHEMA), timing.cast(TOKEN_SCHEMA), infra.cast(TOKEN_SCHEMA)])  # type: ignore[arg-type]
        .unique()
        .sort("entity_id", "kind", "token")
    )


def _ref_build_edges(tokens: pl.DataFrame, base_scores: pl.DataFrame, link: LinkConfig, cluster: ClusterConfig) -> pl.DataFrame:
    caps = {
        "template": cluster.common_cluster_accounts,
        "frame": cluster.common_cluster_accounts,
        "timing": cluster.common_cluster_accounts,
        "ip": link.max_accounts_per_ip,
        "ua": link.max_accounts_per_ip,
        "key": link.max_accounts_per_key,
    }
    cap_df = pl.DataFrame({"kind": list(caps), "cap": list(caps.values())})
    posting = tokens.group_by("kind", "token").agg(pl.col("entity_id").sort(), pl.len().alias("df"))
    posting = posting.join(cap_df, on="kind").filter((pl.col("df") >= 2) & (pl.col("df") <= pl.col("cap")))
    usable = posting.explode("entity_id").select("kind", "token", "entity_id")
    sizes = tokens.group_by("entity_id", "kind").agg(pl.len().alias("size"))
    pairs = (
        usable.join(usable, on=["kind", "token"], suffix="_b")
        .filter(pl.col("entity_id") < pl.col("entity_id_b"))
        .group_by("entity_id", "entity_id_b", "kind")
        .agg(pl.len().alias("shared"), pl.col("token").sort().head(3).alias("sample"))
        .rename({"entity_id": "a", "entity_id_b": "b"})
    )
    if pairs.is_empty():
        return pl.DataFrame(schema=EDGE_SCHEMA)
    pairs = (
        pairs.join(sizes.rename({"entity_id": "a", "size": "size_a"}), on=["a", "kind"], how="left")
        .join(sizes.rename({"entity_id": "b", "size": "size_b"}), on=["b", "kind"], how="left")
        .with_columns((pl.col("shared") / (pl.col("size_a") + pl.col("size_b") - pl.col("shared"))).alias("jaccard"))
    )
    wide = pairs.pivot(on="kind", index=["a", "b"], values=["shared", "jaccard"], aggregate_function="first")
    for k in ("template", "frame", "timing", "ip", "ua", "key"):
        for m in ("shared", "jaccard"):
            name = f"{m}_{k}"
            if name not in wide.columns:
                wide = wide.with_columns(pl.lit(0.0).alias(name))
    wide = wide.fill_null(0)
    scores = base_scores.select("entity_id", "base_score")
    wide = (
        wide.join(scores.rename({"entity_id": "a", "base_score": "sa"}), on="a", how="left")
        .join(scores.rename({"entity_id": "b", "base_score": "sb"}), on="b", how="left")
        .with_columns(pl.col("sa").fill_null(0.0), pl.col("sb").fill_null(0.0))
    )
    sus_a, sus_b = pl.col("sa") >= link.infra_min_score, pl.col("sb") >= link.infra_min_score
    mixed = sus_a != sus_b
    tj = pl.when(mixed).then(pl.lit(max(link.mixed_jaccard, link.template_jaccard))).otherwise(pl.lit(link.template_jaccard))
    sj = pl.when(mixed).then(pl.lit(max(link.mixed_jaccard, link.sync_jaccard))).otherwise(pl.lit(link.sync_jaccard))
    corroborated = ((pl.col("shared_timing") >= link.frame_min_sync) & (pl.col("jaccard_timing") >= link.frame_sync_jaccard)) | (
        (pl.col("shared_ip") + pl.col("shared_key")) >= 1
    )
    template_ok = ((pl.col("shared_template") >= link.min_shared_templates) & (pl.col("jaccard_template") >= tj)) | (
        (pl.col("shared_frame") >= 1) & (pl.col("jaccard_frame") >= tj) & corroborated
    )
    timing_ok = (pl.col("shared_timing") >= 3) & (pl.col("jaccard_timing") >= sj)
    infra_pair = (pl.col("shared_ip") >= 1) & ((pl.col("shared_ua") >= 1) | (pl.col("shared_key") >= 1))
    infra_ok = (pl.col("shared_key") >= 1) | (
        infra_pair & (template_ok | timing_ok | ((pl.col("sa") >= link.infra_min_score) & (pl.col("sb") >= link.infra_min_score)))
    )
    edges = []
    for kind, cond, weight, ev in (
        (
            "template",
            template_ok,
            pl.max_horizontal("jaccard_template", "jaccard_frame"),
            pl.format(
                "{} shared templates (Jaccard {}), {} shared swept frames (Jaccard {})",
                pl.col("shared_template").cast(pl.Int64),
                pl.col("jaccard_template").round(2),
                pl.col("shared_frame").cast(pl.Int64),
                pl.col("jaccard_frame").round(2),
            ),
        ),
        (
            "timing",
            timing_ok,
            pl.col("jaccard_timing"),
            pl.format(
                "{} shared (template, {}s bucket) pairs (Jaccard {})",
                pl.col("shared_timing").cast(pl.Int64),
                pl.lit(link.sync_bucket_seconds),
                pl.col("jaccard_timing").round(2),
            ),
        ),
        (
            "infrastructure",
            infra_ok,
            pl.max_horizontal("jaccard_ip", "jaccard_ua", "jaccard_key"),
            pl.format(
                "shared IP ranges {}, user agents {}, keys {}",
                pl.col("shared_ip").cast(pl.Int64),
                pl.col("shared_ua").cast(pl.Int64),
                pl.col("shared_key").cast(pl.Int64),
            ),
        ),
    ):
        edges.append(
            wide.filter(cond).select(
                "a", "b", pl.lit(kind).alias("kind"), weight.cast(pl.Float64).alias("weight"), ev.alias("evidence")
            )
        )
    return pl.concat(edges).sort("a", "b", "kind")


# Small caps, so that randomized tables have tokens on both sides of every cap.
_SMALL = (LinkConfig(max_accounts_per_ip=4, max_accounts_per_key=3, frame_min_sync=2), ClusterConfig(common_cluster_accounts=6))
# build_edges widens only pairs that can meet a rule (a shared template, frame, IP range or key, or enough
# timing pairs): thresholds on both sides of that, including a template rule that needs no shared template.
_CONFIGS = [
    _SMALL,
    (CFG.link, CFG.cluster),
    (LinkConfig(min_shared_templates=1, template_jaccard=0.1, sync_jaccard=0.1, max_accounts_per_ip=5), _SMALL[1]),
    (LinkConfig(min_shared_templates=0, template_jaccard=0.0, mixed_jaccard=0.0), _SMALL[1]),
    (LinkConfig(min_shared_templates=0, template_jaccard=0.2), _SMALL[1]),
]


def _random_tokens(rng: random.Random) -> pl.DataFrame:
    """A string token table: mixed kinds (and one no kind caps), tokens of every document frequency around
    the caps, entity ids that sort differently as strings than as numbers."""
    n_ent = rng.randint(2, 40)
    ents = [f"{rng.choice(['acct', 'Acct', 'user', 'u'])}-{rng.randint(0, 999)}" for _ in range(n_ent)]
    rows = set()
    for kind in ("template", "frame", "timing", "ip", "ua", "key", "other"):
        for t in range(rng.randint(0, 25)):
            df = rng.choice([1, 2, 3, 4, 5, 6, 7, 8, rng.randint(1, n_ent)])
            for e in rng.sample(ents, min(df, len(set(ents)))):
                rows.add((e, kind, f"{kind[0]}{t}"))
    # Clustered accounts: a group that shares most of its tokens (edges of every kind become likely).
    group = rng.sample(sorted(set(ents)), min(len(set(ents)), rng.randint(2, 6)))
    for kind in ("template", "frame", "timing", "ip", "ua", "key"):
        for t in range(rng.randint(0, 6)):
            for e in group:
                if rng.random() < 0.8:
                    rows.add((e, kind, f"g{kind[0]}{t}"))
    return pl.DataFrame(sorted(rows), schema=TOKEN_SCHEMA, orient="row")


def _random_scores(rng: random.Random, tokens: pl.DataFrame) -> pl.DataFrame:
    ents = sorted(set(tokens["entity_id"].to_list()))
    kept = [e for e in ents if rng.random() < 0.9]  # some entities have no base score (0.0)
    return pl.DataFrame({"entity_id": kept, "base_score": [rng.choice([0.0, 0.1, 0.3, 0.29, 0.6, 0.95]) for _ in kept]})


@pytest.mark.parametrize(("block", "seeds"), [(1, 6), (6, 10), (1 << 22, 30)])
def test_build_edges_equals_the_reference_on_random_token_tables(monkeypatch: pytest.MonkeyPatch, block: int, seeds: int) -> None:
    monkeypatch.setattr(campaigns, "BLOCK_WORK", block)  # one entity per block, a few, one block
    n_edges = 0
    for seed in range(seeds):
        rng = random.Random(seed)
        tokens = _random_tokens(rng)
        base = _random_scores(rng, tokens)
        for link, cluster in _CONFIGS:
            want = _ref_build_edges(tokens, base, link, cluster)
            assert_frame_equal(build_edges(tokens, base, link, cluster), want, check_exact=True)
            n_edges += want.height
    assert n_edges > 8 * seeds  # the tables do make edges, of every kind:
    edge_kinds = {
        k for seed in range(5) for k in _ref_build_edges(_random_tokens(random.Random(seed)), _no_scores(), *_SMALL)["kind"]
    }
    assert edge_kinds == {"template", "timing", "infrastructure"}


def _no_scores() -> pl.DataFrame:
    return pl.DataFrame(schema={"entity_id": pl.String(), "base_score": pl.Float64()})


def _random_parts(rng: random.Random) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Linking parts in both forms: [clusters_global, buckets, infra (current), infra (reference strings)].
    Cluster and frame ids overlap in value (one token space must not confuse them), frame ids use the full
    UInt64 range, buckets go negative."""
    ents = sorted({f"e{rng.randint(0, 60)}" for _ in range(rng.randint(2, 30))})
    cg_rows: list[tuple[Any, ...]] = []
    b_rows: list[tuple[Any, ...]] = []
    i_rows: list[tuple[Any, ...]] = []
    for e in ents:
        for c in rng.sample(range(40), rng.randint(0, 6)):
            cg_rows.append((e, c, rng.randint(0, 8)))  # local cluster -> global cluster (few: shared)
            for _ in range(rng.randint(0, 4)):
                b_rows.append((e, c, rng.randint(-3, 5)))
        for kind, pool in (
            ("ip", ["10.0.0", "10.0.1", "2001:db8:1"]),
            ("ua", ["curl/8", "sdk/1", "x"]),
            ("key", ["k1", "k2", "k3"]),
        ):
            for tok in rng.sample(pool, rng.randint(0, 2)):
                i_rows.append((e, kind, tok, None, None))
        for f in rng.sample([3, 5, 2**63 + 3, 2**64 - 1], rng.randint(0, 2)):
            i_rows.append((e, "frame", None, f, None))
            for _ in range(rng.randint(0, 5)):
                i_rows.append((e, "timing", None, f, rng.randint(-2, 4)))
    cg = pl.DataFrame(
        cg_rows, schema={"entity_id": pl.String, "cluster_id": pl.Int64, "global_cluster_id": pl.Int64}, orient="row"
    )
    buckets = pl.DataFrame(
        b_rows, schema={"entity_id": pl.String, "cluster_id": pl.Int64, "bucket": pl.Int64}, orient="row"
    ).unique()
    infra = pl.DataFrame(i_rows, schema=INFRA_SCHEMA, orient="row").unique()
    ref = infra.select(
        "entity_id",
        pl.col("kind").cast(pl.String),
        pl.when(pl.col("kind") == "frame")
        .then(pl.format("f{}", "frame_id"))
        .when(pl.col("kind") == "timing")
        .then(pl.format("sf{}:{}", "frame_id", "bucket"))
        .otherwise(pl.col("token"))
        .alias("token"),
    ).unique()
    return cg, buckets, infra, ref


@pytest.mark.parametrize(("block", "seeds"), [(3, 10), (1 << 22, 30)])
def test_link_tokens_and_build_edges_equal_the_reference_on_random_parts(
    monkeypatch: pytest.MonkeyPatch, block: int, seeds: int
) -> None:
    monkeypatch.setattr(campaigns, "BLOCK_WORK", block)
    n_edges = 0
    for seed in range(seeds):
        rng = random.Random(seed)
        cg, buckets, infra, ref_infra = _random_parts(rng)
        tokens = link_tokens(cg, buckets, infra)
        ref_tokens = _ref_link_tokens(cg, buckets, ref_infra)
        # The compact table holds the same (entity, kind) token sets: same rows per (entity, kind).
        counts = (
            tokens.group_by(pl.col("entity_id").cast(pl.String), pl.col("kind").cast(pl.String)).len().sort("entity_id", "kind")
        )
        assert_frame_equal(counts, ref_tokens.group_by("entity_id", "kind").len().sort("entity_id", "kind"))
        base = _random_scores(rng, ref_tokens)
        for link, cluster in _CONFIGS:
            want = _ref_build_edges(ref_tokens, base, link, cluster)
            assert_frame_equal(build_edges(tokens, base, link, cluster), want, check_exact=True)
            n_edges += want.height
    assert n_edges > 3 * seeds


def test_partition_parts_and_edges_equal_the_reference_on_frames() -> None:
    """The whole cross-entity step on real frames (sweeps, chat, shared infrastructure, keys)."""
    infra: dict[str, Any] = {"client_ip": "203.0.113.7", "user_agent": "python-httpx/0.27.0"}
    rows = (
        sweep("h1", 0, api_key_id="k-1")
        + sweep("h2", 4, api_key_id="k-1")
        + sweep("h3", 8, **infra)
        + sweep("h4", 2, n=4)
        + chat("a", **infra)
        + chat("b", **infra)
        + chat("c", client_ip="198.51.100.9", user_agent="corp-proxy/1.0")
        + [{"entity_id": "h1", "text": "hello there how are you", "ts": None}]
    )
    frame = make_frame(rows)
    for link in (CFG.link, LinkConfig(min_frame_fills=2, frame_min_sync=1)):
        c, b, i = partition_link_parts(frame, link, CFG.cluster)
        assert i.schema == pl.Schema(INFRA_SCHEMA)
        ref_i = _ref_infra(frame, link, CFG.cluster)
        assert i.height == ref_i.height
        g = c.select("entity_id", "cluster_id", pl.col("cluster_id").alias("global_cluster_id"))
        base = pl.DataFrame(
            {"entity_id": ["h1", "h2", "h3", "h4", "a", "b", "c"], "base_score": [0.9, 0.9, 0.9, 0.2, 0.9, 0.5, 0.0]}
        )
        want = _ref_build_edges(_ref_link_tokens(g, b, ref_i), base, link, CFG.cluster)
        assert not want.is_empty()
        assert_frame_equal(build_edges(link_tokens(g, b, i), base, link, CFG.cluster), want, check_exact=True)


def test_null_tokens_and_entities_follow_the_reference() -> None:
    """Edge cases of the string form: a null token is one token; an entity-less row counts toward a token's
    document frequency (so toward its cap) but makes no pair; duplicate rows count as in a join."""
    rows = [("a", "ip", None), ("b", "ip", None), ("c", "ip", "r1"), ("d", "ip", "r1"), (None, "ip", "r1")]
    rows += [("a", "ua", "u"), ("b", "ua", "u"), ("a", "ua", "u"), ("c", "ua", "u"), ("d", "ua", "u")]
    rows += [("a", "key", "k"), ("b", "key", "k"), ("c", "template", "t1"), ("d", "template", "t1"), ("c", "nope", "t1")]
    tokens = pl.DataFrame(rows, schema=TOKEN_SCHEMA, orient="row")
    base = pl.DataFrame({"entity_id": ["a", "b", "c", "d"], "base_score": [0.9, 0.9, 0.9, 0.9]})
    for link in (CFG.link, LinkConfig(max_accounts_per_ip=3)):
        want = _ref_build_edges(tokens, base, link, CFG.cluster)
        assert not want.is_empty()
        assert_frame_equal(build_edges(tokens, base, link, CFG.cluster), want, check_exact=True)
    empty = pl.DataFrame(schema=TOKEN_SCHEMA)
    assert_frame_equal(build_edges(empty, base, CFG.link, CFG.cluster), _ref_build_edges(empty, base, CFG.link, CFG.cluster))


def test_blocks_cover_every_entity_once_within_the_budget() -> None:
    rng = random.Random(3)
    for _ in range(50):
        work = np.array([rng.choice([0, 0, 1, 2, 5, 9, 40]) for _ in range(rng.randint(1, 30))], dtype=np.int64)
        budget = rng.randint(1, 20)
        blocks = campaigns._blocks(work, budget)
        assert [lo for lo, _ in blocks] == [0] + [hi for _, hi in blocks[:-1]] and blocks[-1][1] == len(work)
        for lo, hi in blocks:
            assert hi > lo and (work[lo:hi].sum() <= budget or hi - lo == 1)  # over budget only alone
