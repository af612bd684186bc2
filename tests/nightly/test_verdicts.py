"""Analyst verdicts: ``label`` appends a snapshot, ``verdicts`` summarises precision per detector."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from _nightly_helpers import BENIGN, EXTRACTORS
from typer.testing import CliRunner

from extractscan import api
from extractscan.cli import app
from extractscan.findings import ScanResult
from extractscan.verdicts import (
    DetectorSnapshot,
    Verdict,
    VerdictError,
    append_verdict,
    default_path,
    load_verdicts,
    make_verdict,
    summarize,
)

runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1", "EXTRACTSCAN_VERDICTS": "", "USER": "tester"})


def v(account: str, verdict: str, **scores: float) -> Verdict:
    dets = tuple(DetectorSnapshot(d, d.lower(), s, 0.1) for d, s in scores.items())
    return Verdict(account, verdict, "", "a", "2025-06-01T00:00:00Z", 0.9, True, None, None, None, dets)


def test_make_verdict_snapshots_the_scan(raw_result: ScanResult) -> None:
    now = datetime(2025, 6, 2, 8, 30, tzinfo=UTC)
    verdict = make_verdict(raw_result, EXTRACTORS[0], "tp", note="confirmed with the account team", analyst="ana", now=now)
    found = next(a for a in raw_result.accounts if a.entity_id == EXTRACTORS[0])
    assert verdict.time == "2025-06-02T08:30:00Z" and verdict.analyst == "ana"
    assert verdict.score == found.score and verdict.flagged and verdict.campaign_id == found.campaign_id
    assert {d.detector_id: d.score for d in verdict.detectors} == {d.detector_id: d.score for d in found.detectors}
    with pytest.raises(VerdictError, match="not in the scan"):
        make_verdict(raw_result, "nobody", "tp")
    with pytest.raises(VerdictError, match="must be one of"):
        make_verdict(raw_result, EXTRACTORS[0], "maybe")


def test_append_and_load_round_trip(raw_result: ScanResult, tmp_path: Path) -> None:
    path = tmp_path / "v" / "verdicts.jsonl"
    a = make_verdict(raw_result, EXTRACTORS[0], "tp", note='multi\nline "note"')
    b = make_verdict(raw_result, BENIGN[0], "fp")
    append_verdict(path, a)
    append_verdict(path, b)
    assert load_verdicts(path) == [a, b]
    assert len(path.read_text().splitlines()) == 2
    path.write_text(path.read_text() + "\n{broken\n")
    with pytest.raises(VerdictError, match=r"verdicts.jsonl:4: not a verdict record"):
        load_verdicts(path)


def test_precision_per_detector_latest_verdict_wins() -> None:
    records = [
        v("a", "tp", ES102=0.9, ES109=0.8),
        v("b", "fp", ES102=0.7, ES109=0.2),
        v("c", "tp", ES102=0.4, ES109=0.9),
        v("b", "tp", ES102=0.7, ES109=0.2),  # relabelled: the later line wins
        v("d", "fp", ES102=0.6, ES113=0.5),
    ]
    s = summarize(records)
    assert (s.records, s.accounts, s.tp, s.fp) == (5, 4, 3, 1)
    prec = {d.detector_id: (d.fired, d.tp, d.fp, d.precision) for d in s.detectors}
    assert prec == {"ES102": (3, 2, 1, 2 / 3), "ES109": (2, 2, 0, 1.0), "ES113": (1, 0, 1, 0.0)}  # 0.5 counts as fired
    assert s.flagged_precision == 0.75
    strict = {d.detector_id: d.fired for d in summarize(records, fire_cut=0.85).detectors}
    assert strict == {"ES102": 1, "ES109": 1}


def test_default_location_is_beside_the_run_folders(tmp_path: Path) -> None:
    run = tmp_path / "runs" / "2025-06-02"
    run.mkdir(parents=True)
    assert default_path(run, env={}) == (tmp_path / "runs" / "verdicts.jsonl").resolve()
    (run / "report.json").write_text("{}")
    assert default_path(run / "report.json", env={}) == (tmp_path / "runs" / "verdicts.jsonl").resolve()
    assert default_path(run, env={"EXTRACTSCAN_VERDICTS": "/x/v.jsonl"}) == Path("/x/v.jsonl")


def test_cli_label_and_summarise(raw_result: ScanResult, tmp_path: Path) -> None:
    out = tmp_path / "runs" / "night1"
    api.write_outputs(raw_result, out, stable=True)
    r = runner.invoke(app, ["label", EXTRACTORS[0], "--tp", "--note", "harvesting maths", "--scan", str(out)])
    assert r.exit_code == 0, r.output
    assert "tp recorded" in r.stderr
    default = tmp_path / "runs" / "verdicts.jsonl"
    rec = json.loads(default.read_text())
    assert rec["account"] == EXTRACTORS[0] and rec["analyst"] == "tester" and rec["note"] == "harvesting maths"
    assert rec["flagged"] is True and any(d["detector_id"] == "ES106" and d["score"] >= 0.5 for d in rec["detectors"])
    r = runner.invoke(app, ["label", EXTRACTORS[1], "--fp", "--analyst", "bo", "--scan", str(out / "report.json")])
    assert r.exit_code == 0, r.output

    r = runner.invoke(app, ["verdicts", "--scan", str(out), "--format", "json"])
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert (s["tp"], s["fp"], s["flagged_precision"]) == (1, 1, 0.5)
    es106 = next(d for d in s["detectors"] if d["detector_id"] == "ES106")
    assert (es106["fired"], es106["tp"], es106["precision"]) == (2, 1, 0.5)
    r = runner.invoke(app, ["verdicts", "--verdicts", str(default)])
    assert r.exit_code == 0 and "Precision per detector" in r.stdout and "reasoning_elicitation" in r.stdout


def test_cli_label_errors(raw_result: ScanResult, tmp_path: Path) -> None:
    api.write_outputs(raw_result, tmp_path / "out", stable=True)
    scan = str(tmp_path / "out")
    r = runner.invoke(app, ["label", EXTRACTORS[0], "--scan", scan])
    assert r.exit_code == 2 and "exactly one of --tp or --fp" in r.stderr
    r = runner.invoke(app, ["label", EXTRACTORS[0], "--tp", "--fp", "--scan", scan])
    assert r.exit_code == 2
    r = runner.invoke(app, ["label", "nobody", "--tp", "--scan", scan])
    assert r.exit_code == 2 and "not in the scan" in r.stderr
    r = runner.invoke(app, ["label", EXTRACTORS[0], "--tp", "--scan", str(tmp_path / "missing")])
    assert r.exit_code == 2
    assert not (tmp_path / "verdicts.jsonl").exists()
    r = runner.invoke(app, ["verdicts", "--verdicts", str(tmp_path / "none.jsonl")])
    assert r.exit_code == 2 and "no verdicts file" in r.stderr
