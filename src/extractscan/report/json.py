"""The canonical JSON result: versioned, with the effective configuration and the input manifest.

Every other format can be rendered from it (``extractscan report OUT/report.json --format ...``)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from extractscan.findings import ScanResult


def _clean(v: Any) -> Any:
    if isinstance(v, float):
        return None if math.isnan(v) or math.isinf(v) else v
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_clean(x) for x in v]
    return v


def render(result: ScanResult, *, stable: bool = False) -> str:
    """JSON text with sorted keys. ``stable`` drops the volatile parts (creation time, stage timings) so
    that the same input and seed give byte-identical output."""
    d = result.to_dict()
    if stable:
        d["created_at"] = None
        d["stats"]["stage_seconds"] = {}
    return json.dumps(_clean(d), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(result: ScanResult, path: Path, *, stable: bool = False) -> None:
    path.write_text(render(result, stable=stable), encoding="utf-8")


def load(path: Path) -> ScanResult:
    return ScanResult.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
