"""The Parquet store: canonical rows partitioned by event date, a quarantine, and a manifest.

Layout under the store root (see docs/store.md)::

    requests/event_date=YYYY-MM-DD/part-<run>-<n>.parquet   zstd, CANONICAL_SCHEMA (or event_date=unknown)
    quarantine/part-<run>.parquet                           QUARANTINE_SCHEMA
    manifest.json                                           committed runs and files: the source of truth
    cache/<name>/...                                        caches of later stages
    _txn/<run>/                                             staging of an uncommitted run
    .lock                                                   held (flock) by the one writer

Commit protocol: a run stages its batches under ``_txn/<run>/``; ``commit`` dedupes each partition and
writes the final files under ``_txn/<run>/out/``, writes ``_txn/<run>/COMMIT.json`` atomically (the
commit point), moves the files into place, replaces ``manifest.json`` atomically and deletes
``_txn/<run>``. Opening a store recovers: a ``_txn/<run>`` with ``COMMIT.json`` is rolled forward, one
without is deleted. Readers list data files from the manifest, so a killed run is never visible.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import os
import re
import secrets
import shutil
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from extractscan.schema import (
    CANONICAL_SCHEMA,
    COLUMN_NAMES,
    PARTITION_COLUMN,
    QUARANTINE_SCHEMA,
    SCHEMA_VERSION,
)

try:  # POSIX advisory locks; elsewhere the store is single-writer by convention
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

MANIFEST_FORMAT = "extractscan-store"
MANIFEST_VERSION = 1
UNKNOWN_DATE = "unknown"

_MANIFEST = "manifest.json"
_TXN = "_txn"
_COMMIT = "COMMIT.json"
_LOCK = ".lock"
_STORE_DIRS = ("requests", "quarantine", "cache", _TXN)
_OUT_BATCH_ROWS = 50_000  # rows per row group of final part files
_COMMIT_THREADS = min(4, os.cpu_count() or 1)  # days deduplicated at once by a commit
_OUT_BATCH_BYTES = 32 << 20  # ... or fewer rows when they hold this many bytes (bounds commit memory)
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# Test hook: called with the name of each commit step ("batch:<n>", "staged", "prepared",
# "commit_json", "move:<n>", "moves", "manifest"). A test may raise or sleep in it to simulate a kill.
_fault_hook: Callable[[str], None] | None = None


class StoreError(RuntimeError):
    """The store cannot be opened or written (not a store, locked by another writer, corrupt commit)."""


class StoreLocked(StoreError):
    pass


class SimulatedCrash(BaseException):
    """Raised by fault injection to stop a commit as a kill would: nothing is cleaned up."""


# --------------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class ManifestEntry:
    """One input file committed by a run.

    ``stored`` / ``duplicate`` are final (after dedupe). When handed to :meth:`Run.add_file`, ``stored``
    is ignored and ``duplicate`` counts only duplicates known before the store (whole-file duplicates);
    the store adds the rows it drops as duplicates of that file at commit.
    """

    path: str
    size: int
    sha256: str
    format: str | None
    records: int = 0
    read: int = 0
    stored: int = 0
    duplicate: int = 0
    quarantined: int = 0
    skipped: int = 0
    container: str | None = None
    compression: str | None = None
    problems: tuple[str, ...] = ()
    run_id: str = ""
    time: str = ""

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ManifestEntry:
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        kw["problems"] = tuple(kw.get("problems") or ())
        return cls(**kw)


@dataclass(frozen=True)
class DataFile:
    """A committed part file of the requests table (``path`` relative to the store root)."""

    path: str
    event_date: str
    rows: int
    size: int
    run_id: str


@dataclass(frozen=True)
class QuarantineFile:
    path: str
    rows: int
    run_id: str


@dataclass(frozen=True)
class RunRecord:
    """One committed run. ``formats`` maps source format -> {"stored", "duplicate", "quarantined"}."""

    run_id: str
    started: str
    committed: str
    stored: int
    duplicate: int
    quarantined: int
    files: int
    formats: dict[str, dict[str, int]] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunRecord:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass(frozen=True)
class CommitResult:
    """What a commit did: rows kept and dropped as duplicates, per source format and per input file."""

    run_id: str
    stored: dict[str, int]
    duplicate: dict[str, int]
    stored_by_file: dict[str, int]
    duplicate_by_file: dict[str, int]
    quarantined: int
    data_files: tuple[DataFile, ...]
    quarantine_path: str | None


@dataclass(frozen=True)
class StoreStats:
    rows: int
    accounts: int
    first_event: _dt.datetime | None
    last_event: _dt.datetime | None
    rows_without_time: int
    formats: dict[str, int]
    runs: int
    files: int
    quarantined: int
    data_files: int
    bytes: int


# --------------------------------------------------------------------------------------------------
# Helpers


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _new_run_id() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary file, fsync it, ``os.replace`` it over ``path``, fsync the folder."""
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _empty_manifest() -> dict[str, Any]:
    return {
        "format": MANIFEST_FORMAT,
        "version": MANIFEST_VERSION,
        "schema_version": SCHEMA_VERSION,
        "runs": [],
        "files": [],
        "data_files": [],
        "quarantine_files": [],
    }


