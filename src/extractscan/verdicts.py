"""Analyst verdicts: true / false positive labels on scanned accounts, and precision per detector.

``extractscan label ACCOUNT --tp|--fp --scan OUT`` appends one JSON line to a verdicts file: the account,
the verdict, a note, the analyst, the time, and a snapshot of what the scan said about the account at label
time (score, flagged, suppression, campaign and every detector's score and contribution). The snapshot is
what makes precision computable later without the scan output, which a nightly job rotates away.

The file is append-only JSONL: one line per verdict, never rewritten, so it can be kept in version control
and concatenated. The **latest line per account wins** (file order, which is append order: analysts'
clocks may disagree). The default location is ``verdicts.jsonl`` next to the scan output folders
(``OUT/..``): a nightly job writing ``runs/2025-06-01/``, ``runs/2025-06-02/`` … keeps one
``runs/verdicts.jsonl`` across nights; ``--verdicts FILE`` or ``$EXTRACTSCAN_VERDICTS`` puts it elsewhere.

**Precision per detector**: a detector *fired* on an account when its score was at least ``fire_cut``
(default :data:`FIRE_CUT`, 0.5: the score at which a detector's own evidence is more likely than not) in the
snapshot; its precision is the share of those accounts labelled ``tp``. Accounts where it did not fire do
not count for it. The same share over accounts that were *flagged* at label time is the scan's precision.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from extractscan.findings import ScanResult

VERDICTS_ENV = "EXTRACTSCAN_VERDICTS"
FILE_NAME = "verdicts.jsonl"
FIRE_CUT = 0.5
VERDICTS = ("tp", "fp")


class VerdictError(ValueError):
    """A verdict that cannot be recorded, or a verdicts file that cannot be read (with the line at fault)."""


@dataclass(frozen=True)
class DetectorSnapshot:
    detector_id: str
    name: str
    score: float
    contribution: float


@dataclass(frozen=True)
class Verdict:
    account: str
    verdict: str  # tp / fp
    note: str
    analyst: str
    time: str  # ISO 8601 UTC
    score: float  # the account's score at label time
    flagged: bool
    suppressed: str | None
    campaign_id: str | None
    scan_created_at: str | None  # which scan the snapshot comes from
    detectors: tuple[DetectorSnapshot, ...] = ()

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True, ensure_ascii=False)

    @staticmethod
    def from_dict(d: dict[str, Any]) -> Verdict:
        return Verdict(**{**d, "detectors": tuple(DetectorSnapshot(**x) for x in d.get("detectors", ()))})


@dataclass(frozen=True)
class DetectorPrecision:
    detector_id: str
    name: str
    fired: int  # labelled accounts where it fired
    tp: int
    fp: int

    @property
    def precision(self) -> float | None:
        return self.tp / self.fired if self.fired else None


@dataclass(frozen=True)
class VerdictSummary:
    records: int  # lines in the file
    accounts: int  # labelled accounts (latest verdict each)
    tp: int
    fp: int
    flagged_tp: int  # among accounts flagged at label time
    flagged_fp: int
    fire_cut: float
    detectors: tuple[DetectorPrecision, ...] = ()

    @property
    def flagged_precision(self) -> float | None:
        n = self.flagged_tp + self.flagged_fp
        return self.flagged_tp / n if n else None

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["flagged_precision"] = self.flagged_precision
        for row, det in zip(d["detectors"], self.detectors, strict=True):
            row["precision"] = det.precision
        return d


def default_path(scan_out: str | Path | None = None, env: dict[str, str] | None = None) -> Path:
    """``$EXTRACTSCAN_VERDICTS``, else ``verdicts.jsonl`` beside the scan folder, else in the working folder."""
    value = (os.environ if env is None else env).get(VERDICTS_ENV, "")
    if value:
        return Path(value)
    if scan_out is not None:
        p = Path(scan_out)
        folder = p.parent if p.is_file() else p
        return folder.resolve().parent / FILE_NAME
    return Path(FILE_NAME)


def make_verdict(
    result: ScanResult, account: str, verdict: str, *, note: str = "", analyst: str = "", now: datetime | None = None
) -> Verdict:
    """A verdict on ``account`` with the scan's view of it at label time."""
    if verdict not in VERDICTS:
        raise VerdictError(f"verdict must be one of {', '.join(VERDICTS)}, got {verdict!r}")
    found = next((a for a in result.accounts if a.entity_id == account), None)
    if found is None:
        raise VerdictError(f"{account!r} is not in the scan ({len(result.accounts)} {result.entity}s); check the id and --scan")
    when = (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return Verdict(
        account=account,
        verdict=verdict,
        note=note,
        analyst=analyst,
        time=when,
        score=found.score,
        flagged=found.flagged,
        suppressed=found.suppressed,
        campaign_id=found.campaign_id,
        scan_created_at=result.created_at or None,
        detectors=tuple(DetectorSnapshot(d.detector_id, d.name, d.score, d.contribution) for d in found.detectors),
    )


def append_verdict(path: str | Path, verdict: Verdict) -> None:
    """Append one line; an exclusive lock keeps two analysts' lines whole."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    line = (verdict.to_json() + "\n").encode("utf-8")
    with p.open("ab") as fh:
        try:
            import fcntl

            fcntl.flock(fh, fcntl.LOCK_EX)
        except (ImportError, OSError):  # no advisory locks here (Windows, some network file systems)
            pass
        fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())


def load_verdicts(path: str | Path) -> list[Verdict]:
    p = Path(path)
    if not p.is_file():
        raise VerdictError(f"no verdicts file at {p}")
    out = []
    with p.open(encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                v = Verdict.from_dict(d)
            except (json.JSONDecodeError, TypeError, AttributeError) as e:
                raise VerdictError(f"{p}:{n}: not a verdict record: {e}") from e
            if v.verdict not in VERDICTS:
                raise VerdictError(f"{p}:{n}: verdict must be one of {', '.join(VERDICTS)}, got {v.verdict!r}")
            out.append(v)
    return out


def latest(verdicts: Iterable[Verdict]) -> dict[str, Verdict]:
    """The last verdict per account, in file (append) order."""
    out: dict[str, Verdict] = {}
    for v in verdicts:
        out[v.account] = v
    return out


def summarize(verdicts: Sequence[Verdict], fire_cut: float = FIRE_CUT) -> VerdictSummary:
    final = latest(verdicts)
    names: dict[str, str] = {}
    counts: dict[str, list[int]] = {}  # detector -> [tp, fp] where it fired
    for v in final.values():
        for d in v.detectors:
            names.setdefault(d.detector_id, d.name)
            if d.score >= fire_cut:
                c = counts.setdefault(d.detector_id, [0, 0])
                c[0 if v.verdict == "tp" else 1] += 1
    dets = tuple(
        DetectorPrecision(det, names[det], tp + fp, tp, fp)
        for det, (tp, fp) in sorted(counts.items())  # ID order: stable, and the order of docs/detectors.md
    )
    flagged = [v for v in final.values() if v.flagged]
    return VerdictSummary(
        records=len(verdicts),
        accounts=len(final),
        tp=sum(v.verdict == "tp" for v in final.values()),
        fp=sum(v.verdict == "fp" for v in final.values()),
        flagged_tp=sum(v.verdict == "tp" for v in flagged),
        flagged_fp=sum(v.verdict == "fp" for v in flagged),
        fire_cut=fire_cut,
        detectors=dets,
    )
