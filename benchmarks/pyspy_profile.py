"""Profile one stage with py-spy and summarise where the time goes.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/pyspy_profile.py ingest --data /tmp/bench/data-100k --out /tmp/bench/prof
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/pyspy_profile.py scan --store /tmp/bench/store-100k --out /tmp/bench/prof
    .venv/bin/python benchmarks/pyspy_profile.py summary /tmp/bench/prof/ingest.txt      # re-summarise a profile

``ingest`` / ``scan`` run ``extractscan ingest`` / ``extractscan scan --no-embed`` under ``py-spy record
--idle --format raw`` (collapsed stacks). ``--idle`` matters: while polars works in its own threads the
Python thread waits, and py-spy would otherwise drop those samples, hiding every polars-heavy function;
with it, the Python thread's samples are wall time, and polars / numpy native time shows as the Python
frame that called them. ``summary`` prints, for the project's own functions, the share of samples in which each
function is on the stack (inclusive) and on top of the project's frames (self: time spent in that
function or in libraries it calls directly). py-spy is a dev tool: ``pip install py-spy``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import ROOT

_FRAME = re.compile(r"^(?P<func>[^ ]+) \((?P<file>[^:]+)(?::(?P<line>\d+))?\)$")


def _own(file: str) -> str | None:
    """``extractscan/…/mod.py`` for the project's own files, else None."""
    i = file.find("extractscan/")
    return file[i:] if i >= 0 else None


def summarise(path: Path, top: int = 25) -> str:
    """Inclusive and self shares of the project's functions in a py-spy raw (collapsed) profile."""
    incl: Counter[str] = Counter()
    selfc: Counter[str] = Counter()
    lib_top: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        seen: set[str] = set()
        last_own = None
        last_own_idx = -1
        for idx, fr in enumerate(frames):
            m = _FRAME.match(fr.strip())
            if not m:
                continue
            own = _own(m.group("file"))
            if own is None:
                continue
            name = f"{own}:{m.group('func')}"
            if name not in seen:
                incl[name] += n
                seen.add(name)
            last_own, last_own_idx = name, idx
        if last_own is not None:
            selfc[last_own] += n
            below = frames[last_own_idx + 1 :]
            if below:
                m = _FRAME.match(below[-1].strip())
                lib_top[f"{last_own} -> {m.group('func') if m else below[-1][:60]}"] += n
        else:
            lib_top["(outside extractscan: startup, imports, interpreter)"] += n
    if not total:
        return f"{path}: no samples\n"
    out = [f"{path.name}: {total} samples", "", "| self % | function (time in it and the libraries it calls directly) |"]
    out.append("|---:|---|")
    for name, n in selfc.most_common(top):
        out.append(f"| {100 * n / total:.1f} | `{name}` |")
    out += ["", "| inclusive % | function |", "|---:|---|"]
    for name, n in incl.most_common(top):
        out.append(f"| {100 * n / total:.1f} | `{name}` |")
    out += ["", "| % | project frame -> innermost library frame |", "|---:|---|"]
    for name, n in lib_top.most_common(top):
        out.append(f"| {100 * n / total:.1f} | `{name}` |")
    return "\n".join(out) + "\n"


def _record(cmd: list[str], out: Path, rate: int) -> Path:
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    out.parent.mkdir(parents=True, exist_ok=True)
    argv = [spy, "record", "--idle", "-r", str(rate), "--format", "raw", "-o", str(out), "--", *cmd]
    subprocess.run(argv, check=True, cwd=ROOT)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("ingest")
    a.add_argument("--data", type=Path, required=True)
    a.add_argument("--out", type=Path, required=True)
    a.add_argument("--rate", type=int, default=50)
    b = sub.add_parser("scan")
    b.add_argument("--store", type=Path, required=True)
    b.add_argument("--out", type=Path, required=True)
    b.add_argument("--rate", type=int, default=50)
    b.add_argument("--embed", action="store_true", help="profile with embeddings on")
    c = sub.add_parser("summary")
    c.add_argument("profile", type=Path)
    c.add_argument("--top", type=int, default=25)
    args = ap.parse_args(argv)
    exe = str(Path(sys.executable).with_name("extractscan"))
    if args.cmd == "summary":
        print(summarise(args.profile, args.top))
        return
    if args.cmd == "ingest":
        store = args.out / "store-ingest"
        shutil.rmtree(store, ignore_errors=True)
        # One process: py-spy samples this one, and parsing runs in worker processes otherwise.
        cmd = [exe, "ingest", str(args.data), "--store", str(store), "--quiet", "--workers", "1"]
        prof = _record(cmd, args.out / "ingest.txt", args.rate)
    else:
        flags = [] if args.embed else ["--no-embed"]
        prof = _record(
            [exe, "scan", "--store", str(args.store), "--out", str(args.out / "scan-out"), "--quiet", *flags],
            args.out / ("scan-embed.txt" if args.embed else "scan.txt"),
            args.rate,
        )
    text = summarise(prof)
    prof.with_suffix(".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