def _as_datetime(v: _dt.date | _dt.datetime | str, *, end: bool) -> _dt.datetime:
    """A bound as an aware UTC datetime. A plain date as ``end`` means the end of that day."""
    if isinstance(v, str):
        s = v.strip()
        v = _dt.date.fromisoformat(s) if _DATE_RE.match(s) else _dt.datetime.fromisoformat(s)
    if isinstance(v, _dt.datetime):
        return v.replace(tzinfo=_dt.UTC) if v.tzinfo is None else v.astimezone(_dt.UTC)
    day = _dt.datetime(v.year, v.month, v.day, tzinfo=_dt.UTC)
    return day + _dt.timedelta(days=1) if end else day


def _event_dates(table: pa.Table) -> pa.Array:
    """``YYYY-MM-DD`` (UTC) per row, ``unknown`` where event_time is null."""
    ts = table.column("event_time")
    days = pc.cast(pc.cast(ts, pa.timestamp("us")), pa.date32())
    return pc.fill_null(pc.cast(days, pa.string()), UNKNOWN_DATE).combine_chunks()


# --------------------------------------------------------------------------------------------------
# The store


class Store:
    """A store rooted at ``root`` (created if missing). Opening recovers interrupted runs when no other
    process is writing."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"{self.root} is not a folder")
        if self.root.is_dir() and not (self.root / _MANIFEST).exists():
            foreign = [p.name for p in self.root.iterdir() if p.name not in (*_STORE_DIRS, _LOCK)]
            if foreign:
                raise StoreError(
                    f"{self.root} is not an extractscan store (it has no {_MANIFEST} and contains "
                    f"{', '.join(sorted(foreign)[:3])}); use an empty or new folder"
                )
        for d in _STORE_DIRS:
            (self.root / d).mkdir(parents=True, exist_ok=True)
        self._manifest_cache: tuple[tuple[int, int], dict[str, Any]] | None = None
        self._lock_fd: int | None = None
        if not (self.root / _MANIFEST).exists():
            with self._locked(blocking=True):
                if not (self.root / _MANIFEST).exists():
                    _atomic_write(self.root / _MANIFEST, orjson.dumps(_empty_manifest()))
        with contextlib.suppress(StoreLocked), self._locked(blocking=False):
            self.recover()

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    # -- locking ----------------------------------------------------------------------------------

    def _acquire(self, blocking: bool) -> None:
        if self._lock_fd is not None:
            raise StoreLocked(f"a run is already open on {self.root}")
        fd = os.open(self.root / _LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except OSError:
                os.close(fd)
                raise StoreLocked(f"another process is writing to the store {self.root}") from None
        self._lock_fd = fd

    def _release(self) -> None:
        if self._lock_fd is not None:
            fd, self._lock_fd = self._lock_fd, None
            if fcntl is not None:
                with contextlib.suppress(OSError):
                    fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    @contextlib.contextmanager
    def _locked(self, blocking: bool) -> Iterator[None]:
        self._acquire(blocking)
        try:
            yield
        finally:
            self._release()

    # -- manifest ---------------------------------------------------------------------------------

    def _read_manifest(self) -> dict[str, Any]:
        path = self.root / _MANIFEST
        try:
            st = path.stat()
        except FileNotFoundError:
            return _empty_manifest()
        key = (st.st_mtime_ns, st.st_size)
        if self._manifest_cache is not None and self._manifest_cache[0] == key:
            return self._manifest_cache[1]
        try:
            data = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError as e:
            raise StoreError(f"{path} is not valid JSON: {e}") from e
        if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
            raise StoreError(f"{path} is not an extractscan manifest")
        if int(data.get("version", 0)) > MANIFEST_VERSION:
            raise StoreError(f"{path} was written by a newer extractscan (manifest v{data['version']})")
        for k in ("runs", "files", "data_files", "quarantine_files"):
            data.setdefault(k, [])
        self._manifest_cache = (key, data)
        return data

    def manifest(self) -> list[ManifestEntry]:
        """Every committed input file, in commit order."""
        return [ManifestEntry.from_dict(d) for d in self._read_manifest()["files"]]

    def data_files(self) -> list[DataFile]:
        return [DataFile(**d) for d in self._read_manifest()["data_files"]]

    def quarantine_files(self) -> list[QuarantineFile]:
        return [QuarantineFile(**d) for d in self._read_manifest()["quarantine_files"]]

    def runs(self) -> list[RunRecord]:
        return [RunRecord.from_dict(d) for d in self._read_manifest()["runs"]]

    def known_file(self, sha256: str) -> list[ManifestEntry]:
        """Committed entries of input files with this content hash (latest last)."""
        return [e for e in self.manifest() if e.sha256 == sha256]

    # -- recovery ---------------------------------------------------------------------------------

    def recover(self) -> list[str]:
        """Roll forward committed runs and delete uncommitted ones; returns the run ids rolled forward.
        Call only while holding the lock (opening a store and ``begin_run`` do)."""
        rolled: list[str] = []
        for tmp in self.root.glob(f"{_MANIFEST}.tmp-*"):  # a manifest write cut short
            tmp.unlink(missing_ok=True)
        txn_root = self.root / _TXN
        if not txn_root.is_dir():
            return rolled
        for txn in sorted(txn_root.iterdir()):
            commit = txn / _COMMIT
            doc: dict[str, Any] | None = None
            if commit.is_file():
                try:
                    doc = orjson.loads(commit.read_bytes())
                except orjson.JSONDecodeError:  # cannot happen with atomic writes; treat as uncommitted
                    doc = None
            if doc is None:
                shutil.rmtree(txn, ignore_errors=True)
                if txn.exists() and txn.is_file():
                    txn.unlink()
                continue
            self._roll_forward(txn, doc, None)
            rolled.append(str(doc["run"]["run_id"]))
        return rolled

    def _roll_forward(self, txn: Path, doc: dict[str, Any], step: Callable[[str], None] | None) -> None:
        def hook(name: str) -> None:
            if step is not None:
                step(name)

        dirs: set[Path] = set()
        for k, mv in enumerate(doc["moves"], start=1):
            src, dst = txn / mv["src"], self.root / mv["dst"]
            if src.exists():
                dst.parent.mkdir(parents=True, exist_ok=True)
                os.replace(src, dst)
                dirs.add(dst.parent)
            elif not dst.exists():
                raise StoreError(f"run {doc['run']['run_id']}: committed file {mv['dst']} is missing")
            hook(f"move:{k}")
        for d in dirs:
            _fsync_dir(d)
        hook("moves")
        manifest = self._read_manifest()
        run_id = doc["run"]["run_id"]
        if not any(r["run_id"] == run_id for r in manifest["runs"]):
            new = dict(manifest)
            new["runs"] = [*manifest["runs"], doc["run"]]
            new["files"] = [*manifest["files"], *doc["files"]]
            new["data_files"] = [*manifest["data_files"], *doc["data_files"]]
            new["quarantine_files"] = [*manifest["quarantine_files"], *doc["quarantine_files"]]
            _atomic_write(self.root / _MANIFEST, orjson.dumps(new, option=orjson.OPT_INDENT_2))
        hook("manifest")
        shutil.rmtree(txn, ignore_errors=True)

    # -- writing ----------------------------------------------------------------------------------

    def begin_run(self, info: Mapping[str, Any] | None = None) -> Run:
        """Start a run: takes the writer lock (``StoreLocked`` if another process holds it), recovers,
        and stages under ``_txn/<run>/``. Use as a context manager; leaving it without ``commit`` (or on
        an exception) discards everything staged."""
        self._acquire(blocking=False)
        try:
            self.recover()
            return Run(self, _new_run_id(), dict(info or {}))
        except BaseException:
            self._release()
            raise

    # -- reading ----------------------------------------------------------------------------------

    def scan(
        self,
        columns: Sequence[str] | None = None,
        since: _dt.date | _dt.datetime | str | None = None,
        until: _dt.date | _dt.datetime | str | None = None,
    ) -> pl.LazyFrame:
        """The committed requests as a LazyFrame (canonical columns plus ``event_date``, a string).

        ``since`` / ``until`` select ``since <= event_time < until`` (a plain date as ``until`` includes
        that day); rows without a time are left out when either is given.
        """
        files = self.data_files()
        lo = _as_datetime(since, end=False) if since is not None else None
        hi = _as_datetime(until, end=True) if until is not None else None
        if lo is not None or hi is not None:
            lo_d = lo.date().isoformat() if lo else "0000-00-00"
            hi_d = hi.date().isoformat() if hi else "9999-99-99"
            files = [f for f in files if f.event_date != UNKNOWN_DATE and lo_d <= f.event_date <= hi_d]
        if not files:
            lf = pl.from_arrow(CANONICAL_SCHEMA.empty_table()).lazy()  # type: ignore[union-attr]
            lf = lf.with_columns(pl.lit(None, dtype=pl.String).alias(PARTITION_COLUMN))
        else:
            lf = pl.scan_parquet(
                [str(self.root / f.path) for f in files],
                hive_partitioning=False,
                include_file_paths="__path",
                missing_columns="insert",
                extra_columns="ignore",
            )
            lf = lf.with_columns(
                pl.col("__path").str.extract(r"event_date=([^/\\]+)[/\\][^/\\]+$", 1).alias(PARTITION_COLUMN)
            ).drop("__path")
        if lo is not None:
            lf = lf.filter(pl.col("event_time") >= lo)
        if hi is not None:
            lf = lf.filter(pl.col("event_time") < hi)
        if columns is not None:
            lf = lf.select(list(columns))
        return lf

    def quarantine_frame(self) -> pl.DataFrame:
        """Every committed quarantine entry (QUARANTINE_SCHEMA), in commit order."""
        files = self.quarantine_files()
        if not files:
            return pl.from_arrow(QUARANTINE_SCHEMA.empty_table())  # type: ignore[return-value]
        return pl.concat([pl.read_parquet(self.root / f.path) for f in files], how="vertical_relaxed")

    @property
    def quarantine_dir(self) -> Path:
        return self.root / "quarantine"

    def stats(self) -> StoreStats:
        m = self._read_manifest()
        data = self.data_files()
        rows = sum(f.rows for f in data)
        formats: dict[str, int] = {}
        accounts = 0
        first = last = None
        no_time = sum(f.rows for f in data if f.event_date == UNKNOWN_DATE)
        if data:
            lf = self.scan(columns=["source_format", "account_id", "event_time"])
            by_fmt = lf.group_by("source_format").len().collect()
            formats = {str(r["source_format"]): int(r["len"]) for r in by_fmt.iter_rows(named=True)}
            agg = lf.select(
                pl.col("account_id").drop_nulls().n_unique().alias("accounts"),
                pl.col("event_time").min().alias("first"),
                pl.col("event_time").max().alias("last"),
            ).collect()
            accounts = int(agg["accounts"][0])
            first, last = agg["first"][0], agg["last"][0]
        return StoreStats(
            rows=rows,
            accounts=accounts,
            first_event=first,
            last_event=last,
            rows_without_time=no_time,
            formats=dict(sorted(formats.items())),
            runs=len(m["runs"]),
            files=len(m["files"]),
            quarantined=sum(int(q["rows"]) for q in m["quarantine_files"]),
            data_files=len(data),
            bytes=sum(f.size for f in data),
        )

    def cache_dir(self, name: str) -> Path:
        """``cache/<name>/`` for another stage's cache (created on demand)."""
        if not name or not re.fullmatch(r"[A-Za-z0-9_.-]+", name) or name in (".", ".."):
            raise ValueError(f"invalid cache name {name!r}")
        path = self.root / "cache" / name
        path.mkdir(parents=True, exist_ok=True)
        return path


