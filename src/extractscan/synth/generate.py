"""``generate(spec, out_dir)``: plan the population, schedule its requests, stream them to log files."""

from __future__ import annotations

import csv
import io
import multiprocessing
import shutil
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from extractscan.synth.accounts import Plan, base_counts, build_plan, scaled_counts
from extractscan.synth.records import CallBuilder
from extractscan.synth.spec import FORMATS, KINDS, SpecError, SynthSpec, SynthSummary
from extractscan.synth.text import Pool, TextGen, load_pool
from extractscan.synth.timing import COLUMNS, Scheduler
from extractscan.synth.writers import ACCOUNT_FIELDS, WRITERS, FormatWriter

SYNTH_VERSION = 1
OUTPUT_NAMES = ("labels.csv", "synth.json", *FORMATS)


def _pools(spec: SynthSpec) -> tuple[Pool | None, Pool | None]:
    bp = load_pool(spec.benign_pool) if spec.benign_pool else None
    ep = load_pool(spec.extraction_pool) if spec.extraction_pool else None
    return bp, ep


def plan_for(spec: SynthSpec, tg: TextGen | None = None) -> Plan:
    """The population a spec describes (rescaled to ``spec.requests`` when set)."""
    spec.validate()
    tg = tg or TextGen(*_pools(spec))
    counts, n_hydra, n_para = base_counts(spec)
    target = spec.effective_requests()
    if target:
        # Per-account volumes are heavy-tailed, so the preset's few apps and extractors estimate badly:
        # probe again with a population 3-10x larger (a dry run of the timing only) before rescaling.
        base = (counts, n_hydra, n_para)
        est = Scheduler(build_plan(spec, *base, tg), spec.seed).count()
        if est > 0:
            probe = scaled_counts(*base, min(10.0, max(3.0, target / est)))
            est2 = Scheduler(build_plan(spec, *probe, tg), spec.seed).count()
            if est2 > 0:
                base, est = probe, est2
            counts, n_hydra, n_para = scaled_counts(*base, target / est)
            for _ in range(3):  # a few heavy accounts can still miss the target: correct and re-check
                n = Scheduler(build_plan(spec, counts, n_hydra, n_para, tg), spec.seed).count()
                if n == 0 or abs(n - target) <= 0.1 * target:
                    break
                counts, n_hydra, n_para = scaled_counts(counts, n_hydra, n_para, target / n)
    return build_plan(spec, counts, n_hydra, n_para, tg)


def clear_outputs(out_dir: Path) -> None:
    """Remove what a previous ``generate`` wrote into ``out_dir`` (and nothing else)."""
    for name in OUTPUT_NAMES:
        p = out_dir / name
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()


def existing_outputs(out_dir: Path) -> list[str]:
    return [n for n in OUTPUT_NAMES if (out_dir / n).exists()]


def generate(spec: SynthSpec, out_dir: str | Path, *, overwrite: bool = False, workers: int = 1) -> SynthSummary:
    """Write a labelled, simulated log set to ``out_dir``. The same spec always gives the same bytes.

    ``workers`` > 1 writes the formats in parallel processes (each format's files are written by one
    process, so the output does not depend on the number of workers).
    """
    spec.validate()
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise SpecError(f"{out} exists and is not a directory")
    found = existing_outputs(out) if out.exists() else []
    if found:
        if not overwrite:
            raise SpecError(f"{out} already holds synth output ({', '.join(found)}); pass overwrite=True")
        clear_outputs(out)
    out.mkdir(parents=True, exist_ok=True)

    bp, ep = _pools(spec)
    tg = TextGen(bp, ep)
    plan = plan_for(spec, tg)
    used = [f for f in FORMATS if any(a.fmt == f for a in plan.accounts)]
    groups = _balance(plan, spec, used, workers)
    if len(groups) <= 1:
        results = [_write_formats(spec, out, used, plan, tg)]
    else:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=len(groups), mp_context=ctx) as ex:
            results = list(ex.map(_worker, [(spec, str(out), g) for g in groups]))
    stats: dict[str, dict[str, int]] = {}
    written = np.zeros(len(plan.accounts), dtype=np.int64)
    extraction = np.zeros(len(plan.accounts), dtype=np.int64)
    for res in results:
        stats.update(res["stats"])
        written += res["written"]
        extraction += res["extraction"]
    accounts = plan.accounts
    for a in accounts:
        a.written = int(written[a.idx])
        a.extraction_written = int(extraction[a.idx])

    labelled = [a for a in accounts if a.written > 0]
    _write_labels(out / "labels.csv", labelled)
    req_kind = Counter[str]()
    acc_kind = Counter[str]()
    for a in labelled:
        req_kind[a.kind] += a.written
        acc_kind[a.kind] += 1
    campaigns: dict[str, dict[str, Any]] = {}
    for camp in plan.campaigns:
        members = [accounts[i] for i in camp.members if accounts[i].written > 0]
        campaigns[camp.campaign_id] = {
            "kind": camp.kind,
            "members": len(members),
            "format": accounts[camp.members[0]].fmt if camp.members else None,
            "capability": camp.capability,
            "requests": sum(m.written for m in members),
        }
    summary = SynthSummary(
        out_dir=str(out),
        seed=spec.seed,
        window_start=_iso(plan.t0),
        window_end=_iso(plan.t0 + plan.days * 86400),
        model_release={
            "date": plan.release.isoformat(),
            "timestamp": _iso(plan.release_ts),
            "models": {fam: m.name for fam, m in plan.new_models.items()},
        },
        accounts_per_kind={k: acc_kind.get(k, 0) for k in KINDS},
        requests_per_kind={k: req_kind.get(k, 0) for k in KINDS},
        requests_per_format={f: stats[f]["records"] for f in used},
        files_per_format={f: stats[f]["files"] for f in used},
        bytes_per_format={f: stats[f]["bytes"] for f in used},
        campaigns=campaigns,
    )
    extra = {f: stats[f]["extra"] for f in used if stats[f]["extra"]}
    _write_manifest(out / "synth.json", spec, summary, bp, ep, extra)
    return summary


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def _balance(plan: Plan, spec: SynthSpec, used: list[str], workers: int) -> list[list[str]]:
    """Split the formats into at most ``workers`` groups of about equal request counts."""
    workers = max(1, min(workers, len(used)))
    if workers == 1:
        return [used]
    per_acct = Scheduler(plan, spec.seed).per_account()
    load = {f: 0 for f in used}
    for a in plan.accounts:
        load[a.fmt] += int(per_acct[a.idx])
    groups: list[list[str]] = [[] for _ in range(workers)]
    sums = [0] * workers
    for f in sorted(used, key=lambda f: (-load[f], f)):
        i = sums.index(min(sums))
        groups[i].append(f)
        sums[i] += load[f]
    return [g for g in groups if g]


