"""The scan frame: one row per request of one partition of entities, ready for the detectors.

Built from the store with polars only. Each partition holds every request of the entities whose id hashes
into it, so per-entity work (clustering, features) never needs another partition; the same function will run
per partition on a cluster later.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from extractscan.config import Config

ENTITY_COLUMNS = {
    "account": "account_id",
    "principal": "principal_id",
    "api_key": "api_key_id",
    "end_user": "end_user_id",
}

# Canonical columns the detectors may read. Bulky ones (response text, full message lists) stay in the store.
FRAME_SOURCE_COLUMNS = [
    "record_id",
    "source_format",
    "event_time",
    "account_id",
    "principal_id",
    "api_key_id",
    "end_user_id",
    "session_id",
    "client_ip",
    "user_agent",
    "model_requested",
    "model_served",
    "system_text",
    "n_messages",
    "n_user_turns",
    "last_user_text",
    "prefix_hash",
    "prompt_chars",
    "response_chars",
    "n_response_choices",
    "max_output_tokens",
    "temperature",
    "n_requested",
    "logprobs",
    "top_logprobs",
    "reasoning_effort",
    "thinking_budget_tokens",
    "tools_count",
    "part_types",
    "input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "status",
]

# Columns the frame adds (name -> dtype), documented in docs/design.md.
DERIVED_COLUMNS: dict[str, pl.DataType] = {
    "entity_id": pl.String(),
    "ts": pl.Float64(),
    "text": pl.String(),
    "text_norm": pl.String(),
    "skeleton": pl.String(),
    "skeleton_id": pl.UInt64(),
    "cluster_id": pl.Int64(),
    "global_cluster_id": pl.Int64(),
    "embedding_row": pl.Int32(),
}


@dataclass(frozen=True)
class FrameStats:
    rows: int
    entities: int
    lsh_candidates: int
    lsh_confirmed: int
    # Where the cluster stage's time goes (benchmarks/run.py reports them; wall seconds of this partition).
    seconds_normalize: float = 0.0  # text, text_norm, skeleton, skeleton_id
    seconds_minhash: float = 0.0  # shingling + signatures
    seconds_lsh: float = 0.0  # banding, confirmation, components (within and across entities)
    seconds_other: float = 0.0  # joins and the final sort


def partition_expr(entity_col: str, n_partitions: int) -> pl.Expr:
    """Partition number of an entity: a stable hash of its id modulo ``n_partitions``."""
    return (pl.col(entity_col).fill_null("").hash(seed=17) % n_partitions).cast(pl.Int32)


def load_requests(
    lf: pl.LazyFrame,
    *,
    entity: str = "account",
    since: float | None = None,
    until: float | None = None,
    partition: int = 0,
    n_partitions: int = 1,
) -> pl.DataFrame:
    """Select one partition of the store's requests with the columns the frame needs."""
    ecol = _entity_column(entity)
    # Rows without the chosen identity cannot be attributed to an entity: they are counted by the scan
    # (ScanResult.unattributed_requests) and left out here (few rows: filtered after reading).
    df = _select_requests(lf, ecol, since, until, partition, n_partitions).collect().filter(pl.col(ecol).is_not_null())
    return df.with_columns(pl.col(ecol).alias("entity_id"), _ts_expr().alias("ts"))


def _entity_column(entity: str) -> str:
    if entity not in ENTITY_COLUMNS:
        raise ValueError(f"entity must be one of {sorted(ENTITY_COLUMNS)}")
    return ENTITY_COLUMNS[entity]


def _ts_expr() -> pl.Expr:
    return pl.col("event_time").dt.epoch("us").cast(pl.Float64) / 1e6


