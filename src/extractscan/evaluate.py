"""Measure a scan against labels (``labels.csv`` from ``extractscan synth``: account_id, kind, campaign_id
and, for diluted accounts, extraction_share).

Positive kinds are the extraction kinds (extractor, hydra, diluted, paraphrase); negatives are benign_chat,
benign_app and benchmark_runner. Reported: AUROC and average precision of the score, TPR and FPR of
``flagged``, recall (flag rate) per labelled kind, campaign-linking recall and purity, and optionally
queries-until-flagged (re-scans of growing time prefixes of the store).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from scipy.stats import rankdata

POSITIVE_KINDS = ("extractor", "hydra", "diluted", "paraphrase")
NEGATIVE_KINDS = ("benign_chat", "benign_app", "benchmark_runner")


@dataclass(frozen=True)
class KindStats:
    kind: str
    accounts: int
    flagged: int
    rate: float
    mean_score: float


@dataclass(frozen=True)
class Evaluation:
    accounts: int
    positives: int
    negatives: int
    unscored_labelled: int  # labelled accounts absent from the scan
    auroc: float | None
    average_precision: float | None
    tpr: float | None
    fpr: float | None
    per_kind: list[KindStats]
    diluted_min_share: float
    diluted_recall_at_min_share: float | None
    campaign_recall: float | None  # share of labelled campaign members inside their best-matching campaign
    campaign_purity: float | None  # share of those predicted campaigns' members that belong to the label
    campaign_recall_by_kind: dict[str, float] = field(default_factory=dict)  # hydra / paraphrase campaigns
    campaigns: list[dict[str, Any]] = field(default_factory=list)
    all_positives_above_all_negatives: bool = False
    queries_until_flagged: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def auroc(y: np.ndarray, s: np.ndarray) -> float | None:
    """Mann–Whitney AUROC with ties counted half."""
    pos, neg = int((y == 1).sum()), int((y == 0).sum())
    if pos == 0 or neg == 0:
        return None
    ranks = rankdata(s)  # average ranks over ties
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))


def average_precision(y: np.ndarray, s: np.ndarray) -> float | None:
    if y.sum() == 0:
        return None
    order = np.lexsort((np.arange(len(s)), -s))
    yy = y[order]
    tp = np.cumsum(yy)
    precision = tp / np.arange(1, len(yy) + 1)
    return float((precision * yy).sum() / yy.sum())


def load_labels(path: Path) -> pl.DataFrame:
    df = pl.read_csv(path, infer_schema_length=0)  # all strings; ids must not become numbers
    if "extraction_share" in df.columns:
        df = df.with_columns(pl.col("extraction_share").cast(pl.Float64, strict=False))
    else:
        df = df.with_columns(pl.lit(None, dtype=pl.Float64()).alias("extraction_share"))
    if "campaign_id" not in df.columns:
        df = df.with_columns(pl.lit(None, dtype=pl.String()).alias("campaign_id"))
    return df.with_columns(pl.when(pl.col("campaign_id") == "").then(None).otherwise(pl.col("campaign_id")).alias("campaign_id"))


def evaluate(accounts: pl.DataFrame, labels: pl.DataFrame, *, diluted_min_share: float = 0.10) -> Evaluation:
    """``accounts``: the scan's accounts table (account_id, score, flagged, campaign_id)."""
    joined = labels.join(
        accounts.select("account_id", "score", "flagged", pl.col("campaign_id").alias("pred_campaign")),
        on="account_id",
        how="left",
    )
    unscored = int(joined["score"].null_count())
    joined = joined.with_columns(
        pl.col("score").fill_null(0.0),
        pl.col("flagged").fill_null(False),
        pl.col("kind").is_in(list(POSITIVE_KINDS)).cast(pl.Int8).alias("y"),
    ).filter(pl.col("kind").is_in(list(POSITIVE_KINDS + NEGATIVE_KINDS)))
    y = joined["y"].to_numpy()
    s = joined["score"].to_numpy().astype(float)
    f = joined["flagged"].to_numpy().astype(bool)
    pos, neg = int(y.sum()), int((1 - y).sum())
    per_kind = []
    for kind in POSITIVE_KINDS + NEGATIVE_KINDS:
        k = joined.filter(pl.col("kind") == kind)
        if k.height:
            n_flag = int(k["flagged"].sum())
            per_kind.append(KindStats(kind, k.height, n_flag, n_flag / k.height, float(k["score"].mean())))  # type: ignore[arg-type]
    dil = joined.filter((pl.col("kind") == "diluted") & (pl.col("extraction_share").fill_null(1.0) >= diluted_min_share))
    camp_recall, camp_purity, camp_rows = _campaign_metrics(joined)
    by_kind: dict[str, list[int]] = {}
    for row in camp_rows:
        tot = by_kind.setdefault(row["kind"], [0, 0])
        tot[0] += row["matched"]
        tot[1] += row["members"]
    above = bool(pos and neg and s[y == 1].min() > s[y == 0].max())
    return Evaluation(
        accounts=joined.height,
        positives=pos,
        negatives=neg,
        unscored_labelled=unscored,
        auroc=auroc(y, s),
        average_precision=average_precision(y, s),
        tpr=float(f[y == 1].mean()) if pos else None,
        fpr=float(f[y == 0].mean()) if neg else None,
        per_kind=per_kind,
        diluted_min_share=diluted_min_share,
        diluted_recall_at_min_share=float(dil["flagged"].mean()) if dil.height else None,  # type: ignore[arg-type]
        campaign_recall=camp_recall,
        campaign_purity=camp_purity,
        campaigns=camp_rows,
        campaign_recall_by_kind={k: v[0] / v[1] for k, v in sorted(by_kind.items()) if v[1]},
        all_positives_above_all_negatives=above,
    )


