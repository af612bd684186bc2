"""Tabular outputs other tools rely on: ``accounts.parquet`` / ``accounts.csv`` and ``campaigns.parquet``.

accounts: account_id (string), rank (int, 1 = most suspicious), score (float 0–1), flagged (bool),
campaign_id (string or null), n_requests, severity, confidence, base_score, one ``<detector name>`` score
column per detector, and reasons.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl

from extractscan.findings import ScanResult
from extractscan.report.safe import csv_cell


def accounts_frame(result: ScanResult) -> pl.DataFrame:
    det_names = [d["name"] for d in result.detectors]
    rows = []
    for a in result.accounts:
        row: dict[str, object] = {
            "account_id": a.entity_id,
            "rank": a.rank,
            "score": a.score,
            "flagged": a.flagged,
            "campaign_id": a.campaign_id,
            "n_requests": a.n_requests,
            "severity": a.severity,
            "confidence": a.confidence,
            "base_score": a.base_score,
        }
        scores = {r.name: r.score for r in a.detectors}
        for n in det_names:
            row[n] = scores.get(n)
        row["suppressed"] = a.suppressed
        row["reasons"] = a.reasons
        rows.append(row)
    schema: dict[str, pl.DataType] = {
        "account_id": pl.String(),
        "rank": pl.Int64(),
        "score": pl.Float64(),
        "flagged": pl.Boolean(),
        "campaign_id": pl.String(),
        "n_requests": pl.Int64(),
        "severity": pl.String(),
        "confidence": pl.Float64(),
        "base_score": pl.Float64(),
        **{n: pl.Float64() for n in det_names},
        "suppressed": pl.String(),
        "reasons": pl.String(),
    }
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


def campaigns_frame(result: ScanResult) -> pl.DataFrame:
    schema: dict[str, pl.DataType] = {
        "campaign_id": pl.String(),
        "account_ids": pl.List(pl.String()),
        "score": pl.Float64(),
        "size": pl.Int64(),
        "edge_kinds": pl.List(pl.String()),
        "evidence": pl.String(),
        "edges": pl.List(
            pl.Struct(
                {
                    "a": pl.String(),
                    "b": pl.String(),
                    "kind": pl.String(),
                    "weight": pl.Float64(),
                    "evidence": pl.String(),
                }
            )
        ),
        "template_fingerprints": pl.List(pl.String()),
    }
    rows = [
        {
            "campaign_id": c.campaign_id,
            "account_ids": list(c.account_ids),
            "score": c.score,
            "size": c.size,
            "edge_kinds": list(c.edge_kinds),
            "evidence": c.evidence,
            "edges": [e.__dict__ for e in c.edges],
            "template_fingerprints": list(c.template_fingerprints),
        }
        for c in result.campaigns
    ]
    return pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)


def write_accounts_csv(result: ScanResult, path: Path) -> None:
    """CSV with spreadsheet formulas neutralised in every text cell (ids and reasons are attacker-chosen)."""
    df = accounts_frame(result)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(df.columns)
        for row in df.iter_rows():
            w.writerow([csv_cell(v) for v in row])


def write_all(result: ScanResult, out: Path) -> None:
    accounts_frame(result).write_parquet(out / "accounts.parquet", compression="zstd")
    write_accounts_csv(result, out / "accounts.csv")
    campaigns_frame(result).write_parquet(out / "campaigns.parquet", compression="zstd")


def render_csv(result: ScanResult) -> str:
    """The accounts CSV as text (same columns and neutralised cells as :func:`write_accounts_csv`)."""
    df = accounts_frame(result)
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(df.columns)
    for row in df.iter_rows():
        w.writerow([csv_cell(v) for v in row])
    return buf.getvalue()
