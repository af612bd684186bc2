"""The benchmark harness: synthetic logs at several sizes, every stage timed, peak RSS, medians of runs.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/run.py --sizes 100k,1M --repeats 3
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/run.py --sizes 10M --repeats 1 --embed off
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/run.py --sizes 2k --repeats 1 --work /tmp/b   # smoke run

Per size, the logs are written once by ``extractscan synth DIR --requests N`` (the built-in text generator
renders prompts from pre-built fragments and slot lists, so generation is cheap; six formats, the preset's
mix of people, apps, benchmark runs and campaigns; ``--gzip`` like a log archive) and kept under
``--work`` (default /tmp/bench) for later runs. Each repeat then runs, each step in a **fresh process** whose
own peak RSS is read from ``wait4``:

1. ``ingest`` — ``api.ingest`` of the whole folder into a new store;
2. ``scan`` with embeddings off (``--embed off|on|both``) — ``api.scan_store`` then ``api.write_outputs``;
3. ``scan`` with embeddings on (a cold embedding cache: the store is new).

Stages come from ``ScanResult.stats.stage_seconds`` (load, cluster, embed, detect, score, link), split
further by light instrumentation that does not change what runs: ``build_frame``'s ``FrameStats`` (normalise,
MinHash, LSH) and the time inside ``Embedder.encode`` (the scan times the population reference's encoding
and the model load under ``load``; the table moves it to ``embed``). ``report`` is ``write_outputs`` (all
formats). ``end-to-end`` = ingest wall + scan wall (process start and imports included).

Results: ``--json`` (default ``benchmarks/results/raw/<date>.json``: every run) and a Markdown summary on
stdout (medians over repeats; load averages of every run), which docs/performance.md quotes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import (
    PYTHON,
    ROOT,
    ChildRun,
    dir_bytes,
    fmt_s,
    machine,
    median,
    parse_size,
    run_child,
    size_label,
)

SEED = 1
STAGES = ("ingest", "load", "normalize", "minhash", "lsh", "cluster_other", "embed", "detect", "score", "link", "report")


def scale_for(n: int) -> str:
    """The synth preset whose population shape suits ``n`` requests (``--requests`` rescales it)."""
    if n <= 30_000:
        return "small"
    if n <= 300_000:
        return "medium"
    if n <= 3_000_000:
        return "large"
    return "xl"


# ----------------------------------------------------------------------------------------------------------
# Children (run in fresh processes by the parent)


def child_ingest(data: Path, store: Path, result: Path) -> None:
    from extractscan import api

    shutil.rmtree(store, ignore_errors=True)
    t0 = time.perf_counter()
    report = api.ingest([data], store)
    seconds = time.perf_counter() - t0
    t = report.totals
    result.write_text(
        json.dumps(
            {
                "seconds": seconds,
                "records": t.records,
                "read": t.read,
                "stored": t.stored,
                "duplicate": t.duplicate,
                "quarantined": t.quarantined,
                "files": len(report.files),
                "input_bytes": dir_bytes(data),
                "store_bytes": dir_bytes(store / "requests"),
            }
        )
    )


def child_scan(store: Path, out: Path, embed: bool, result: Path, device: str | None, partition_rows: int | None) -> None:
    """One scan with stage timings; see the module docstring for the instrumentation."""
    import dataclasses

    from extractscan import api
    from extractscan import scan as scan_mod
    from extractscan.config import Config

    frame_stats: list[Any] = []
    encodes: list[tuple[float, int, bool]] = []  # (seconds, texts, during partitions)
    real_build = scan_mod.build_frame
    real_load = scan_mod.load_requests
    rss = _RssSampler()

    def build_frame(requests: Any, cfg: Config) -> Any:
        with rss.phase("cluster"):
            frame, stats = real_build(requests, cfg)
        frame_stats.append(stats)
        return frame, stats

    def load_requests(*a: Any, **kw: Any) -> Any:
        with rss.phase("load"):
            return real_load(*a, **kw)

    scan_mod.build_frame = build_frame
    scan_mod.load_requests = load_requests
    # The cross-account steps after the partition loop, each its own RSS phase.
    for name in ("combine", "contributions", "_global_clusters", "link_tokens", "build_edges", "form_campaigns", "_findings"):
        real = getattr(scan_mod, name, None)
        if real is not None:
            setattr(scan_mod, name, _in_phase(rss, name.lstrip("_"), real))
    if os.environ.get("BENCH_DETACH") == "1":
        _detach_partition_outputs(scan_mod)
    if embed:
        from extractscan.cluster import embed as embed_mod

        real_encode = embed_mod.Embedder.encode

        def encode(self: Any, texts: Any) -> Any:
            t = time.perf_counter()
            try:
                return real_encode(self, texts)
            finally:
                encodes.append((time.perf_counter() - t, len(texts), bool(frame_stats)))

        embed_mod.Embedder.encode = encode  # type: ignore[method-assign]

    cfg = Config()
    cfg = cfg.replace(embed=dataclasses.replace(cfg.embed, enabled=embed, device=device or cfg.embed.device))
    if partition_rows:
        cfg = cfg.replace(partition_rows=partition_rows)
    shutil.rmtree(store / "cache", ignore_errors=True)  # cold embedding cache
    t0 = time.perf_counter()
    progress_path = result.with_suffix(".progress")

    def progress(stage: str, done: int, total: int) -> None:
        # A long run that is stopped still leaves its partitions done and its peak RSS so far.
        doc = {"stage": stage, "done": done, "total": total, "seconds": time.perf_counter() - t0, "rss": rss.peaks()}
        progress_path.write_text(json.dumps(doc))

    res = api.scan_store(store, cfg, progress=progress)
    scan_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    shutil.rmtree(out, ignore_errors=True)
    with rss.phase("report"):
        api.write_outputs(res, out)
    report_s = time.perf_counter() - t0
    rss.stop()
    st = res.stats.stage_seconds
    pre_encode = sum(s for s, _, during in encodes if not during)  # reference sample + model load
    # The scan books the cluster stage's parts itself (summed over partitions, and over workers when the
    # partitions ran in worker processes, where the instrumentation above does not reach).
    stages = {
        "load": st.get("load", 0.0) - pre_encode,
        "normalize": st.get("cluster.normalize", sum(f.seconds_normalize for f in frame_stats)),
        "minhash": st.get("cluster.minhash", sum(f.seconds_minhash for f in frame_stats)),
        "lsh": st.get("cluster.lsh", sum(f.seconds_lsh for f in frame_stats)),
        "embed": st.get("embed", 0.0) + pre_encode,
        "detect": st.get("detect", 0.0),
        "score": st.get("score", 0.0),
        "link": st.get("link", 0.0),
        "report": report_s,
    }
    stages["cluster_other"] = st.get("cluster", 0.0) - stages["normalize"] - stages["minhash"] - stages["lsh"]
    result.write_text(
        json.dumps(
            {
                "scan_seconds": scan_s,
                "stages": stages,
                "stage_seconds": st,
                "requests": res.stats.requests,
                "entities": res.stats.entities,
                "partitions": res.stats.partitions,
                "workers": res.stats.workers,
                "lsh_candidates": res.stats.lsh_candidates,
                "lsh_confirmed": res.stats.lsh_confirmed,
                "embedded_texts": res.stats.embedded_texts,
                "encode_seconds": sum(s for s, _, _ in encodes),
                "encode_texts": sum(n for _, n, _ in encodes),
                "flagged": sum(1 for a in res.accounts if a.flagged),
                "campaigns": len(res.campaigns),
                "peak_rss_mib_by_phase": rss.peaks(),
            }
        )
    )


def _in_phase(rss: Any, phase: str, fn: Any) -> Any:
    def wrapped(*a: Any, **kw: Any) -> Any:
        with rss.phase(phase):
            return fn(*a, **kw)

    return wrapped


def _detach(df: Any) -> Any:
    """A copy of ``df`` with fresh buffers: polars string columns are views, and a small table derived
    from a partition's frame (a cluster's representative text, an entity id) otherwise keeps the whole
    frame's string buffers alive after the frame is dropped."""
    import polars as pl

    return pl.from_arrow(df.to_arrow()) if isinstance(df, pl.DataFrame) else df