# --------------------------------------------------------------------------------------------------
# One run


class Run:
    """The staging writer of one ingest run (see :meth:`Store.begin_run`)."""

    def __init__(self, store: Store, run_id: str, info: dict[str, Any]) -> None:
        self.store = store
        self.run_id = run_id
        self.info = info
        self.started = _now()
        self.dir = store.root / _TXN / run_id
        (self.dir / "staged").mkdir(parents=True)
        (self.dir / "quarantine").mkdir()
        self._batches = 0
        self._qbatches = 0
        self._dates: set[str] = set()
        self._staged: Counter[tuple[str, str | None]] = Counter()  # (format, file) -> rows
        self._qcounts: Counter[tuple[str | None, str]] = Counter()  # (format, kind) -> rows
        self._files: list[ManifestEntry] = []
        self._state = "open"  # open -> committed | aborted | crashed
        self.batch_sizes: list[int] = []  # rows per write_rows call (observability, tests)

    def __enter__(self) -> Run:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        if isinstance(ev, SimulatedCrash):
            self._state = "crashed"  # as after a kill: leave everything, only the OS drops the lock
            self.store._release()
            return
        if self._state == "open":
            self.abort()

    @property
    def rows_staged(self) -> int:
        return sum(self._staged.values())

    def _check_open(self) -> None:
        if self._state != "open":
            raise StoreError(f"run {self.run_id} is {self._state}")

    def _step(self, name: str, fail_after: str | None = None) -> None:
        if _fault_hook is not None:
            _fault_hook(name)
        if fail_after is not None and name == fail_after:
            raise SimulatedCrash(name)

    def write_rows(self, table: pa.Table) -> None:
        """Stage one batch of canonical rows (any column order; missing nullable columns become null)."""
        self._check_open()
        if table.num_rows == 0:
            return
        self._batches += 1
        self._absorb_rows(*stage_rows(self.dir, f"b{self._batches:07d}", table), table.num_rows)
        self._step(f"batch:{self._batches}")

    def quarantine(self, records: pa.Table | Iterable[Mapping[str, Any]]) -> None:
        """Stage quarantine entries (QUARANTINE_SCHEMA columns; ``run_id`` is filled in)."""
        self._check_open()
        self._qbatches += 1
        self._qcounts.update(stage_quarantine(self.dir, f"q{self._qbatches:07d}", self.run_id, records))

    def stager(self, chunk: int) -> Stager:
        """A writer for another process staging into this run: its batches are named after ``chunk``, so
        that the commit reads chunks in input order whichever worker finished first. Hand its
        :meth:`Stager.summary` back with :meth:`absorb`."""
        self._check_open()
        return Stager(self.dir, self.run_id, chunk)

    def absorb(self, summary: StagedSummary) -> None:
        """Count what a :class:`Stager` wrote into this run."""
        self._check_open()
        self._dates.update(summary.dates)
        self._staged.update(summary.staged)
        self._qcounts.update(summary.qcounts)
        self.batch_sizes.extend(summary.batch_sizes)

    def _absorb_rows(self, dates: list[str], counts: Counter[tuple[str, str | None]], n: int) -> None:
        self.batch_sizes.append(n)
        self._dates.update(dates)
        self._staged.update(counts)

    def add_file(self, entry: ManifestEntry) -> None:
        """Record an input file of this run (committed to the manifest with the run)."""
        self._check_open()
        self._files.append(entry)

    def abort(self) -> None:
        """Discard everything staged and release the store."""
        if self._state == "open":
            self._state = "aborted"
            shutil.rmtree(self.dir, ignore_errors=True)
            self.store._release()

    def commit(self, *, _fail_after: str | None = None) -> CommitResult:
        """Dedupe and publish the run atomically (see the module docstring).

        ``_fail_after`` (tests) stops the commit as a kill would, after the named step: ``staged``,
        ``prepared``, ``commit_json``, ``move:<n>``, ``moves`` or ``manifest``.
        """
        self._check_open()
        try:
            result = self._commit(_fail_after)
        except SimulatedCrash:
            self._state = "crashed"
            self.store._release()
            raise
        except BaseException:
            self.abort()
            raise
        self._state = "committed"
        self.store._release()
        return result

    def _commit(self, fail_after: str | None) -> CommitResult:
        step = self._step
        step("staged", fail_after)
        store = self.store
        out = self.dir / "out"
        manifest = store._read_manifest()
        existing: dict[str, list[str]] = {}
        for d in manifest["data_files"]:
            existing.setdefault(d["event_date"], []).append(str(store.root / d["path"]))

        moves: list[dict[str, Any]] = []
        data_files: list[dict[str, Any]] = []
        kept: Counter[tuple[str, str | None]] = Counter()

        def dedupe(date: str) -> tuple[int, Counter[tuple[str, str | None]]]:
            staged = sorted(str(p) for p in (self.dir / "staged" / date).glob("b*.parquet"))
            dst = out / f"requests/{PARTITION_COLUMN}={date}/part-{self.run_id}-0.parquet"
            dst.parent.mkdir(parents=True, exist_ok=True)
            counts: Counter[tuple[str, str | None]] = Counter()
            return _dedupe_partition(staged, existing.get(date, []), dst, counts), counts

        # Days are independent and Parquet reading / writing releases the GIL: dedupe them in threads.
        dates = sorted(self._dates)
        with ThreadPoolExecutor(max_workers=max(1, min(len(dates), _COMMIT_THREADS))) as pool:
            done = list(pool.map(dedupe, dates))
        for date, (n, counts) in zip(dates, done, strict=True):
            kept.update(counts)
            rel = f"requests/{PARTITION_COLUMN}={date}/part-{self.run_id}-0.parquet"
            dst = out / rel
            if n == 0:  # every row a duplicate: no part file
                continue
            size = dst.stat().st_size
            moves.append({"src": f"out/{rel}", "dst": rel})
            data_files.append({"path": rel, "event_date": date, "rows": n, "size": size, "run_id": self.run_id})

        quarantine_files: list[dict[str, Any]] = []
        qstaged = sorted((self.dir / "quarantine").glob("q*.parquet"))
        qpath = None
        if qstaged:
            qrel = f"quarantine/part-{self.run_id}.parquet"
            qdst = out / qrel
            qdst.parent.mkdir(parents=True, exist_ok=True)
            qrows = 0
            with pq.ParquetWriter(qdst, QUARANTINE_SCHEMA, compression="zstd") as w:
                for q in qstaged:
                    t = pq.read_table(q, schema=QUARANTINE_SCHEMA)
                    qrows += t.num_rows
                    w.write_table(t)
            _fsync_file(qdst)
            moves.append({"src": f"out/{qrel}", "dst": qrel})
            quarantine_files.append({"path": qrel, "rows": qrows, "run_id": self.run_id})
            qpath = qrel
        step("prepared", fail_after)

        # counts
        stored: Counter[str] = Counter()
        dup: Counter[str] = Counter()
        stored_by_file: Counter[str] = Counter()
        dup_by_file: Counter[str] = Counter()
        for (fmt, file), n in self._staged.items():
            k = kept.get((fmt, file), 0)
            stored[fmt] += k
            dup[fmt] += n - k
            if file is not None:
                stored_by_file[file] += k
                dup_by_file[file] += n - k
        qfmt: dict[str, dict[str, int]] = {}
        for (qf, _kind), n in self._qcounts.items():
            qfmt.setdefault(qf or "unknown", {"quarantined": 0})["quarantined"] += n
        formats: dict[str, dict[str, int]] = {}
        for name in sorted({*stored, *dup, *qfmt}):
            formats[name] = {
                "stored": stored.get(name, 0),
                "duplicate": dup.get(name, 0),
                "quarantined": qfmt.get(name, {}).get("quarantined", 0),
            }
        now = _now()
        files = [
            dataclasses.asdict(
                dataclasses.replace(
                    e,
                    stored=stored_by_file.get(e.path, 0),
                    duplicate=e.duplicate + dup_by_file.get(e.path, 0),
                    run_id=self.run_id,
                    time=now,
                )
            )
            for e in self._files
        ]
        for f in files:
            f["problems"] = list(f["problems"])
        run = {
            "run_id": self.run_id,
            "started": self.started,
            "committed": now,
            "stored": sum(stored.values()),
            "duplicate": sum(dup.values()),
            "quarantined": sum(self._qcounts.values()),
            "files": len(files),
            "formats": formats,
            "info": self.info,
        }
        doc = {
            "run": run,
            "files": files,
            "data_files": data_files,
            "quarantine_files": quarantine_files,
            "moves": moves,
        }
        _atomic_write(self.dir / _COMMIT, orjson.dumps(doc, option=orjson.OPT_INDENT_2))
        step("commit_json", fail_after)
        shutil.rmtree(self.dir / "staged", ignore_errors=True)
        shutil.rmtree(self.dir / "quarantine", ignore_errors=True)
        store._roll_forward(self.dir, doc, lambda name: step(name, fail_after))
        return CommitResult(
            run_id=self.run_id,
            stored=dict(stored),
            duplicate=dict(dup),
            stored_by_file=dict(stored_by_file),
            duplicate_by_file=dict(dup_by_file),
            quarantined=sum(self._qcounts.values()),
            data_files=tuple(DataFile(**d) for d in data_files),
            quarantine_path=qpath,
        )