def _select_requests(
    lf: pl.LazyFrame, ecol: str, since: float | None, until: float | None, partition: int, n_partitions: int
) -> pl.LazyFrame:
    """The frame's columns of the requests in the window (and in one partition when ``n_partitions > 1``).

    Shared by :func:`load_requests` and :func:`split_requests`, so both select exactly the same rows."""
    present = set(lf.collect_schema().names())
    cols = [c for c in FRAME_SOURCE_COLUMNS if c in present]
    ts = _ts_expr()
    # The lazy filters are on the store's own columns, so polars pushes them into the Parquet reader and
    # only the partition's rows are decoded. Filtering on the derived entity_id / ts columns, or adding an
    # is_not_null filter, made polars decode every row of the store first: 3.5 GiB to read one 207k-row
    # partition of a 10M-request store, 0.5 GiB this way (polars 2.1).
    q = lf.select(cols)
    if n_partitions > 1:
        q = q.filter(partition_expr(ecol, n_partitions) == partition)
    if since is not None:
        q = q.filter(ts >= since)
    if until is not None:
        q = q.filter(ts < until)
    return q


_SPLIT_KEY = "__partition"
SPLIT_BATCH_ROWS = 100_000  # source rows per step of the split pass (~70 MB of frame columns)
# Fewer partitions are read straight from the store. Measured at 1M requests (polars 2.1, 2 cores): one
# pass with a pushed-down partition filter costs ~0.32 s CPU (its hash column), all passes together 0.5 s
# more (decoding the selected rows); the split costs ~4.6 s (read, write zstd, read back). The split pays
# from about 12 partitions, whatever the size of the log: above 2.75M requests at the default partition_rows.
SPLIT_MIN_PARTITIONS = 12


@dataclass(frozen=True)
class PartitionFiles:
    """The requests of a scan split into one Parquet file per partition under ``root`` (see
    :func:`split_requests`).

    ``load(p)`` returns what ``load_requests(lf, since=..., until=..., partition=p, n_partitions=n)`` returns
    on the source, reading only partition ``p``'s file. ``cleanup()`` deletes ``root``."""

    root: Path
    entity: str
    n_partitions: int
    schema: pl.Schema

    def path(self, partition: int) -> Path:
        if not 0 <= partition < self.n_partitions:
            raise IndexError(f"partition {partition} of {self.n_partitions}")
        return self.root / f"part-{partition:06d}.parquet"

    def scan(self, partition: int) -> pl.LazyFrame:
        path = self.path(partition)
        if not path.exists():  # no entity of the window hashes here
            return pl.LazyFrame(schema=self.schema)
        return pl.scan_parquet(path, schema=self.schema)

    def load(self, partition: int) -> pl.DataFrame:
        return load_requests(self.scan(partition), entity=self.entity)

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def split_requests(
    lf: pl.LazyFrame,
    *,
    entity: str = "account",
    since: float | None = None,
    until: float | None = None,
    n_partitions: int,
    work_dir: str | Path | None = None,
    batch_rows: int | None = None,
) -> PartitionFiles | None:
    """Split the requests ``load_requests`` would read into one Parquet file per partition, in one pass.

    Reading partition by partition with a pushed-down filter decodes the store's hash column once per
    partition: P passes over the log, quadratic in its size. This reads the source once, ``batch_rows``
    rows at a time (default ``SPLIT_BATCH_ROWS``; a slice, so polars reads only its row groups), selects
    the frame's columns (the window applied, rows without the entity left out) and appends each
    partition's rows to that partition's file in a new temporary folder under ``work_dir`` (created if
    missing; the system's temporary folder when None). Memory is one batch, whatever the size of the log;
    polars' partitioned sink and ``collect_batches`` grew with it (polars 2.1: 0.8 -> 1.4 GiB from a 1M-
    to a 3M-request store). Rows keep the source order, which build_frame relies on (it numbers rows
    before clustering). ``lf`` should read straight from files, as ``Store.scan()`` does: a slice of a
    filtered LazyFrame cannot skip to its rows, and each batch would read the whole source again.

    Returns None when the folder cannot be created or written (read-only, full disk): the caller then reads
    the source per partition as before.
    """
    import pyarrow.parquet as pq

    ecol = _entity_column(entity)
    schema = _select_requests(lf, ecol, since, until, 0, 1).collect_schema()
    try:
        if work_dir is not None:
            Path(work_dir).mkdir(parents=True, exist_ok=True)
        root = Path(tempfile.mkdtemp(prefix="extractscan-partitions-", dir=work_dir))
    except OSError:
        return None
    split = PartitionFiles(root=root, entity=entity, n_partitions=n_partitions, schema=schema)
    arrow_schema = pl.DataFrame(schema=schema).to_arrow().schema
    writers: dict[int, pq.ParquetWriter] = {}
    try:
        total = lf.select(pl.len()).collect().item()  # from the Parquet metadata for a store
        step = max(1, batch_rows or SPLIT_BATCH_ROWS)
        for offset in range(0, total, step):
            # Slice first, so polars reads only this batch's row groups; the filters run on the batch. This
            # pass reads every row anyway, so the is_not_null filter costs nothing here (see _select_requests).
            batch = (
                _select_requests(lf.slice(offset, step), ecol, since, until, 0, 1)
                .filter(pl.col(ecol).is_not_null())
                .with_columns(partition_expr(ecol, n_partitions).alias(_SPLIT_KEY))
                .collect()
            )
            parts = batch.partition_by(_SPLIT_KEY, as_dict=True, include_key=False, maintain_order=True)
            del batch
            for key, rows in parts.items():
                p = int(key[0])
                if p not in writers:  # zstd level 1: a temporary file, written once and read once
                    writers[p] = pq.ParquetWriter(split.path(p), arrow_schema, compression="zstd", compression_level=1)
                writers[p].write_table(rows.to_arrow().cast(arrow_schema))
            del parts
        for w in writers.values():
            w.close()
    except BaseException as e:
        for w in writers.values():
            with contextlib.suppress(Exception):
                w.close()
        split.cleanup()
        if isinstance(e, OSError):
            return None
        raise
    return split