def _detach_partition_outputs(scan_mod: Any) -> None:
    """``--detach`` (an experiment, not the shipped scan): copy what the scan keeps of each partition —
    detector features and the campaign-linking parts — so that memory stays flat across partitions.
    Results are unchanged (a copy of the same values)."""
    real_enabled = scan_mod.enabled_detectors
    real_parts = scan_mod.partition_link_parts
    real_fp = scan_mod.template_fingerprints

    def enabled_detectors(*a: Any, **kw: Any) -> Any:
        dets = real_enabled(*a, **kw)
        for d in dets:
            feats = d.features
            d.features = lambda frame, ctx, _f=feats: _detach(_f(frame, ctx))
        return dets

    def partition_link_parts(*a: Any, **kw: Any) -> Any:
        return tuple(_detach(t) for t in real_parts(*a, **kw))

    def template_fingerprints(*a: Any, **kw: Any) -> Any:
        return _detach(real_fp(*a, **kw))

    scan_mod.enabled_detectors = enabled_detectors
    scan_mod.partition_link_parts = partition_link_parts
    scan_mod.template_fingerprints = template_fingerprints


class _RssSampler:
    """Samples this process's RSS every 50 ms and keeps the peak per phase: ``load`` (reading a partition
    from the store), ``cluster`` (building the frame), ``report``, and ``other`` (everything else in the
    scan: embedding, detectors, scoring, linking)."""

    def __init__(self) -> None:
        import threading

        self._phase = "other"
        self._peak: dict[str, int] = {}
        self._stop = threading.Event()
        self._page = os.sysconf("SC_PAGE_SIZE")
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        try:
            with open("/proc/self/statm") as fh:
                now = int(fh.read().split()[1]) * self._page
        except OSError:
            return
        self._peak[self._phase] = max(self._peak.get(self._phase, 0), now)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self._sample()

    def phase(self, name: str) -> Any:
        import contextlib

        @contextlib.contextmanager
        def cm() -> Any:
            prev, self._phase = self._phase, name
            self._sample()
            try:
                yield
            finally:
                self._sample()
                self._phase = prev

        return cm()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def peaks(self) -> dict[str, float]:
        return {k: round(v / 2**20, 1) for k, v in sorted(self._peak.items())}


