"""Campaign linking: entities that are one actor become one campaign.

Four kinds of edges, each with its evidence (docs/scoring.md has the full rules):

* **template** — the two entities send near-duplicates of the same prompts: they share at least
  ``min_shared_templates`` cross-entity MinHash clusters and the Jaccard similarity of their cluster sets is at
  least ``template_jaccard``; or they sweep the same template frame, corroborated by timing or infrastructure;
* **semantic** — (scans with embeddings) two suspicious entities whose embedded samples are mostly
  paraphrases of each other (:func:`semantic_edges`);
* **timing** — SynchroTrap: the Jaccard similarity of their (template, time bucket) sets is at least
  ``sync_jaccard`` (they fire the same templates in the same ``sync_bucket_seconds`` buckets);
* **infrastructure** — they share an IP /24 (IPv6 /48) and a user agent or API key. Alone this is weak
  (colleagues behind one office proxy look the same), so an infrastructure edge only links entities that are
  both already suspicious (base score >= ``infra_min_score``) unless a template or timing edge joins them too.

Guards against giant components: a template or time bucket shared by more than ``common_cluster_accounts``
entities ("hi", "thanks", a popular app's fixed prompt) makes no edges, and neither does an IP range, user
agent or key shared by more than ``max_accounts_per_ip`` / ``max_accounts_per_key`` entities (proxies, NATs,
common SDK agents). Candidate pairs come from an inverted index over these capped tokens, so the work is
bounded by (tokens × cap²), never all pairs of entities; and the memory by one block of entities' pairs
(:func:`build_edges` counts shared tokens on integer codes, a block of entities at a time).

A campaign is a connected component of at least ``min_campaign_size`` entities whose campaign score is at least
``campaign_min_score``. Its score rises with the
members' own scores and its size; members get a lift ``1 - (1 - s)(1 - member_lift × campaign score)``.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np
import polars as pl
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components

from extractscan.config import ClusterConfig, LinkConfig
from extractscan.findings import Campaign, LinkEdge

KINDS = ("template", "frame", "timing", "ip", "ua", "key")
KIND = pl.Enum(KINDS)
# A partition's infrastructure and frame tokens. Infrastructure tokens are strings (``token``); a swept
# frame (kind ``frame``: ``frame_id``) and its time buckets (kind ``timing``: ``frame_id``, ``bucket``) are
# integers: the scan keeps these tables for every partition, and a formatted "sf<frame>:<bucket>" string per
# row cost several times the two integers.
INFRA_SCHEMA = {"entity_id": pl.String(), "kind": KIND, "token": pl.String(), "frame_id": pl.UInt64(), "bucket": pl.Int64()}
# The string form of a token table (one token string per row): :func:`build_edges` accepts it as well as
# the compact table of :func:`link_tokens`.
TOKEN_SCHEMA = {"entity_id": pl.String(), "kind": pl.String(), "token": pl.String()}
# ``src`` of a compact token: a cross-entity cluster (template: a = cluster; timing: a = cluster, b =
# bucket), a swept frame (frame: a = frame id; timing: a = frame id, b = bucket) or an infrastructure
# string (a = its dense id). (kind, src, a, b) are equal exactly when the token strings "t<cluster>",
# "s<cluster>:<bucket>", "f<frame>", "sf<frame>:<bucket>" and the infrastructure strings were.
SRC_CLUSTER, SRC_FRAME, SRC_STRING = 0, 1, 2
# Candidate (pair, token) products per block of entities in build_edges: what one block may hold.
BLOCK_WORK = 1 << 22
TIMING_MIN_SHARED = 3  # shared (template, time bucket) pairs a timing edge needs


def ip_range_expr(col: pl.Expr) -> pl.Expr:
    """IPv4 -> first three octets (/24); IPv6 -> first three groups (/48); masked octets are dropped."""
    ip = col.str.strip_chars()
    v4 = ip.str.extract(r"^(\d{1,3}\.\d{1,3}\.\d{1,3})\.", 1)
    v6 = ip.str.extract(r"^([0-9a-fA-F]{1,4}:[0-9a-fA-F]{1,4}:[0-9a-fA-F]{1,4}):", 1).str.to_lowercase()
    return pl.coalesce(v4, v6)


def partition_link_parts(
    frame: pl.DataFrame, link: LinkConfig, cluster: ClusterConfig | None = None
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Per partition, the small tables linking needs (columnar):

    * ``clusters``: [entity_id, cluster_id, n, rep_text] for recurring clusters of prompts with >= 4 words
      (a representative text per cluster, for the cross-entity clustering of representatives);
    * ``buckets``: [entity_id, cluster_id, bucket] time buckets in which the entity used that cluster;
    * ``infra`` (:data:`INFRA_SCHEMA`): IP ranges, user agents and API keys (``token``), plus the entity's
      swept template *frames* (kind ``frame``, ``frame_id``) and their time buckets (kind ``timing``,
      ``frame_id`` and ``bucket``): members of one campaign sweep the same frame over *different* slot
      values, which near-duplicate clusters cannot see.
    """
    rec = (
        frame.filter(pl.col("text_norm").str.count_matches(r"\S+") >= 4)
        .group_by("entity_id", "cluster_id")
        .agg(pl.len().alias("n"), pl.col("text_norm").first().alias("rep_text"))
        .filter(pl.col("n") >= 2)
    )
    buckets = (
        frame.filter(pl.col("ts").is_not_null())
        .join(rec.select("entity_id", "cluster_id"), on=["entity_id", "cluster_id"])
        .select(
            "entity_id",
            "cluster_id",
            (pl.col("ts") // link.sync_bucket_seconds).cast(pl.Int64).alias("bucket"),
        )
        .unique()
    )
    infra = []
    for kind, expr in (
        ("ip", ip_range_expr(pl.col("client_ip"))),
        ("ua", pl.col("user_agent").str.strip_chars()),
        ("key", pl.col("api_key_id")),
    ):
        infra.append(
            _infra_rows(frame.select("entity_id", expr.cast(pl.String).alias("token")), kind).filter(
                pl.col("token").is_not_null() & (pl.col("token") != "")
            )
        )
    infra.extend(_frame_tokens(frame, link, cluster or ClusterConfig()))
    return rec, buckets, pl.concat(infra).unique()


def _infra_rows(df: pl.DataFrame, kind: str) -> pl.DataFrame:
    """``df`` (entity_id and some of token / frame_id / bucket) as :data:`INFRA_SCHEMA` rows of ``kind``."""
    return df.select(
        pl.col("entity_id").cast(pl.String),
        pl.lit(kind, dtype=KIND).alias("kind"),
        *(
            (pl.col(c) if c in df.columns else pl.lit(None)).cast(dt).alias(c)
            for c, dt in INFRA_SCHEMA.items()
            if c not in ("entity_id", "kind")
        ),
    )


def _frame_tokens(frame: pl.DataFrame, link: LinkConfig, cluster: ClusterConfig) -> list[pl.DataFrame]:
    """Template and timing tokens from the entity's slot-sweep frames: a frame of at least
    ``link.min_frame_words`` constant words that the entity filled with at least ``link.min_frame_fills``
    distinct prompts. The frame id is a stable hash of the frame text, so equal across entities."""
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
    tmpl = _infra_rows(f.select("entity_id", "frame_id"), "frame")
    timing = _infra_rows(
        f.filter(pl.col("ts").is_not_null()).select(
            "entity_id", "frame_id", (pl.col("ts") // link.sync_bucket_seconds).cast(pl.Int64).alias("bucket")
        ),
        "timing",
    )
    return [tmpl.unique(), timing.unique()]


def _as_u64(col: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """An integer id as UInt64, one-to-one (a signed id is reinterpreted, not clipped)."""
    if dtype.is_unsigned_integer():
        return col.cast(pl.UInt64)
    return col.cast(pl.Int64).reinterpret(signed=False)


def _token(df: pl.LazyFrame, kind: str, src: int, a: pl.Expr, b: pl.Expr) -> pl.LazyFrame:
    """Compact token rows. A token with a missing part is the one null token of its kind, as its
    formatted string was null."""
    missing = a.is_null() | b.is_null()
    return df.select(
        "entity_id",
        pl.lit(kind, dtype=KIND).alias("kind"),
        pl.when(missing).then(None).otherwise(pl.lit(src, dtype=pl.UInt8)).alias("src"),
        pl.when(missing).then(None).otherwise(a).cast(pl.UInt64).alias("a"),
        pl.when(missing).then(None).otherwise(b).cast(pl.Int64).alias("b"),
    )


def link_tokens(clusters_global: pl.DataFrame, buckets: pl.DataFrame, infra: pl.DataFrame) -> pl.DataFrame:
    """Cross-entity step: (entity, kind, token) sets from the per-partition parts, once every recurring
    cluster has a cross-entity ``global_cluster_id`` (``clusters_global``: [entity_id, cluster_id,
    global_cluster_id]).

    Returns the compact token table, one row per distinct (entity, token): ``entity_id`` as an Enum of the
    sorted entity ids (4 bytes a row), ``kind`` (:data:`KIND`) and the token as integers ``src``, ``a``,
    ``b`` (see :data:`SRC_CLUSTER`); infrastructure strings are interned to dense ids."""
    ids = (
        pl.concat([clusters_global["entity_id"], buckets["entity_id"], infra["entity_id"]])
        .cast(pl.String)
        .drop_nulls()
        .unique()
        .sort()
    )
    ent = pl.Enum(ids)
    gdt = clusters_global.schema["global_cluster_id"]
    # One lazy query: polars then never holds every intermediate table at once.
    cg = clusters_global.lazy().select(
        pl.col("entity_id").cast(pl.String).cast(ent),
        "cluster_id",
        _as_u64(pl.col("global_cluster_id"), gdt).alias("g"),
    )
    zero = pl.lit(0, dtype=pl.Int64)
    tmpl = _token(cg, "template", SRC_CLUSTER, pl.col("g"), zero)
    timing = _token(
        buckets.lazy()
        .select(pl.col("entity_id").cast(pl.String).cast(ent), "cluster_id", "bucket")
        .join(cg, on=["entity_id", "cluster_id"]),
        "timing",
        SRC_CLUSTER,
        pl.col("g"),
        pl.col("bucket"),
    )
    inf = infra.lazy().select(
        pl.col("entity_id").cast(pl.String).cast(ent), pl.col("kind").cast(pl.String), "token", "frame_id", "bucket"
    )
    strings = inf.filter(pl.col("token").is_not_null())
    interned = strings.join(
        strings.select("token").unique().with_row_index("sid"), on="token"
    )  # exact: one id per distinct string
    parts = [tmpl, timing]
    for kind in ("ip", "ua", "key"):
        parts.append(_token(interned.filter(pl.col("kind") == kind), kind, SRC_STRING, pl.col("sid"), zero))
    frames = inf.filter(pl.col("token").is_null())
    parts.append(_token(frames.filter(pl.col("kind") == "frame"), "frame", SRC_FRAME, pl.col("frame_id"), zero))
    parts.append(_token(frames.filter(pl.col("kind") == "timing"), "timing", SRC_FRAME, pl.col("frame_id"), pl.col("bucket")))
    # Distinct rows per part (hashing one part at a time: a global unique took twice the memory); parts
    # differ in (kind, src), so only null tokens (src null) can repeat across parts.
    out = pl.concat([p.unique() for p in parts]).collect()
    if out["src"].null_count():
        out = pl.concat([out.filter(pl.col("src").is_not_null()), out.filter(pl.col("src").is_null()).unique()])
    return out


def _coded(tokens: pl.DataFrame) -> tuple[pl.LazyFrame, pl.Series]:
    """``tokens`` as integers: [ent (rank of the entity id in sorted order, so that ``a < b`` on codes is
    ``a < b`` on ids), kind (index in :data:`KINDS`; other kinds null), the token's key columns], and the
    sorted entity ids."""
    dt = tokens.schema["entity_id"]
    if isinstance(dt, pl.Enum) and dt.categories.is_sorted():
        names = dt.categories
        ent = pl.col("entity_id").to_physical()
    else:
        names = tokens["entity_id"].cast(pl.String).drop_nulls().unique().sort()
        ent = pl.col("entity_id").cast(pl.String).cast(pl.Enum(names)).to_physical()
    kind = pl.col("kind") if tokens.schema["kind"] == KIND else pl.col("kind").cast(pl.String).cast(KIND, strict=False)
    keys = [c for c in tokens.columns if c not in ("entity_id", "kind")]
    return tokens.lazy().select(ent.cast(pl.UInt32).alias("ent"), kind.to_physical().alias("kind"), *keys), names


def _blocks(work: np.ndarray, budget: int) -> list[tuple[int, int]]:
    """Consecutive ranges of entities whose summed ``work`` is at most ``budget`` (one entity at least)."""
    cum = np.concatenate([[0], np.cumsum(work)])
    out, lo = [], 0
    while lo < len(work):
        hi = max(lo + 1, int(np.searchsorted(cum, cum[lo] + budget, side="right")) - 1)
        out.append((lo, hi))
        lo = hi
    return out


def build_edges(tokens: pl.DataFrame, base_scores: pl.DataFrame, link: LinkConfig, cluster: ClusterConfig) -> pl.DataFrame:
    """Cross-entity step: candidate pairs from the capped inverted index, then the edge rules above.

    ``tokens``: :func:`link_tokens`' compact table (or the string form :data:`TOKEN_SCHEMA`);
    ``base_scores``: [entity_id, base_score]. Returns [a, b, kind, weight, evidence].

    Bounded memory: entities and tokens are integer codes; for each kind the shared-token counts of all
    pairs are the sparse product of the entity x (usable token) incidence matrix with its transpose,
    computed for one block of first entities ``a`` at a time (every pair lies in exactly one block, so a
    block's counts are final); the edge rules are applied per block, and only edges are kept."""
    caps = {
        "template": cluster.common_cluster_accounts,
        "frame": cluster.common_cluster_accounts,
        "timing": cluster.common_cluster_accounts,
        "ip": link.max_accounts_per_ip,
        "ua": link.max_accounts_per_ip,
        "key": link.max_accounts_per_key,
    }
    t, names = _coded(tokens)
    keys = [c for c in t.collect_schema().names() if c not in ("ent", "kind")]
    cap_df = pl.LazyFrame(
        {"kind": range(len(KINDS)), "cap": [caps[k] for k in KINDS]}, schema={"kind": pl.UInt8, "cap": pl.Int64}
    )
    # Usable tokens (2 <= document frequency <= the kind's cap) get dense ids, then their rows are joined
    # back: lazily, this holds a fraction of what posting lists aggregated per token did. The document
    # frequency counts every row (a row without an entity too); sizes count every token; the null token (a
    # null string) pairs nobody, as a join does not match nulls.
    tok = (
        t.group_by("kind", *keys)
        .agg(pl.len().alias("df"))
        .join(cap_df, on="kind")
        .filter((pl.col("df") >= 2) & (pl.col("df") <= pl.col("cap")) & pl.all_horizontal(pl.col(keys).is_not_null()))
        .drop("cap")
        .sort("kind")
        .with_row_index("tok")  # consecutive within a kind
    )
    sizes = t.group_by("ent", "kind").agg(pl.len().alias("size")).drop_nulls().collect()
    usable = t.join(tok, on=["kind", *keys]).select("tok", "kind", "ent", "df").drop_nulls("ent").collect()
    n = len(names)
    size_of = np.zeros((len(KINDS), n), dtype=np.int64)  # tokens per (kind, entity), capped or not
    size_of[sizes["kind"].to_numpy(), sizes["ent"].to_numpy()] = sizes["size"].to_numpy()
    del sizes
    mats = []
    for k in range(len(KINDS)):
        u = usable.filter(pl.col("kind") == k)
        if u.is_empty():
            continue
        col = u["tok"].to_numpy() - int(u["tok"].min())  # type: ignore[arg-type]
        m = csr_matrix((np.ones(len(col), dtype=np.int32), (u["ent"].to_numpy(), col)), shape=(n, int(col.max()) + 1))
        mats.append((k, m, m.T.tocsr()))  # duplicate rows add up, as in a join of posting lists
    work = np.zeros(n, dtype=np.int64)
    per = usable.group_by("ent").agg(pl.col("df").sum())
    work[per["ent"].to_numpy()] = per["df"].to_numpy()
    del usable, per

    named = pl.DataFrame({"entity_id": names, "ent": pl.Series(range(n), dtype=pl.UInt32)})
    scores = base_scores.select("entity_id", "base_score").join(named, on="entity_id").select("ent", "base_score")
    trig = _triggers(link)
    edges = []
    for lo, hi in _blocks(work, BLOCK_WORK) if mats else []:
        found = []
        for k, m, mt in mats:
            prod = m[lo:hi] @ mt
            prod.sort_indices()  # row-major with sorted columns: the pair keys below come sorted
            c = prod.tocoo()
            a = c.row.astype(np.uint64) + np.uint64(lo)
            b = c.col.astype(np.uint64)
            keep = b > a
            if keep.any():
                found.append((k, a[keep] * np.uint64(n) + b[keep], c.data[keep].astype(np.int64)))
        wide = _wide(found, n, size_of, trig)
        if wide is not None:
            edges.append(_edge_rules(wide, scores, link))
    if not edges:
        return pl.DataFrame(schema=EDGE_SCHEMA)
    out = pl.concat(edges)
    return out.with_columns(names.gather(out["a"]).alias("a"), names.gather(out["b"]).alias("b")).sort("a", "b", "kind")


def _triggers(link: LinkConfig) -> dict[int, int] | None:
    """Per kind, the shared-token count from which a pair may become an edge; a pair below it in every
    kind fails every rule of :func:`_edge_rules` (each needs a shared template (>= ``min_shared_templates``)
    or frame, >= ``TIMING_MIN_SHARED`` timing pairs, or a shared IP range or key), so it is never widened.
    None (every pair may) when the template rule needs no shared template at all."""
    if link.min_shared_templates <= 0 and link.template_jaccard <= 0:
        return None
    need = {"template": max(1, link.min_shared_templates), "frame": 1, "timing": TIMING_MIN_SHARED, "ip": 1, "key": 1}
    return {KINDS.index(k): v for k, v in need.items()}


def _wide(
    found: list[tuple[int, np.ndarray, np.ndarray]], n: int, size_of: np.ndarray, trig: dict[int, int] | None
) -> pl.DataFrame | None:
    """One row per pair (a < b; ``found``: per kind the sorted pair keys ``a * n + b`` with their shared
    counts) that meets a trigger, with ``shared_<kind>`` and ``jaccard_<kind>`` of every kind (0 where they
    share none: the reference's filled nulls). Jaccard = shared / (size_a + size_b - shared), the sizes over
    all the entity's tokens of the kind (capped or not). None when no pair is left."""
    cand = [key if trig is None else key[data >= trig[k]] for k, key, data in found if trig is None or k in trig]
    pair = np.unique(np.concatenate(cand)) if cand else np.zeros(0, dtype=np.uint64)
    if len(pair) == 0:
        return None
    cols: dict[str, Any] = {"a": (pair // np.uint64(n)).astype(np.uint32), "b": (pair % np.uint64(n)).astype(np.uint32)}
    for k, name in enumerate(KINDS):
        shared = np.zeros(len(pair), dtype=np.uint32)
        jaccard = np.zeros(len(pair), dtype=np.float64)
        for kk, key, data in found:
            if kk == k:
                pos = np.minimum(np.searchsorted(key, pair), len(key) - 1)
                hit = key[pos] == pair
                d = data[pos[hit]]
                sa, sb = size_of[k, pair[hit] // np.uint64(n)], size_of[k, pair[hit] % np.uint64(n)]
                shared[hit] = d
                jaccard[hit] = d / (sa + sb - d)
        cols[f"shared_{name}"] = shared
        cols[f"jaccard_{name}"] = jaccard
    return pl.DataFrame(cols)


def _edge_rules(wide: pl.DataFrame, scores: pl.DataFrame, link: LinkConfig) -> pl.DataFrame:
    """The edge rules over one block of pairs (:func:`_wide`; entity codes)."""
    wide = (
        wide.join(scores.rename({"ent": "a", "base_score": "sa"}), on="a", how="left")
        .join(scores.rename({"ent": "b", "base_score": "sb"}), on="b", how="left")
        .with_columns(pl.col("sa").fill_null(0.0), pl.col("sb").fill_null(0.0))
    )
    # Between a suspicious and an unsuspicious entity, template and timing edges need the stronger
    # ``mixed_jaccard``: a weak member of a campaign runs the same script (most of its templates are shared),
    # while an ordinary user shares a few common prompts with an account that mixes chat into its harvest.
    sus_a, sus_b = pl.col("sa") >= link.infra_min_score, pl.col("sb") >= link.infra_min_score
    mixed = sus_a != sus_b
    tj = pl.when(mixed).then(pl.lit(max(link.mixed_jaccard, link.template_jaccard))).otherwise(pl.lit(link.template_jaccard))
    sj = pl.when(mixed).then(pl.lit(max(link.mixed_jaccard, link.sync_jaccard))).otherwise(pl.lit(link.sync_jaccard))
    # A shared swept frame (a template of >= min_frame_words constant words that both entities filled with
    # distinct slot values) links one actor's accounts that each harvest other items, but independent actors
    # may use the same public template: so a frame needs corroboration, either synchronised use (at least
    # ``frame_min_sync`` shared (template, time bucket) pairs, and at least ``frame_sync_jaccard`` of their
    # buckets, so that two busy accounts do not meet by chance) or a shared IP range or key (not a user agent
    # alone: scripts of unrelated actors send the same "python-requests/2.32.3").
    corroborated = ((pl.col("shared_timing") >= link.frame_min_sync) & (pl.col("jaccard_timing") >= link.frame_sync_jaccard)) | (
        (pl.col("shared_ip") + pl.col("shared_key")) >= 1
    )
    template_ok = ((pl.col("shared_template") >= link.min_shared_templates) & (pl.col("jaccard_template") >= tj)) | (
        (pl.col("shared_frame") >= 1) & (pl.col("jaccard_frame") >= tj) & corroborated
    )
    timing_ok = (pl.col("shared_timing") >= TIMING_MIN_SHARED) & (pl.col("jaccard_timing") >= sj)
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
                "a",
                "b",
                pl.lit(kind).alias("kind"),
                weight.cast(pl.Float64).alias("weight"),
                ev.alias("evidence"),
            )
        )
    return pl.concat(edges)


EDGE_SCHEMA = {"a": pl.String(), "b": pl.String(), "kind": pl.String(), "weight": pl.Float64(), "evidence": pl.String()}


def semantic_edges(
    entity_ids: np.ndarray,
    vectors: np.ndarray,
    base_scores: pl.DataFrame,
    link: LinkConfig,
    cluster: ClusterConfig,
    seed: int = 0,
) -> pl.DataFrame:
    """``semantic`` edges: two suspicious entities (base score >= ``infra_min_score`` each) whose embedded
    samples hold at least ``min_semantic_matches`` prompts on each side with a paraphrase on the other side
    (cosine >= ``semantic_cosine``), and those are at least ``min_semantic_share`` of the smaller sample: two
    actors harvesting one public item pool overlap in part, a campaign rewording one item list overlaps in
    most of its traffic. This links a campaign that rewords the same items per account, which
    near-duplicate clusters and frames cannot see.

    Candidate pairs come from random-hyperplane LSH (``semantic_bands`` bands of ``semantic_rows`` bits), never
    all pairs; exact cosines confirm them. A prompt with paraphrases in more than ``common_cluster_accounts``
    entities is common ("write a haiku") and makes no edges. ``entity_ids[i]`` owns ``vectors[i]``
    (L2-normalised)."""
    empty = pl.DataFrame(schema=EDGE_SCHEMA)
    if not link.semantic or len(vectors) == 0:
        return empty
    suspicious = set(base_scores.filter(pl.col("base_score") >= link.infra_min_score)["entity_id"].to_list())
    keep = np.isin(np.asarray(entity_ids, dtype=str), np.array(sorted(suspicious), dtype=str))
    if keep.sum() < 2:
        return empty
    X = np.asarray(vectors, dtype=np.float32)[keep]
    ents = np.asarray(entity_ids, dtype=object)[keep]
    b, r = link.semantic_bands, link.semantic_rows
    planes = np.random.default_rng(seed + 7919).standard_normal((b * r, X.shape[1])).astype(np.float32)
    bits = (X @ planes.T > 0).reshape(len(X), b, r)
    keys = (bits.astype(np.int64) << np.arange(r, dtype=np.int64)).sum(axis=2)  # (rows, bands)
    long = pl.DataFrame(
        {
            "row": np.repeat(np.arange(len(X), dtype=np.int64), b),
            "entity_id": np.repeat(ents.astype(str), b),
            "band": np.tile(np.arange(b, dtype=np.int64), len(X)),
            "key": keys.ravel(),
        }
    )
    # Buckets spanning too many entities are common content: they make no candidates.
    ok = long.group_by("band", "key").agg(pl.col("entity_id").n_unique().alias("ents"))
    ok = ok.filter((pl.col("ents") >= 2) & (pl.col("ents") <= cluster.common_cluster_accounts))
    long = long.join(ok.select("band", "key"), on=["band", "key"])
    cand = (
        long.join(long, on=["band", "key"], suffix="_b")
        .filter((pl.col("row") < pl.col("row_b")) & (pl.col("entity_id") != pl.col("entity_id_b")))
        .select("row", "row_b", "entity_id", "entity_id_b")
        .unique()
    )
    if cand.is_empty():
        return empty
    ia, ib = cand["row"].to_numpy(), cand["row_b"].to_numpy()
    cos = np.empty(len(ia), dtype=np.float32)
    for s0 in range(0, len(ia), 65536):  # bounded memory
        s1 = s0 + 65536
        cos[s0:s1] = np.einsum("ij,ij->i", X[ia[s0:s1]], X[ib[s0:s1]])
    m = cand.with_columns(pl.Series("cos", cos)).filter(pl.col("cos") >= link.semantic_cosine)
    if m.is_empty():
        return empty
    # Orient pairs (a < b) and drop prompts that match too many entities.
    both = pl.concat(
        [
            m.select(pl.col("row").alias("r"), pl.col("entity_id").alias("e"), pl.col("entity_id_b").alias("o")),
            m.select(pl.col("row_b").alias("r"), pl.col("entity_id_b").alias("e"), pl.col("entity_id").alias("o")),
        ]
    )
    common = both.group_by("r").agg(pl.col("o").n_unique().alias("n")).filter(pl.col("n") > cluster.common_cluster_accounts)
    both = both.join(common.select("r"), on="r", how="anti")
    side = both.group_by("e", "o").agg(pl.col("r").n_unique().alias("rows"))
    sizes = pl.DataFrame({"e": ents.astype(str)}).group_by("e").agg(pl.len().alias("sample"))
    pair = (
        side.filter(pl.col("e") < pl.col("o"))
        .join(side.rename({"e": "o", "o": "e", "rows": "rows_b"}), on=["e", "o"])
        .join(sizes, on="e")
        .join(sizes.rename({"e": "o", "sample": "sample_b"}), on="o")
        .with_columns(pl.min_horizontal("rows", "rows_b").alias("shared"))
        .filter(
            (pl.col("shared") >= link.min_semantic_matches)
            & (pl.col("shared") >= link.min_semantic_share * pl.min_horizontal("sample", "sample_b"))
        )
    )
    return pair.select(
        pl.col("e").alias("a"),
        pl.col("o").alias("b"),
        pl.lit("semantic").alias("kind"),
        (pl.col("shared") / pl.min_horizontal("sample", "sample_b")).clip(0.0, 1.0).cast(pl.Float64).alias("weight"),
        pl.format(
            "{} and {} of their embedded prompts are paraphrases of each other's (cosine >= {})",
            pl.col("rows"),
            pl.col("rows_b"),
            pl.lit(link.semantic_cosine),
        ).alias("evidence"),
    ).sort("a", "b")


def form_campaigns(
    edges: pl.DataFrame, base_scores: pl.DataFrame, template_fp: pl.DataFrame, link: LinkConfig
) -> tuple[list[Campaign], dict[str, str]]:
    """Connected components of the edge graph -> campaigns (largest score first) and member -> campaign id.

    ``template_fp``: [entity_id, fingerprint] hashed skeletons per entity (shareable indicators)."""
    if edges.is_empty():
        return [], {}
    ids = sorted(set(edges["a"].to_list()) | set(edges["b"].to_list()))
    index = {e: i for i, e in enumerate(ids)}
    a = np.array([index[x] for x in edges["a"].to_list()])
    b = np.array([index[x] for x in edges["b"].to_list()])
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(len(ids), len(ids)))
    _, labels = connected_components(graph, directed=False)
    score_of = dict(zip(base_scores["entity_id"].to_list(), base_scores["base_score"].to_list(), strict=True))
    comps: dict[int, list[str]] = {}
    for e, lab in zip(ids, labels, strict=True):
        comps.setdefault(int(lab), []).append(e)
    # Edges bucketed by component once (not a scan of every edge per component).
    edges_of: dict[int, list[dict[str, Any]]] = {}
    for r, ia in zip(edges.to_dicts(), a, strict=True):
        edges_of.setdefault(int(labels[ia]), []).append(r)
    fps = template_fp.group_by("entity_id").agg(pl.col("fingerprint")) if not template_fp.is_empty() else None
    fp_of: dict[str, list[str]] = (
        dict(zip(fps["entity_id"].to_list(), fps["fingerprint"].to_list(), strict=True)) if fps is not None else {}
    )
    campaigns: list[Campaign] = []
    membership: dict[str, str] = {}
    for lab, members in comps.items():
        if len(members) < link.min_campaign_size:
            continue
        members = sorted(members)
        member_edges = edges_of.get(lab, [])
        scores = sorted((score_of.get(m, 0.0) for m in members), reverse=True)
        # Campaign score: the members' mean, raised by size (many accounts doing the same thing is itself
        # evidence), capped by the best member plus a margin so benign look-alikes cannot add up to a campaign.
        mean = sum(scores) / len(scores)
        size_boost = 1.0 + 0.1 * math.log2(len(members))
        score = min(1.0, mean * size_boost, scores[0] + 0.25)
        if score < link.campaign_min_score:
            # Users who share popular prompts form linked groups too (and one account that mixes chat into
            # its harvest can join them): such a group of mostly ordinary users is not a campaign.
            continue
        kinds = tuple(sorted({r["kind"] for r in member_edges}))
        cid = "cmp-" + hashlib.sha256("\n".join(members).encode()).hexdigest()[:10]
        shared_fp: set[str] | None = None
        for m in members:
            s = set(fp_of.get(m, []))
            shared_fp = s if shared_fp is None else shared_fp | s
        counts: dict[str, int] = {}
        for r in member_edges:
            counts[r["kind"]] = counts.get(r["kind"], 0) + 1
        evidence = ", ".join(f"{n} {k} edges" for k, n in sorted(counts.items()))
        campaigns.append(
            Campaign(
                campaign_id=cid,
                account_ids=tuple(members),
                score=round(score, 6),
                size=len(members),
                edge_kinds=kinds,
                evidence=f"{len(members)} accounts linked by {evidence}",
                edges=tuple(
                    LinkEdge(
                        a=r["a"],
                        b=r["b"],
                        kind=r["kind"],
                        weight=round(float(r["weight"]), 6),
                        evidence=r["evidence"],
                    )
                    for r in member_edges
                ),
                template_fingerprints=tuple(sorted(shared_fp or ()))[:50],
            )
        )
        for m in members:
            membership[m] = cid
    campaigns.sort(key=lambda c: (-c.score, c.campaign_id))
    return campaigns, membership


def template_fingerprints(frame: pl.DataFrame, min_count: int = 3) -> pl.DataFrame:
    """Per entity, sha256 fingerprints of its recurring skeletons: indicators that can be shared with
    other providers without sharing prompt text."""
    return (
        frame.group_by("entity_id", "skeleton")
        .agg(pl.len().alias("n"))
        .filter(pl.col("n") >= min_count)
        .select(
            "entity_id",
            pl.col("skeleton")
            .map_elements(
                lambda s: "sk:" + hashlib.sha256(s.encode("utf-8", "surrogatepass")).hexdigest()[:16],
                return_dtype=pl.String(),
            )
            .alias("fingerprint"),
        )
    )
