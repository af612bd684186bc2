"""End-to-end runs on sample_logs/: ingest -> scan -> reports, through the library and the CLI."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from extractscan import api
from extractscan.cli import app
from extractscan.config import Config
from extractscan.evaluate import evaluate, load_labels

SAMPLE = Path(__file__).resolve().parents[1] / "sample_logs"
POSITIVE = ("extractor", "hydra", "paraphrase", "diluted")
NEGATIVE = ("benign_chat", "benign_app", "benchmark_runner")


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One no-embedding scan of sample_logs (the embedding path has its own tests; the full run is slow)."""
    out = tmp_path_factory.mktemp("e2e")
    cfg = Config()
    cfg = cfg.replace(embed=dataclasses.replace(cfg.embed, enabled=False))
    report = api.ingest([SAMPLE], out / "store", cfg)
    assert report.totals.read == report.totals.stored + report.totals.duplicate + report.totals.quarantined
    result = api.scan_store(out / "store", cfg)
    api.write_outputs(result, out, stable=True)
    return out


def test_outputs_follow_the_contract(scanned: Path) -> None:
    acc = pl.read_parquet(scanned / "accounts.parquet")
    for col, dtype in (("account_id", pl.String), ("rank", pl.Int64), ("score", pl.Float64), ("flagged", pl.Boolean)):
        assert acc.schema[col] == dtype
    assert {"campaign_id", "n_requests", "reasons"} <= set(acc.columns)
    assert acc["rank"].to_list() == list(range(1, acc.height + 1))
    assert acc["score"].is_between(0, 1).all()
    camp = pl.read_parquet(scanned / "campaigns.parquet")
    assert {"campaign_id", "account_ids", "score", "edges"} <= set(camp.columns)
    for name in ("report.json", "report.md", "report.html", "report.txt", "accounts.csv"):
        assert (scanned / name).stat().st_size > 0
    assert json.loads((scanned / "report.json").read_text())["version"] == 1


def test_extraction_flagged_and_benign_not(scanned: Path) -> None:
    labels = load_labels(SAMPLE / "labels.csv")
    acc = pl.read_parquet(scanned / "accounts.parquet")
    ev = evaluate(acc, labels)
    rates = {k.kind: k.rate for k in ev.per_kind}
    for kind in POSITIVE:
        assert rates[kind] >= 0.99, (kind, rates)
    for kind in NEGATIVE:
        assert rates[kind] <= 0.02, (kind, rates)
    assert ev.auroc is not None and ev.auroc > 0.95
    assert ev.diluted_recall_at_min_share == 1.0


def test_hydra_campaigns_linked_without_embeddings(scanned: Path) -> None:
    # Template frames, timing and infrastructure link hydra members; paraphrase campaigns need the
    # semantic edges of an embedding scan (tests/detectors/test_campaigns.py).
    ev = evaluate(pl.read_parquet(scanned / "accounts.parquet"), load_labels(SAMPLE / "labels.csv"))
    hydra = [c for c in ev.campaigns if c["members"] >= 5]
    assert hydra and all(c["matched"] == c["members"] == c["predicted_size"] for c in hydra), ev.campaigns


def test_extraction_ranks_above_every_benign_account(scanned: Path) -> None:
    j = load_labels(SAMPLE / "labels.csv").join(pl.read_parquet(scanned / "accounts.parquet"), on="account_id")
    worst_positive = j.filter(pl.col("kind").is_in(POSITIVE))["score"].min()
    best_negative = j.filter(pl.col("kind").is_in(NEGATIVE))["score"].max()
    assert worst_positive > best_negative  # type: ignore[operator]


def test_cli_report_rerenders_and_fail_above_exits_3(scanned: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["report", str(scanned / "report.json"), "--format", "md"])
    assert r.exit_code == 0 and "extractscan" in r.stdout.lower()
    r = runner.invoke(
        app,
        ["scan", "--store", str(scanned / "store"), "--out", str(tmp_path / "o"), "--no-embed", "-q", "--fail-above", "0.9"],
    )
    assert r.exit_code == 3


def test_windowed_scan_counts_only_the_window(scanned: Path) -> None:
    cfg = Config()
    cfg = cfg.replace(embed=dataclasses.replace(cfg.embed, enabled=False))
    full = api.scan_store(scanned / "store", cfg)
    part = api.scan_store(scanned / "store", cfg, since="2025-06-03", until="2025-06-05")
    assert part.stats.requests == sum(a.n_requests for a in part.accounts) < full.stats.requests
    assert full.stats.requests == sum(a.n_requests for a in full.accounts)
