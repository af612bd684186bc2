"""Attacker text in every non-HTML output: terminals, spreadsheets, and file names.

(The HTML report is loaded in a real browser by test_html_browser.py.)
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from extractscan import api
from extractscan.cli._common import clean_text
from extractscan.findings import AccountFinding, Campaign, DetectorResult, ScanResult
from extractscan.report import terminal
from extractscan.report.safe import csv_cell, terminal_text
from extractscan.report.tables import render_csv

# What a hostile log line can carry to hurt a terminal reader.
TERMINAL_ATTACKS = {
    "sgr colour": "\x1b[31mred\x1b[0m",
    "clear screen": "\x1b[2J\x1b[H",
    "alternate screen": "\x1b[?1049h",
    "window title (OSC 0)": "\x1b]0;pwned\x07",
    "hyperlink (OSC 8)": "\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\",
    "clipboard write (OSC 52)": "\x1b]52;c;ZWNobyBwd25lZA==\x07",
    "DCS": "\x1bP1$r\x1b\\",
    "C1 CSI": "\x9b2J",
    "C1 OSC": "\x9d0;title\x9c",
    "backspace overwrite": "rm -rf /\x08\x08\x08\x08\x08\x08\x08\x08ls -l  ",
    "carriage return overwrite": "evil\rgood",
    "bell": "\x07\x07",
    "NUL": "nul\x00byte",
    "bidi override": "\u202eexe.txt",
    "bidi isolate": "\u2066abc\u2069",
    "zero width": "a\u200bb\ufeff",
    "line separator": "a\u2028b",
}

_BIDI = set("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_INVISIBLE = set("\u200b\u200c\u200d\ufeff\u2028\u2029")


def _unsafe_chars(s: str) -> list[str]:
    """Characters a terminal would act on (C0/C1 controls, ESC) or that reorder / hide what is shown."""
    return [c for c in s if unicodedata.category(c) == "Cc" or c in _BIDI or c in _INVISIBLE]


@pytest.mark.parametrize("name", sorted(TERMINAL_ATTACKS))
def test_terminal_text_strips(name: str) -> None:
    for clean in (terminal_text, clean_text):
        out = clean(f"before {TERMINAL_ATTACKS[name]} after")
        assert _unsafe_chars(out) == [], (clean.__name__, name, out)
        assert out.startswith("before ") and out.endswith(" after")
    assert "evil.example" not in terminal_text(TERMINAL_ATTACKS["hyperlink (OSC 8)"])  # the link target goes too
    assert "pwned" not in terminal_text(TERMINAL_ATTACKS["window title (OSC 0)"])


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.characters(codec="utf-8"), max_size=80)
    | st.text(alphabet="\x1b[]();?0123456789mJHPa\\\x07\x9b\x9d", max_size=40)
)
def test_terminal_text_never_leaves_controls(s: str) -> None:
    assert _unsafe_chars(terminal_text(s)) == []
    assert _unsafe_chars(clean_text(s)) == []


def _result_with(base: ScanResult, texts: list[str]) -> ScanResult:
    """``base`` (the shared hostile fixture, for its stats and detectors) with one account per text."""
    accounts = tuple(
        AccountFinding(
            entity_id=f"acct {t}",
            rank=i + 1,
            score=0.9 - i * 0.01,
            severity="high",
            confidence=0.9,
            flagged=True,
            reasons=f"Flagged {t}",
            n_requests=10,
            first_seen=None,
            last_seen=None,
            campaign_id=f"C {t}",
            base_score=0.5,
            detectors=(
                DetectorResult("ES102", "template_concentration", 0.9, 0.9, 0.9, 1.0, 0.9, f"summary {t}", examples=(t,)),
            ),
        )
        for i, t in enumerate(texts)
    )
    camp = Campaign("C x", tuple(a.entity_id for a in accounts), 0.9, len(accounts), (f"kind {texts[0]}",), f"ev {texts[0]}")
    return dataclasses.replace(base, accounts=accounts, campaigns=(camp,))


# rich's own styling (SGR) is allowed on a colour terminal; nothing else may reach it
_RICH_SGR = re.compile(r"\x1b\[[0-9;]*m")


def test_terminal_report_is_inert_on_a_colour_terminal(hostile_result: ScanResult) -> None:
    result = _result_with(hostile_result, list(TERMINAL_ATTACKS.values()))
    buf = io.StringIO()
    terminal.print_report(result, Console(file=buf, force_terminal=True, color_system="truecolor", width=200))
    shown = _RICH_SGR.sub("", buf.getvalue())
    assert _unsafe_chars(shown.replace("\n", "")) == []
    assert "evil.example" not in shown and "ZWNobyBwd25lZA" not in shown
    plain = terminal.render(result, width=200)  # report.txt / `report --format terminal` to a file
    assert _unsafe_chars(plain.replace("\n", "")) == []


# ------------------------------------------------------------------------------------------------ CSV

FORMULAS = [
    "=1+1",
    '=HYPERLINK("http://evil.example","x")',
    "+1+1",
    "-1+1",
    "@SUM(A1)",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    " =1+1",
    "\u00a0=1+1",
    "\x1b[0m=1+1",
    "\x00=1+1",
    "\uff1d1+1",  # full-width equals sign
    "=cmd|' /C calc'!A0",
]


@pytest.mark.parametrize("s", FORMULAS)
def test_csv_cell_neutralises_formulas(s: str) -> None:
    out = csv_cell(s)
    assert isinstance(out, str) and out.startswith("'"), repr(out)
    assert _unsafe_chars(out) == []


@pytest.mark.parametrize("value", [0.5, -0.25, 3, -7, None, True, "plain", "a=b", "user@example.com", "x-1"])
def test_csv_cell_leaves_data_alone(value: object) -> None:
    assert csv_cell(value) == value  # numbers keep their sign; text with = or @ inside is no formula


def _starts_formula(cell: str) -> bool:
    return cell.lstrip()[:1] in ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def test_accounts_csv_every_text_cell_neutralised(tmp_path: Path, hostile_result: ScanResult) -> None:
    result = _result_with(hostile_result, FORMULAS)
    result = dataclasses.replace(
        result,
        accounts=tuple(
            dataclasses.replace(a, entity_id=f, reasons=f, campaign_id=f) for a, f in zip(result.accounts, FORMULAS, strict=True)
        ),
    )
    api.write_outputs(result, tmp_path)
    for text in ((tmp_path / "accounts.csv").read_text(encoding="utf-8"), render_csv(result)):
        rows = list(csv.reader(io.StringIO(text)))
        header, body = rows[0], rows[1:]
        assert len(body) == len(FORMULAS)
        text_cols = [header.index(c) for c in ("account_id", "campaign_id", "reasons")]
        for row in body:
            for i in text_cols:
                assert row[i].startswith("'"), row[i]
            assert not any(_starts_formula(c) for c in row), row
            assert _unsafe_chars("".join(row)) == []
    # the Parquet contract keeps the raw id: it is data for programs, not a spreadsheet
    import polars as pl

    assert pl.read_parquet(tmp_path / "accounts.parquet")["account_id"].to_list() == FORMULAS


# ------------------------------------------------------------------------------------------ file names

TRAVERSAL = ["../../escaped", "/tmp/abs-escape", "..", "a/../../b", "..\\..\\win", "C:\\evil", "nul\x00name", "x" * 300]


def _hostile_store(tmp_path: Path) -> tuple[Path, Path]:
    """A real scan of accounts whose ids are path-traversal strings, running one templated campaign."""
    import orjson

    from extractscan.config import Config

    lines = []
    t = 1772409600.0
    for k, acct in enumerate(TRAVERSAL[:4]):
        for i in range(60):
            t += 41.0
            lines.append(
                {
                    "timestamp": t,
                    "account_id": acct,
                    "user_agent": "harvester/1.0",
                    "client_ip": "203.0.113.9",
                    "request_id": f"r{k}-{i}",
                    "request": {
                        "model": "gpt-4o",
                        "max_tokens": 4000,
                        "messages": [
                            {"role": "user", "content": f"Explain topic {i % 7} #{i} step by step, show your reasoning."}
                        ],
                    },
                }
            )
    logs = tmp_path / "logs.jsonl"
    logs.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    cfg = Config()
    cfg = cfg.replace(embed=dataclasses.replace(cfg.embed, enabled=False))
    out = tmp_path / "out"
    api.ingest([logs], out / "store", cfg)
    api.write_outputs(api.scan_store(out / "store", cfg), out)
    return out, out / "store"


def test_file_names_from_ids_stay_in_the_output_folder(tmp_path: Path) -> None:
    """Every writer that names a file after an id (indicators: campaign-<id>.json; the investigation
    bundle: fixed names) keeps it inside its folder, even for ids crafted to climb out of it."""
    from typer.testing import CliRunner

    from extractscan.cli import app
    from extractscan.report import json as json_report

    work = tmp_path / "work"
    work.mkdir()
    out, _ = _hostile_store(work)
    result = json_report.load(out / "report.json")
    assert result.campaigns, "the templated accounts should form a campaign"
    # campaign ids come from us, but report.json is a file anyone can edit: make them hostile too
    renamed = tuple(dataclasses.replace(c, campaign_id=TRAVERSAL[i % len(TRAVERSAL)]) for i, c in enumerate(result.campaigns))
    accounts = tuple(
        dataclasses.replace(a, campaign_id=renamed[[c.campaign_id for c in result.campaigns].index(a.campaign_id)].campaign_id)
        if a.campaign_id
        else a
        for a in result.accounts
    )
    json_report.write(dataclasses.replace(result, campaigns=renamed, accounts=accounts), out / "report.json")
    before = {p for p in tmp_path.rglob("*")}

    runner = CliRunner(env={"HF_HUB_OFFLINE": "1", "COLUMNS": "160"})
    res = runner.invoke(app, ["indicators", str(out), "--out", str(out / "ind"), "--quiet"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["investigate", TRAVERSAL[0], "--scan", str(out), "--bundle", str(out / "case"), "--quiet"])
    assert res.exit_code == 0, res.output

    created = {p for p in tmp_path.rglob("*")} - before
    files = sorted(p for p in created if p.is_file())
    assert files, "nothing was written"
    for p in files:
        rel = p.relative_to(out)  # raises if a file landed outside OUT
        assert rel.parts[0] in ("ind", "case"), rel
        assert re.fullmatch(r"[A-Za-z0-9_.-]+", p.name) and not p.name.startswith("."), p.name
    assert len([p for p in files if p.parent == out / "ind"]) == len(renamed)
    assert {p.name for p in files if p.parent == out / "case"} >= {"investigation.json", "investigation.html", "requests.parquet"}
    assert not (tmp_path / "escaped").exists() and not Path("/tmp/abs-escape").exists()
