"""One scan: store -> partitions -> frame -> detectors -> scores -> campaigns -> ScanResult.

Per partition of entities (by id hash) the scan builds the frame, embeds the budgeted sample and runs every
detector's ``features``; it keeps only small per-entity tables. The cross-entity step then clusters the
per-entity template representatives across entities, scores every detector over the population, combines
scores, links campaigns and ranks. Memory is bounded by one partition plus the per-entity tables.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import polars as pl

from extractscan import __version__
from extractscan.campaigns import (
    EDGE_SCHEMA,
    build_edges,
    form_campaigns,
    link_tokens,
    partition_link_parts,
    semantic_edges,
    template_fingerprints,
)
from extractscan.config import Config
from extractscan.detectors.base import Detector, EmbeddingSet, ScanContext, result_frame
from extractscan.detectors.registry import enabled_detectors, weight_of
from extractscan.findings import RESULT_VERSION, AccountFinding, DetectorResult, ScanResult, ScanStats
from extractscan.prepare import (
    ENTITY_COLUMNS,
    SPLIT_MIN_PARTITIONS,
    FrameStats,
    PartitionFiles,
    build_frame,
    load_requests,
    split_requests,
)
from extractscan.scoring import clamp01, combine, contributions, explain, lifted, severity

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class _Timer:
    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, stage: str, t0: float) -> float:
        now = time.perf_counter()
        self.seconds[stage] = self.seconds.get(stage, 0.0) + (now - t0)
        return now


def _epoch(v: str | datetime | None) -> float | None:
    if v is None:
        return None
    if isinstance(v, str):
        v = datetime.fromisoformat(v)
    if v.tzinfo is None:
        v = v.replace(tzinfo=UTC)
    return v.timestamp()


def scan_frame_source(
    lf: pl.LazyFrame,
    cfg: Config,
    *,
    entity: str = "account",
    since: Any = None,
    until: Any = None,
    progress: Progress | None = None,
    manifest: list[dict[str, Any]] | None = None,
    embed_cache_dir: Any = None,
    work_dir: Any = None,
) -> ScanResult:
    """Scan the requests of a LazyFrame in the canonical schema (normally ``Store.scan()``).

    With many partitions the requests are first split into per-partition files in a temporary folder
    under ``work_dir`` (the system's temporary folder when None), deleted when the scan ends.
    """
    timer = _Timer()
    t0 = time.perf_counter()
    s_since, s_until = _epoch(since), _epoch(until)
    ecol = ENTITY_COLUMNS[entity]
    # Counts over the scanned window only (the store may hold much more than --since/--until select).
    in_window = lf
    if s_since is not None:
        in_window = in_window.filter(pl.col("event_time").dt.epoch("us") >= int(s_since * 1e6))
    if s_until is not None:
        in_window = in_window.filter(pl.col("event_time").dt.epoch("us") < int(s_until * 1e6))
    counts = in_window.select(pl.len().alias("n"), pl.col(ecol).null_count().alias("nulls")).collect()
    total_rows = int(counts["n"][0])
    unattributed = int(counts["nulls"][0])
    want_embed = cfg.embed.enabled
    detectors = enabled_detectors(cfg, skip=frozenset() if want_embed else frozenset({"embeddings"}))
    need_embed = want_embed and any("embeddings" in d.requires or d.exemplars for d in detectors)
    # The partitioning depends on the configuration only, never on the cores: scores do not depend on it,
    # but partition-local ids in the evidence (near-duplicate cluster ids) do. W workers hold W partitions.
    n_parts = max(1, math.ceil(total_rows / max(1, cfg.partition_rows)))
    workers = min(plan_scan_workers(cfg, total_rows, need_embed), n_parts)
    embedder = cache = None
    reference = np.zeros((0, 384), dtype=np.float32)
    exemplar_vectors: dict[str, np.ndarray] = {}
    embedded = cache_hits = 0
    if need_embed:
        from extractscan.cluster.embed import Embedder, EmbeddingCache

        embedder = Embedder(cfg.embed, progress=progress)
        cache = EmbeddingCache(embed_cache_dir) if embed_cache_dir is not None else None
        ref_texts = _reference_texts(lf, cfg, entity, s_since, s_until)
        # One budget for the whole scan: the reference counts against max_texts and each partition gets the
        # rest in proportion to its requests (a per-partition cap would multiply with the partition count).
        account_budget = max(0, cfg.embed.max_texts - len(ref_texts))
        reference, hits = _encode(ref_texts, embedder, cache)
        embedded += len(ref_texts) - hits  # cached vectors are counted as hits, not as embedded
        cache_hits += hits
        for d in detectors:
            if d.exemplars:
                exemplar_vectors[d.id], _ = _encode(list(d.exemplars), embedder, None)
    t0 = timer.add("load", t0)

    base_ctx = ScanContext(config=cfg, n_entities=0)
    feats: dict[str, list[pl.DataFrame]] = {d.id: [] for d in detectors}
    ent_parts, clus_parts, buck_parts, infra_parts, fp_parts = [], [], [], [], []
    sem_entities: list[np.ndarray] = []  # per partition: owner of each embedded vector (semantic links)
    sem_vectors: list[np.ndarray] = []
    lsh_c = lsh_k = 0
    window = [math.inf, -math.inf]

    def keep(out: PartitionOutput) -> None:
        nonlocal lsh_c, lsh_k
        for d_id, f in out.features.items():
            feats[d_id].append(f)
        ent_parts.append(out.entities)
        clus_parts.append(out.clusters)
        buck_parts.append(out.buckets)
        infra_parts.append(out.infra)
        fp_parts.append(out.fingerprints)
        lsh_c += out.lsh_candidates
        lsh_k += out.lsh_confirmed
        if out.window is not None:
            window[0] = min(window[0], out.window[0])
            window[1] = max(window[1], out.window[1])

    # With many partitions, one pass over the source writes each partition's rows to its own file: reading
    # partition by partition from the source decodes the store's hash column once per partition (quadratic
    # in the log). With few partitions, or without a writable temporary folder (split is None), the source
    # is read per partition.
    split = None
    try:
        if workers > 1:
            split = split_requests(lf, entity=entity, since=s_since, until=s_until, n_partitions=n_parts, work_dir=work_dir)
            t0 = timer.add("load", t0)
            jobs = [
                _PartitionJob(cfg, entity, p, n_parts, split, None if split is not None else lf, s_since, s_until)
                for p in range(n_parts)
            ]
            for p, out in enumerate(_run_parallel(jobs, workers)):
                if out is not None:  # None: no entity of the window hashes to this partition
                    for stage, sec in out.seconds.items():  # summed over the workers: busy time, not wall
                        timer.seconds[stage] = timer.seconds.get(stage, 0.0) + sec
                    keep(out)
                if progress:
                    progress("partitions", p + 1, n_parts)
            t0 = time.perf_counter()
        else:
            if n_parts >= SPLIT_MIN_PARTITIONS:
                split = split_requests(lf, entity=entity, since=s_since, until=s_until, n_partitions=n_parts, work_dir=work_dir)
                t0 = timer.add("load", t0)
            for p in range(n_parts):
                if split is not None:
                    requests = load_requests(split.scan(p), entity=entity)
                else:
                    requests = load_requests(lf, entity=entity, since=s_since, until=s_until, partition=p, n_partitions=n_parts)
                t0 = timer.add("load", t0)
                if not requests.is_empty():
                    frame, fstats = build_frame(requests, cfg)
                    _frame_seconds(timer.seconds, fstats)
                    t0 = timer.add("cluster", t0)
                    emb = None
                    if need_embed and embedder is not None:
                        share = requests.height / max(1, total_rows - unattributed)
                        frame, vectors, hits, n_new = _embed_partition(frame, cfg, embedder, cache, int(account_budget * share))
                        embedded += n_new
                        cache_hits += hits
                        emb = EmbeddingSet(vectors=vectors, reference=reference, exemplar_vectors=exemplar_vectors)
                        owners = frame.filter(pl.col("embedding_row").is_not_null()).sort("embedding_row")["entity_id"]
                        sem_entities.append(owners.to_numpy().astype(object))
                        sem_vectors.append(vectors)
                        t0 = timer.add("embed", t0)
                    out = partition_outputs(frame, cfg, detectors, base_ctx.with_embeddings(emb), timer.seconds, fstats)
                    del frame
                    keep(out)
                    t0 = time.perf_counter()
                if progress:
                    progress("partitions", p + 1, n_parts)
    finally:
        if split is not None:
            split.cleanup()

    entities = (
        pl.concat(ent_parts)
        if ent_parts
        else pl.DataFrame(
            schema={
                "entity_id": pl.String(),
                "n_requests": pl.UInt32(),
                "first_seen": pl.Float64(),
                "last_seen": pl.Float64(),
            }
        )
    )
    win = (window[0], window[1]) if window[0] <= window[1] else (None, None)
    ctx = ScanContext(
        config=cfg,
        window_start=win[0],
        window_end=win[1],
        n_entities=entities.height,
        embeddings=EmbeddingSet(
            vectors=np.zeros((0, reference.shape[1] if reference.ndim == 2 else 384), np.float32),
            reference=reference,
            exemplar_vectors=exemplar_vectors,
        )
        if need_embed
        else None,
    )

    # Cross-entity scoring of every detector over the population.
    long_parts = []
    results: dict[str, pl.DataFrame] = {}
    for d in detectors:
        f = (
            pl.concat(feats[d.id], how="diagonal_relaxed")
            if feats[d.id]
            else pl.DataFrame({"entity_id": []}, schema={"entity_id": pl.String()})
        )
        r = result_frame(d.score(f, ctx))
        results[d.id] = r
        long_parts.append(r.select("entity_id", pl.lit(d.id).alias("detector_id"), "score", "confidence"))
    t0 = timer.add("detect", t0)
    weights = {d.id: weight_of(type(d), cfg) for d in detectors}
    long = (
        pl.concat(long_parts)
        if long_parts
        else pl.DataFrame(
            schema={
                "entity_id": pl.String(),
                "detector_id": pl.String(),
                "score": pl.Float64(),
                "confidence": pl.Float64(),
            }
        )
    )
    combined = combine(long, weights, cfg.scoring)
    contrib = contributions(long, combined, weights, cfg.scoring)
    t0 = timer.add("score", t0)

    if progress:
        progress("scoring", 1, 1)
    # Campaign linking.
    campaigns: list = []
    membership: dict[str, str] = {}
    if cfg.link.enabled and clus_parts:
        clusters = pl.concat(clus_parts)
        clusters_global = _global_clusters(clusters, cfg)
        tokens = link_tokens(clusters_global, pl.concat(buck_parts), pl.concat(infra_parts))
        edges = build_edges(tokens, combined.select("entity_id", "base_score"), cfg.link, cfg.cluster)
        if sem_vectors:
            sem = semantic_edges(
                np.concatenate(sem_entities),
                np.concatenate(sem_vectors),
                combined.select("entity_id", "base_score"),
                cfg.link,
                cfg.cluster,
                seed=cfg.seed,
            )
            edges = pl.concat([edges.cast(EDGE_SCHEMA), sem.cast(EDGE_SCHEMA)]).sort("a", "b", "kind")  # type: ignore[arg-type]
        campaigns, membership = form_campaigns(edges, combined.select("entity_id", "base_score"), pl.concat(fp_parts), cfg.link)
    t0 = timer.add("link", t0)

    accounts = _findings(entities, combined, contrib, results, detectors, weights, campaigns, membership, cfg)
    timer.add("score", t0)
    detectors_meta = tuple({"id": d.id, "name": d.name, "summary": d.summary} for d in detectors)
    return ScanResult(
        version=RESULT_VERSION,
        tool_version=__version__,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        entity=entity,
        window=win,
        alert_threshold=cfg.scoring.alert_threshold,
        config=cfg.to_dict(),
        manifest=manifest or [],
        stats=ScanStats(
            requests=total_rows - unattributed,
            entities=entities.height,
            unattributed_requests=unattributed,
            partitions=n_parts,
            workers=workers,
            lsh_candidates=lsh_c,
            lsh_confirmed=lsh_k,
            embedded_texts=embedded,
            embedding_cache_hits=cache_hits,
            stage_seconds={k: round(v, 3) for k, v in timer.seconds.items()},
        ),
        accounts=tuple(accounts),
        campaigns=tuple(campaigns),
        detectors=detectors_meta,
    )


# --------------------------------------------------------------------------------------------------
# One partition, in-process or in a worker process


@dataclass
class PartitionOutput:
    """What the scan keeps of one partition: per-detector features and the linking parts (small,
    per-entity tables with their own buffers, see :func:`_detach`)."""

    features: dict[str, pl.DataFrame]
    entities: pl.DataFrame
    clusters: pl.DataFrame
    buckets: pl.DataFrame
    infra: pl.DataFrame
    fingerprints: pl.DataFrame
    window: tuple[float, float] | None
    lsh_candidates: int
    lsh_confirmed: int
    seconds: dict[str, float] = field(default_factory=dict)  # stage seconds inside this partition (workers)


def partition_outputs(
    frame: pl.DataFrame,
    cfg: Config,
    detectors: list[Detector],
    ctx: ScanContext,
    seconds: dict[str, float],
    fstats: FrameStats,
) -> PartitionOutput:
    """Detector features, entity spans and linking parts of one partition's frame; adds the detect / link
    seconds to ``seconds``."""
    t0 = time.perf_counter()
    features = {d.id: _detach(d.features(frame, ctx)) for d in detectors}
    t1 = time.perf_counter()
    seconds["detect"] = seconds.get("detect", 0.0) + (t1 - t0)
    ts = frame["ts"].drop_nulls()
    window = (float(ts.min()), float(ts.max())) if len(ts) else None  # type: ignore[arg-type]
    entities = frame.group_by("entity_id").agg(
        pl.len().alias("n_requests"),
        pl.col("ts").min().alias("first_seen"),
        pl.col("ts").max().alias("last_seen"),
    )
    c, b, i = partition_link_parts(frame, cfg.link, cfg.cluster)
    out = PartitionOutput(
        features=features,
        entities=_detach(entities),
        clusters=_detach(c),
        buckets=_detach(b),
        infra=_detach(i),
        fingerprints=_detach(template_fingerprints(frame)),
        window=window,
        lsh_candidates=fstats.lsh_candidates,
        lsh_confirmed=fstats.lsh_confirmed,
    )
    seconds["link"] = seconds.get("link", 0.0) + (time.perf_counter() - t1)
    return out


def _frame_seconds(seconds: dict[str, float], fstats: FrameStats) -> None:
    """The cluster stage's parts (normalise, MinHash, LSH), summed over partitions."""
    for key, v in (
        ("cluster.normalize", fstats.seconds_normalize),
        ("cluster.minhash", fstats.seconds_minhash),
        ("cluster.lsh", fstats.seconds_lsh),
    ):
        seconds[key] = seconds.get(key, 0.0) + v


_PARALLEL_MIN_ROWS = 100_000  # smaller scans stay in one process (starting a worker costs ~2 s)


def plan_scan_workers(cfg: Config, total_rows: int, need_embed: bool) -> int:
    """Worker processes for the partition loop: ``scan_workers`` (0: one per available core, at most 8),
    1 when embeddings are computed (the model and its cache live in this process, and the model already
    uses every core) or when the scan is small."""
    from extractscan.ingest.pipeline import available_cores

    n = int(cfg.scan_workers) if cfg.scan_workers > 0 else min(available_cores(), 8)
    if n <= 1 or need_embed or total_rows < _PARALLEL_MIN_ROWS:
        return 1
    return n


@dataclass
class _PartitionJob:
    cfg: Config
    entity: str
    partition: int
    n_partitions: int
    split: PartitionFiles | None  # the partition's own file, or
    source: pl.LazyFrame | None  # ... the whole source with a pushed-down partition filter
    since: float | None
    until: float | None


def _partition_job(job: _PartitionJob) -> PartitionOutput | None:
    """One partition in a worker process (embeddings off): load, frame, features, linking parts."""
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    if job.split is not None:
        requests = job.split.load(job.partition)
    else:
        assert job.source is not None
        requests = load_requests(
            job.source,
            entity=job.entity,
            since=job.since,
            until=job.until,
            partition=job.partition,
            n_partitions=job.n_partitions,
        )
    t1 = time.perf_counter()
    seconds["load"] = t1 - t0
    if requests.is_empty():
        return None
    detectors = enabled_detectors(job.cfg, skip=frozenset({"embeddings"}))
    frame, fstats = build_frame(requests, job.cfg)
    del requests
    seconds["cluster"] = time.perf_counter() - t1
    _frame_seconds(seconds, fstats)
    out = partition_outputs(frame, job.cfg, detectors, ScanContext(config=job.cfg, n_entities=0), seconds, fstats)
    out.seconds = seconds
    return out


def _run_parallel(jobs: list[_PartitionJob], workers: int) -> Iterator[PartitionOutput | None]:
    """Partition outputs in partition order (as the in-process loop yields them; None for an empty
    partition), computed by a pool of spawned processes (fork would copy polars' thread pool state)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=multiprocessing.get_context("spawn"))
    try:
        futures = [pool.submit(_partition_job, job) for job in jobs]
        for fut in futures:
            yield fut.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _detach(df: pl.DataFrame) -> pl.DataFrame:
    """A copy of ``df`` with its own buffers. Polars string columns are views into their source's buffers:
    a small per-entity table derived from a partition's frame (an entity id, a representative text, an
    example prompt) would otherwise keep that whole partition's text alive after the frame is dropped, and
    the scan's memory would grow with every partition instead of staying flat."""
    out = pl.from_arrow(df.to_arrow())
    assert isinstance(out, pl.DataFrame)
    return out