def build_frame(requests: pl.DataFrame, cfg: Config) -> tuple[pl.DataFrame, FrameStats]:
    """Add text, normalisation, skeletons and near-duplicate clusters to one partition of requests."""
    from extractscan.cluster.minhash import cluster_texts
    from extractscan.cluster.normalize import normalize_expr, skeleton_expr, skeleton_id_expr

    t0 = time.perf_counter()
    frame = requests.with_columns(
        pl.coalesce(pl.col("last_user_text"), pl.col("system_text"), pl.lit("")).alias("text"),
    )
    frame = frame.with_columns(normalize_expr(pl.col("text")).alias("text_norm"))
    frame = frame.with_columns(skeleton_expr(pl.col("text_norm")).alias("skeleton"))
    frame = frame.with_columns(skeleton_id_expr(pl.col("skeleton")).alias("skeleton_id"))
    frame = frame.with_row_index("row_id")
    t1 = time.perf_counter()
    clusters, stats = cluster_texts(frame.select("row_id", "entity_id", "text_norm"), cfg.cluster)
    frame = frame.join(clusters, on="row_id", how="left").with_columns(pl.lit(None, dtype=pl.Int32()).alias("embedding_row"))
    frame = frame.sort(["entity_id", "ts", "record_id"], nulls_last=True)
    minhash_s = float(stats.seconds_signatures)
    return frame, FrameStats(
        rows=frame.height,
        entities=frame["entity_id"].n_unique(),
        lsh_candidates=int(stats.candidates),
        lsh_confirmed=int(stats.confirmed),
        seconds_normalize=t1 - t0,
        seconds_minhash=minhash_s,
        seconds_lsh=float(stats.seconds_clustering),
        seconds_other=max(0.0, (time.perf_counter() - t0) - (t1 - t0) - minhash_s - float(stats.seconds_clustering)),
    )
