"""Golden files for every format over the hostile fixture. Regenerate with ``UPDATE_GOLDEN=1 pytest``."""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from extractscan.findings import ScanResult
from extractscan.report import FILE_NAMES, WRITERS, html, markdown, terminal
from extractscan.report import json as json_report
from extractscan.report.tables import render_csv

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

RENDER: dict[str, Callable[[ScanResult], str]] = {
    "md": markdown.render,
    "html": html.render,
    "csv": render_csv,
    "json": lambda r: json_report.render(r, stable=True),
    "terminal": lambda r: terminal.render(r, width=160),
}


def test_registry() -> None:
    assert set(WRITERS) == set(FILE_NAMES) == set(RENDER)
    assert FILE_NAMES == {
        "md": "report.md",
        "html": "report.html",
        "csv": "accounts.csv",
        "json": "report.json",
        "terminal": "report.txt",
    }


@pytest.mark.parametrize("fmt", sorted(RENDER))
def test_golden(fmt: str, hostile_result: ScanResult) -> None:
    text = RENDER[fmt](hostile_result)
    path = GOLDEN / FILE_NAMES[fmt]
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as fh:
            fh.write(text)
    with path.open(encoding="utf-8", newline="") as fh:
        expected = fh.read()
    assert text == expected, f"{path} differs: rerun with UPDATE_GOLDEN=1 and review the diff"


def test_golden_safety(hostile_result: ScanResult) -> None:
    """The properties the golden files pin, asserted directly so a careless regeneration cannot hide them."""
    out = {fmt: f(hostile_result) for fmt, f in RENDER.items()}
    for fmt, text in out.items():
        if fmt == "csv":  # data export: keeps the raw text (formulas neutralised), like accounts.csv
            continue
        assert "\x00" not in text, fmt
        assert "\x1b" not in text, fmt  # JSON escapes control characters itself (\u001b)
    doc = out["html"]
    assert "<script>alert" not in doc and re.search(r"<[^>]*\sonerror=", doc) is None
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in doc
    for row in list(csv.reader(io.StringIO(out["csv"])))[1:]:
        assert all(c[:1] not in ("=", "+", "@") for c in row)
    assert out["md"].count("````text\nExplain ```python") == 1
    assert "\x1b" not in out["terminal"] and "<script>alert(1)</script>" in out["terminal"]


def test_json_golden_round_trips(hostile_result: ScanResult) -> None:
    loaded = json_report.load(GOLDEN / "report.json")
    assert json_report.render(loaded, stable=True) == RENDER["json"](hostile_result)