# --------------------------------------------------------------------------------------------------
# Staging: the batch writers shared by a run and by the worker processes of a parallel ingest


def stage_rows(run_dir: Path, name: str, table: pa.Table) -> tuple[list[str], Counter[tuple[str, str | None]]]:
    """Write one batch of canonical rows as ``staged/<date>/<name>.parquet`` (one file per event date).
    Returns the dates written and the rows per (source_format, source_file)."""
    table = _conform(table)
    dates = _event_dates(table)
    unique_dates = sorted(pc.unique(dates).to_pylist())
    for date in unique_dates:
        part = table.filter(pc.equal(dates, date)) if len(unique_dates) > 1 else table
        d = run_dir / "staged" / date
        d.mkdir(exist_ok=True)
        pq.write_table(part, d / f"{name}.parquet", compression="lz4")
    counts: Counter[tuple[str, str | None]] = Counter()
    agg = table.group_by(["source_format", "source_file"]).aggregate([([], "count_all")])
    for fmt, file, n in zip(
        agg["source_format"].to_pylist(), agg["source_file"].to_pylist(), agg["count_all"].to_pylist(), strict=True
    ):
        counts[(fmt, file)] += int(n)
    return unique_dates, counts


def stage_quarantine(
    run_dir: Path, name: str, run_id: str, records: pa.Table | Iterable[Mapping[str, Any]]
) -> Counter[tuple[str | None, str]]:
    """Write quarantine entries as ``quarantine/<name>.parquet``; returns rows per (format, kind)."""
    if not isinstance(records, pa.Table):
        rows = [{**r, "run_id": run_id} for r in records]
        if not rows:
            return Counter()
        table = pa.Table.from_pylist(rows, schema=QUARANTINE_SCHEMA)
    else:
        if records.num_rows == 0:
            return Counter()
        cols = {
            col: (
                records.column(col)
                if col in records.column_names
                else pa.nulls(records.num_rows, QUARANTINE_SCHEMA.field(col).type)
            )
            for col in QUARANTINE_SCHEMA.names
        }
        cols["run_id"] = pa.array([run_id] * records.num_rows, pa.string())
        table = pa.table(cols).cast(QUARANTINE_SCHEMA)
    pq.write_table(table, run_dir / "quarantine" / f"{name}.parquet", compression="lz4")
    return Counter(zip(table["source_format"].to_pylist(), table["kind"].to_pylist(), strict=True))


