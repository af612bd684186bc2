"""Shareable indicators of one campaign: what another provider needs to look for the same actor in its own
logs, without a word of prompt text and without the member accounts (unless asked for).

An :class:`IndicatorBundle` holds, for the campaign's members over the scan's window:

* **template fingerprints** — ``sk:`` + the first 16 hex digits of SHA-256 of a template *skeleton* (the
  normalised prompt with numbers, quotes, code, dates, ids, URLs and e-mail addresses masked; see
  ``cluster/normalize.py``). No salt and no key: the value depends only on the skeleton text, so another
  provider running the same extractscan skeleton rules (:data:`FINGERPRINT_SCHEME`) over its own logs gets
  the same fingerprint for a request from the same template. They are the ones ``scan`` puts into
  ``Campaign.template_fingerprints`` (skeletons a member sent at least :data:`MIN_TEMPLATE_REQUESTS` times),
  plus skeletons sent by two or more members, each with its request and member counts. A fingerprint of a
  short skeleton (few ``words``) is a weak indicator: "<num> + <num> = ?" is sent by many benign users.
* **frame fingerprints** — ``fr:`` + 16 hex digits of SHA-256 of a *template frame* ("write a python
  function {} step by step first": the words a member's prompts share before and after a free-text slot;
  ``cluster/normalize.py`` ``frame_columns``). A slot sweep over free words gives a new skeleton per
  request, so skeleton fingerprints miss it; its frame is the stable part. Which frame is found depends on
  the ``[cluster] frame_*`` settings (the defaults are documented), the hash only on the frame text.
* **API key hashes** — ``api_key_id`` as stored (``key:<sha256 prefix>``; raw keys are never stored).
* **IP ranges** — IPv4 /24 and IPv6 /48 only, never a full client address.
* **user agents**, **models**, first / last seen, request counts.

Prompt text, responses, skeleton text and session / end-user ids are never written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from extractscan import __version__
from extractscan.campaigns import ip_range_expr
from extractscan.config import ClusterConfig
from extractscan.findings import Campaign, ScanResult
from extractscan.prepare import ENTITY_COLUMNS

INDICATORS_VERSION = 1
# Names the fingerprint recipe; bump the suffix when the skeleton rules change what a template maps to.
FINGERPRINT_SCHEME = "sk-sha256-16/extractscan-skeleton-v1"
MIN_TEMPLATE_REQUESTS = 3  # as campaigns.template_fingerprints: a member's recurring skeleton
MAX_TEMPLATES = 200
MAX_VALUES = 100  # per indicator list


class IndicatorError(ValueError):
    """The campaign or store cannot be turned into indicators (unknown id, missing store)."""


@dataclass(frozen=True)
class TemplateIndicator:
    fingerprint: str
    words: int  # words in the skeleton: short skeletons are weak indicators
    requests: int
    accounts: int  # members that sent it


@dataclass(frozen=True)
class ValueIndicator:
    value: str
    requests: int
    accounts: int


@dataclass(frozen=True)
class IndicatorBundle:
    version: int
    tool_version: str
    fingerprint_scheme: str
    entity: str
    campaign_id: str
    score: float
    members: int
    edge_kinds: tuple[str, ...]
    first_seen: str | None  # ISO UTC
    last_seen: str | None
    requests: int
    template_fingerprints: tuple[TemplateIndicator, ...]
    frame_fingerprints: tuple[TemplateIndicator, ...]
    api_key_hashes: tuple[ValueIndicator, ...]
    ip_ranges: tuple[ValueIndicator, ...]
    user_agents: tuple[ValueIndicator, ...]
    models: tuple[ValueIndicator, ...]
    account_ids: tuple[str, ...] = ()  # only with include_accounts

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @staticmethod
    def from_dict(d: dict[str, Any]) -> IndicatorBundle:
        lists = {
            "template_fingerprints": TemplateIndicator,
            "frame_fingerprints": TemplateIndicator,
            "api_key_hashes": ValueIndicator,
            "ip_ranges": ValueIndicator,
            "user_agents": ValueIndicator,
            "models": ValueIndicator,
        }
        kw: dict[str, Any] = dict(d)
        for name, cls in lists.items():
            kw[name] = tuple(cls(**x) for x in d.get(name, ()))
        kw["edge_kinds"] = tuple(d.get("edge_kinds", ()))
        kw["account_ids"] = tuple(d.get("account_ids", ()))
        return IndicatorBundle(**kw)


# ------------------------------------------------------------------------------------------------ helpers


def prompt_text_expr() -> pl.Expr:
    """The analysed text of a request, as ``prepare.build_frame`` defines it."""
    return pl.coalesce(pl.col("last_user_text"), pl.col("system_text"), pl.lit(""))


def fingerprint(pattern: str, kind: str = "sk") -> str:
    """The shareable fingerprint of a skeleton (``sk``: identical to ``campaigns.template_fingerprints``)
    or of a template frame (``fr``): unsalted, so equal patterns give equal fingerprints anywhere."""
    return f"{kind}:" + hashlib.sha256(pattern.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def with_frames(frame: pl.DataFrame, cluster: ClusterConfig) -> pl.DataFrame:
    """``frame`` and ``frame_words`` per request of a frame with ``entity_id``, ``skeleton``, ``text_norm``
    (template frames per entity, with the configured frame settings, as the template detector finds them)."""
    from extractscan.cluster.normalize import frame_columns

    framed = frame_columns(
        frame.select("entity_id", "skeleton", "text_norm"),
        frame_words=cluster.frame_words,
        min_support=cluster.frame_min_support,
        min_share=cluster.frame_min_share,
        min_continuation=cluster.frame_min_continuation,
    )
    return frame.with_columns(framed["frame"], framed["frame_words"])


def ip_range_label_expr(col: pl.Expr) -> pl.Expr:
    """``a.b.c.0/24`` for IPv4, ``x:y:z::/48`` for IPv6 (the prefix ``campaigns.ip_range_expr`` links on)."""
    prefix = ip_range_expr(col)
    return pl.when(prefix.str.contains(":")).then(prefix + "::/48").otherwise(prefix + ".0/24")


_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


def safe_name(s: str, limit: int = 64) -> str:
    """A file-name component from an untrusted id: only [A-Za-z0-9_.-], no leading dot, bounded length.
    An id that had to change gets a short hash of the original, so two ids never share a file."""
    cleaned = _SAFE.sub("_", s).lstrip(".")[:limit] or "_"
    if cleaned != s:
        cleaned += "-" + hashlib.sha256(s.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return cleaned


def _iso(t: float | None) -> str | None:
    if t is None or not math.isfinite(t):
        return None
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _values(frame: pl.DataFrame, expr: pl.Expr) -> tuple[ValueIndicator, ...]:
    """Distinct values of ``expr`` with request and member counts, most requests first."""
    v = (
        frame.select(expr.alias("value"), "entity_id")
        .filter(pl.col("value").is_not_null() & (pl.col("value") != ""))
        .group_by("value")
        .agg(pl.len().alias("requests"), pl.col("entity_id").n_unique().alias("accounts"))
        .sort(["requests", "value"], descending=[True, False])
        .head(MAX_VALUES)
    )
    return tuple(ValueIndicator(value=str(r[0]), requests=int(r[1]), accounts=int(r[2])) for r in v.iter_rows())


def member_requests(store_dir: str | Path, entity: str, members: Sequence[str], window: tuple[Any, Any]) -> pl.DataFrame:
    """The members' requests (the columns indicators read), restricted to the scan's observed window."""
    from extractscan.store import Store

    root = Path(store_dir)
    if not (root / "manifest.json").is_file():
        raise IndicatorError(f"no store at {root}")
    ecol = ENTITY_COLUMNS[entity]
    cols = [ecol, "event_time", "last_user_text", "system_text", "api_key_id", "client_ip", "user_agent"]
    cols += ["model_requested", "model_served"]
    lf = Store(root).scan(columns=cols).filter(pl.col(ecol).is_in(list(members)))
    ts = pl.col("event_time").dt.epoch("us").cast(pl.Float64) / 1e6
    lo, hi = window
    if lo is not None:
        lf = lf.filter(ts.is_null() | (ts >= lo))
    if hi is not None:
        lf = lf.filter(ts.is_null() | (ts <= hi))
    return lf.with_columns(pl.col(ecol).alias("entity_id"), ts.alias("ts")).collect()


def _pattern_indicators(frame: pl.DataFrame, col: str, kind: str) -> tuple[TemplateIndicator, ...]:
    """Fingerprints of the members' recurring or shared patterns in ``col``. Hashing runs once per distinct
    pattern, not per request."""
    per = frame.group_by("entity_id", pl.col(col).alias("skeleton")).agg(pl.len().alias("n"))
    sk = (
        per.group_by("skeleton")
        .agg(
            pl.col("n").sum().alias("requests"),
            pl.len().alias("accounts"),
            pl.col("n").max().alias("most"),
        )
        .filter((pl.col("most") >= MIN_TEMPLATE_REQUESTS) | (pl.col("accounts") >= 2))
        .with_columns(
            pl.col("skeleton").map_elements(lambda x: fingerprint(x, kind), return_dtype=pl.String()).alias("fingerprint"),
            pl.col("skeleton").str.count_matches(r"\S+").alias("words"),
        )
        .sort(["accounts", "requests", "fingerprint"], descending=[True, True, False])
        .head(MAX_TEMPLATES)
    )
    return tuple(
        TemplateIndicator(
            fingerprint=r["fingerprint"], words=int(r["words"]), requests=int(r["requests"]), accounts=int(r["accounts"])
        )
        for r in sk.iter_rows(named=True)
    )


def template_indicators(
    frame: pl.DataFrame, cluster: ClusterConfig | None = None
) -> tuple[tuple[TemplateIndicator, ...], tuple[TemplateIndicator, ...]]:
    """(skeleton fingerprints, frame fingerprints) of the members' requests (``frame``: entity_id and the
    prompt columns). Only framed requests with at least two fixed words make frame fingerprints."""
    from extractscan.cluster.normalize import normalize_expr, skeleton_expr

    f = frame.select("entity_id", normalize_expr(prompt_text_expr()).alias("text_norm")).with_columns(
        skeleton_expr(pl.col("text_norm")).alias("skeleton")
    )
    f = with_frames(f, cluster or ClusterConfig())
    framed = f.filter(pl.col("frame_words") >= 2)
    return _pattern_indicators(f, "skeleton", "sk"), _pattern_indicators(framed, "frame", "fr")


# -------------------------------------------------------------------------------------------------- API


def indicators_for(
    campaign: Campaign,
    store_dir: str | Path,
    *,
    entity: str = "account",
    window: tuple[Any, Any] = (None, None),
    include_accounts: bool = False,
    cluster: ClusterConfig | None = None,
) -> IndicatorBundle:
    """The indicator bundle of ``campaign``, from its members' requests in the store."""
    frame = member_requests(store_dir, entity, campaign.account_ids, window)
    skeletons, frames = template_indicators(frame, cluster)
    ts = frame["ts"].drop_nulls()
    first = float(ts.min()) if len(ts) else None  # type: ignore[arg-type]
    last = float(ts.max()) if len(ts) else None  # type: ignore[arg-type]
    return IndicatorBundle(
        version=INDICATORS_VERSION,
        tool_version=__version__,
        fingerprint_scheme=FINGERPRINT_SCHEME,
        entity=entity,
        campaign_id=campaign.campaign_id,
        score=campaign.score,
        members=campaign.size,
        edge_kinds=campaign.edge_kinds,
        first_seen=_iso(first),
        last_seen=_iso(last),
        requests=frame.height,
        template_fingerprints=skeletons,
        frame_fingerprints=frames,
        api_key_hashes=_values(frame, pl.col("api_key_id")),
        ip_ranges=_values(frame, ip_range_label_expr(pl.col("client_ip"))),
        user_agents=_values(frame, pl.col("user_agent").str.strip_chars()),
        models=_values(frame, pl.coalesce(pl.col("model_requested"), pl.col("model_served"))),
        account_ids=tuple(campaign.account_ids) if include_accounts else (),
    )