def _global_clusters(clusters: pl.DataFrame, cfg: Config) -> pl.DataFrame:
    """Cross-entity clusters of the per-entity cluster representatives (small: one text per recurring
    cluster per entity)."""
    from extractscan.cluster.minhash import cluster_texts

    if clusters.is_empty():
        return clusters.select("entity_id", "cluster_id", pl.lit(None, dtype=pl.Int64()).alias("global_cluster_id"))
    reps = clusters.sort("entity_id", "cluster_id").with_row_index("row_id")
    out, _ = cluster_texts(reps.select("row_id", "entity_id", pl.col("rep_text").alias("text_norm")), cfg.cluster)
    return reps.join(out.select("row_id", "global_cluster_id"), on="row_id").select(
        "entity_id", "cluster_id", "global_cluster_id"
    )


def _reference_texts(lf: pl.LazyFrame, cfg: Config, entity: str, since: float | None, until: float | None) -> list[str]:
    """A deterministic population sample (by hash of the record id) used as the benign reference."""
    ecol = ENTITY_COLUMNS[entity]
    q = lf.filter(pl.col(ecol).is_not_null() & pl.col("last_user_text").is_not_null())
    if since is not None:
        q = q.filter(pl.col("event_time").dt.epoch("us") >= int(since * 1e6))
    if until is not None:
        q = q.filter(pl.col("event_time").dt.epoch("us") < int(until * 1e6))
    # Ids first, then the few texts: selecting the texts up front would read every prompt of the store.
    ids = (
        q.select("record_id")
        .with_columns(pl.col("record_id").hash(seed=cfg.seed + 101).alias("_h"))
        .bottom_k(cfg.embed.reference_sample, by="_h")
        .collect()
    )
    texts = (
        q.filter(pl.col("record_id").is_in(ids["record_id"].implode()))
        .group_by("record_id")
        .agg(pl.col("last_user_text").min())  # one text per id, deterministically
        .collect()
    )
    ref = ids.join(texts, on="record_id", how="inner").sort("_h", "record_id")
    return ref["last_user_text"].to_list()


