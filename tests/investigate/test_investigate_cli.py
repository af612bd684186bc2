"""``extractscan investigate`` and ``extractscan indicators`` through typer's runner."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import polars as pl
import pytest
from _investigate_helpers import Scanned
from typer.testing import CliRunner

from extractscan.cli import app
from extractscan.investigate import BUNDLE_FILES, load_json
from extractscan.report import json as json_report
from extractscan.schema import COLUMN_NAMES
from extractscan.store import Store

runner = CliRunner()


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    r = runner.invoke(app, list(args), env=env)
    return r.exit_code, r.stdout, r.stderr


def _member(s: Scanned) -> str:
    return next(a.entity_id for a in s.result.accounts if a.campaign_id)


def test_terminal_output_from_a_scan(synth_scan: Scanned) -> None:
    acct = _member(synth_scan)
    code, out, _ = _run("investigate", acct, "--scan", str(synth_scan.out))  # --store defaults to OUT/store
    assert code == 0, out
    sections = ("Detector evidence", "Timeline (UTC)", "Parameters", "Top templates", "Near-duplicate clusters", "Edges")
    for section in (*sections, "Linked accounts"):
        assert section in out, section
    assert acct in out and "finding from the scan report" in out


def test_json_and_html_formats(synth_scan: Scanned, tmp_path: Path) -> None:
    acct = _member(synth_scan)
    code, out, _ = _run("investigate", acct, "--store", str(synth_scan.store), "--scan", str(synth_scan.out), "-f", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["entity_id"] == acct and doc["version"] == 1 and doc["finding"]["entity_id"] == acct
    html_file = tmp_path / "inv.html"
    code, _, _ = _run("investigate", acct, "--scan", str(synth_scan.out / "report.json"), "-f", "html", "-o", str(html_file))
    assert code == 0
    page = html_file.read_text()
    assert "Content-Security-Policy" in page and "<svg" in page and acct in page


def test_scans_the_store_without_a_report(synth_scan: Scanned) -> None:
    acct = _member(synth_scan)
    code, out, err = _run("investigate", acct, "--store", str(synth_scan.store), "--no-embed", "-f", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["source"] == "scan"
    assert doc["finding"]["score"] == next(a.score for a in synth_scan.result.accounts if a.entity_id == acct)


def test_errors(synth_scan: Scanned, tmp_path: Path) -> None:
    acct = _member(synth_scan)
    code, _, err = _run("investigate", acct[:-2], "--scan", str(synth_scan.out))
    assert code == 1 and "did you mean" in err and acct in err
    code, _, err = _run("investigate", acct)
    assert code == 2 and "--store" in err
    code, _, err = _run("investigate", acct, "--store", str(tmp_path / "nothing"))
    assert code == 1 and "no store" in err
    code, _, err = _run("investigate", acct, "--scan", str(synth_scan.out), "--entity", "principal")
    assert code == 1 and "scores accounts" in err


def test_bundle(synth_scan: Scanned, tmp_path: Path) -> None:
    acct = _member(synth_scan)
    dest = tmp_path / "ticket-123"
    code, _, err = _run("investigate", acct, "--scan", str(synth_scan.out), "--bundle", str(dest), "-q")
    assert code == 0, err
    assert sorted(p.name for p in dest.iterdir()) == sorted(BUNDLE_FILES.values())
    inv = load_json(dest / "investigation.json")
    assert inv.entity_id == acct and inv.campaign is not None
    rows = pl.read_parquet(dest / "requests.parquet")
    assert rows.columns == list(COLUMN_NAMES) and rows.height == inv.n_requests
    assert rows["account_id"].unique().to_list() == [acct]
    expected = Store(synth_scan.store).scan().filter(pl.col("account_id") == acct).collect()
    assert sorted(rows["record_id"].to_list()) == sorted(expected["record_id"].to_list())
    ind = json.loads((dest / "indicators.json").read_text())
    assert ind["campaign_id"] == inv.campaign.campaign_id and ind["account_ids"] == []
    assert "Content-Security-Policy" in (dest / "investigation.html").read_text()


def test_bundle_without_campaign_has_no_indicators(synth_scan: Scanned, tmp_path: Path) -> None:
    loner = next(a.entity_id for a in synth_scan.result.accounts if a.campaign_id is None)
    code, _, _ = _run("investigate", loner, "--scan", str(synth_scan.out), "--bundle", str(tmp_path / "b"), "-f", "json")
    assert code == 0
    assert not (tmp_path / "b" / "indicators.json").exists() and (tmp_path / "b" / "requests.parquet").is_file()


def test_redacted_bundle(synth_scan: Scanned, tmp_path: Path) -> None:
    acct = _member(synth_scan)
    env = {"EXTRACTSCAN_REDACT_SALT": "s3cret"}
    rows = Store(synth_scan.store).scan().filter(pl.col("account_id") == acct).collect()
    secrets = [acct, *rows["client_ip"].drop_nulls().unique().to_list()]
    prompts = rows["last_user_text"].drop_nulls().unique().to_list()
    for run in ("a", "b"):
        code, out, err = _run(
            "investigate", acct, "--scan", str(synth_scan.out), "--redact", "--bundle", str(tmp_path / run), "-f", "json", env=env
        )
        assert code == 0, err
        doc = json.loads(out)
        assert doc["redacted"] is True and doc["entity_id"].startswith("acct:")
    for name in ("investigation.json", "investigation.html", "indicators.json"):
        text = (tmp_path / "a" / name).read_text()
        assert text == (tmp_path / "b" / name).read_text()  # a fixed salt gives the same hashes
        for s in secrets:
            assert s not in text, (name, s)
        for p in prompts:
            assert p not in text and p[:40] not in text, name
    red = pl.read_parquet(tmp_path / "a" / "requests.parquet")
    inv = load_json(tmp_path / "a" / "investigation.json")
    assert red.height == rows.height and red["account_id"].unique().to_list() == [inv.entity_id]
    assert red["last_user_text"].str.starts_with("[redacted ").all()
    texts = red.select(pl.col("messages").list.eval(pl.element().struct.field("text")).explode())["messages"]
    assert texts.drop_nulls().str.starts_with("[redacted ").all()
    assert red["output_tokens"].to_list() == rows["output_tokens"].to_list()  # counts are kept
    # The detector evidence's request ids are the parquet's hashed record ids: evidence stays traceable.
    ev_ids = {r for d in inv.finding.detectors for r in d.request_ids} if inv.finding else set()
    assert ev_ids and ev_ids <= set(red["record_id"].to_list())


def test_indicators_command(synth_scan: Scanned, tmp_path: Path) -> None:
    dest = tmp_path / "default"
    code, _, err = _run("indicators", str(synth_scan.out), "--out", str(dest))  # --store defaults to OUT/store
    assert code == 0, err
    suspicious = [c.campaign_id for c in synth_scan.result.campaigns if c.score >= synth_scan.result.alert_threshold]
    assert suspicious and "Indicator bundles" in err
    assert sorted(p.name for p in dest.glob("*.json")) == sorted(f"campaign-{c}.json" for c in suspicious)
    # A copy of the report in which no campaign reaches the alert threshold: nothing by default, but a
    # campaign named with --campaign is exported all the same.
    weak = tuple(dataclasses.replace(c, score=0.01) for c in synth_scan.result.campaigns)
    report = tmp_path / "scan" / "report.json"
    report.parent.mkdir()
    json_report.write(dataclasses.replace(synth_scan.result, campaigns=weak), report)
    dest = tmp_path / "ind"
    code, _, err = _run("indicators", str(report.parent), "--store", str(synth_scan.store), "--out", str(dest))
    assert code == 0 and "no campaign scores at or above" in err and not dest.exists()
    code, _, _ = _run(
        "indicators",
        str(report),
        "--store",
        str(synth_scan.store),
        "--campaign",
        weak[0].campaign_id,
        "--out",
        str(dest),
        "--include-accounts",
    )
    assert code == 0
    doc = json.loads((dest / f"campaign-{weak[0].campaign_id}.json").read_text())
    assert sorted(doc["account_ids"]) == sorted(weak[0].account_ids)
    code, _, err = _run("indicators", str(synth_scan.out), "--campaign", "cmp-nope", "--out", str(dest))
    assert code == 1 and "no campaign" in err
    code, _, err = _run("indicators", str(synth_scan.out), "--store", str(tmp_path / "none"))
    assert code == 1 and "no store" in err
    code, _, _ = _run("indicators", str(tmp_path / "missing"))
    assert code == 2


@pytest.mark.parametrize("fmt", ["terminal", "json"])
def test_progress_and_notes_stay_off_stdout(synth_scan: Scanned, fmt: str) -> None:
    code, out, err = _run("investigate", _member(synth_scan), "--store", str(synth_scan.store), "--no-embed", "-f", fmt)
    assert code == 0 and "scanning" in err and "scanning" not in out