@dataclass
class StagedSummary:
    """What a :class:`Stager` wrote (plain data: it crosses process boundaries)."""

    dates: set[str] = field(default_factory=set)
    staged: Counter[tuple[str, str | None]] = field(default_factory=Counter)
    qcounts: Counter[tuple[str | None, str]] = field(default_factory=Counter)
    batch_sizes: list[int] = field(default_factory=list)


class Stager:
    """Stages batches into an open run from another process (see :meth:`Run.stager`). Batch names
    ``b<chunk>-<n>`` sort by chunk, then by batch: the commit keeps the first occurrence of a record id in
    that order, so a parallel ingest stores what a sequential one would."""

    def __init__(self, run_dir: Path, run_id: str, chunk: int) -> None:
        self.run_dir, self.run_id, self.chunk = Path(run_dir), run_id, chunk
        self._batches = self._qbatches = 0
        self._summary = StagedSummary()

    def write_rows(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        self._batches += 1
        dates, counts = stage_rows(self.run_dir, f"b{self.chunk:07d}-{self._batches:05d}", table)
        self._summary.dates.update(dates)
        self._summary.staged.update(counts)
        self._summary.batch_sizes.append(table.num_rows)

    def quarantine(self, records: pa.Table | Iterable[Mapping[str, Any]]) -> None:
        self._qbatches += 1
        name = f"q{self.chunk:07d}-{self._qbatches:05d}"
        self._summary.qcounts.update(stage_quarantine(self.run_dir, name, self.run_id, records))

    def summary(self) -> StagedSummary:
        return self._summary


def _conform(table: pa.Table) -> pa.Table:
    """The table with exactly the canonical columns, in order, with canonical types."""
    n = table.num_rows
    cols = []
    for name in COLUMN_NAMES:
        fld = CANONICAL_SCHEMA.field(name)
        if name in table.column_names:
            col = table.column(name)
            if col.type != fld.type:
                col = col.cast(fld.type)
        else:
            if not fld.nullable:
                raise ValueError(f"column {name!r} is required")
            col = pa.chunked_array([pa.nulls(n, fld.type)])
        cols.append(col)
    return pa.Table.from_arrays(cols, schema=CANONICAL_SCHEMA)


def _dedupe_partition(staged: list[str], existing: list[str], dst: Path, kept: Counter[tuple[str, str | None]]) -> int:
    """Write the staged rows of one partition to ``dst``, less the rows whose record_id is already in the
    partition or appeared earlier in the run (the first occurrence is kept). Returns the rows written and
    adds them to ``kept`` per (source_format, source_file).

    Memory: only the id / format / file columns of the partition are held; the rows themselves stream
    through one staged batch at a time.
    """
    ids = pl.scan_parquet(staged).select("record_id", "source_format", "source_file").collect()
    keep = ids["record_id"].is_first_distinct()
    if existing:
        old = pl.scan_parquet(existing).select("record_id").unique().collect()["record_id"]
        keep = keep & ~ids["record_id"].is_in(old.implode())
    for fmt, file, cnt in ids.filter(keep).group_by("source_format", "source_file").len().iter_rows():
        kept[(fmt, file)] += int(cnt)
    mask = keep.to_numpy()
    total = int(mask.sum())
    if total == 0:
        return 0
    pos = 0
    pending: list[pa.Table] = []
    pending_rows = pending_bytes = 0
    with pq.ParquetWriter(dst, CANONICAL_SCHEMA, compression="zstd") as w:
        for path in staged:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=_OUT_BATCH_ROWS):
                m = mask[pos : pos + batch.num_rows]
                pos += batch.num_rows
                if not m.any():
                    continue
                t = pa.Table.from_batches([batch]).filter(pa.array(m))
                pending.append(t)
                pending_rows += t.num_rows
                pending_bytes += t.nbytes
                if pending_rows >= _OUT_BATCH_ROWS or pending_bytes >= _OUT_BATCH_BYTES:
                    w.write_table(_conform(pa.concat_tables(pending)), row_group_size=_OUT_BATCH_ROWS)
                    pending, pending_rows, pending_bytes = [], 0, 0
        if pending:
            w.write_table(_conform(pa.concat_tables(pending)), row_group_size=_OUT_BATCH_ROWS)
    if pos != len(mask):
        raise StoreError(f"staged rows changed while committing ({pos} read, {len(mask)} expected)")
    _fsync_file(dst)
    return total