def campaign_indicators(
    result: ScanResult,
    store_dir: str | Path,
    campaign_id: str,
    *,
    include_accounts: bool = False,
    cluster: ClusterConfig | None = None,
) -> IndicatorBundle:
    """The indicator bundle of one campaign of a scan result (over the scan's observed window). ``cluster``
    (frame settings) defaults to the scan's own configuration."""
    camp = next((c for c in result.campaigns if c.campaign_id == campaign_id), None)
    if camp is None:
        known = ", ".join(c.campaign_id for c in result.campaigns[:10]) or "none"
        raise IndicatorError(f"no campaign {campaign_id!r} in the scan result (campaigns: {known})")
    if cluster is None:
        cluster = _scan_cluster_config(result)
    return indicators_for(
        camp, store_dir, entity=result.entity, window=result.window, include_accounts=include_accounts, cluster=cluster
    )


def _scan_cluster_config(result: ScanResult) -> ClusterConfig:
    """The ``[cluster]`` settings recorded in the result (defaults for keys it lacks or cannot hold)."""
    saved = result.config.get("cluster") if isinstance(result.config, dict) else None
    if not isinstance(saved, dict):
        return ClusterConfig()
    names = {f.name for f in dataclasses.fields(ClusterConfig)}
    try:
        return ClusterConfig(**{k: v for k, v in saved.items() if k in names})
    except (TypeError, ValueError):
        return ClusterConfig()


def suspicious_campaigns(result: ScanResult) -> list[Campaign]:
    """Campaigns scoring at or above the scan's alert threshold (the ones that lift their members)."""
    return [c for c in result.campaigns if c.score >= result.alert_threshold]


def render(bundle: IndicatorBundle) -> str:
    return json.dumps(bundle.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_indicators(bundles: Sequence[IndicatorBundle], out_dir: str | Path) -> list[Path]:
    """One ``campaign-<safe id>.json`` per bundle in ``out_dir`` (created); returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for b in bundles:
        path = out / f"campaign-{safe_name(b.campaign_id)}.json"
        path.write_text(render(b), encoding="utf-8")
        paths.append(path)
    return paths
