"""Fixtures shared across the test folders."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from extractscan import api
from extractscan.config import Config

SAMPLE = Path(__file__).resolve().parents[1] / "sample_logs"


@pytest.fixture(scope="session")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sample_logs ingested once per test process (read-only: scans must not write into it)."""
    out = tmp_path_factory.mktemp("sample-store")
    cfg = Config()
    api.ingest([SAMPLE], out / "store", cfg.replace(embed=dataclasses.replace(cfg.embed, enabled=False)))
    return out / "store"
