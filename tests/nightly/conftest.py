"""Fixtures of the nightly-workflow tests: the tiny store, scanned once per module without embeddings (fast);
the raw result is kept so that tests can list every secret a redacted output must hide."""

from __future__ import annotations

from pathlib import Path

import pytest
from _nightly_helpers import no_embed, write_logs

from extractscan import api
from extractscan.findings import ScanResult


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("nightly")
    store = root / "store"
    api.ingest([write_logs(root / "logs")], store, no_embed())
    return store


@pytest.fixture(scope="module")
def raw_result(tiny_store: Path) -> ScanResult:
    return api.scan_store(tiny_store, no_embed())
