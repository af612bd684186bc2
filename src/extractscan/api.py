"""The library API the CLI is a thin shell over (and that tests call directly)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from extractscan.config import Config
from extractscan.findings import ScanResult


def ingest(
    paths: Sequence[str | Path],
    store_dir: str | Path,
    cfg: Config | None = None,
    *,
    fmt: str | None = None,
    progress: Any = None,
) -> Any:
    """Ingest log files / folders into the store at ``store_dir``; returns the IngestReport.

    Runs of ``ingest.parallel_min_bytes`` or more parse their files in spawned worker processes
    (``ingest.workers``): a script that calls this must do so under ``if __name__ == "__main__":``, as
    Python's multiprocessing requires, or set ``ingest.workers = 1``."""
    from extractscan.ingest.pipeline import ingest_paths
    from extractscan.store import Store

    return ingest_paths([Path(p) for p in paths], Store(Path(store_dir)), cfg or Config(), fmt=fmt, progress=progress)


def scan_store(
    store_dir: str | Path,
    cfg: Config | None = None,
    *,
    entity: str = "account",
    since: str | datetime | None = None,
    until: str | datetime | None = None,
    progress: Any = None,
) -> ScanResult:
    """Scan an existing store and return the immutable result (nothing is written to the store but a
    temporary split under ``cache/scan``). With embeddings off and >= 100k requests the partitions are
    scanned in spawned worker processes (``scan_workers``): call from under ``if __name__ == "__main__":``
    in a script, or set ``scan_workers = 1``."""
    from extractscan.scan import scan_frame_source
    from extractscan.store import Store

    cfg = cfg or Config()
    store = Store(Path(store_dir))
    manifest = [_plain(m) for m in store.manifest()]
    return scan_frame_source(
        store.scan(),
        cfg,
        entity=entity,
        since=since,
        until=until,
        progress=progress,
        manifest=manifest,
        embed_cache_dir=store.cache_dir("embeddings"),
        # The per-partition split of a large scan (~75 MB per 1M requests, deleted at the end) goes next to
        # the store, not to the system's temporary folder, which may be a small tmpfs held in memory.
        work_dir=store.root / "cache" / "scan",
    )


def write_outputs(result: ScanResult, out: str | Path, *, stable: bool = False) -> list[Path]:
    """Write the scan contract files (accounts.parquet, campaigns.parquet) and every report format
    (report.json, accounts.csv, report.md, report.html, report.txt) into ``out``; returns the paths."""
    from extractscan.report import FILE_NAMES, WRITERS
    from extractscan.report import json as json_report
    from extractscan.report.tables import write_all

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_all(result, out)
    written = [out / "accounts.parquet", out / "accounts.csv", out / "campaigns.parquet"]
    for fmt, render in WRITERS.items():
        path = out / FILE_NAMES[fmt]
        if fmt == "json":
            json_report.write(result, path, stable=stable)
        elif fmt != "csv":  # accounts.csv was written by write_all (same bytes as render_csv)
            text = render(_stable(result) if stable else result)
            path.write_text(text, encoding="utf-8")
        if path not in written:
            written.append(path)
    return written


def _stable(result: ScanResult) -> ScanResult:
    """The result without volatile parts (creation time, stage timings), for byte-identical reports."""
    return dataclasses.replace(result, created_at="", stats=dataclasses.replace(result.stats, stage_seconds={}))


def _plain(m: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(m) and not isinstance(m, type):
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(m).items()}
    if isinstance(m, dict):
        return m
    return {"entry": str(m)}


def apply_suppressions(
    result: ScanResult,
    suppressions: Sequence[Any],
    store_dir: str | Path | None = None,
    *,
    now: datetime | None = None,
    salt: str | None = None,
) -> ScanResult:
    """Mark accounts matched by suppressions (``suppressions.load_suppressions``) suppressed and unflagged.

    Template entries need each account's recurring templates, read from ``store_dir`` over the result's
    window (only when there are template entries). ``salt``: the ``--redact`` salt, so that entries written
    against hashed ids match too."""
    from datetime import UTC

    from extractscan import suppressions as sup

    today = (now or datetime.now(UTC)).date()
    active, _ = sup.split_expired(suppressions, today)
    templates = None
    if store_dir is not None and any(s.kind == "template" for s in active):
        templates = sup.account_templates(store_dir, result.entity, result.window)
    return sup.apply_suppressions(result, active, today, templates=templates, salt=salt)