def _encode(texts: list[str], embedder: Any, cache: Any) -> tuple[np.ndarray, int]:
    if not texts:
        return np.zeros((0, 384), dtype=np.float32), 0
    if cache is not None:
        vecs = cache.get_or_compute(texts, embedder)
        return np.asarray(vecs, dtype=np.float32), int(cache.last.hits if cache.last else 0)
    return np.asarray(embedder.encode(texts), dtype=np.float32), 0


def _embed_partition(
    frame: pl.DataFrame, cfg: Config, embedder: Any, cache: Any, budget: int
) -> tuple[pl.DataFrame, np.ndarray, int, int]:
    from extractscan.cluster.embed import embedding_plan

    # The population reference is sampled once for the whole scan, so only the per-account part of the
    # budget is planned here: at most ``budget`` texts for this partition.
    plan_cfg = dataclasses.replace(cfg.embed, max_texts=budget, reference_sample=0)
    plan = embedding_plan(frame.select("row_id", "entity_id", "cluster_id", "text"), plan_cfg, seed=cfg.seed)
    chosen_ids = plan.filter(pl.col("for_account"))["row_id"].cast(frame.schema["row_id"])
    sel = frame.filter(pl.col("row_id").is_in(chosen_ids.implode())).sort("row_id")
    texts = sel["text"].to_list()
    vectors, hits = _encode(texts, embedder, cache)
    mapping = sel.select("row_id").with_row_index("embedding_row").with_columns(pl.col("embedding_row").cast(pl.Int32))
    frame = frame.drop("embedding_row").join(mapping, on="row_id", how="left")
    return frame, vectors, hits, len(texts) - hits


