"""Campaign linking's cross-account step (``campaigns.link_tokens`` + ``campaigns.build_edges``) alone:
seconds and peak RSS of the current code against a reference commit, on the linking inputs of a real scan.

Three subcommands, each meant to run in a fresh process so that its peak RSS is its own:

* ``dump --store STORE --out DIR [--ref COMMIT]``: scan STORE (embeddings off) and save what the scan hands
  to the cross-account step: the per-partition parts of the current code (``DIR/new``) and, computed on the
  same frames, those of ``campaigns.py`` at COMMIT (``DIR/old``), the global clusters and the base scores;
* ``grow --dump DIR --copies K``: K copies of the dump (``DIR/grow-K``), entity ids and API keys suffixed
  ``~k`` like ``run.py --grow`` (IPs, user agents, templates and timestamps are shared by the copies);
* ``measure --dump DIR --impl old|new [--copies K]``: load the parts, run ``link_tokens`` then
  ``build_edges``; print JSON with seconds and the peak RSS of each (sampled every 20 ms) and the process
  peak (``ru_maxrss``); write the edges to ``DIR/edges-IMPL[-K].parquet``;
* ``compare A.parquet B.parquet``: exit 0 when the two edge tables are identical (frame equality).

Example (the numbers quoted in the task report)::

    python benchmarks/link_memory.py dump --store /tmp/bench/store-1M --out /tmp/linkmem/d1m --ref 724465f
    python benchmarks/link_memory.py grow --dump /tmp/linkmem/d1m --copies 10
    python benchmarks/link_memory.py measure --dump /tmp/linkmem/d1m --impl old --copies 10
    python benchmarks/link_memory.py measure --dump /tmp/linkmem/d1m --impl new --copies 10
    python benchmarks/link_memory.py compare /tmp/linkmem/d1m/edges-old-10.parquet /tmp/linkmem/d1m/edges-new-10.parquet
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def reference_module(commit: str) -> ModuleType:
    """``extractscan/campaigns.py`` as it was at ``commit``, importable next to the current one."""
    src = subprocess.run(
        ["git", "show", f"{commit}:src/extractscan/campaigns.py"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    spec = importlib.util.spec_from_loader("extractscan._campaigns_ref", loader=None)
    assert spec is not None
    mod = importlib.util.module_from_spec(spec)
    exec(compile(src, f"campaigns.py@{commit}", "exec"), mod.__dict__)
    return mod


def dump(store: Path, out: Path, ref: str) -> None:
    import polars as pl

    from extractscan import api
    from extractscan import scan as scan_mod
    from extractscan.config import Config

    old = reference_module(ref)
    parts: dict[str, list[list[pl.DataFrame]]] = {"old": [[], []], "new": [[], []]}
    real_parts = scan_mod.partition_link_parts
    real_tokens = scan_mod.link_tokens
    real_edges = scan_mod.build_edges
    saved: dict[str, Any] = {}

    def partition_link_parts(frame: Any, link: Any, cluster: Any = None) -> Any:
        c, b, i = real_parts(frame, link, cluster)
        _, ob, oi = old.partition_link_parts(frame, link, cluster)
        for impl, (bb, ii) in (("new", (b, i)), ("old", (ob, oi))):
            parts[impl][0].append(pl.DataFrame(pl.from_arrow(bb.to_arrow())))
            parts[impl][1].append(pl.DataFrame(pl.from_arrow(ii.to_arrow())))
        return c, b, i

    def link_tokens(clusters_global: Any, buckets: Any, infra: Any) -> Any:
        saved["clusters_global"] = clusters_global
        return real_tokens(clusters_global, buckets, infra)

    def build_edges(tokens: Any, base_scores: Any, link: Any, cluster: Any) -> Any:
        saved["base"] = base_scores
        return real_edges(tokens, base_scores, link, cluster)

    scan_mod.partition_link_parts = partition_link_parts
    scan_mod.link_tokens = link_tokens
    scan_mod.build_edges = build_edges
    cfg = Config()
    api.scan_store(store, cfg.replace(embed=replace(cfg.embed, enabled=False)))
    for impl, (bs, ins) in parts.items():
        d = out / impl
        d.mkdir(parents=True, exist_ok=True)
        pl.concat(bs).write_parquet(d / "buckets.parquet")
        pl.concat(ins).write_parquet(d / "infra.parquet")
    saved["clusters_global"].write_parquet(out / "clusters_global.parquet")
    saved["base"].write_parquet(out / "base.parquet")
    (out / "ref").write_text(ref + "\n")
    print(
        json.dumps(
            {impl: {"buckets": sum(b.height for b in p[0]), "infra": sum(i.height for i in p[1])} for impl, p in parts.items()}
        )
    )


def _suffixed(df: Any, k: int, key_kind: bool) -> Any:
    """Copy ``k`` of a linking table: entity ids (and API-key tokens) suffixed ``~k``."""
    import polars as pl

    cols = [pl.col("entity_id").cast(pl.String).add(f"~{k}").cast(df.schema["entity_id"]).alias("entity_id")]
    if key_kind and "token" in df.columns and df.schema["token"] == pl.String:
        kind = pl.col("kind").cast(pl.String)
        cols.append(pl.when(kind == "key").then(pl.col("token") + f"~{k}").otherwise(pl.col("token")).alias("token"))
    return df.with_columns(cols)


def grow(dump_dir: Path, copies: int) -> None:
    import polars as pl

    out = dump_dir / f"grow-{copies}"
    for impl in ("old", "new"):
        (out / impl).mkdir(parents=True, exist_ok=True)
        for name, key_kind in (("buckets", False), ("infra", True)):
            df = pl.read_parquet(dump_dir / impl / f"{name}.parquet")
            pl.concat([_suffixed(df, k, key_kind) for k in range(copies)]).write_parquet(out / impl / f"{name}.parquet")
    for name in ("clusters_global", "base"):
        df = pl.read_parquet(dump_dir / f"{name}.parquet")
        pl.concat([_suffixed(df, k, False) for k in range(copies)]).write_parquet(out / f"{name}.parquet")


class _Sampler:
    def __init__(self) -> None:
        self.phase = "load"
        self.peak: dict[str, int] = {}
        self._page = os.sysconf("SC_PAGE_SIZE")
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _rss(self) -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * self._page

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.sample()

    def sample(self) -> None:
        r = self._rss()
        self.peak[self.phase] = max(self.peak.get(self.phase, 0), r)

    def enter(self, phase: str) -> None:
        self.sample()
        self.phase = phase
        self.sample()

    def stop(self) -> dict[str, float]:
        self.sample()
        self._stop.set()
        self._t.join()
        return {k: round(v / 2**20, 1) for k, v in self.peak.items()}


def measure(dump_dir: Path, impl: str, copies: int) -> None:
    import polars as pl

    from extractscan.config import Config

    src = dump_dir / f"grow-{copies}" if copies > 1 else dump_dir
    mod: Any
    if impl == "old":
        mod = reference_module((dump_dir / "ref").read_text().strip())
    else:
        from extractscan import campaigns as mod
    rss = _Sampler()
    # As the scan holds them: one table per partition would be concatenated; here they come concatenated.
    buckets = pl.read_parquet(src / impl / "buckets.parquet")
    infra = pl.read_parquet(src / impl / "infra.parquet")
    cg = pl.read_parquet(src / "clusters_global.parquet")
    base = pl.read_parquet(src / "base.parquet")
    cfg = Config()
    secs: dict[str, float] = {}
    rss.enter("link_tokens")
    t = time.perf_counter()
    tokens = mod.link_tokens(cg, buckets, infra)
    secs["link_tokens"] = round(time.perf_counter() - t, 2)
    rss.enter("build_edges")
    t = time.perf_counter()
    edges = mod.build_edges(tokens, base, cfg.link, cfg.cluster)
    secs["build_edges"] = round(time.perf_counter() - t, 2)
    rss.enter("done")
    peaks = rss.stop()
    name = f"edges-{impl}" + (f"-{copies}" if copies > 1 else "") + ".parquet"
    edges.write_parquet(dump_dir / name)
    print(
        json.dumps(
            {
                "impl": impl,
                "copies": copies,
                "rows": {"buckets": buckets.height, "infra": infra.height, "tokens": tokens.height, "edges": edges.height},
                "seconds": secs,
                "peak_rss_mib": peaks,
                "ru_maxrss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "loadavg_1m": os.getloadavg()[0],
            }
        )
    )


def compare(a: Path, b: Path) -> int:
    import polars as pl
    from polars.testing import assert_frame_equal

    x, y = pl.read_parquet(a), pl.read_parquet(b)
    assert_frame_equal(x, y, check_exact=True)  # weights bit for bit
    print(f"identical: {x.height} edges")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump")
    d.add_argument("--store", type=Path, required=True)
    d.add_argument("--out", type=Path, required=True)
    d.add_argument("--ref", default="HEAD")
    g = sub.add_parser("grow")
    g.add_argument("--dump", type=Path, required=True)
    g.add_argument("--copies", type=int, required=True)
    m = sub.add_parser("measure")
    m.add_argument("--dump", type=Path, required=True)
    m.add_argument("--impl", choices=["old", "new"], required=True)
    m.add_argument("--copies", type=int, default=1)
    c = sub.add_parser("compare")
    c.add_argument("a", type=Path)
    c.add_argument("b", type=Path)
    args = p.parse_args(argv)
    if args.cmd == "dump":
        dump(args.store, args.out, args.ref)
    elif args.cmd == "grow":
        grow(args.dump, args.copies)
    elif args.cmd == "measure":
        measure(args.dump, args.impl, args.copies)
    else:
        return compare(args.a, args.b)
    return 0


if __name__ == "__main__":
    sys.exit(main())
