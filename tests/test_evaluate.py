"""evaluate.py: metrics against labels, and queries-until-flagged over growing time prefixes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from extractscan import api
from extractscan.config import Config
from extractscan.evaluate import auroc, average_precision, evaluate, queries_until_flagged

SAMPLE = Path(__file__).resolve().parents[1] / "sample_logs"


def test_auroc_and_average_precision() -> None:
    y = np.array([1, 1, 0, 0])
    assert auroc(y, np.array([0.9, 0.8, 0.2, 0.1])) == 1.0
    assert auroc(y, np.array([0.1, 0.2, 0.8, 0.9])) == 0.0
    assert auroc(y, np.array([0.5, 0.5, 0.5, 0.5])) == 0.5  # ties count half
    assert average_precision(y, np.array([0.9, 0.1, 0.8, 0.2])) == pytest.approx((1 + 2 / 4) / 2)
    assert auroc(np.array([1, 1]), np.array([0.1, 0.2])) is None


def test_evaluate_per_kind_campaigns_and_diluted() -> None:
    labels = pl.DataFrame(
        {
            "account_id": ["e1", "h1", "h2", "h3", "d1", "d2", "b1", "b2"],
            "kind": ["extractor", "hydra", "hydra", "hydra", "diluted", "diluted", "benign_chat", "benign_app"],
            "campaign_id": [None, "c1", "c1", "c1", None, None, None, None],
            "extraction_share": [None, None, None, None, 0.3, 0.05, None, None],
        }
    )
    acc = pl.DataFrame(
        {
            "account_id": ["e1", "h1", "h2", "h3", "d1", "d2", "b1", "b2"],
            "score": [0.99, 0.9, 0.9, 0.4, 0.7, 0.1, 0.2, 0.6],
            "flagged": [True, True, True, False, True, False, False, True],
            "campaign_id": [None, "X", "X", None, None, None, None, "X"],
        }
    )
    ev = evaluate(acc, labels)
    assert ev.positives == 6 and ev.negatives == 2
    assert ev.tpr == pytest.approx(4 / 6) and ev.fpr == pytest.approx(0.5)
    assert ev.diluted_recall_at_min_share == 1.0  # d2 is below the 10% share
    assert ev.campaign_recall == pytest.approx(2 / 3)
    assert ev.campaign_purity == pytest.approx(2 / 3)  # b2 is in the predicted campaign too
    assert ev.campaign_recall_by_kind == {"hydra": pytest.approx(2 / 3)}
    assert ev.campaigns[0]["kind"] == "hydra"
    assert not ev.all_positives_above_all_negatives


@pytest.mark.slow
def test_queries_until_flagged_on_sample_logs(tmp_path: Path) -> None:
    cfg = Config()
    cfg = cfg.replace(embed=dataclasses.replace(cfg.embed, enabled=False))
    api.ingest([SAMPLE / "envelope"], tmp_path / "store", cfg)
    labels = pl.read_csv(SAMPLE / "labels.csv", infer_schema_length=0)
    q = queries_until_flagged(tmp_path / "store", labels, cfg, steps=3)
    assert len(q.cutoffs) == 3
    ext = q.per_kind["extractor"]
    assert ext["flagged"] >= 1 and ext["median_requests"] is not None
    full = api.scan_store(tmp_path / "store", cfg)
    n_of = {a.entity_id: a.n_requests for a in full.accounts}
    for row in q.accounts:
        if row["requests_at_first_flag"] is not None:
            assert 0 < row["requests_at_first_flag"] <= n_of[row["account_id"]]
