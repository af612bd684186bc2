"""Ingest: input files -> readers -> canonical rows in bounded Arrow batches -> one store run.

Nothing is lost: every input record ends either as stored / duplicate rows or as a quarantine entry with a
reason, and the counts say so (``read == stored + duplicate + quarantined`` per format and in total).
Nothing here raises on bad input; only a missing path, an unknown ``--format`` or a store that cannot be
opened stop a run before it starts. A run is committed atomically at the end (see :mod:`extractscan.store`).
"""

from __future__ import annotations

import fnmatch
import hashlib
import multiprocessing
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import pyarrow as pa

from extractscan.config import Config, IngestConfig
from extractscan.ingest import registry
from extractscan.ingest.base import Reader, Rejected, SourceRef, finalize_row
from extractscan.ingest.containers import RawRecord, expand_paths, file_sha256, open_records
from extractscan.models import FileProblem, FileReport, FormatCounts, IngestReport, ReasonCount
from extractscan.schema import CANONICAL_SCHEMA, CanonicalRow
from extractscan.store import ManifestEntry, Run, StagedSummary, Stager, Store

UNKNOWN = "unknown"  # source_format of records no reader claims
SNIFF_RECORDS = 20  # decoded records looked at to pick a reader
_SNIFF_MAX_RECORDS = 200  # ... among at most this many records (leading garbage lines)
_SNIFF_MAX_BYTES = 64 << 20
_BATCH_BYTES = 64 << 20  # a batch is also flushed at about this many raw bytes (megabyte prompts)
_QUARANTINE_BATCH = 10_000
_MESSAGE_CHARS = 1000

# Quarantine reason codes added by the pipeline (container codes are in containers.RECORD_ERRORS).
UNKNOWN_FORMAT = "unknown_format"
READER_ERROR = "reader_error"
SCHEMA_ERROR = "schema_error"
NO_ROWS = "no_rows"
INTERNAL_ERROR = "internal_error"

PIPELINE_REASONS: dict[str, str] = {
    UNKNOWN_FORMAT: "no reader recognises the file (and no --format / mapping applies)",
    READER_ERROR: "the reader raised an exception on this record (a reader bug; the record is kept here)",
    SCHEMA_ERROR: "the row could not be finalised or converted to the canonical Arrow schema",
    NO_ROWS: "the reader produced neither a row nor a rejection for this record",
    INTERNAL_ERROR: "an unexpected error while decoding the file; records up to it are accounted for",
}


class UnknownFormatError(ValueError):
    """``fmt`` names no reader and no generic mapping."""


@dataclass(frozen=True)
class ProgressEvent:
    """Passed to a progress callback: ``phase`` is ``start``, ``file``, ``bytes``, ``commit`` or ``done``."""

    phase: str
    file: str | None
    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int


ProgressCallback = Callable[[ProgressEvent], None]


# --------------------------------------------------------------------------------------------------
# Reader selection


def _generic_readers(cfg: IngestConfig) -> dict[str, Reader]:
    try:
        from extractscan.ingest.formats import generic  # written alongside; optional here
    except ImportError:
        return {}
    fn = getattr(generic, "generic_readers", None)
    if fn is None:
        return {}
    return dict(fn(cfg))


def _lookup_generic(name: str, generic: dict[str, Reader]) -> Reader | None:
    return generic.get(name) or generic.get(f"generic:{name}")


def resolve_format(fmt: str, cfg: IngestConfig) -> Reader:
    """The reader for ``--format``: a registry name or ``generic:<mapping>``."""
    if fmt.startswith("generic:"):
        name = fmt.split(":", 1)[1]
        generic = _generic_readers(cfg)
        reader = _lookup_generic(name, generic)
        if reader is None:
            known = ", ".join(sorted(cfg.mappings)) or "none configured"
            raise UnknownFormatError(f"unknown generic mapping {name!r} (mappings: {known})")
        return reader
    try:
        return registry.get_reader(fmt)
    except KeyError as e:
        raise UnknownFormatError(str(e.args[0]) if e.args else f"unknown format {fmt!r}") from None


