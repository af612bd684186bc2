"""Report writers: one module per format, each a pure function over the same :class:`ScanResult`."""

from __future__ import annotations

from collections.abc import Callable

from extractscan.findings import ScanResult
from extractscan.report import html, markdown, terminal
from extractscan.report import json as json_report
from extractscan.report.tables import render_csv

# format name -> render function (ScanResult -> text); every format can be re-rendered from report.json
WRITERS: dict[str, Callable[[ScanResult], str]] = {
    "json": json_report.render,
    "md": markdown.render,
    "html": html.render,
    "csv": render_csv,
    "terminal": terminal.render,
}

# format name -> file name used when a format is written into an output folder
FILE_NAMES: dict[str, str] = {
    "json": "report.json",
    "md": "report.md",
    "html": "report.html",
    "csv": "accounts.csv",
    "terminal": "report.txt",
}

__all__ = ["FILE_NAMES", "WRITERS"]
