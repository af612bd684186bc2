"""``extractscan synth`` through typer's runner."""

from __future__ import annotations

import csv
from pathlib import Path

import orjson
from typer.testing import CliRunner

from extractscan.cli import app

POOLS = Path(__file__).resolve().parents[1] / "fixtures" / "pools"
runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    res = runner.invoke(app, ["synth", *args])
    return res.exit_code, res.output


def test_synth_writes_logs_labels_and_manifest(tmp_path: Path) -> None:
    out = tmp_path / "logs"
    code, text = _run(str(out), "--scale", "tiny", "--days", "2", "--seed", "4", "--formats", "envelope,bedrock")
    assert code == 0, text
    assert "requests" in text
    doc = orjson.loads((out / "synth.json").read_bytes())
    assert doc["seed"] == 4 and doc["spec"]["days"] == 2
    assert set(doc["requests_per_format"]) <= {"envelope", "bedrock"}
    with open(out / "labels.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and set(rows[0]) == {"account_id", "kind", "campaign_id", "extraction_share"}
    assert any(out.glob("envelope/*.jsonl"))


def test_synth_refuses_existing_output_unless_forced(tmp_path: Path) -> None:
    out = tmp_path / "logs"
    args = (str(out), "--scale", "tiny", "--days", "1", "--formats", "envelope", "-q")
    assert _run(*args)[0] == 0
    code, text = _run(*args)
    assert code == 2 and "--force" in text
    assert _run(*args, "--force")[0] == 0


def test_synth_gzip_and_pools(tmp_path: Path) -> None:
    out = tmp_path / "logs"
    code, text = _run(
        str(out),
        "--scale",
        "tiny",
        "--days",
        "1",
        "--formats",
        "envelope",
        "--gzip",
        "-q",
        "--benign-pool",
        str(POOLS / "benign.jsonl"),
        "--extraction-pool",
        str(POOLS / "extraction.jsonl"),
        "--accounts",
        "benign_chat=3,benign_app=1,benchmark_runner=0,extractor=1,diluted=0",
        "--hydra-campaigns",
        "0",
        "--paraphrase-campaigns",
        "0",
    )
    assert code == 0, text
    files = list(out.glob("envelope/*.jsonl.gz"))
    assert files and not list(out.glob("envelope/*.jsonl"))
    doc = orjson.loads((out / "synth.json").read_bytes())
    assert doc["spec"]["benign_pool"]["file"] == "benign.jsonl"
    assert doc["accounts_per_kind"]["hydra"] == 0


def test_synth_usage_errors(tmp_path: Path) -> None:
    out = str(tmp_path / "x")
    assert _run(out, "--formats", "envelope,carrier-pigeon")[0] == 2
    assert _run(out, "--scale", "galactic")[0] == 2
    assert _run(out, "--accounts", "hydra=4")[0] == 2
    assert _run(out, "--accounts", "benign_chat=many")[0] == 2
    assert _run(out, "--diluted-share", "0.6-0.1")[0] == 2
    assert _run(out, "--hydra-size", "big")[0] == 2
    code, text = _run(out, "--scale", "tiny", "--days", "1", "--benign-pool", str(tmp_path / "missing.jsonl"))
    assert code == 2 and "pool" in text
