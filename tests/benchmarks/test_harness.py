"""Smoke tests of the benchmark harness (benchmarks/): a tiny end-to-end run and the ratio helpers.

No timing is asserted: only that the harness measures every stage of a real run, in fresh processes, and
that its comparisons compute what they claim.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import _util  # noqa: E402
import pyspy_profile  # noqa: E402
import ratios  # noqa: E402
import run  # noqa: E402


def test_sizes_parse_and_print() -> None:
    assert _util.parse_size("2k") == 2_000
    assert _util.parse_size("100k") == 100_000
    assert _util.parse_size("1M") == 1_000_000
    assert _util.parse_size("2500") == 2_500
    assert _util.size_label(10_000_000) == "10M"
    assert _util.size_label(100_000) == "100k"
    with pytest.raises(ValueError):
        _util.parse_size("lots")


_DRIVER = """
import json, sys
sys.path.insert(0, sys.argv[1])
from pathlib import Path
import _util
res = Path(sys.argv[2])
big_code = "b = bytearray(200 << 20); open(%r, 'w').write(%r)" % (str(res), json.dumps({"ok": 1}))
small_code = "open(%r, 'w').write(%r)" % (str(res), json.dumps({"ok": 2}))
big = _util.run_child([sys.executable, "-c", big_code], res)
small = _util.run_child([sys.executable, "-c", small_code], res)
print(json.dumps([big.rc, big.result, big.max_rss_mib, small.result, small.max_rss_mib]))
"""


def test_child_peak_rss_is_the_childs_own(tmp_path: Path) -> None:
    # A child that allocates ~200 MiB must report it; a tiny child afterwards must not inherit that peak.
    # Linux folds the spawning process's RSS into a child's ru_maxrss at exec, so the pair is spawned from a
    # fresh stdlib-only driver (as benchmarks/run.py spawns its stages), not from this test worker, which may
    # be large under pytest-xdist.
    driver = tmp_path / "driver.py"
    driver.write_text(_DRIVER)
    out = subprocess.run(
        [sys.executable, str(driver), str(BENCH), str(tmp_path / "r.json")], capture_output=True, text=True, check=True
    )
    big_rc, big_result, big_rss, small_result, small_rss = json.loads(out.stdout)
    assert big_rc == 0 and big_result == {"ok": 1}
    assert small_result == {"ok": 2}
    assert big_rss > 190
    assert small_rss < big_rss - 100  # not the maximum over all children so far


def test_harness_end_to_end_tiny(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    args = ["--sizes", "2k", "--repeats", "1", "--embed", "off", "--work", str(tmp_path / "work"), "--json", str(out)]
    proc = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads(out.read_text())
    assert doc["machine"]["cores"] and doc["machine"]["date"]
    (size,) = doc["sizes"]
    assert size["label"] == "2k"
    (rep,) = size["runs"]
    ingest, scan = rep["ingest"], rep["scan"]
    assert ingest["result"]["stored"] > 1_000  # about 2k requests were generated, ingested and scanned
    assert scan["result"]["requests"] == ingest["result"]["stored"]
    assert set(scan["result"]["stages"]) == set(run.STAGES) - {"ingest"}
    assert scan["result"]["stages"]["minhash"] > 0 and scan["result"]["stages"]["report"] > 0
    assert scan["result"]["embedded_texts"] == 0  # embeddings off
    for r in (ingest, scan):
        assert r["rc"] == 0 and r["max_rss_mib"] > 50 and len(r["load_before"]) == 3
    # the Markdown summary has a row for the size, with every stage
    table = proc.stdout
    row = next(line for line in table.splitlines() if line.startswith("| 2k | off |"))
    assert row.count("|") == len(run.STAGES) + 9  # size, embeddings, requests, runs, stages, e2e, CPU, RSS, load
    assert (tmp_path / "work" / "out-2k" / "report.json").exists()


def test_minhash_ratio_agrees_with_datasketch() -> None:
    words = ["explain", "the", "main", "causes", "of", "the", "french", "revolution", "step", "by", "step", "for", "a"]
    texts = [" ".join([*words[i % 5 :], f"item{i}"]) for i in range(120)] + ["", "one", "two words"]
    r = ratios.minhash_ratio(texts, repeats=1)
    assert r["bit_identical_with_shingle_hash32"]["equal"] is True
    assert r["docs"] == len(texts) and r["ratio_vs_update"] > 0
    # estimates of both methods are close to the exact Jaccard on these near-duplicates
    assert r["jaccard_error_similar_pairs"]["ours"]["pairs"] > 50
    assert r["jaccard_error_similar_pairs"]["ours"]["mae"] < 0.1
    assert r["jaccard_error_similar_pairs"]["datasketch"]["mae"] < 0.1


def test_ingest_ratio_reads_the_same_rows(tmp_path: Path) -> None:
    f = tmp_path / "env.jsonl"
    recs = [
        {
            "timestamp": f"2025-06-02T00:00:{i:02d}Z",
            "account_id": f"org-{i % 3}",
            "request": {"model": "gpt-4o", "messages": [{"role": "user", "content": f"hello {i}"}]},
            "response": {"id": f"r{i}", "choices": [{"message": {"role": "assistant", "content": "hi"}}]},
        }
        for i in range(40)
    ]
    f.write_text("".join(json.dumps(r) + "\n" for r in recs))
    r = ratios.ingest_ratio(f, repeats=1)
    assert r["rows_polars"] == 40 and r["rows_ingested"] == 40
    assert r["ingest_share_of_polars"] > 0


def test_profile_summary_attributes_samples(tmp_path: Path) -> None:
    prof = tmp_path / "p.txt"
    prof.write_text(
        "main (extractscan/cli/__init__.py:38);build_frame (extractscan/prepare.py:130);collect (polars/x.py:1) 30\n"
        "main (extractscan/cli/__init__.py:38);features (extractscan/detectors/volume.py:10) 10\n"
        "<module> (site.py:1) 10\n"
    )
    text = pyspy_profile.summarise(prof)
    assert "50 samples" in text
    assert "| 60.0 | `extractscan/prepare.py:build_frame` |" in text
    assert "| 20.0 | `extractscan/detectors/volume.py:features` |" in text


def test_budget_configs_cover_the_comparison() -> None:
    import embed_budget

    b = embed_budget.budgets()
    assert b["default"] == {}
    assert b["embed_all"]["per_account_sample"] >= 10**9 and b["embed_all"]["min_requests"] == 1
    assert b["per_account_all"]["max_texts"] >= 10**9
    assert pl.__version__  # the scripts import polars at module level