def child_grow(src: Path, dst: Path, copies: int, result: Path) -> None:
    """A store of ``copies`` copies of ``src``'s requests, written through the store's own run / commit
    (staging, per-day dedupe, zstd Parquet): copy k has its identities and record ids suffixed with ``~k``
    (new accounts with the same traffic shapes; IPs are kept, so copies share infrastructure). It is how
    the harness gets a 10M-request store without generating and parsing 10M records; the timing and peak
    RSS are those of the store-writing half of ingest."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from extractscan.store import Store

    shutil.rmtree(dst, ignore_errors=True)
    files = [src / f.path for f in Store(src).data_files()]
    ids = ["record_id", "account_id", "principal_id", "api_key_id", "end_user_id", "session_id"]
    t0 = time.perf_counter()
    rows = 0
    with Store(dst).begin_run({"benchmark": f"{copies} copies of {src}"}) as run:
        for k in range(copies):
            for f in files:
                for batch in pq.ParquetFile(f).iter_batches(batch_size=20_000):
                    t = pa.Table.from_batches([batch])
                    for c in ids:
                        if c in t.column_names:
                            i = t.column_names.index(c)
                            t = t.set_column(i, c, pc.binary_join_element_wise(t[c], pa.scalar(f"~{k}"), ""))
                    if "event_date" in t.column_names:
                        t = t.drop(["event_date"])
                    run.write_rows(t)
                    rows += t.num_rows
        run.commit()
    result.write_text(json.dumps({"seconds": time.perf_counter() - t0, "rows": rows, "copies": copies}))


# ----------------------------------------------------------------------------------------------------------
# Parent


def generate(n: int, work: Path, gzip: bool) -> tuple[Path, dict[str, Any]]:
    """Synth logs of about ``n`` requests (cached under ``work``); returns the folder and its generation run."""
    data = work / f"data-{size_label(n)}{'-gz' if gzip else ''}"
    meta = data / "bench-synth.json"
    if meta.exists():
        return data, json.loads(meta.read_text())
    exe = str(Path(PYTHON).with_name("extractscan"))
    argv = [exe, "synth", str(data), "--seed", str(SEED), "--scale", scale_for(n), "--requests", str(n), "--force", "-q"]
    if gzip:
        argv.append("--gzip")
    tmp = work / "synth-result.json"
    tmp.write_text("{}")  # synth writes its own summary (synth.json); the child result is unused
    run = run_child(argv, tmp)
    if run.rc != 0:
        raise SystemExit(f"synth failed ({run.rc}):\n{run.stderr_tail}")
    summary = json.loads((data / "synth.json").read_text())
    info = {
        "argv": run.to_dict()["argv"],
        "wall_s": round(run.wall_s, 2),
        "cpu_s": round(run.user_s + run.sys_s, 2),
        "max_rss_mib": round(run.max_rss_mib, 1),
        "load_before": run.load_before,
        "requests": sum(summary.get("requests_per_format", {}).values()),
        "accounts": sum(summary.get("accounts_per_kind", {}).values()),
        "bytes": dir_bytes(data),
    }
    meta.write_text(json.dumps(info, indent=2))
    return data, info


def size_runs_file(work: Path, n: int) -> Path:
    return work / f"last-ingest-{size_label(n)}.json"


def prev_ingest(path: Path) -> dict[str, Any]:
    """The last measured ingest of this size (``--reuse-store``: the scan runs on that store)."""
    if not path.exists():
        raise SystemExit(f"--reuse-store: no earlier ingest recorded in {path}")
    return {**json.loads(path.read_text()), "reused": True}


def _child_argv(*args: str) -> list[str]:
    return [PYTHON, str(Path(__file__).resolve()), "_child", *args]


def _check(run: ChildRun, what: str) -> ChildRun:
    if run.rc != 0 or not run.result:
        raise SystemExit(f"{what} failed (rc {run.rc}):\n{run.stderr_tail}")
    return run


def bench_size(n: int, args: argparse.Namespace) -> dict[str, Any]:
    work: Path = args.work
    data, synth = generate(n, work, args.gzip)
    print(f"# {size_label(n)}: {synth['requests']:,} requests, {synth['accounts']:,} accounts", file=sys.stderr)
    modes = {"off": [False], "on": [True], "both": [False, True]}[args.embed]
    runs: list[dict[str, Any]] = []
    store = work / f"store-{size_label(n)}"
    for r in range(args.repeats):
        rec: dict[str, Any] = {"repeat": r}
        if args.reuse_store and (store / "manifest.json").exists():
            rec["ingest"] = prev_ingest(size_runs_file(work, n))
        else:
            res = work / "ingest.json"
            ing = _check(run_child(_child_argv("ingest", str(data), str(store), str(res)), res), "ingest")
            rec["ingest"] = ing.to_dict()
            size_runs_file(work, n).write_text(json.dumps(rec["ingest"]))
            print(f"  ingest {ing.wall_s:.1f}s rss {ing.max_rss_mib:.0f} MiB load {ing.load_before[0]:.1f}", file=sys.stderr)
        scan_store = store
        if args.grow > 1:
            grown = work / f"store-{size_label(n)}-x{args.grow}"
            res = work / "grow.json"
            if args.reuse_store and (grown / "manifest.json").exists() and res.exists():
                rec["grow"] = {**json.loads(res.with_suffix(".run.json").read_text()), "reused": True}
                scan_store = grown
            else:
                g = _check(run_child(_child_argv("grow", str(store), str(grown), str(args.grow), str(res)), res), "grow")
                rec["grow"] = g.to_dict()
                res.with_suffix(".run.json").write_text(json.dumps(rec["grow"]))
                msg = f"  grow x{args.grow} {g.wall_s:.1f}s rss {g.max_rss_mib:.0f} MiB load {g.load_before[0]:.1f}"
                print(msg, file=sys.stderr)
                scan_store = grown
        for embed in modes:
            if embed and r >= args.embed_repeats:
                continue
            res = work / "scan.json"
            argv = ["scan", str(scan_store), str(work / f"out-{size_label(n)}"), "1" if embed else "0", args.device or ""]
            argv += [str(args.partition_rows or ""), str(res)]
            sc = _check(run_child(_child_argv(*argv), res, env={"BENCH_DETACH": "1" if args.detach else "0"}), "scan")
            rec["scan_embed" if embed else "scan"] = sc.to_dict()
            print(
                f"  scan embed={embed} {sc.wall_s:.1f}s rss {sc.max_rss_mib:.0f} MiB load {sc.load_before[0]:.1f}",
                file=sys.stderr,
            )
        runs.append(rec)
    if not args.keep_store:
        shutil.rmtree(store, ignore_errors=True)
    label = size_label(n) + (f" x{args.grow}" if args.grow > 1 else "")
    if args.partition_rows:
        label += f" (partitions of {size_label(args.partition_rows)})"
    if args.detach:
        label += " (detached partition outputs)"
    return {"size": n, "label": label, "data": str(data), "synth": synth, "runs": runs, "grow": args.grow}


def summarise(size: dict[str, Any], key: str) -> dict[str, Any] | None:
    """Medians over the repeats of one size for one scan mode (``scan`` or ``scan_embed``)."""
    runs = [r for r in size["runs"] if key in r]
    if not runs:
        return None
    stages: dict[str, float] = {}
    stages["ingest"] = median([r["ingest"]["result"]["seconds"] for r in runs])
    for s in STAGES[1:]:
        stages[s] = median([r[key]["result"]["stages"].get(s, 0.0) for r in runs])
    e2e = [r["ingest"]["wall_s"] + r[key]["wall_s"] for r in runs]
    cpu = [r["ingest"]["user_s"] + r["ingest"]["sys_s"] + r[key]["user_s"] + r[key]["sys_s"] for r in runs]
    first = runs[0]
    return {
        "runs": len(runs),
        "requests": first[key]["result"]["requests"],
        "stored": first["ingest"]["result"]["stored"],
        "entities": first[key]["result"]["entities"],
        "partitions": first[key]["result"]["partitions"],
        "embedded": first[key]["result"]["embedded_texts"],
        "stages": stages,
        "end_to_end_s": median(e2e),
        "end_to_end_all": [round(x, 1) for x in e2e],
        "end_to_end_cpu_s": median(cpu),
        "ingest_rss_mib": max(r["ingest"]["max_rss_mib"] for r in runs),
        "scan_rss_mib": max(r[key]["max_rss_mib"] for r in runs),
        "loads": [r["ingest"]["load_before"][0] for r in runs] + [r[key]["load_before"][0] for r in runs],
        "input_mb": first["ingest"]["result"].get("input_bytes", 0) / 1e6,
    }


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        f"Measured {m['date']} on {m['host']}: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, no GPU; "
        f"Python {m['python']}, polars {m['versions']['polars']}, commit {m['commit']}.",
        f"Command: `{results['command']}`",
        "",
        "| size | embeddings | requests | runs | "
        + " | ".join(STAGES)
        + " | end-to-end | CPU | peak RSS ingest / scan | load avg |",
        "|---|---|---:|---:|" + "---:|" * len(STAGES) + "---:|---:|---:|---|",
    ]
    for size in results["sizes"]:
        for key, label in (("scan", "off"), ("scan_embed", "on")):
            s = summarise(size, key)
            if s is None:
                continue
            cells = " | ".join(fmt_s(s["stages"][k]) for k in STAGES)
            loads = ", ".join(f"{x:.1f}" for x in s["loads"])
            lines.append(
                f"| {size['label']} | {label} | {s['requests']:,} | {s['runs']} | {cells} | {fmt_s(s['end_to_end_s'])} | "
                f"{fmt_s(s['end_to_end_cpu_s'])} | "
                f"{s['ingest_rss_mib']:,.0f} / {s['scan_rss_mib']:,.0f} MiB | {loads} |"
            )
    lines += ["", "| size | synth wall | synth peak RSS | input | accounts | embedded texts (embeddings on) |"]
    lines.append("|---|---:|---:|---:|---:|---:|")
    for size in results["sizes"]:
        s = summarise(size, "scan_embed")
        emb = f"{s['embedded']:,} ({100 * s['embedded'] / max(1, s['requests']):.2f}%)" if s else "–"
        sy = size["synth"]
        lines.append(
            f"| {size['label']} | {fmt_s(sy['wall_s'])} s | {sy['max_rss_mib']:,.0f} MiB | {sy['bytes'] / 1e6:,.0f} MB | "
            f"{sy['accounts']:,} | {emb} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "_child":  # _child ingest DATA STORE RESULT | _child scan STORE OUT 0|1 DEVICE ROWS RESULT
        if argv[1] == "ingest":
            child_ingest(Path(argv[2]), Path(argv[3]), Path(argv[4]))
        elif argv[1] == "grow":
            child_grow(Path(argv[2]), Path(argv[3]), int(argv[4]), Path(argv[5]))
        else:
            rows = int(argv[6] or 0) if len(argv) > 7 else 0  # (ROWS absent: a harness started before it existed)
            child_scan(Path(argv[2]), Path(argv[3]), argv[4] == "1", Path(argv[-1]), argv[5] or None, rows or None)
        return 0
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100k", help="comma-separated request counts, e.g. 100k,1M,10M")
    ap.add_argument("--repeats", type=int, default=3, help="runs per size (medians are reported)")
    ap.add_argument("--embed", choices=("off", "on", "both"), default="both")
    ap.add_argument("--embed-repeats", type=int, default=None, help="runs with embeddings on (default: --repeats)")
    ap.add_argument("--device", default=None, help="embedding device (cpu, cuda)")
    ap.add_argument("--partition-rows", type=int, default=None, help="override the scan's partition_rows")
    ap.add_argument("--detach", action="store_true", help="experiment: copy what the scan keeps of each partition (see _detach)")
    ap.add_argument("--grow", type=int, default=1, help="scan a store of K id-suffixed copies of each size's store")
    ap.add_argument("--work", type=Path, default=Path("/tmp/bench"), help="where logs, stores and outputs go")
    ap.add_argument("--gzip", action=argparse.BooleanOptionalAction, default=True, help="gzip the synthetic logs")
    ap.add_argument("--keep-store", action="store_true", help="keep the last store of each size")
    ap.add_argument(
        "--reuse-store", action="store_true", help="scan the kept store of an earlier run (its ingest is reported again)"
    )
    ap.add_argument("--json", type=Path, default=None, help="where to write every run (JSON)")
    args = ap.parse_args(argv)
    if args.embed_repeats is None:
        args.embed_repeats = args.repeats
    args.work.mkdir(parents=True, exist_ok=True)
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    results: dict[str, Any] = {
        "machine": machine(),
        "command": "HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/run.py " + " ".join(argv),
        "sizes": [],
    }
    for n in sizes:
        results["sizes"].append(bench_size(n, args))
    out = args.json or ROOT / "benchmarks" / "results" / "raw" / f"run-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=str))
    print(markdown(results))
    print(f"(every run: {out})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