def sniff_records(records: Sequence[RawRecord]) -> Reader | None:
    """The reader claiming most of the decoded records (ties: higher priority), or None."""
    votes: Counter[str] = Counter()
    by_name: dict[str, Reader] = {}
    for rec in records:
        if not rec.ok:
            continue
        try:
            reader = registry.sniff(rec.value)
        except Exception:  # a sniff must never break ingest
            reader = None
        if reader is not None:
            votes[reader.name] += 1
            by_name[reader.name] = reader
    if not votes:
        return None
    order = {name: i for i, name in enumerate(registry.readers())}
    best = max(votes, key=lambda n: (votes[n], -order.get(n, len(order))))
    return by_name[best]


def _describe_keys(records: Sequence[RawRecord]) -> str:
    for rec in records:
        if rec.ok:
            if isinstance(rec.value, dict):
                keys = [str(k)[:40] for k in list(rec.value)[:8]]
                more = ", ..." if len(rec.value) > 8 else ""
                return f"first record has keys: {', '.join(keys)}{more}"
            return f"first record is a JSON {type(rec.value).__name__}, not an object"
    return "no record could be decoded"


# --------------------------------------------------------------------------------------------------
# Per-run state


@dataclass
class _Counts:
    records: int = 0
    read: int = 0
    handed: int = 0  # rows handed to the store (stored + duplicate after commit)
    quarantined: int = 0
    skipped: int = 0
    duplicate: int = 0  # whole-file duplicates only (row duplicates come from the commit)

    def add(self, other: _Counts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass
class _FileState:
    path: str
    status: str = "ingested"
    format: str | None = None
    container: str | None = None
    compression: str | None = None
    size: int = 0
    sha256: str | None = None
    counts: _Counts = field(default_factory=_Counts)
    problems: list[FileProblem] = field(default_factory=list)
    in_manifest: bool = False


class _Progress:
    def __init__(self, progress: Any, files_total: int, bytes_total: int) -> None:
        self.files_total = files_total
        self.bytes_total = bytes_total
        self.files_done = 0
        self.bytes_before = 0  # bytes of the files already done
        self._cb: ProgressCallback | None = None
        self._rich: Any = None
        if progress is None:
            return
        try:
            from rich.progress import Progress
        except ImportError:  # pragma: no cover
            Progress = None  # type: ignore[assignment,misc]
        if Progress is not None and isinstance(progress, Progress):
            self._rich = progress
            self._files_task = progress.add_task("files", total=files_total)
            self._bytes_task = progress.add_task("bytes", total=bytes_total)
        elif callable(progress):
            self._cb = progress

    def _emit(self, phase: str, file: str | None, bytes_done: int) -> None:
        if self._cb is not None:
            self._cb(ProgressEvent(phase, file, self.files_done, self.files_total, bytes_done, self.bytes_total))
        if self._rich is not None:
            self._rich.update(self._files_task, completed=self.files_done)
            self._rich.update(self._bytes_task, completed=bytes_done)

    def start(self) -> None:
        self._emit("start", None, 0)

    def bytes_in_file(self, file: str, n: int) -> None:
        self._emit("bytes", file, self.bytes_before + n)

    def file_done(self, file: str, size: int) -> None:
        self.files_done += 1
        self.bytes_before += size
        self._emit("file", file, self.bytes_before)

    def phase(self, name: str) -> None:
        self._emit(name, None, self.bytes_before)


class _Ingest:
    def __init__(self, run: Run | Stager, config: Config, forced: Reader | None, mapping_readers: dict[str, Reader]) -> None:
        self.run = run
        self.cfg = config.ingest
        self.forced = forced
        self.batch_rows = max(1, int(self.cfg.batch_rows))
        self.rows: list[CanonicalRow] = []
        self.metas: list[tuple[str, int, str, bytes, int]] = []  # file, offset, format, head, raw len
        self.batch_bytes = 0
        self.qbuf: list[dict[str, Any]] = []
        self.by_format: dict[str, _Counts] = {}
        self.reasons: Counter[tuple[str, str]] = Counter()
        self.files: dict[str, _FileState] = {}
        self._mapping_readers = mapping_readers

    # -- accounting ----------------------------------------------------------------------------------

    def _fmt(self, name: str) -> _Counts:
        c = self.by_format.get(name)
        if c is None:
            c = self.by_format[name] = _Counts()
        return c

    def quarantine(
        self,
        fs: _FileState,
        fmt: str,
        offset: int | None,
        reason: str,
        message: str | None,
        kind: str,
        head: bytes,
        raw_len: int | None,
    ) -> None:
        self.qbuf.append(
            {
                "source_file": fs.path,
                "source_offset": offset,
                "source_format": fmt,
                "kind": kind,
                "reason": reason,
                "message": (message or "")[:_MESSAGE_CHARS] or None,
                "excerpt": head[:200].decode("utf-8", "replace") if head else None,
                "raw_bytes": raw_len,
            }
        )
        self.reasons[(reason, kind)] += 1
        for c in (self._fmt(fmt), fs.counts):
            c.read += 1
            c.quarantined += 1
            if kind == "skipped":
                c.skipped += 1
        if len(self.qbuf) >= _QUARANTINE_BATCH:
            self.flush_quarantine()

    def reject(self, fs: _FileState, fmt: str, rec: RawRecord, reason: str, message: str | None, kind: str = "error") -> None:
        self.quarantine(fs, fmt, rec.offset, reason, message, kind, rec.head, rec.raw_bytes_len)

    def flush_quarantine(self) -> None:
        if self.qbuf:
            self.run.quarantine(self.qbuf)
            self.qbuf = []

    # -- rows ----------------------------------------------------------------------------------------

    def add_row(self, fs: _FileState, fmt: str, row: CanonicalRow, rec: RawRecord) -> None:
        self.rows.append(row)
        self.metas.append((fs.path, rec.offset, fmt, rec.head, rec.raw_bytes_len))
        for c in (self._fmt(fmt), fs.counts):
            c.read += 1
            c.handed += 1
        self.batch_bytes += rec.raw_bytes_len
        if len(self.rows) >= self.batch_rows or self.batch_bytes >= _BATCH_BYTES:
            self.flush_rows()

    def flush_rows(self) -> None:
        if not self.rows:
            return
        rows, metas = self.rows, self.metas
        self.rows, self.metas, self.batch_bytes = [], [], 0
        tables: list[pa.Table] = []
        bad: list[tuple[CanonicalRow, Any, str]] = []
        _convert(rows, metas, tables, bad)
        for _row, (file, offset, fmt, head, raw_len), err in bad:
            fs = self.files[file]
            for c in (self._fmt(fmt), fs.counts):
                c.read -= 1
                c.handed -= 1
            self.quarantine(fs, fmt, offset, SCHEMA_ERROR, err, "error", head, raw_len)
        if tables:
            table = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
            self.run.write_rows(table)

    # -- records -------------------------------------------------------------------------------------

    def mapping_reader(self, path: Path) -> Reader | None:
        matching = [
            name
            for name, m in self.cfg.mappings.items()
            if m.match and (fnmatch.fnmatch(path.name, m.match) or fnmatch.fnmatch(str(path), m.match))
        ]
        for name in matching:
            reader = _lookup_generic(name, self._mapping_readers)
            if reader is not None:
                return reader
        return None

    def process_record(self, fs: _FileState, reader: Reader | None, rec: RawRecord, why_unknown: str) -> None:
        fmt = reader.name if reader is not None else UNKNOWN
        self._fmt(fmt).records += 1
        fs.counts.records += 1
        if not rec.ok:
            self.reject(fs, fmt, rec, rec.error or "invalid_record", rec.message)
            return
        if reader is None:
            self.reject(fs, fmt, rec, UNKNOWN_FORMAT, why_unknown)
            return
        ref = SourceRef(file=fs.path, offset=rec.offset)
        try:
            outcomes = list(reader.parse(rec.value, ref))
        except Exception as e:
            self.reject(fs, fmt, rec, READER_ERROR, f"{reader.name}: {type(e).__name__}: {e}")
            return
        if not outcomes:
            self.reject(fs, fmt, rec, NO_ROWS, f"{reader.name} produced no row")
            return
        multi = len(outcomes) > 1
        for k, outcome in enumerate(outcomes, start=1):
            if isinstance(outcome, Rejected):
                kind = "skipped" if outcome.kind == "skipped" else "error"
                self.reject(fs, fmt, rec, str(outcome.reason), outcome.message, kind)
                continue
            if not isinstance(outcome, dict):
                self.reject(fs, fmt, rec, READER_ERROR, f"{reader.name} yielded a {type(outcome).__name__}")
                continue
            row = outcome
            if self.cfg.default_account_id and not row.get("account_id"):
                row["account_id"] = self.cfg.default_account_id
            digest = rec.digest if not multi or k == 1 else _sub_digest(rec.digest, k)
            try:
                row = finalize_row(
                    row,
                    source_format=reader.name,
                    ref=ref,
                    raw_digest=digest,
                    max_prompt_chars=self.cfg.max_prompt_chars,
                    max_response_chars=self.cfg.max_response_chars,
                )
            except Exception as e:
                self.reject(fs, fmt, rec, SCHEMA_ERROR, f"cannot finalise row: {type(e).__name__}: {e}")
                continue
            self.add_row(fs, fmt, row, rec)

    def ingest_file(self, fs: _FileState, path: Path, progress: _Progress) -> None:
        try:
            stream = open_records(path, max_record_bytes=self.cfg.max_record_bytes)
        except OSError as e:
            fs.status = "unreadable"
            fs.problems.append(FileProblem("unreadable_file", f"cannot open: {e}"))
            return
        with stream:
            fs.container, fs.compression = stream.container, stream.compression
            fs.in_manifest = True
            it = iter(stream)
            reader = self.forced or self.mapping_reader(path)
            head: list[RawRecord] = []
            try:
                if reader is None:
                    ok = nbytes = 0
                    for rec in it:
                        head.append(rec)
                        ok += rec.ok
                        nbytes += rec.raw_bytes_len
                        if ok >= SNIFF_RECORDS or len(head) >= _SNIFF_MAX_RECORDS:
                            break
                        if nbytes > _SNIFF_MAX_BYTES:
                            break
                    reader = sniff_records(head)
                fs.format = reader.name if reader is not None else (UNKNOWN if head else None)
                why = ""
                if reader is None and head:
                    why = f"no reader recognises {path.name} ({_describe_keys(head)}); pass --format NAME or configure a mapping"
                for n, rec in enumerate(_chain(head, it), start=1):
                    self.process_record(fs, reader, rec, why)
                    if n % 2048 == 0:
                        progress.bytes_in_file(fs.path, stream.bytes_read)
            except Exception as e:  # a decoding bug must not lose the run: account for it and go on
                self.quarantine(
                    fs,
                    fs.format or UNKNOWN,
                    None,
                    INTERNAL_ERROR,
                    f"{type(e).__name__}: {e}",
                    "error",
                    b"",
                    None,
                )
                fs.problems.append(FileProblem(INTERNAL_ERROR, f"decoding stopped: {type(e).__name__}: {e}"))
            if stream.problem is not None:
                fs.problems.append(FileProblem(*stream.problem))
            if fs.counts.records == 0:
                fs.status = "empty"
                fs.problems.append(FileProblem("empty_file", "the file holds no records"))
            elif reader is None:
                fs.problems.append(FileProblem(UNKNOWN_FORMAT, why or "no reader recognises this file"))


_ROW_TYPE = pa.struct(list(CANONICAL_SCHEMA))


def _convert(
    rows: list[CanonicalRow],
    metas: list[Any],
    tables: list[pa.Table],
    bad: list[tuple[CanonicalRow, Any, str]],
) -> None:
    """Convert rows to Arrow; a batch that fails is bisected down to the rows that do not fit."""
    try:
        # pyarrow converts a list of dicts to a struct array in C++ (8 us a row); Table.from_pylist first
        # pivots the rows into per-column lists in Python (26 us a row). Same table, same errors.
        tables.append(pa.Table.from_struct_array(pa.array(rows, type=_ROW_TYPE)))
        return
    except Exception as e:
        if len(rows) == 1:
            bad.append((rows[0], metas[0], f"row does not fit the canonical schema: {type(e).__name__}: {e}"))
            return
    mid = len(rows) // 2
    _convert(rows[:mid], metas[:mid], tables, bad)
    _convert(rows[mid:], metas[mid:], tables, bad)


def _sub_digest(digest: str, k: int) -> str:
    return hashlib.sha256(f"{digest}#row{k}".encode()).hexdigest()


def _chain(head: list[RawRecord], rest: Iterator[RawRecord]) -> Iterator[RawRecord]:
    yield from head
    head.clear()
    yield from rest


# --------------------------------------------------------------------------------------------------
# Entry point


def ingest_paths(
    paths: Iterable[str | Path],
    store: Store | str | Path,
    config: Config | None = None,
    fmt: str | None = None,
    progress: ProgressCallback | Any | None = None,
) -> IngestReport:
    """Ingest files and folders into ``store`` as one atomic run.

    ``fmt`` forces a reader (a registry name or ``generic:<mapping>``); otherwise a mapping whose
    ``match`` glob fits the file name is used, else the reader claiming most of the first decoded
    records. ``progress`` is a callback taking :class:`ProgressEvent` or a ``rich.progress.Progress``.

    Raises ``FileNotFoundError`` (a path does not exist), :class:`UnknownFormatError` (bad ``fmt``),
    ``ConfigError`` (a bad generic mapping) and ``extractscan.store.StoreError`` (the store cannot be
    opened or another process is writing to it) -- all before anything is written.
    """
    t0 = time.monotonic()
    cfg = config or Config()
    forced = resolve_format(fmt, cfg.ingest) if fmt else None
    mapping_readers = _generic_readers(cfg.ingest) if any(m.match for m in cfg.ingest.mappings.values()) else {}
    paths = [Path(p) for p in paths]
    files = expand_paths(paths, exclude=[store.root if isinstance(store, Store) else Path(store)])
    st = store if isinstance(store, Store) else Store(store)
    sizes = []
    for p in files:
        try:
            sizes.append(p.stat().st_size)
        except OSError:
            sizes.append(0)
    prog = _Progress(progress, len(files), sum(sizes))
    prog.start()

    with st.begin_run(info={"paths": [str(p) for p in paths], "format": fmt}) as run:
        ing = _Ingest(run, cfg, forced, mapping_readers)
        known: dict[str, ManifestEntry] = {}
        for e in st.manifest():
            if e.format not in (None, UNKNOWN):
                known[e.sha256] = e
        order: list[_FileState] = []
        todo: list[tuple[_FileState, Path]] = []
        for path, size in zip(files, sizes, strict=True):
            src = str(path)
            if src in ing.files:  # the same path named twice
                prog.file_done(src, size)
                continue
            fs = _FileState(path=src, size=size)
            ing.files[src] = fs
            order.append(fs)
            try:
                fs.sha256 = file_sha256(path)
            except OSError as e:
                fs.status = "unreadable"
                fs.problems.append(FileProblem("unreadable_file", f"cannot read: {e}"))
                prog.file_done(src, size)
                continue
            todo.append((fs, path))
        workers = plan_workers(cfg.ingest, [fs.size for fs, _ in todo])
        if workers > 1:
            _ingest_parallel(ing, run, todo, known, fmt, forced, cfg, workers, prog)
        else:
            for fs, path in todo:
                if not _is_known_duplicate(ing, fs, known, forced):
                    ing.ingest_file(fs, path, prog)
                    _remember(fs, known)
                prog.file_done(fs.path, fs.size)
        ing.flush_rows()
        ing.flush_quarantine()
        for fs in order:
            if fs.in_manifest and fs.sha256 is not None:
                run.add_file(
                    ManifestEntry(
                        path=fs.path,
                        size=fs.size,
                        sha256=fs.sha256,
                        format=fs.format,
                        records=fs.counts.records,
                        read=fs.counts.read,
                        quarantined=fs.counts.quarantined,
                        skipped=fs.counts.skipped,
                        container=fs.container,
                        compression=fs.compression,
                        problems=tuple(p.code for p in fs.problems),
                    )
                )
        prog.phase("commit")
        result = run.commit()

    formats: list[FormatCounts] = []
    for name in sorted(ing.by_format):
        c = ing.by_format[name]
        formats.append(
            FormatCounts(
                format=name,
                records=c.records,
                read=c.read,
                stored=result.stored.get(name, 0),
                duplicate=c.duplicate + result.duplicate.get(name, 0),
                quarantined=c.quarantined,
                skipped=c.skipped,
            )
        )
    totals = FormatCounts(format="total")
    for f in formats:
        totals = totals + f
    file_reports = tuple(
        FileReport(
            path=fs.path,
            status=fs.status,
            format=fs.format,
            container=fs.container,
            compression=fs.compression,
            size=fs.size,
            sha256=fs.sha256,
            records=fs.counts.records,
            read=fs.counts.read,
            stored=result.stored_by_file.get(fs.path, 0),
            duplicate=fs.counts.duplicate + result.duplicate_by_file.get(fs.path, 0),
            quarantined=fs.counts.quarantined,
            skipped=fs.counts.skipped,
            problems=tuple(fs.problems),
        )
        for fs in order
    )
    reasons = tuple(
        ReasonCount(reason, kind, n) for (reason, kind), n in sorted(ing.reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    )
    prog.phase("done")
    return IngestReport(
        run_id=result.run_id,
        store=str(st.root),
        formats=tuple(formats),
        totals=totals,
        files=file_reports,
        quarantine_reasons=reasons,
        quarantine_path=str(st.root / result.quarantine_path) if result.quarantine_path else None,
        duration_s=round(time.monotonic() - t0, 3),
    )


def _is_known_duplicate(ing: _Ingest, fs: _FileState, known: dict[str, ManifestEntry], forced: Reader | None) -> bool:
    """Mark ``fs`` a duplicate file when the same bytes were ingested before (earlier run or this one)."""
    prev = known.get(fs.sha256 or "")
    if prev is not None and (forced is None or forced.name == prev.format):
        _mark_duplicate_file(ing, fs, prev)
        return True
    return False


def _remember(fs: _FileState, known: dict[str, ManifestEntry]) -> None:
    """A file read with a known format: later copies of its bytes in this run are duplicates."""
    if fs.in_manifest and fs.sha256 is not None and fs.format not in (None, UNKNOWN):
        known[fs.sha256] = ManifestEntry(
            path=fs.path, size=fs.size, sha256=fs.sha256, format=fs.format, records=fs.counts.records, read=fs.counts.read
        )


# --------------------------------------------------------------------------------------------------
# Parallel ingest: chunks of consecutive files parsed in worker processes
#
# Readers map heterogeneous JSON per record in Python, so one process is bound to one core; files are
# independent, so a run spreads them over processes. Each worker stages its chunk's batches straight into the
# run's staging folder (nothing large crosses a pipe) under names that sort by chunk, and returns its
# counts; the parent merges them in chunk order. Chunks are consecutive files, so batches, the commit's
# first-occurrence dedupe, the manifest and the quarantine come out as a sequential run would write them.

_CHUNKS_PER_WORKER = 12  # small chunks balance the workers; each chunk is at least one file
_MAX_CHUNK_BYTES = 64 << 20


def plan_workers(cfg: IngestConfig, sizes: Sequence[int]) -> int:
    """How many worker processes a run of files of these sizes gets: one per core (``ingest.workers = 0``)
    or ``ingest.workers``, at most one per file, and none (1: in-process) under ``parallel_min_bytes``."""
    n = int(cfg.workers)
    if n <= 0:
        n = min(available_cores(), 8)
    n = min(n, len(sizes))
    if n <= 1 or sum(sizes) < cfg.parallel_min_bytes:
        return 1
    return n


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@dataclass
class _ChunkJob:
    index: int
    config: Config
    fmt: str | None
    run_dir: str
    run_id: str
    files: list[tuple[str, int, str]]  # path, size, sha256


@dataclass
class _ChunkResult:
    files: list[_FileState]
    by_format: dict[str, _Counts]
    reasons: Counter[tuple[str, str]]
    staged: StagedSummary


def _ingest_chunk(job: _ChunkJob) -> _ChunkResult:
    """Parse one chunk of files into the run's staging folder (in a worker process, or in-process)."""
    cfg = job.config
    forced = resolve_format(job.fmt, cfg.ingest) if job.fmt else None
    mapping_readers = _generic_readers(cfg.ingest) if any(m.match for m in cfg.ingest.mappings.values()) else {}
    stager = Stager(Path(job.run_dir), job.run_id, job.index)
    ing = _Ingest(stager, cfg, forced, mapping_readers)
    quiet = _Progress(None, 0, 0)
    states = []
    for path, size, sha in job.files:
        fs = _FileState(path=path, size=size, sha256=sha)
        ing.files[path] = fs
        ing.ingest_file(fs, Path(path), quiet)
        states.append(fs)
    ing.flush_rows()
    ing.flush_quarantine()
    return _ChunkResult(states, ing.by_format, ing.reasons, stager.summary())


def _chunked(todo: list[tuple[_FileState, Path]], workers: int) -> list[list[tuple[_FileState, Path]]]:
    total = sum(fs.size for fs, _ in todo)
    target = max(1 << 20, min(_MAX_CHUNK_BYTES, total // max(1, workers * _CHUNKS_PER_WORKER)))
    chunks: list[list[tuple[_FileState, Path]]] = []
    cur: list[tuple[_FileState, Path]] = []
    cur_bytes = 0
    for item in todo:
        cur.append(item)
        cur_bytes += item[0].size
        if cur_bytes >= target:
            chunks.append(cur)
            cur, cur_bytes = [], 0
    if cur:
        chunks.append(cur)
    return chunks


def _merge_chunk(ing: _Ingest, run: Run, res: _ChunkResult, known: dict[str, ManifestEntry], prog: _Progress) -> None:
    run.absorb(res.staged)
    for name, c in res.by_format.items():
        ing._fmt(name).add(c)
    ing.reasons.update(res.reasons)
    for done in res.files:
        fs = ing.files[done.path]
        for f in fields(_FileState):
            setattr(fs, f.name, getattr(done, f.name))
        _remember(fs, known)
        prog.file_done(fs.path, fs.size)


def _ingest_parallel(
    ing: _Ingest,
    run: Run,
    todo: list[tuple[_FileState, Path]],
    known: dict[str, ManifestEntry],
    fmt: str | None,
    forced: Reader | None,
    cfg: Config,
    workers: int,
    prog: _Progress,
) -> None:
    first: set[str] = set()
    parse: list[tuple[_FileState, Path]] = []
    later: list[tuple[_FileState, Path]] = []  # same bytes as a file earlier in this run: decided after it
    for fs, path in todo:
        if _is_known_duplicate(ing, fs, known, forced):
            prog.file_done(fs.path, fs.size)
        elif fs.sha256 in first:
            later.append((fs, path))
        else:
            first.add(fs.sha256 or "")
            parse.append((fs, path))
    chunks = _chunked(parse, workers)

    def job(k: int, chunk: list[tuple[_FileState, Path]]) -> _ChunkJob:
        return _ChunkJob(k, cfg, fmt, str(run.dir), run.run_id, [(fs.path, fs.size, fs.sha256 or "") for fs, _ in chunk])

    # spawn, not fork: the parent may run threads (polars, a rich progress bar) that fork would break.
    pool = ProcessPoolExecutor(max_workers=min(workers, len(chunks)), mp_context=multiprocessing.get_context("spawn"))
    try:
        futures = [pool.submit(_ingest_chunk, job(k, chunk)) for k, chunk in enumerate(chunks)]
        for fut in futures:
            _merge_chunk(ing, run, fut.result(), known, prog)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    for k, (fs, path) in enumerate(later, start=len(chunks)):
        if _is_known_duplicate(ing, fs, known, forced):
            prog.file_done(fs.path, fs.size)
        else:  # the earlier copy was not recognised: read this one too, as a sequential run would
            _merge_chunk(ing, run, _ingest_chunk(job(k, [(fs, path)])), known, prog)


def _mark_duplicate_file(ing: _Ingest, fs: _FileState, prev: ManifestEntry) -> None:
    """The same bytes were already ingested: skip the file, count its items as duplicates."""
    fs.status = "duplicate_file"
    fs.format = prev.format
    fs.counts.records = prev.records
    fs.counts.read = prev.read
    fs.counts.duplicate = prev.read
    c = ing._fmt(prev.format or UNKNOWN)
    c.records += prev.records
    c.read += prev.read
    c.duplicate += prev.read
    where = f"run {prev.run_id}" if prev.run_id else "this run"
    fs.problems.append(FileProblem("duplicate_file", f"same content as {prev.path} ({where}); skipped"))
