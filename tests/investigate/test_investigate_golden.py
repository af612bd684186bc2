"""Golden files of an investigation of hostile input (terminal text, JSON, HTML), and the safety properties
they pin, asserted directly. Regenerate with ``UPDATE_GOLDEN=1 pytest tests/investigate``."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from _investigate_helpers import ANSI, BIDI, ESCAPE_ID, EVIL_ID, MARKUP, NUL, SCRIPT, Hostile, no_embed
from typer.testing import CliRunner

from extractscan.cli import app
from extractscan.investigate import EXAMPLE_CHARS, Investigation, investigate, render_json, render_text
from extractscan.report.investigation_html import render as render_html

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

RENDER: dict[str, Callable[[Investigation], str]] = {
    "investigation.txt": lambda inv: render_text(inv, width=160),
    "investigation.json": render_json,
    "investigation.html": render_html,
}


@pytest.fixture(scope="module")
def evil(hostile: Hostile) -> Investigation:
    return investigate(hostile.store, EVIL_ID, no_embed(), scan_out=hostile.out)


@pytest.mark.parametrize("name", sorted(RENDER))
def test_golden(name: str, evil: Investigation) -> None:
    text = RENDER[name](evil)
    path = GOLDEN / name
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as fh:
            fh.write(text)
    with path.open(encoding="utf-8", newline="") as fh:
        expected = fh.read()
    assert text == expected, f"{path} differs: rerun with UPDATE_GOLDEN=1 and review the diff"


def test_output_is_deterministic(hostile: Hostile, evil: Investigation) -> None:
    again = investigate(hostile.store, EVIL_ID, no_embed(), scan_out=hostile.out)
    assert all(f(again) == f(evil) for f in RENDER.values())


def test_terminal_text_is_inert(evil: Investigation) -> None:
    text = render_text(evil, width=160)
    for bad in ("\x1b", "\x00", "\x07", "\u202e"):
        assert bad not in text, repr(bad)
    assert MARKUP in text  # rich markup in attacker text is shown, not interpreted
    assert SCRIPT in text  # ... and so is HTML: a terminal does not run it


def test_html_is_inert(evil: Investigation) -> None:
    page = render_html(evil)
    assert SCRIPT not in page and "<img" not in page and "\x1b" not in page and "\x00" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert len(re.findall(r"<script>", page)) == 1  # only the constant sorting script
    assert "default-src 'none'" in page
    assert not re.search(r"(?:src|href)=[\"']?https?:", page)  # nothing is loaded from the network


def test_json_keeps_attacker_text_as_data(evil: Investigation) -> None:
    doc = json.loads(render_json(evil))
    assert doc["entity_id"] == EVIL_ID
    examples = [x for t in doc["templates"] for x in t["examples"]]
    assert any(ANSI in x and BIDI in x and NUL in x for x in examples)


def test_huge_prompts_are_cut(hostile: Hostile) -> None:
    inv = investigate(hostile.store, ESCAPE_ID, no_embed(), scan_out=hostile.out)
    assert max(len(x) for t in inv.templates for x in t.examples) == EXAMPLE_CHARS
    assert all(len(c.example) <= EXAMPLE_CHARS for c in inv.clusters)
    assert inv.parameters.ip_ranges.top[0].value == "2001:db8:aa::/48"


def test_account_id_never_becomes_a_path(hostile: Hostile, tmp_path: Path) -> None:
    work = tmp_path / "work"
    dest = work / "bundle"
    r = CliRunner().invoke(
        app,
        ["investigate", ESCAPE_ID, "--store", str(hostile.store), "--scan", str(hostile.out), "--bundle", str(dest), "-q"],
    )
    assert r.exit_code == 0, r.output
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert files == [
        f"work/bundle/{n}" for n in ("indicators.json", "investigation.html", "investigation.json", "requests.parquet")
    ]
    assert json.loads((dest / "investigation.json").read_text())["entity_id"] == ESCAPE_ID


def test_redacted_hostile_outputs(hostile: Hostile) -> None:
    r = CliRunner().invoke(
        app,
        ["investigate", EVIL_ID, "--store", str(hostile.store), "--scan", str(hostile.out), "--redact", "-f", "html"],
        env={"EXTRACTSCAN_REDACT_SALT": "k"},
    )
    assert r.exit_code == 0
    # What the request data says is hidden: id, prompts, user agent, IP. (Detector summaries are redacted by
    # redact.py's own rules; the hand-written ones here quote attacker text that real detectors never do.)
    for s in ("&lt;/script&gt;redlink", "evil-agent", "203.0.113", "Explain", "boom", "case 0"):
        assert s not in r.stdout, s
    assert "acct:" in r.stdout and "[redacted " in r.stdout