def _worker(args: tuple[SynthSpec, str, list[str]]) -> dict[str, Any]:
    spec, out, fmts = args
    tg = TextGen(*_pools(spec))
    return _write_formats(spec, Path(out), fmts, plan_for(spec, tg), tg)


def _write_formats(spec: SynthSpec, out: Path, fmts: list[str], plan: Plan, tg: TextGen) -> dict[str, Any]:
    """Build and write the calls of the accounts whose format is in ``fmts``."""
    writers: dict[str, FormatWriter] = {f: WRITERS[f](out, plan, spec.gzip) for f in fmts}
    accounts = plan.accounts
    mine = np.array([a.fmt in writers for a in accounts], dtype=bool)
    by_acct: list[Any] = [writers.get(a.fmt) for a in accounts]
    written = np.zeros(len(accounts), dtype=np.int64)
    extraction = np.zeros(len(accounts), dtype=np.int64)
    builder = CallBuilder(plan, tg, spec.max_response_chars)
    build = builder.build
    try:
        for chunk in Scheduler(plan, spec.seed).chunks():
            sel = np.flatnonzero(mine[chunk["acct"]])
            if len(sel) == 0:
                continue
            cols = [chunk[c][sel].tolist() for c in COLUMNS]
            for row in zip(*cols, strict=True):
                call = build(*row)
                by_acct[row[1]].write(call)
                if call.extraction:
                    extraction[row[1]] += 1
            written += np.bincount(chunk["acct"][sel], minlength=len(accounts))
    finally:
        for w in writers.values():
            w.close()
    stats = {
        f: {"records": w.records, "files": len(w.files), "bytes": w.bytes_written(), "extra": w.extra_records}
        for f, w in writers.items()
    }
    return {"stats": stats, "written": written, "extraction": extraction}


def _write_labels(path: Path, accounts: list[Any]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["account_id", "kind", "campaign_id", "extraction_share"])
    for a in accounts:
        share = f"{a.extraction_written / a.written:.3f}" if a.kind == "diluted" else ""
        w.writerow([a.account_id, a.kind, a.campaign_id, share])
    path.write_text(buf.getvalue(), encoding="utf-8")


def _write_manifest(
    path: Path,
    spec: SynthSpec,
    s: SynthSummary,
    bp: Pool | None,
    ep: Pool | None,
    extra_rows: dict[str, int],
) -> None:
    spec_d = spec.to_dict()
    for key, pool in (("benign_pool", bp), ("extraction_pool", ep)):
        spec_d[key] = None if pool is None else {"file": Path(pool.path).name, "sha256": pool.sha256, "prompts": len(pool)}
    doc = {
        "generator": "extractscan synth",
        "synth_version": SYNTH_VERSION,
        "seed": spec.seed,
        "spec": spec_d,
        "window": {"start": s.window_start, "end": s.window_end, "days": spec.days},
        "model_release": s.model_release,
        "totals": {"accounts": s.total_accounts, "requests": s.total_requests, "bytes": s.total_bytes},
        "accounts_per_kind": s.accounts_per_kind,
        "requests_per_kind": s.requests_per_kind,
        "requests_per_format": s.requests_per_format,
        "non_request_rows_per_format": extra_rows,
        "files_per_format": s.files_per_format,
        "bytes_per_format": s.bytes_per_format,
        "campaigns": s.campaigns,
        "account_fields": {f: ACCOUNT_FIELDS[f] for f in s.requests_per_format},
    }
    path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