def _findings(
    entities: pl.DataFrame,
    combined: pl.DataFrame,
    contrib: pl.DataFrame,
    results: dict[str, pl.DataFrame],
    detectors: list[Detector],
    weights: dict[str, float],
    campaigns: list,
    membership: dict[str, str],
    cfg: Config,
) -> list[AccountFinding]:
    """Assemble typed findings (a loop over entities, not requests) and rank them."""
    camp_score = {c.campaign_id: c.score for c in campaigns}
    base = {r["entity_id"]: r for r in combined.to_dicts()}
    contrib_of: dict[tuple[str, str], float] = {(r["entity_id"], r["detector_id"]): r["contribution"] for r in contrib.to_dicts()}
    det_rows: dict[str, dict[str, dict[str, Any]]] = {}
    for d in detectors:
        for r in results[d.id].to_dicts():
            det_rows.setdefault(r["entity_id"], {})[d.id] = r
    provisional = []
    for e in entities.sort("entity_id").to_dicts():
        eid = e["entity_id"]
        b = base.get(eid, {})
        base_score = clamp01(float(b.get("base_score", 0.0) or 0.0))
        cid = membership.get(eid)
        # Only a campaign that is itself suspicious lifts its members: two benign runners of the same public
        # benchmark share templates too.
        lift = cid is not None and camp_score[cid] >= cfg.scoring.alert_threshold
        score = lifted(base_score, camp_score[cid], cfg.link.member_lift) if lift and cid else base_score
        enough = e["n_requests"] >= cfg.scoring.min_requests or cid is not None
        flagged = bool(score >= cfg.scoring.alert_threshold and enough)
        drs = []
        parts = []
        for d in detectors:
            found = det_rows.get(eid, {}).get(d.id)
            if found is None:
                continue
            r = found
            c = float(contrib_of.get((eid, d.id), 0.0) or 0.0)
            drs.append(
                DetectorResult(
                    detector_id=d.id,
                    name=d.name,
                    value=None if r["value"] is None else round(float(r["value"]), 6),
                    score=round(float(r["score"]), 6),
                    confidence=round(float(r["confidence"]), 6),
                    weight=weights[d.id],
                    contribution=round(c, 6),
                    summary=r["summary"] or "",
                    request_ids=tuple(r["request_ids"] or ()),
                    cluster_ids=tuple(r["cluster_ids"] or ()),
                    examples=tuple(r["examples"] or ()),
                )
            )
            parts.append((d.name, c, r["summary"] or ""))
        provisional.append(
            dict(
                entity_id=eid,
                score=round(score, 6),
                severity=severity(score),
                confidence=round(clamp01(float(b.get("confidence", 0.0) or 0.0)), 6),
                flagged=flagged,
                reasons=explain(score, flagged, parts, cid),
                n_requests=int(e["n_requests"]),
                first_seen=e["first_seen"],
                last_seen=e["last_seen"],
                campaign_id=cid,
                base_score=round(base_score, 6),
                detectors=tuple(drs),
            )
        )
    provisional.sort(key=lambda a: (-a["score"], -a["n_requests"], a["entity_id"]))
    return [AccountFinding(rank=i + 1, **a) for i, a in enumerate(provisional)]
