"""Shared helpers of the benchmark scripts: machine description, fresh-subprocess runs with their own peak
RSS, sizes, medians. Not part of the package (benchmarks are run from a checkout)."""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def parse_size(text: str) -> int:
    """'100k' -> 100000, '1M' -> 1000000, '2500' -> 2500."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*", text)
    if not m:
        raise ValueError(f"not a size: {text!r} (e.g. 2k, 100k, 1M)")
    mult = {"": 1, "k": 1_000, "m": 1_000_000}[m.group(2).lower()]
    return round(float(m.group(1)) * mult)


def size_label(n: int) -> str:
    if n >= 1_000_000 and n % 100_000 == 0:
        return f"{n / 1_000_000:g}M"
    if n >= 1_000 and n % 100 == 0:
        return f"{n / 1_000:g}k"
    return str(n)


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))  # type: ignore[union-attr]
        mem_gib = round(kb / 2**20, 1)
    except (OSError, AttributeError):
        pass
    # Versions from package metadata: importing torch here would inflate every child's peak RSS (a forked
    # child starts with the parent's pages, and ru_maxrss counts them).
    versions: dict[str, str | None] = {}
    for dist in ("polars", "pyarrow", "numpy", "datasketch", "torch", "sentence-transformers"):
        try:
            versions[dist.replace("-", "_")] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist.replace("-", "_")] = None
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gib": mem_gib,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
        "commit": commit,
        "gpu": "none",
    }


@dataclass(frozen=True)
class ChildRun:
    """One measured command in a fresh process: its result document and its own peak RSS."""

    argv: list[str]
    rc: int
    wall_s: float
    user_s: float
    sys_s: float
    max_rss_mib: float
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    result: dict[str, Any]
    stderr_tail: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "argv": " ".join(shlex.quote(a) for a in self.argv),
            "rc": self.rc,
            "wall_s": round(self.wall_s, 3),
            "user_s": round(self.user_s, 3),
            "sys_s": round(self.sys_s, 3),
            "max_rss_mib": round(self.max_rss_mib, 1),
            "load_before": [round(x, 2) for x in self.load_before],
            "load_after": [round(x, 2) for x in self.load_after],
            "result": self.result,
        }


class _TreeRss:
    """Samples the summed RSS of a process and all its descendants every 50 ms (from /proc)."""

    def __init__(self, pid: int) -> None:
        import threading

        self.pid, self.peak = pid, 0
        self._page = os.sysconf("SC_PAGE_SIZE")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree(self, pid: int) -> list[int]:
        out, todo = [], [pid]
        while todo:
            p = todo.pop()
            out.append(p)
            for task in Path(f"/proc/{p}/task").glob("*/children"):
                with contextlib.suppress(OSError):
                    todo.extend(int(c) for c in task.read_text().split())
        return out

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            total = 0
            for p in self._tree(self.pid):
                with contextlib.suppress(OSError, ValueError, IndexError):
                    total += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * self._page
            self.peak = max(self.peak, total)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def run_child(argv: list[str], result_path: Path, *, env: dict[str, str] | None = None) -> ChildRun:
    """Run ``argv`` in a fresh process and read its peak RSS from ``wait4`` (per child, unlike
    ``RUSAGE_CHILDREN``, which is the maximum over every child so far). The child writes its result
    document as JSON to ``result_path``."""
    result_path.unlink(missing_ok=True)
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **(env or {})}
    load0 = load_average()
    t0 = time.perf_counter()
    err_path = result_path.with_suffix(".stderr")
    with open(err_path, "wb") as err:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err, env=full_env, cwd=ROOT)
        tree = _TreeRss(proc.pid)
        _, status, usage = os.wait4(proc.pid, 0)
        tree.stop()
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    tail = err_path.read_text(errors="replace")[-4000:]
    result = json.loads(result_path.read_text()) if result_path.exists() else {}
    return ChildRun(
        argv=argv,
        rc=proc.returncode,
        wall_s=wall,
        user_s=usage.ru_utime,
        sys_s=usage.ru_stime,
        # Linux: KiB. wait4 gives the largest single process of the tree; with worker processes (parallel
        # ingest and scan) the sampled sum over the tree is larger, and that is what the machine must hold.
        max_rss_mib=max(usage.ru_maxrss / 1024.0, tree.peak / 2**20),
        load_before=load0,
        load_after=load_average(),
        result=result,
        stderr_tail=tail,
    )


def median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def fmt_s(x: float | None) -> str:
    if x is None or x != x:  # None or NaN
        return "–"
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
