"""``--redact``: ids hashed with a keyed hash, prompt text masked, in every output file."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import polars as pl
import pytest
from _nightly_helpers import BENIGN, EXTRACTORS, SECRET_IP, SECRET_UA, SECRET_WORD
from typer.testing import CliRunner

from extractscan.cli import app
from extractscan.detectors.registry import detector_classes
from extractscan.findings import DetectorResult, ScanResult
from extractscan.redact import SUMMARY_RULES, is_redacted, mask_text, redact_id, redact_result, redact_text, resolve_salt

SALT = "nightly-test-salt-4f1c"
runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})


def secrets_of(raw: ScanResult) -> set[str]:
    """Everything the raw result says that a redacted output must not: ids, request ids, prompt words,
    infrastructure, log paths, and the salt itself."""
    out = {SECRET_WORD, SECRET_IP, "151.101.7.0/24", SECRET_UA, "QuokkaHarvester", SALT, "gateway.jsonl", *EXTRACTORS, *BENIGN}
    for a in raw.accounts:
        for r in a.detectors:
            out.update(r.request_ids)
    out.update(c.campaign_id for c in raw.campaigns)
    return out


def output_text(folder: Path) -> dict[str, str]:
    """Every output file as text (Parquet files as their rows: a byte search could miss compressed pages)."""
    texts = {}
    for path in sorted(folder.iterdir()):
        if path.suffix == ".parquet":
            texts[path.name] = json.dumps(pl.read_parquet(path).to_dicts(), default=str, ensure_ascii=False)
        elif path.is_file():
            texts[path.name] = path.read_text(encoding="utf-8")
    return texts


def test_redact_id_is_a_stable_keyed_hash() -> None:
    h = redact_id("zorblax-tenant-7731", SALT)
    assert h == redact_id("zorblax-tenant-7731", SALT)
    assert h.startswith("acct:") and len(h) == len("acct:") + 12
    assert redact_id("zorblax-tenant-7731", "another salt") != h
    assert redact_id("zorblax-tenant-7732", SALT) != h
    assert redact_id("zorblax-tenant-7731", SALT, "req").removeprefix("req:") == h.removeprefix("acct:")


def test_mask_text_keeps_length_and_digest_only() -> None:
    m = mask_text(f"tell me about {SECRET_WORD}", SALT)
    assert SECRET_WORD not in m and m.startswith("[redacted 27 chars hmac:")
    assert mask_text(m, SALT) == m  # masking is idempotent
    assert mask_text(f"tell me about {SECRET_WORD}", SALT) == m
    assert mask_text("x").startswith("[redacted 1 chars sha256:")


def test_resolve_salt_prefers_option_then_env_then_random() -> None:
    assert resolve_salt("a", {"EXTRACTSCAN_REDACT_SALT": "b"}) == ("a", True)
    assert resolve_salt(None, {"EXTRACTSCAN_REDACT_SALT": "b"}) == ("b", True)
    salt, stable = resolve_salt(None, {})
    assert not stable and len(salt) == 64


def test_redact_text_hashes_ips_and_known_ids() -> None:
    text = "seen from 151.101.7.9 and 2001:db8:1::/48 with zorblax-tenant-7731, near zorblax-tenant-7731."
    out = redact_text(text, SALT, {"zorblax-tenant-7731": "acct:000000000000", "odd id, with comma": "acct:111111111111"})
    assert "151.101" not in out and "2001:db8" not in out and "zorblax" not in out
    assert out.count("acct:000000000000") == 2 and out.endswith("acct:000000000000.")
    assert redact_text("odd id, with comma here", SALT, {"odd id, with comma": "acct:1"}) == "acct:1 here"
    assert redact_text("98% of 1,204 requests; model gpt-4o", SALT, {}) == "98% of 1,204 requests; model gpt-4o"


def test_every_detector_summary_was_reviewed() -> None:
    """A new detector must be reviewed for raw log values in its summary and listed in SUMMARY_RULES."""
    missing = sorted(c.id for c in detector_classes() if c.id not in SUMMARY_RULES)
    assert not missing, f"add {missing} to extractscan.redact.SUMMARY_RULES after checking what their summaries quote"


def test_unreviewed_detector_summary_is_masked(raw_result: ScanResult) -> None:
    acct = raw_result.accounts[0]
    extra = DetectorResult("ES199", "new_detector", 1.0, 1.0, 1.0, 1.0, 0.5, f"quotes {SECRET_WORD} verbatim")
    raw = dataclasses.replace(raw_result, accounts=(dataclasses.replace(acct, detectors=(*acct.detectors, extra)),))
    red = redact_result(raw, SALT)
    assert SECRET_WORD not in json.dumps(red.to_dict())


def test_hostile_infrastructure_labels_are_masked_whole(raw_result: ScanResult) -> None:
    """A user agent holding the label separator (``", ``) cannot be split safely: the labels are masked."""
    acct = raw_result.accounts[0]
    hostile = 'evil", 10.1.1.0/24, key ' + SECRET_WORD
    summary = f'shares UA "{hostile}" with 1 other entity (zorblax-tenant-7732)'
    infra = DetectorResult(
        "ES113", "shared_infrastructure", 1.0, 0.5, 1.0, 1.0, 0.5, summary, cluster_ids=("zorblax-tenant-7732",)
    )
    raw = dataclasses.replace(raw_result, accounts=(dataclasses.replace(acct, detectors=(infra,)),))
    red = redact_result(raw, SALT).accounts[0]
    text = red.detectors[0].summary
    assert SECRET_WORD not in text and "evil" not in text and "zorblax" not in text
    assert text.endswith(f"with 1 other entity ({redact_id('zorblax-tenant-7732', SALT)})")
    assert SECRET_WORD not in red.reasons and "zorblax" not in red.reasons


def test_redact_result_hashes_ids_consistently(raw_result: ScanResult) -> None:
    red = redact_result(raw_result, SALT)
    assert is_redacted(red) and not is_redacted(raw_result)
    assert [a.entity_id for a in red.accounts] == [redact_id(a.entity_id, SALT) for a in raw_result.accounts]
    assert [a.score for a in red.accounts] == [a.score for a in raw_result.accounts]
    members = {m for c in red.campaigns for m in c.account_ids}
    assert members <= {a.entity_id for a in red.accounts}
    assert {a.campaign_id for a in red.accounts if a.campaign_id} == {c.campaign_id for c in red.campaigns}
    infra = next(r for r in red.accounts[0].detectors if r.detector_id == "ES113")
    assert set(infra.cluster_ids) <= {a.entity_id for a in red.accounts}
    assert redact_result(red, SALT) == red  # redacting twice changes nothing
    text = json.dumps(red.to_dict(), ensure_ascii=False)
    leaked = sorted(s for s in secrets_of(raw_result) if s in text)
    assert not leaked


def test_scan_redact_hides_secrets_in_every_output(tiny_store: Path, raw_result: ScanResult, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["scan", "--store", str(tiny_store), "--out", str(out), "--no-embed", "--stable", "--format", "json"]
    r = runner.invoke(app, [*args, "--redact", "--redact-salt", SALT])
    assert r.exit_code == 0, r.output
    texts = output_text(out)
    assert set(texts) >= {
        "report.json",
        "accounts.csv",
        "accounts.parquet",
        "campaigns.parquet",
        "report.md",
        "report.html",
        "report.txt",
    }
    texts["stdout"] = r.stdout
    secrets = secrets_of(raw_result)
    leaks = {name: sorted(s for s in secrets if s in text) for name, text in texts.items()}
    assert not any(leaks.values()), leaks
    # Still useful: the extractors are flagged, under their hashed ids, in every table.
    flagged = {redact_id(a, SALT) for a in EXTRACTORS}
    acc = pl.read_parquet(out / "accounts.parquet")
    assert set(acc.filter(pl.col("flagged"))["account_id"]) == flagged
    assert all(h in texts["report.md"] and h in texts["report.html"] for h in flagged)

    # The same salt (here from the environment) gives the same ids on the next night.
    out2 = tmp_path / "out2"
    r2 = runner.invoke(
        app,
        ["scan", "--store", str(tiny_store), "--out", str(out2), "--no-embed", "--stable", "-q", "--redact"],
        env={"EXTRACTSCAN_REDACT_SALT": SALT},
    )
    assert r2.exit_code == 0, r2.output
    assert (out2 / "report.json").read_bytes() == (out / "report.json").read_bytes()


def test_scan_redact_without_salt_warns(tiny_store: Path, tmp_path: Path) -> None:
    r = runner.invoke(
        app,
        ["scan", "--store", str(tiny_store), "--out", str(tmp_path / "o"), "--no-embed", "--redact"],
        env={"EXTRACTSCAN_REDACT_SALT": ""},
    )
    assert r.exit_code == 0, r.output
    assert "random salt" in r.stderr
    assert EXTRACTORS[0] not in (tmp_path / "o" / "report.json").read_text()


@pytest.mark.parametrize("fmt", ["terminal", "json", "md", "csv", "html"])
def test_report_redact_rerenders_a_raw_report(tiny_store: Path, raw_result: ScanResult, tmp_path: Path, fmt: str) -> None:
    from extractscan import api

    api.write_outputs(raw_result, tmp_path, stable=True)
    r = runner.invoke(app, ["report", str(tmp_path / "report.json"), "--format", fmt, "--redact", "--redact-salt", SALT])
    assert r.exit_code == 0, r.output
    leaked = sorted(s for s in secrets_of(raw_result) if s in r.stdout)
    assert not leaked
    assert redact_id(EXTRACTORS[0], SALT) in r.stdout or fmt == "terminal"  # the terminal table may shorten ids


def test_report_redact_of_a_redacted_report_keeps_its_ids(raw_result: ScanResult, tmp_path: Path) -> None:
    from extractscan import api

    api.write_outputs(redact_result(raw_result, SALT), tmp_path, stable=True)
    # No salt needed: an already redacted result is left as it is (and no random-salt warning).
    r = runner.invoke(
        app,
        ["report", str(tmp_path / "report.json"), "--format", "json", "--redact", "--stable"],
        env={"EXTRACTSCAN_REDACT_SALT": ""},
    )
    assert r.exit_code == 0, r.output
    assert "random salt" not in r.stderr
    assert json.loads(r.stdout)["accounts"][0]["entity_id"] == redact_id(raw_result.accounts[0].entity_id, SALT)
