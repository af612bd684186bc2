"""Suppressions file: parsing, matching at scan time, reports and exit codes."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from _nightly_helpers import BENIGN, EXTRACTORS
from click.testing import Result
from typer.testing import CliRunner

from extractscan import api
from extractscan.cli import app
from extractscan.findings import ScanResult
from extractscan.redact import redact_id
from extractscan.suppressions import (
    Suppression,
    SuppressionError,
    account_templates,
    apply_suppressions,
    load_suppressions,
    parse_suppressions,
)

runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})
TODAY = date(2025, 6, 10)


def write(tmp_path: Path, text: str, name: str = "suppressions.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_parse_a_valid_file(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        """
[[suppress]]
account = "team-eval"
reason = "our eval harness"
expires = 2026-01-31
author = "j.doe"

[[suppress]]
template = "sk:0123456789abcdef"
reason = "public benchmark prompt"
expires = "2025-12-01"

[[suppress]]
campaign = "cmp-12c0a43f72"
reason = "red team exercise"
""",
    )
    s = load_suppressions(p)
    assert [(x.kind, x.value) for x in s] == [
        ("account", "team-eval"),
        ("template", "sk:0123456789abcdef"),
        ("campaign", "cmp-12c0a43f72"),
    ]
    assert s[0].expires == date(2026, 1, 31) and s[0].author == "j.doe" and s[1].expires == date(2025, 12, 1)
    assert s[2].expires is None and s[2].entry == 3


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[[suppress]]\naccount = "a"\n', "entry 1: 'reason' is required"),
        ('[[suppress]]\naccount = "a"\ncampaign = "c"\nreason = "r"\n', "exactly one of account, campaign, template"),
        ('[[suppress]]\nreason = "r"\n', "exactly one of account, campaign, template (found 0)"),
        ('[[suppress]]\ntemplate = "42"\nreason = "r"\n', "template must be a fingerprint"),
        ('[[suppress]]\naccount = "a"\nreason = "r"\nexpires = "next week"\n', "'expires' must be an ISO date"),
        ('[[suppress]]\naccount = "a"\nreason = "r"\nowner = "x"\n', "unknown key 'owner'"),
        ('[[suppress]]\naccount = ""\nreason = "r"\n', "account must be a non-empty string"),
        ('suppress = "a"\n', "must be an array of tables"),
        ('[[allow]]\naccount = "a"\n', "unknown top-level key 'allow'"),
        ("[[suppress]\n", "invalid TOML"),
    ],
)
def test_invalid_files_say_what_is_wrong(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(SuppressionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_suppressions(write(tmp_path, body))


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SuppressionError, match="not found"):
        load_suppressions(tmp_path / "nope.toml")


def test_account_suppression_keeps_score_and_unflags(raw_result: ScanResult) -> None:
    s = parse_suppressions({"suppress": [{"account": EXTRACTORS[0], "reason": "internal red team"}]})
    out = apply_suppressions(raw_result, s, TODAY)
    by = {a.entity_id: a for a in out.accounts}
    raw = {a.entity_id: a for a in raw_result.accounts}
    assert by[EXTRACTORS[0]].suppressed == "internal red team" and not by[EXTRACTORS[0]].flagged
    assert by[EXTRACTORS[0]].score == raw[EXTRACTORS[0]].score and by[EXTRACTORS[0]].rank == raw[EXTRACTORS[0]].rank
    assert by[EXTRACTORS[1]].flagged and by[EXTRACTORS[1]].suppressed is None


def test_expired_entries_are_ignored(raw_result: ScanResult) -> None:
    s = (Suppression("account", EXTRACTORS[0], "old", expires=date(2025, 6, 9)),)
    assert apply_suppressions(raw_result, s, TODAY) == raw_result
    assert apply_suppressions(raw_result, s, date(2025, 6, 9)).accounts[0].suppressed == "old"  # the last day counts


def test_campaign_suppression_covers_its_members(raw_result: ScanResult) -> None:
    cid = next(c.campaign_id for c in raw_result.campaigns if EXTRACTORS[0] in c.account_ids)
    out = apply_suppressions(raw_result, (Suppression("campaign", cid, "known actor, handled"),), TODAY)
    assert {a.entity_id for a in out.accounts if a.suppressed} == set(EXTRACTORS)
    assert not out.flagged()


def test_template_suppression_needs_every_recurring_template(tiny_store: Path, raw_result: ScanResult) -> None:
    templates = account_templates(tiny_store, raw_result.entity, raw_result.window)
    fp = templates[EXTRACTORS[0]]
    assert fp == templates[EXTRACTORS[1]] and len(fp) == 1
    camp = next(c for c in raw_result.campaigns if EXTRACTORS[0] in c.account_ids)
    assert fp <= set(camp.template_fingerprints)  # the same fingerprints as the scan's campaigns
    assert not any(templates.get(b) for b in BENIGN)  # chat without a recurring template
    sup = (Suppression("template", next(iter(fp)), "benchmark prompt"),)
    out = apply_suppressions(raw_result, sup, TODAY, templates=templates)
    assert {a.entity_id for a in out.accounts if a.suppressed} == set(EXTRACTORS)
    # An account that also sends another recurring template stays flagged.
    mixed = {**templates, EXTRACTORS[1]: fp | {"sk:ffffffffffffffff"}}
    out = apply_suppressions(raw_result, sup, TODAY, templates=mixed)
    assert {a.entity_id for a in out.accounts if a.suppressed} == {EXTRACTORS[0]}
    # The library entry point reads the templates from the store itself.
    assert api.apply_suppressions(raw_result, sup, tiny_store).flagged() == []


def test_hashed_ids_match_with_the_salt(raw_result: ScanResult) -> None:
    s = (Suppression("account", redact_id(EXTRACTORS[1], "k"), "seen in the redacted report"),)
    assert apply_suppressions(raw_result, s, TODAY) == raw_result
    out = apply_suppressions(raw_result, s, TODAY, salt="k")
    assert [a.entity_id for a in out.accounts if a.suppressed] == [EXTRACTORS[1]]


def scan(store: Path, out: Path, *extra: str) -> Result:
    return runner.invoke(app, ["scan", "--store", str(store), "--out", str(out), "--no-embed", "--stable", *extra])


def test_scan_with_suppressions(tiny_store: Path, tmp_path: Path) -> None:
    r = scan(tiny_store, tmp_path / "plain", "-q", "--fail-above", "0.5")
    assert r.exit_code == 3, r.output
    sup = write(
        tmp_path,
        f'[[suppress]]\naccount = "{EXTRACTORS[0]}"\nreason = "red team drill 42"\n\n'
        f'[[suppress]]\naccount = "{EXTRACTORS[1]}"\nreason = "red team drill 42"\n\n'
        f'[[suppress]]\naccount = "{BENIGN[0]}"\nreason = "left the company"\nexpires = 2020-01-01\n',
    )
    out = tmp_path / "out"
    r = scan(tiny_store, out, "--suppressions", str(sup), "--fail-above", "0.5")
    assert r.exit_code == 0, r.output
    assert "entry 3" in r.stderr and "expired" in r.stderr
    assert "2 suppressed" in r.stdout  # the terminal summary
    md = (out / "report.md").read_text()
    assert "2 suppressed" in md and "## Suppressed accounts (2)" in md and "red team drill 42" in md
    html = (out / "report.html").read_text()
    assert "2 suppressed" in html and "red team drill 42" in html
    assert "2 suppressed" in (out / "report.txt").read_text()
    res = ScanResult.from_dict(json.loads((out / "report.json").read_text()))
    assert {a.entity_id for a in res.accounts if a.suppressed} == set(EXTRACTORS)
    assert next(a for a in res.accounts if a.entity_id == BENIGN[0]).suppressed is None


def test_invalid_suppressions_stop_the_scan_with_exit_2(tiny_store: Path, tmp_path: Path) -> None:
    bad = write(tmp_path, '[[suppress]]\naccount = "x"\n')
    r = scan(tiny_store, tmp_path / "out", "--suppressions", str(bad))
    assert r.exit_code == 2
    assert "'reason' is required" in r.stderr
    assert not (tmp_path / "out" / "report.json").exists()


def test_config_key_is_relative_to_the_config_file(tiny_store: Path, tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    write(conf, f'[[suppress]]\naccount = "{EXTRACTORS[0]}"\nreason = "from config"\n', "muted.toml")
    cfg = write(conf, '[report]\nsuppressions = "muted.toml"\n', "extractscan.toml")
    r = scan(tiny_store, tmp_path / "out", "-q", "--config", str(cfg))
    assert r.exit_code == 0, r.output
    assert "from config" in (tmp_path / "out" / "report.md").read_text()