def _campaign_metrics(joined: pl.DataFrame) -> tuple[float | None, float | None, list[dict[str, Any]]]:
    labelled = joined.filter(pl.col("campaign_id").is_not_null())
    if labelled.is_empty():
        return None, None, []
    pred_sizes = dict(joined.filter(pl.col("pred_campaign").is_not_null()).group_by("pred_campaign").agg(pl.len()).iter_rows())
    rows, hit, total, pure_num, pure_den = [], 0, 0, 0, 0
    for cid in sorted(labelled["campaign_id"].unique().to_list()):
        members = labelled.filter(pl.col("campaign_id") == cid)
        counts = members.filter(pl.col("pred_campaign").is_not_null()).group_by("pred_campaign").agg(pl.len().alias("n"))
        best, n_best = None, 0
        if counts.height:
            top = counts.sort(["n", "pred_campaign"], descending=[True, False]).row(0)
            best, n_best = top[0], int(top[1])
        size_pred = int(pred_sizes.get(best, 0)) if best else 0
        rows.append(
            {
                "campaign_id": cid,
                "kind": str(members["kind"].mode().sort()[0]),
                "members": members.height,
                "best_match": best,
                "matched": n_best,
                "predicted_size": size_pred,
            }
        )
        hit += n_best
        total += members.height
        if best:
            pure_num += n_best
            pure_den += size_pred
    return hit / total, (pure_num / pure_den if pure_den else None), rows


@dataclass(frozen=True)
class QueriesUntilFlagged:
    """How much traffic an extraction account sends before a scan flags it, measured by re-scanning growing
    time prefixes of the store (``steps`` cutoffs evenly spaced over its time range; the last is the whole
    store). ``per_kind[kind]``: accounts, flagged at some cutoff, and the median / max number of the account's
    requests in the first prefix where it was flagged."""

    steps: int
    cutoffs: list[str]
    per_kind: dict[str, dict[str, Any]]
    accounts: list[dict[str, Any]]  # account_id, kind, requests_at_first_flag (None: never), step


def queries_until_flagged(store_dir: str | Path, labels: pl.DataFrame, cfg: Any, *, steps: int = 6) -> QueriesUntilFlagged:
    """Re-scan ``store_dir`` with ``until`` at ``steps`` cutoffs and record, for every labelled extraction
    account, its request count in the first prefix whose scan flags it. The population grows with the prefix
    as it would in nightly scans of a growing log."""
    from datetime import UTC, datetime

    from extractscan.api import scan_store
    from extractscan.store import Store

    times = Store(Path(store_dir)).scan().select("event_time")
    span = times.select(pl.col("event_time").min().alias("lo"), pl.col("event_time").max().alias("hi")).collect()
    lo, hi = span["lo"][0], span["hi"][0]
    pos = labels.filter(pl.col("kind").is_in(list(POSITIVE_KINDS)))
    first: dict[str, tuple[int, int]] = {}
    cutoffs: list[str] = []
    if lo is not None and hi is not None and steps >= 1:
        t0, t1 = lo.replace(tzinfo=UTC).timestamp(), hi.replace(tzinfo=UTC).timestamp() + 1.0
        for i in range(1, steps + 1):
            cut = datetime.fromtimestamp(t0 + (t1 - t0) * i / steps, tz=UTC)
            cutoffs.append(cut.isoformat(timespec="seconds"))
            result = scan_store(store_dir, cfg, until=cut)
            for a in result.accounts:
                if a.flagged and a.entity_id not in first:
                    first[a.entity_id] = (a.n_requests, i)
    rows = [
        {
            "account_id": aid,
            "kind": kind,
            "requests_at_first_flag": first[aid][0] if aid in first else None,
            "step": first[aid][1] if aid in first else None,
        }
        for aid, kind in zip(pos["account_id"].to_list(), pos["kind"].to_list(), strict=True)
    ]
    per_kind: dict[str, dict[str, Any]] = {}
    for kind in POSITIVE_KINDS:
        ks = [r for r in rows if r["kind"] == kind]
        if not ks:
            continue
        got = sorted(int(r["requests_at_first_flag"]) for r in ks if r["requests_at_first_flag"] is not None)
        per_kind[kind] = {
            "accounts": len(ks),
            "flagged": len(got),
            "median_requests": float(np.median(got)) if got else None,
            "max_requests": got[-1] if got else None,
        }
    rows.sort(key=lambda r: r["account_id"])
    return QueriesUntilFlagged(steps=steps, cutoffs=cutoffs, per_kind=per_kind, accounts=rows)
