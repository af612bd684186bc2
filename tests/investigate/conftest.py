"""Fixtures: a tiny synthetic log set scanned once (no embeddings), and a hand-built hostile store with a
matching hand-built scan result (attacker-written ids and prompts everywhere)."""

from __future__ import annotations

import pytest
from _investigate_helpers import Hostile, Scanned, hostile_result, hostile_rows, no_embed
from typer.testing import CliRunner

from extractscan import api
from extractscan.cli import app
from extractscan.report import json as json_report
from extractscan.store import ManifestEntry, Store


@pytest.fixture(scope="session")
def synth_scan(tmp_path_factory: pytest.TempPathFactory) -> Scanned:
    """tiny synth (25 accounts, ~1.2k requests, one hydra and one paraphrase campaign), ingested and scanned."""
    root = tmp_path_factory.mktemp("inv-synth")
    logs = root / "logs"
    res = CliRunner().invoke(
        app, ["synth", str(logs), "--scale", "tiny", "--days", "2", "--seed", "3", "--formats", "envelope", "-q"]
    )
    assert res.exit_code == 0, res.output
    cfg = no_embed()
    api.ingest([logs], root / "out" / "store", cfg)
    result = api.scan_store(root / "out" / "store", cfg)
    api.write_outputs(result, root / "out", stable=True)
    return Scanned(root=root, logs=logs, store=root / "out" / "store", out=root / "out", result=result)


@pytest.fixture(scope="session")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Hostile:
    root = tmp_path_factory.mktemp("inv-hostile")
    store = Store(root / "store")
    table = hostile_rows()
    with store.begin_run() as run:
        run.write_rows(table)
        run.add_file(
            ManifestEntry(
                path="hostile.jsonl", size=1, sha256="ab" * 32, format="envelope", records=table.num_rows, read=table.num_rows
            )
        )
        run.commit()
    result = hostile_result()
    (root / "out").mkdir()
    json_report.write(result, root / "out" / "report.json")
    return Hostile(store=root / "store", out=root / "out", result=result)
