from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from extractscan.cli import app
from extractscan.findings import ScanResult
from extractscan.report import json as json_report

runner = CliRunner()


@pytest.fixture
def report_json(tmp_path: Path, hostile_result: ScanResult) -> Path:
    p = tmp_path / "out" / "report.json"
    p.parent.mkdir()
    json_report.write(hostile_result, p)
    return p


def test_terminal_default(report_json: Path) -> None:
    r = runner.invoke(app, ["report", str(report_json)])
    assert r.exit_code == 0, r.output
    assert "extractscan: 435 requests" in r.stdout
    assert "\x1b" not in r.stdout and "\x00" not in r.stdout


@pytest.mark.parametrize("fmt", ["json", "md", "csv", "html", "terminal"])
def test_formats_to_file(report_json: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "x" / f"r.{fmt}"
    r = runner.invoke(app, ["report", str(report_json), "--format", fmt, "--output", str(out), "--stable"])
    assert r.exit_code == 0, r.output
    assert r.stdout == ""
    text = out.read_text(encoding="utf-8")
    assert text
    if fmt != "csv":  # the CSV is a data export and keeps raw text (formulas neutralised)
        assert "\x1b" not in text


def test_json_stable_roundtrip(report_json: Path, hostile_result: ScanResult) -> None:
    r = runner.invoke(app, ["report", str(report_json), "-f", "json", "--stable"])
    assert r.exit_code == 0
    d = json.loads(r.stdout)
    assert d["created_at"] is None and d["stats"]["stage_seconds"] == {}
    assert r.stdout == json_report.render(hostile_result, stable=True)
    r2 = runner.invoke(app, ["report", str(report_json), "-f", "json"])
    assert json.loads(r2.stdout)["created_at"] == hostile_result.created_at


def test_md_and_html_stdout(report_json: Path) -> None:
    r = runner.invoke(app, ["report", str(report_json), "-f", "md"])
    assert r.exit_code == 0 and r.stdout.startswith("# extractscan report")
    assert "scanned 2026-03-03" in r.stdout
    r = runner.invoke(app, ["report", str(report_json), "-f", "md", "--stable"])
    assert "scanned" not in r.stdout
    r = runner.invoke(app, ["report", str(report_json), "-f", "html"])
    assert r.exit_code == 0 and r.stdout.startswith("<!DOCTYPE html>")


def test_csv_neutralised(report_json: Path) -> None:
    r = runner.invoke(app, ["report", str(report_json), "-f", "csv"])
    assert r.exit_code == 0
    rows = list(csv.reader(io.StringIO(r.stdout)))
    assert rows[0][0] == "account_id" and len(rows) == 5
    ids = [row[0] for row in rows[1:]]
    assert '\'=HYPERLINK("http://x")' in ids
    for row in rows[1:]:
        for cell in row:
            assert cell[:1] not in ("=", "+", "@", "\t", "\r"), cell


def test_errors(tmp_path: Path) -> None:
    r = runner.invoke(app, ["report", str(tmp_path / "missing.json")])
    assert r.exit_code == 2
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    assert runner.invoke(app, ["report", str(bad)]).exit_code == 1
    bad.write_text("{}", encoding="utf-8")
    assert runner.invoke(app, ["report", str(bad), "-f", "md"]).exit_code == 1
    r = runner.invoke(app, ["report", str(bad), "-f", "pdf"])
    assert r.exit_code == 2
