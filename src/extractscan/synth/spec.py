"""What to simulate (:class:`SynthSpec`) and what was written (:class:`SynthSummary`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

KINDS: tuple[str, ...] = (
    "benign_chat",
    "benign_app",
    "benchmark_runner",
    "extractor",
    "hydra",
    "diluted",
    "paraphrase",
)
BENIGN_KINDS = frozenset({"benign_chat", "benign_app", "benchmark_runner"})
EXTRACTION_KINDS = frozenset({"extractor", "hydra", "diluted", "paraphrase"})
CAMPAIGN_KINDS = frozenset({"hydra", "paraphrase"})
# Kinds whose account count is given directly; hydra and paraphrase come from campaigns x size.
COUNTED_KINDS: tuple[str, ...] = ("benign_chat", "benign_app", "benchmark_runner", "extractor", "diluted")

FORMATS: tuple[str, ...] = (
    "envelope",
    "bedrock",
    "litellm",
    "langfuse",
    "helicone",
    "portkey",
    "openai_batch",
)
# openai_batch has no time and no account, so it is only written when asked for explicitly.
DEFAULT_FORMATS: tuple[str, ...] = ("envelope", "bedrock", "litellm", "langfuse", "helicone", "portkey")


class SpecError(ValueError):
    pass


@dataclass(frozen=True)
class ScalePreset:
    accounts: Mapping[str, int]
    hydra_campaigns: int
    paraphrase_campaigns: int
    volume: float  # multiplier of the request rates of automated traffic (apps, runners, extractors)
    requests: int | None = None  # scale account counts so the total is about this many requests
    hydra_size: tuple[int, int] = (6, 10)
    hydra_member_requests: tuple[int, int] = (20, 200)


_SMALL = {"benign_chat": 40, "benign_app": 6, "benchmark_runner": 4, "extractor": 4, "diluted": 4}
# The population behind the large scales: mostly people, a few apps, a handful of campaigns.
_POPULATION = {"benign_chat": 600, "benign_app": 10, "benchmark_runner": 8, "extractor": 4, "diluted": 15}
SCALES: dict[str, ScalePreset] = {
    "tiny": ScalePreset(
        {"benign_chat": 10, "benign_app": 2, "benchmark_runner": 1, "extractor": 2, "diluted": 2},
        1,
        1,
        0.03,
        hydra_size=(4, 5),
        hydra_member_requests=(20, 60),
    ),
    "small": ScalePreset(_SMALL, 2, 1, 0.03, hydra_size=(7, 9), hydra_member_requests=(20, 150)),
    "medium": ScalePreset(_POPULATION, 4, 2, 1.0, requests=100_000),
    "large": ScalePreset(_POPULATION, 4, 2, 1.0, requests=1_000_000),
    "xl": ScalePreset(_POPULATION, 4, 2, 1.0, requests=10_000_000),
}


@dataclass(frozen=True)
class SynthSpec:
    """Everything that determines a simulated log set. Same spec (and pool contents) -> same bytes.

    ``accounts`` overrides the account count of the directly counted kinds; ``requests`` rescales every
    count (and the number of campaigns) so that the total is about that many requests, keeping each
    account's own behaviour (hydra members stay small, chats stay human-sized).
    """

    seed: int = 0
    start: str = "2025-06-02"  # first UTC day of the window (ISO date)
    days: int = 7
    scale: str = "small"
    requests: int | None = None
    accounts: Mapping[str, int] | None = None
    volume: float | None = None  # None: the scale preset's
    hydra_campaigns: int | None = None
    hydra_size: tuple[int, int] | None = None  # members per hydra campaign (inclusive); None: the scale's
    hydra_member_requests: tuple[int, int] | None = None  # one member's requests over the window
    paraphrase_campaigns: int | None = None
    paraphrase_size: tuple[int, int] = (3, 6)
    diluted_share: tuple[float, float] = (0.05, 0.5)  # extraction share range of diluted accounts
    formats: tuple[str, ...] = DEFAULT_FORMATS
    gzip: bool = False  # .jsonl.gz instead of .jsonl (Bedrock objects are always .json.gz)
    benign_pool: str | None = None
    extraction_pool: str | None = None
    max_response_chars: int = 1500  # response text is cut here; usage still reports the modelled tokens
    release_day: float | None = None  # day offset of the simulated model release; None: 40% into the window
    corporate_share: float = 0.15  # share of chat users behind a shared corporate proxy

    def validate(self) -> None:
        if self.scale not in SCALES:
            raise SpecError(f"unknown scale {self.scale!r} (known: {', '.join(SCALES)})")
        if self.days < 1:
            raise SpecError("days must be >= 1")
        try:
            date.fromisoformat(self.start)
        except ValueError as e:
            raise SpecError(f"start must be an ISO date, got {self.start!r}") from e
        bad = [f for f in self.formats if f not in FORMATS]
        if bad or not self.formats:
            raise SpecError(f"unknown formats {bad} (known: {', '.join(FORMATS)})")
        if len(set(self.formats)) != len(self.formats):
            raise SpecError("formats must not repeat")
        for k in self.accounts or {}:
            if k not in COUNTED_KINDS:
                raise SpecError(f"accounts: unknown or derived kind {k!r} (counted kinds: {', '.join(COUNTED_KINDS)})")
        if any(v < 0 for v in (self.accounts or {}).values()):
            raise SpecError("account counts must be >= 0")
        lo, hi = self.diluted_share
        if not (0.0 < lo <= hi < 1.0):
            raise SpecError("diluted_share must satisfy 0 < lo <= hi < 1")
        for name in ("hydra_size", "paraphrase_size", "hydra_member_requests"):
            v = getattr(self, name)
            if v is None:
                continue
            a, b = v
            if not (1 <= a <= b):
                raise SpecError(f"{name} must satisfy 1 <= lo <= hi")
        for name in ("hydra_campaigns", "paraphrase_campaigns"):
            v = getattr(self, name)
            if v is not None and v < 0:
                raise SpecError(f"{name} must be >= 0")
        if not (0.0 <= self.corporate_share <= 1.0):
            raise SpecError("corporate_share must lie in [0, 1]")
        if self.requests is not None and self.requests < 100:
            raise SpecError("requests must be >= 100")
        if self.volume is not None and self.volume <= 0:
            raise SpecError("volume must be > 0")
        if self.max_response_chars < 200:
            raise SpecError("max_response_chars must be >= 200")
        if self.release_day is not None and not (0 <= self.release_day < self.days):
            raise SpecError("release_day must lie in the window")

    @property
    def preset(self) -> ScalePreset:
        return SCALES[self.scale]

    def effective_volume(self) -> float:
        return self.volume if self.volume is not None else self.preset.volume

    def effective_hydra_size(self) -> tuple[int, int]:
        return self.hydra_size if self.hydra_size is not None else self.preset.hydra_size

    def effective_hydra_member_requests(self) -> tuple[int, int]:
        v = self.hydra_member_requests
        return v if v is not None else self.preset.hydra_member_requests

    def effective_requests(self) -> int | None:
        return self.requests if self.requests is not None else self.preset.requests

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["accounts"] = dict(self.accounts) if self.accounts is not None else None
        d["formats"] = list(self.formats)
        for k in ("hydra_size", "paraphrase_size", "diluted_share", "hydra_member_requests"):
            d[k] = list(d[k]) if d[k] is not None else None
        return d


@dataclass(frozen=True)
class SynthSummary:
    """What :func:`extractscan.synth.generate` wrote."""

    out_dir: str
    seed: int
    window_start: str
    window_end: str  # exclusive
    model_release: dict[str, Any]
    accounts_per_kind: dict[str, int]
    requests_per_kind: dict[str, int]
    requests_per_format: dict[str, int]
    files_per_format: dict[str, int]
    bytes_per_format: dict[str, int]
    campaigns: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def total_requests(self) -> int:
        return sum(self.requests_per_format.values())

    @property
    def total_accounts(self) -> int:
        return sum(self.accounts_per_kind.values())

    @property
    def total_bytes(self) -> int:
        return sum(self.bytes_per_format.values())
