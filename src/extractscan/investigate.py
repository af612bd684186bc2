"""One-tenant investigation: everything an incident responder needs about one account (or principal, API
key, end user) in one typed record, rendered in the terminal, as HTML and as an evidence bundle.

Where the facts come from:

* the **finding** (score, detector evidence, campaign, linked accounts and the edges that link them) comes
  from a previous scan's ``OUT/report.json`` when one is given — fast, and consistent with the nightly
  report — else from a fresh :func:`api.scan_store` over the whole store (scores are population-relative,
  so the tenant cannot be scored alone);
* the **per-request facts** (timeline, parameters, templates, clusters) come from the store, filtered to
  the tenant before anything is collected, so they stay fast on a big store.

Templates are skeletons (``cluster/normalize.py``) with the same fingerprints as ``scan`` and
:mod:`extractscan.indicators`. Clusters are MinHash near-duplicate clusters of the tenant's prompts,
numbered here by size: the cluster numbers in detector evidence are positions in the scan's partition and
do not carry over.

Attacker text (prompts, skeletons, user agents, ids) is kept verbatim in the record and made inert by each
renderer: :func:`render_terminal` strips escape and control characters, the HTML writer escapes it.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from extractscan import __version__
from extractscan.config import Config
from extractscan.findings import AccountFinding, Campaign, LinkEdge, ScanResult
from extractscan.indicators import (
    IndicatorBundle,
    _scan_cluster_config,
    fingerprint,
    indicators_for,
    ip_range_label_expr,
    with_frames,
)
from extractscan.prepare import ENTITY_COLUMNS, build_frame, load_requests
from extractscan.schema import COLUMN_NAMES

INVESTIGATION_VERSION = 1
SKELETON_CHARS = 300  # skeletons and examples are cut in the record: a prompt can be megabytes
EXAMPLE_CHARS = 500

BUNDLE_FILES = {
    "json": "investigation.json",
    "requests": "requests.parquet",
    "html": "investigation.html",
    "indicators": "indicators.json",
}


class InvestigateError(ValueError):
    """The investigation cannot run: no store, an unreadable report, an entity kind mismatch."""


class UnknownEntity(InvestigateError):
    """The id is neither in the store (within the window) nor in the scan result."""

    def __init__(self, entity: str, entity_id: str, suggestions: tuple[str, ...]) -> None:
        self.entity_id = entity_id
        self.suggestions = suggestions
        hint = f"; did you mean: {', '.join(repr(s) for s in suggestions)}" if suggestions else ""
        super().__init__(f"no {entity} {entity_id!r} in the store{hint}")


# ------------------------------------------------------------------------------------------------ records


@dataclass(frozen=True)
class Count:
    value: str
    n: int


@dataclass(frozen=True)
class Counts:
    """The most frequent values of one column over the tenant's requests."""

    top: tuple[Count, ...]
    distinct: int
    missing: int  # requests without a value


@dataclass(frozen=True)
class Stats:
    """Distribution of one numeric column (``count`` requests have a value)."""

    count: int
    min: float | None
    median: float | None
    p90: float | None
    max: float | None
    mean: float | None
    total: float | None


@dataclass(frozen=True)
class Parameters:
    models: Counts
    providers: Counts  # provider / API surface
    source_formats: Counts
    status: Counts
    max_output_tokens: Stats
    max_output_tokens_values: Counts
    temperature: Stats
    temperature_values: Counts
    n_requested: Counts
    reasoning_effort: Counts
    response_format: Counts
    logprobs_requests: int
    tools_requests: int
    stream_requests: int
    thinking_requests: int
    multi_turn_requests: int  # more than one user turn
    input_tokens: Stats
    output_tokens: Stats
    reasoning_tokens: Stats
    user_agents: Counts
    ip_ranges: Counts  # /24 (IPv4), /48 (IPv6)
    api_keys: Counts
    principals: Counts
    end_users: Counts
    sessions: int  # distinct session ids


@dataclass(frozen=True)
class Bucket:
    start: float  # epoch seconds (UTC) of the hour or day
    n: int


@dataclass(frozen=True)
class Timeline:
    first_seen: float | None
    last_seen: float | None
    untimed: int  # requests without a time
    active_hours: int
    active_days: int
    peak_hour: Bucket | None
    hour_of_day: tuple[int, ...]  # 24 counts, UTC
    hourly: tuple[Bucket, ...]  # non-empty hours only
    daily: tuple[Bucket, ...]  # non-empty days only


@dataclass(frozen=True)
class Template:
    """A skeleton (``sk:`` fingerprint, as in campaigns and indicators) or a template frame (``fr:``)."""

    fingerprint: str
    pattern: str  # the skeleton or frame text, cut to SKELETON_CHARS
    requests: int
    share: float
    distinct_texts: int
    first_seen: float | None
    last_seen: float | None
    examples: tuple[str, ...]  # distinct prompts, earliest first, cut to EXAMPLE_CHARS


@dataclass(frozen=True)
class Cluster:
    number: int  # 1 = largest near-duplicate cluster of this tenant
    requests: int
    share: float
    distinct_texts: int
    templates: int  # distinct skeletons in the cluster
    first_seen: float | None
    last_seen: float | None
    example: str


@dataclass(frozen=True)
class LinkedAccount:
    entity_id: str
    rank: int | None
    score: float | None
    severity: str | None
    flagged: bool
    n_requests: int | None
    edge_kinds: tuple[str, ...]  # kinds of the edges to the investigated entity (empty: linked through others)


@dataclass(frozen=True)
class Investigation:
    version: int
    tool_version: str
    entity: str
    entity_id: str
    source: str  # "report" (a previous scan's report.json) or "scan" (scanned for this investigation)
    since: float | None  # the requested window of the per-request facts
    until: float | None
    scan_window: tuple[float | None, float | None]  # observed window of the scan the finding comes from
    population: int  # entities in that scan
    alert_threshold: float
    finding: AccountFinding | None
    campaign: Campaign | None
    edges: tuple[LinkEdge, ...]  # campaign edges touching the entity
    linked: tuple[LinkedAccount, ...]
    n_requests: int
    timeline: Timeline
    parameters: Parameters
    n_templates: int  # distinct skeletons
    templates: tuple[Template, ...]
    frames: tuple[Template, ...]  # template frames ("prefix {} suffix") of the tenant's slot sweeps
    n_clusters: int
    clustered_requests: int  # requests in clusters of two or more
    clusters: tuple[Cluster, ...]
    notes: tuple[str, ...] = ()
    redacted: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @staticmethod
    def from_dict(d: dict[str, Any]) -> Investigation:
        return typing.cast(Investigation, _build(Investigation, d))


def _build(tp: Any, value: Any) -> Any:
    """Rebuild a value of type ``tp`` (dataclasses, tuples, optionals, plain values) from its JSON form."""
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return _build(inner[0], value) if len(inner) == 1 else value
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_build(args[0], v) for v in value)
        return tuple(_build(a, v) for a, v in zip(args, value, strict=True))
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        hints = typing.get_type_hints(tp)
        names = {f.name for f in dataclasses.fields(tp)}
        return tp(**{k: _build(hints[k], v) for k, v in value.items() if k in names})
    return value


def render_json(inv: Investigation) -> str:
    """Canonical JSON (sorted keys, no NaN): the same investigation gives the same bytes."""
    return json.dumps(_finite(inv.to_dict()), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def load_json(path: str | Path) -> Investigation:
    return Investigation.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def _finite(v: Any) -> Any:
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {str(k): _finite(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_finite(x) for x in v]
    return v


# ------------------------------------------------------------------------------------------------ loading


def _epoch(v: str | datetime | float | None) -> float | None:
    """A window bound as epoch seconds, with the scan's rules (ISO time, UTC when no zone)."""
    if v is None or isinstance(v, int | float):
        return None if v is None else float(v)
    from extractscan.scan import _epoch as scan_epoch

    try:
        return scan_epoch(v)
    except ValueError as e:
        raise InvestigateError(f"invalid time {v!r}: {e}") from None


def _bound(t: float | None) -> datetime | None:
    return None if t is None else datetime.fromtimestamp(t, UTC)


def _open_store(store_dir: str | Path) -> Any:
    from extractscan.store import Store, StoreError

    root = Path(store_dir)
    if not (root / "manifest.json").is_file():
        raise InvestigateError(f"no store at {root}")
    try:
        return Store(root)
    except StoreError as e:
        raise InvestigateError(str(e)) from None


def tenant_requests(
    store_dir: str | Path,
    entity_id: str,
    *,
    entity: str = "account",
    since: str | datetime | float | None = None,
    until: str | datetime | float | None = None,
) -> pl.LazyFrame:
    """The entity's canonical rows (every column) as a LazyFrame: the filter on the entity column comes
    before anything is collected, so polars reads only what it needs (statistics prune row groups)."""
    if entity not in ENTITY_COLUMNS:
        raise InvestigateError(f"entity must be one of {sorted(ENTITY_COLUMNS)}")
    lo, hi = _epoch(since), _epoch(until)
    store = _open_store(store_dir)
    lf = store.scan(since=_bound(lo), until=_bound(hi))
    return lf.filter(pl.col(ENTITY_COLUMNS[entity]) == entity_id).select(list(COLUMN_NAMES))


def load_scan_result(scan_out: str | Path) -> ScanResult:
    from extractscan.report import json as json_report

    path = Path(scan_out)
    if path.is_dir():
        path = path / "report.json"
    if not path.is_file():
        raise InvestigateError(f"no scan result at {path}")
    try:
        return json_report.load(path)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError, IndexError) as e:
        raise InvestigateError(f"{path} is not an extractscan report.json: {type(e).__name__}: {e}") from None


def suggestions(
    store_dir: str | Path, entity_id: str, *, entity: str = "account", known: list[str] | None = None
) -> tuple[str, ...]:
    """Close matches for a mistyped id: ids containing it (case-insensitive), then similar spellings
    (difflib, only when the id list is small enough for it to be quick)."""
    ids: list[str]
    if known is not None:
        ids = known
    else:
        col = ENTITY_COLUMNS[entity]
        ids = _open_store(store_dir).scan(columns=[col]).select(pl.col(col).drop_nulls().unique()).collect()[col].to_list()
    needle = entity_id.lower().strip()
    found = sorted(i for i in ids if needle and needle in i.lower())[:5]
    if len(found) < 5 and len(ids) <= 50_000:
        for m in difflib.get_close_matches(entity_id, ids, n=5, cutoff=0.6):
            if m not in found:
                found.append(m)
    return tuple(found[:5])


# ------------------------------------------------------------------------------------------------ measuring


def _counts(frame: pl.DataFrame, expr: pl.Expr, top: int) -> Counts:
    s = frame.select(expr.cast(pl.String).alias("v"))["v"]
    missing = s.null_count() + int((s == "").sum() or 0)
    vals = s.filter(s.is_not_null() & (s != ""))
    if vals.is_empty():
        return Counts(top=(), distinct=0, missing=missing)
    vc = vals.value_counts(name="n").sort(["n", "v"], descending=[True, False])
    return Counts(
        top=tuple(Count(value=str(v), n=int(n)) for v, n in vc.head(top).iter_rows()),
        distinct=vc.height,
        missing=missing,
    )


def _stats(frame: pl.DataFrame, col: str) -> Stats:
    if col not in frame.columns:
        return Stats(0, None, None, None, None, None, None)
    c = pl.col(col).cast(pl.Float64)
    row = frame.select(
        c.count().alias("count"),
        c.min().alias("min"),
        c.median().alias("median"),
        c.quantile(0.9, interpolation="nearest").alias("p90"),
        c.max().alias("max"),
        c.mean().alias("mean"),
        c.sum().alias("total"),
    ).row(0, named=True)
    n = int(row["count"])

    def r(x: Any) -> float | None:
        return None if n == 0 or x is None else round(float(x), 4)

    return Stats(n, r(row["min"]), r(row["median"]), r(row["p90"]), r(row["max"]), r(row["mean"]), r(row["total"]))


def _count_true(frame: pl.DataFrame, expr: pl.Expr) -> int:
    return int(frame.select(expr.fill_null(False).sum()).item() or 0)


def parameters(frame: pl.DataFrame, top: int = 10) -> Parameters:
    """The request-parameter profile of a tenant's requests (canonical columns)."""
    col = pl.col
    return Parameters(
        models=_counts(frame, pl.coalesce(col("model_requested"), col("model_served")), top),
        providers=_counts(
            frame, pl.concat_str([col("provider").fill_null("?"), col("api_surface").fill_null("?")], separator=" "), top
        ),
        source_formats=_counts(frame, col("source_format"), top),
        status=_counts(frame, col("status"), top),
        max_output_tokens=_stats(frame, "max_output_tokens"),
        max_output_tokens_values=_counts(frame, col("max_output_tokens"), top),
        temperature=_stats(frame, "temperature"),
        temperature_values=_counts(frame, col("temperature").round(3), top),
        n_requested=_counts(frame, col("n_requested"), top),
        reasoning_effort=_counts(frame, col("reasoning_effort"), top),
        response_format=_counts(frame, col("response_format_type"), top),
        logprobs_requests=_count_true(frame, col("logprobs") | (col("top_logprobs") > 0)),
        tools_requests=_count_true(frame, col("tools_count") > 0),
        stream_requests=_count_true(frame, col("stream")),
        thinking_requests=_count_true(frame, col("thinking_budget_tokens").is_not_null()),
        multi_turn_requests=_count_true(frame, col("n_user_turns") > 1),
        input_tokens=_stats(frame, "input_tokens"),
        output_tokens=_stats(frame, "output_tokens"),
        reasoning_tokens=_stats(frame, "reasoning_tokens"),
        user_agents=_counts(frame, col("user_agent").str.strip_chars(), top),
        ip_ranges=_counts(frame, ip_range_label_expr(col("client_ip")), top),
        api_keys=_counts(frame, col("api_key_id"), top),
        principals=_counts(frame, col("principal_id"), top),
        end_users=_counts(frame, col("end_user_id"), top),
        sessions=int(frame.select(col("session_id").drop_nulls().n_unique()).item() or 0),
    )


def timeline(ts: pl.Series) -> Timeline:
    """Requests per hour and per day (UTC) from epoch seconds (nulls are untimed requests)."""
    untimed = ts.null_count()
    t = pl.DataFrame({"ts": ts.drop_nulls().cast(pl.Float64)})
    if t.is_empty():
        return Timeline(None, None, untimed, 0, 0, None, (0,) * 24, (), ())
    hours = t.select(((pl.col("ts") // 3600) * 3600).alias("start")).group_by("start").agg(pl.len().alias("n")).sort("start")
    days = t.select(((pl.col("ts") // 86400) * 86400).alias("start")).group_by("start").agg(pl.len().alias("n")).sort("start")
    hod = t.select(((pl.col("ts") // 3600) % 24).cast(pl.Int64).alias("h")).group_by("h").agg(pl.len().alias("n"))
    by_hour = dict(zip(hod["h"].to_list(), hod["n"].to_list(), strict=True))
    peak = hours.sort(["n", "start"], descending=[True, False]).row(0)
    return Timeline(
        first_seen=float(t["ts"].min()),  # type: ignore[arg-type]
        last_seen=float(t["ts"].max()),  # type: ignore[arg-type]
        untimed=untimed,
        active_hours=hours.height,
        active_days=days.height,
        peak_hour=Bucket(start=float(peak[0]), n=int(peak[1])),
        hour_of_day=tuple(int(by_hour.get(h, 0)) for h in range(24)),
        hourly=tuple(Bucket(start=float(s), n=int(n)) for s, n in hours.iter_rows()),
        daily=tuple(Bucket(start=float(s), n=int(n)) for s, n in days.iter_rows()),
    )


def _cut(s: str, limit: int) -> str:
    return s if len(s) <= limit else s[: limit - 1] + "…"


def templates(
    frame: pl.DataFrame,
    top: int = 10,
    examples: int = 3,
    *,
    key: str = "skeleton",
    kind: str = "sk",
    total: int | None = None,
) -> tuple[int, tuple[Template, ...]]:
    """(distinct patterns, the ``top`` patterns by requests) of a scan frame: ``key`` is the pattern column
    (``skeleton``, or ``frame`` with ``kind="fr"``); needs ``text``, ``ts`` and ``record_id`` too. Shares
    are of ``total`` requests (default: the frame's rows)."""
    total = max(1, frame.height if total is None else total)
    g = (
        frame.sort(["ts", "record_id"], nulls_last=True)
        .group_by(pl.col(key).alias("skeleton"), maintain_order=True)
        .agg(
            pl.len().alias("n"),
            pl.col("text").n_unique().alias("distinct"),
            pl.col("ts").min().alias("first"),
            pl.col("ts").max().alias("last"),
            pl.col("text").str.slice(0, EXAMPLE_CHARS + 1).unique(maintain_order=True).head(examples).alias("examples"),
        )
        .sort(["n", "skeleton"], descending=[True, False])
    )
    out = []
    for r in g.head(top).iter_rows(named=True):
        sk = r["skeleton"] or ""
        out.append(
            Template(
                fingerprint=fingerprint(sk, kind),
                pattern=_cut(sk, SKELETON_CHARS),
                requests=int(r["n"]),
                share=round(r["n"] / total, 4),
                distinct_texts=int(r["distinct"]),
                first_seen=r["first"],
                last_seen=r["last"],
                examples=tuple(_cut(x, EXAMPLE_CHARS) for x in r["examples"]),
            )
        )
    return g.height, tuple(out)


def clusters(frame: pl.DataFrame, top: int = 10) -> tuple[int, int, tuple[Cluster, ...]]:
    """(clusters, requests in clusters of two or more, the ``top`` clusters by size) of a scan frame."""
    total = max(1, frame.height)
    g = (
        frame.sort(["ts", "record_id"], nulls_last=True)
        .group_by("cluster_id", maintain_order=True)
        .agg(
            pl.len().alias("n"),
            pl.col("text").n_unique().alias("distinct"),
            pl.col("skeleton").n_unique().alias("skeletons"),
            pl.col("ts").min().alias("first"),
            pl.col("ts").max().alias("last"),
            pl.col("text").first().str.slice(0, EXAMPLE_CHARS + 1).alias("example"),
        )
        .sort(["n", "first", "example"], descending=[True, False, False], nulls_last=True)
    )
    clustered = int(g.filter(pl.col("n") >= 2)["n"].sum() or 0)
    out = tuple(
        Cluster(
            number=i + 1,
            requests=int(r["n"]),
            share=round(r["n"] / total, 4),
            distinct_texts=int(r["distinct"]),
            templates=int(r["skeletons"]),
            first_seen=r["first"],
            last_seen=r["last"],
            example=_cut(r["example"] or "", EXAMPLE_CHARS),
        )
        for i, r in enumerate(g.head(top).iter_rows(named=True))
    )
    return g.height, clustered, out


def _linked(
    finding: AccountFinding | None, campaign: Campaign | None, result: ScanResult
) -> tuple[tuple[LinkEdge, ...], tuple[LinkedAccount, ...]]:
    if campaign is None or finding is None:
        return (), ()
    me = finding.entity_id
    edges = tuple(e for e in campaign.edges if me in (e.a, e.b))
    kinds: dict[str, set[str]] = {}
    for e in edges:
        kinds.setdefault(e.b if e.a == me else e.a, set()).add(e.kind)
    members = set(campaign.account_ids)
    by_id = {a.entity_id: a for a in result.accounts if a.entity_id in members}
    linked = []
    for m in campaign.account_ids:
        if m == me:
            continue
        a = by_id.get(m)
        linked.append(
            LinkedAccount(
                entity_id=m,
                rank=a.rank if a else None,
                score=a.score if a else None,
                severity=a.severity if a else None,
                flagged=bool(a and a.flagged),
                n_requests=a.n_requests if a else None,
                edge_kinds=tuple(sorted(kinds.get(m, ()))),
            )
        )
    linked.sort(key=lambda x: (not x.edge_kinds, -(x.score or 0.0), x.entity_id))
    return edges, tuple(linked)


def _store_changed(result: ScanResult, store: Any) -> bool:
    scanned = {m.get("sha256") for m in result.manifest if isinstance(m, dict)}
    current = {m.sha256 for m in store.manifest()}
    return bool(scanned) and not current <= scanned


# ------------------------------------------------------------------------------------------------ the API


@dataclass(frozen=True)
class Inputs:
    """What :func:`investigate` worked from, for the bundle writer: the scan result and the window."""

    result: ScanResult
    since: float | None
    until: float | None


def investigate(
    store_dir: str | Path,
    account_id: str,
    cfg: Config | None = None,
    *,
    scan_out: str | Path | None = None,
    entity: str = "account",
    since: str | datetime | float | None = None,
    until: str | datetime | float | None = None,
    top: int = 10,
    examples: int = 3,
    progress: Callable[[str, int, int], None] | None = None,
) -> Investigation:
    """Investigate one entity of the store (see the module docstring). Raises :class:`UnknownEntity`
    (with close matches) when the id is neither in the store nor in the scan result."""
    return investigate_with_inputs(
        store_dir,
        account_id,
        cfg,
        scan_out=scan_out,
        entity=entity,
        since=since,
        until=until,
        top=top,
        examples=examples,
        progress=progress,
    )[0]


def investigate_with_inputs(
    store_dir: str | Path,
    account_id: str,
    cfg: Config | None = None,
    *,
    scan_out: str | Path | None = None,
    entity: str = "account",
    since: str | datetime | float | None = None,
    until: str | datetime | float | None = None,
    top: int = 10,
    examples: int = 3,
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[Investigation, Inputs]:
    """:func:`investigate`, also returning the scan result it used (the bundle needs it for indicators)."""
    cfg = cfg or Config()
    if entity not in ENTITY_COLUMNS:
        raise InvestigateError(f"entity must be one of {sorted(ENTITY_COLUMNS)}")
    lo, hi = _epoch(since), _epoch(until)
    store = _open_store(store_dir)
    notes: list[str] = []

    # The tenant's requests first: a cheap, filtered read that also tells whether the id exists.
    lf = tenant_requests(store_dir, account_id, entity=entity, since=lo, until=hi)
    rows = lf.collect()

    result: ScanResult | None = None
    if scan_out is not None:
        result = load_scan_result(scan_out)
        if result.entity != entity:
            raise InvestigateError(f"the scan result scores {result.entity}s, not {entity}s (use --entity {result.entity})")
        # Templates and clusters with the scan's own [cluster] settings, so they match its evidence.
        cfg = cfg.replace(cluster=_scan_cluster_config(result))
        if _store_changed(result, store):
            notes.append("The store has input files the scan did not see: the finding predates them.")
        if lo is not None or hi is not None:
            notes.append("The finding covers the scan's window; only the request facts use --since/--until.")
    finding = None
    if result is not None:
        finding = next((a for a in result.accounts if a.entity_id == account_id), None)
    if rows.is_empty() and finding is None:
        known = [a.entity_id for a in result.accounts] if result is not None else None
        raise UnknownEntity(entity, account_id, suggestions(store_dir, account_id, entity=entity, known=known))
    if result is None:
        from extractscan import api

        result = api.scan_store(store_dir, cfg, entity=entity, since=_bound(lo), until=_bound(hi), progress=progress)
        finding = next((a for a in result.accounts if a.entity_id == account_id), None)
    if finding is None:
        notes.append(f"The scan result has no finding for this {entity} (it has no requests in the scan's window).")
    elif rows.height != finding.n_requests:
        notes.append(f"The store holds {rows.height:,} requests for the window; the finding counted {finding.n_requests:,}.")
    campaign = next((c for c in result.campaigns if finding and c.campaign_id == finding.campaign_id), None)
    edges, linked = _linked(finding, campaign, result)

    # Skeletons and near-duplicate clusters over the tenant's requests, as the scan builds them.
    ts = rows["event_time"].dt.epoch("us").cast(pl.Float64) / 1e6
    n_templates, n_clusters, clustered = 0, 0, 0
    tmpl: tuple[Template, ...] = ()
    frames: tuple[Template, ...] = ()
    clus: tuple[Cluster, ...] = ()
    if not rows.is_empty():
        frame, _ = build_frame(load_requests(rows.lazy(), entity=entity), cfg)
        n_templates, tmpl = templates(frame, top, examples)
        framed = with_frames(frame, cfg.cluster).filter(pl.col("frame_words") >= 2)
        frames = templates(framed, top, examples, key="frame", kind="fr", total=frame.height)[1]
        n_clusters, clustered, clus = clusters(frame, top)
    inv = Investigation(
        version=INVESTIGATION_VERSION,
        tool_version=__version__,
        entity=entity,
        entity_id=account_id,
        source="report" if scan_out is not None else "scan",
        since=lo,
        until=hi,
        scan_window=result.window,
        population=result.stats.entities,
        alert_threshold=result.alert_threshold,
        finding=finding,
        campaign=campaign,
        edges=edges,
        linked=linked,
        n_requests=rows.height,
        timeline=timeline(ts),
        parameters=parameters(rows, top),
        n_templates=n_templates,
        templates=tmpl,
        frames=frames,
        n_clusters=n_clusters,
        clustered_requests=clustered,
        clusters=clus,
        notes=tuple(notes),
    )
    return inv, Inputs(result=result, since=lo, until=hi)


# ------------------------------------------------------------------------------------------------ redaction


def redact_investigation(inv: Investigation, result: ScanResult, salt: str) -> Investigation:
    """The investigation with identifiers hashed and prompt text masked by :mod:`extractscan.redact` (the
    same keyed hashes as ``scan --redact`` with the same salt). Scores, counts, times, models, parameters
    and template fingerprints are kept."""
    from extractscan.redact import _ENTITY_PREFIX, mask_text, redact_id, redact_result, redact_text

    if inv.redacted:
        return inv
    kind = _ENTITY_PREFIX.get(inv.entity, "ent")
    # Redact the part of the scan result the investigation quotes, with redact_result's own rules.
    keep = {inv.entity_id, *(x.entity_id for x in inv.linked)}
    mini = dataclasses.replace(
        result,
        accounts=tuple(a for a in result.accounts if a.entity_id in keep),
        campaigns=(inv.campaign,) if inv.campaign is not None else (),
    )
    red = redact_result(mini, salt) if mini.accounts else mini
    red_of = {a.entity_id: r for a, r in zip(mini.accounts, red.accounts, strict=True)}

    def ident(x: str) -> str:
        return redact_id(x, salt, kind)

    ids = {x: ident(x) for x in keep}
    if inv.campaign is not None:
        ids[inv.campaign.campaign_id] = redact_id(inv.campaign.campaign_id, salt, "cmp")

    def hashed(c: Counts, prefix: str) -> Counts:
        return dataclasses.replace(c, top=tuple(Count(redact_id(x.value, salt, prefix), x.n) for x in c.top))

    p = inv.parameters
    params = dataclasses.replace(
        p,
        user_agents=hashed(p.user_agents, "ua"),
        ip_ranges=hashed(p.ip_ranges, "ip"),
        api_keys=hashed(p.api_keys, "key"),
        principals=hashed(p.principals, "prin"),
        end_users=hashed(p.end_users, "user"),
    )
    campaign = red.campaigns[0] if inv.campaign is not None and red.campaigns else None
    return dataclasses.replace(
        inv,
        entity_id=ident(inv.entity_id),
        finding=red_of.get(inv.entity_id) if inv.finding is not None else None,
        campaign=campaign,
        edges=tuple(e for e in (campaign.edges if campaign else ()) if ident(inv.entity_id) in (e.a, e.b)),
        linked=tuple(dataclasses.replace(x, entity_id=ident(x.entity_id)) for x in inv.linked),
        parameters=params,
        templates=tuple(_mask_template(t, salt) for t in inv.templates),
        frames=tuple(_mask_template(t, salt) for t in inv.frames),
        clusters=tuple(dataclasses.replace(c, example=mask_text(c.example, salt)) for c in inv.clusters),
        notes=tuple(redact_text(n, salt, ids) for n in inv.notes),
        redacted=True,
    )


def _mask_template(t: Template, salt: str) -> Template:
    from extractscan.redact import mask_text

    return dataclasses.replace(t, pattern=mask_text(t.pattern, salt), examples=tuple(mask_text(x, salt) for x in t.examples))


# Identifier columns hashed and text columns masked in a redacted requests.parquet (per distinct value).
_ID_COLUMNS = {
    "record_id": "req",
    "source_file": "file",
    "request_id": "req",
    "response_id": "req",
    "batch_custom_id": "req",
    "principal_id": "prin",
    "api_key_id": "key",
    "end_user_id": "user",
    "session_id": "sess",
    "client_ip": "ip",
    "user_agent": "ua",
    "body_uri": "file",
    "prompt_hash": "hash",
    "prefix_hash": "hash",
}
_TEXT_COLUMNS = ("system_text", "last_user_text", "response_text")


def _map_distinct(s: pl.Series, fn: Callable[[str], str]) -> pl.Series:
    """``fn`` over the distinct values of a string column (hashing is not a polars expression): the
    Python work is per distinct value, and the column is rebuilt with one columnar replace."""
    uniq = s.drop_nulls().unique()
    if uniq.is_empty():
        return s
    mapping = dict(zip(uniq.to_list(), (fn(v) for v in uniq.to_list()), strict=True))
    return s.replace_strict(mapping, default=None, return_dtype=pl.String())


def redact_requests(rows: pl.DataFrame, entity: str, salt: str) -> pl.DataFrame:
    """The canonical rows with identifiers hashed (``redact_id``) and prompt / response text masked
    (``mask_text``): message texts and tag values too. Counts, times, models and parameters are kept."""
    from extractscan.redact import _ENTITY_PREFIX, mask_text, redact_id

    def masked(v: str) -> str:
        return mask_text(v, salt)

    # The prefixes match redact's entity prefixes, so the investigated id hashes alike in every file.
    ids = {"account_id": _ENTITY_PREFIX["account"], **_ID_COLUMNS}
    out = rows
    for col, prefix in ids.items():
        if col in out.columns:
            out = out.with_columns(_map_distinct(out[col], lambda v, p=prefix: redact_id(v, salt, p)).alias(col))  # type: ignore[misc]
    for col in _TEXT_COLUMNS:
        if col in out.columns:
            out = out.with_columns(_map_distinct(out[col], masked).alias(col))
    for col, field in (("messages", "text"), ("tags", "value")):
        if col not in out.columns or out[col].null_count() == out.height:
            continue
        dtype = out.schema[col]
        other = next(f.name for f in dtype.inner.fields if f.name != field)  # type: ignore[attr-defined]
        indexed = out.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("_i"), col)
        flat = indexed.explode(col).filter(pl.col(col).is_not_null()).unnest(col)
        flat = flat.with_columns(_map_distinct(flat[field], masked).alias(field))
        back = flat.group_by("_i").agg(pl.struct(other, field).alias("_new"))
        # Rebuilt per row by index: null lists stay null, empty lists stay empty.
        joined = indexed.join(back, on="_i", how="left").sort("_i")
        rebuilt = joined.select(
            pl.when(pl.col(col).is_null())
            .then(None)
            .otherwise(pl.col("_new").fill_null(pl.lit([], dtype=pl.List(dtype.inner))))  # type: ignore[attr-defined]
            .cast(dtype)
            .alias(col)
        )
        out = out.with_columns(rebuilt[col])
    return out


# ------------------------------------------------------------------------------------------------ bundle


def write_bundle(
    inv: Investigation,
    inputs: Inputs,
    store_dir: str | Path,
    out_dir: str | Path,
    *,
    salt: str | None = None,
    include_accounts: bool = False,
) -> list[Path]:
    """The evidence bundle: ``investigation.json``, ``requests.parquet`` (the tenant's canonical rows),
    ``investigation.html`` and, for a campaign member, ``indicators.json``. The file names are fixed: nothing
    derived from the id (attacker-chosen) becomes a path. With ``salt`` every file is redacted (``inv``
    must then be unredacted: the rows are selected by the real id)."""
    from extractscan.indicators import render as render_indicators
    from extractscan.report.investigation_html import render as render_html

    if inv.redacted:
        raise InvestigateError("write_bundle needs the unredacted investigation (it redacts with the salt)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = tenant_requests(store_dir, inv.entity_id, entity=inv.entity, since=inv.since, until=inv.until).collect()
    shown = inv
    if salt is not None:
        rows = redact_requests(rows, inv.entity, salt)
        shown = redact_investigation(inv, inputs.result, salt)
    paths = {k: out / v for k, v in BUNDLE_FILES.items()}
    paths["json"].write_text(render_json(shown), encoding="utf-8")
    rows.write_parquet(paths["requests"], compression="zstd")
    paths["html"].write_text(render_html(shown), encoding="utf-8")
    written = [paths["json"], paths["requests"], paths["html"]]
    if inv.campaign is not None:
        bundle = indicators_for(
            inv.campaign,
            store_dir,
            entity=inv.entity,
            window=inputs.result.window,
            cluster=_scan_cluster_config(inputs.result),
            include_accounts=include_accounts and salt is None,
        )
        if salt is not None:
            bundle = redact_indicators(bundle, salt)
        paths["indicators"].write_text(render_indicators(bundle), encoding="utf-8")
        written.append(paths["indicators"])
    return written


def redact_indicators(bundle: IndicatorBundle, salt: str) -> IndicatorBundle:
    """Indicators with the campaign id, key hashes, IP ranges and user agents keyed-hashed (fingerprints
    and models kept): for a redacted bundle, where even shareable values are not meant to leave."""
    from extractscan.redact import redact_id

    def vals(xs: tuple[Any, ...], prefix: str) -> tuple[Any, ...]:
        return tuple(dataclasses.replace(x, value=redact_id(x.value, salt, prefix)) for x in xs)

    return dataclasses.replace(
        bundle,
        campaign_id=redact_id(bundle.campaign_id, salt, "cmp"),
        api_key_hashes=vals(bundle.api_key_hashes, "key"),
        ip_ranges=vals(bundle.ip_ranges, "ip"),
        user_agents=vals(bundle.user_agents, "ua"),
        account_ids=(),
    )


# ------------------------------------------------------------------------------------------------ terminal


_BLOCKS = " ▁▂▃▄▅▆▇█"


def _when(t: float | None) -> str:
    if t is None or not math.isfinite(t):
        return "?"
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M")


def sparkline(values: list[int] | tuple[int, ...]) -> str:
    peak = max(values, default=0)
    if peak <= 0:
        return " " * len(values)
    return "".join(_BLOCKS[0 if v <= 0 else max(1, round(8 * v / peak))] for v in values)


def _daily_series(tl: Timeline) -> list[int]:
    if not tl.daily:
        return []
    first, last = tl.daily[0].start, tl.daily[-1].start
    n = int((last - first) // 86400) + 1
    counts = [0] * min(n, 366)
    for b in tl.daily:
        i = int((b.start - first) // 86400)
        if i < len(counts):
            counts[i] = b.n
    return counts


def _fmt_stats(s: Stats, digits: int = 0) -> str:
    if s.count == 0:
        return "–"
    f = f"{{:,.{digits}f}}"
    parts = [f"median {f.format(s.median)}", f"p90 {f.format(s.p90)}", f"max {f.format(s.max)}"]
    return ", ".join(parts) + f" ({s.count:,} requests)"


def _fmt_counts(c: Counts, limit: int = 4, width: int = 60) -> str:
    from extractscan.report.safe import terminal_text

    if not c.top:
        return "–"
    items = ", ".join(f"{terminal_text(x.value, width)} ×{x.n:,}" for x in c.top[:limit])
    more = c.distinct - min(limit, len(c.top))
    return items + (f", … (+{more} more)" if more > 0 else "")


def _table(title: str, columns: str, *, header: bool = True) -> Any:
    """A rich table from ``"name>|name|name*"``: ``>`` right-justifies a column, ``*`` lets it take the rest."""
    from rich.table import Table

    t = Table(title=title, title_justify="left", show_header=header)
    for col in columns.split("|"):
        name = col.rstrip(">*")
        t.add_column(name, justify="right" if col.endswith(">") else "left", ratio=1 if col.endswith("*") else None)
    return t


def render_terminal(inv: Investigation, *, top: int = 10) -> list[Any]:
    """Rich renderables of the investigation. Every attacker-controlled string goes through
    ``report.safe.terminal_text`` and is shown as ``rich.text.Text`` (never read as markup)."""
    from rich.text import Text

    from extractscan.report.safe import terminal_text as tt

    parts: list[Any] = []
    f = inv.finding
    head = Text(f"{inv.entity} ", style="bold")
    head.append(tt(inv.entity_id, 120), style="bold")
    if f is not None:
        flag = " ⚑ flagged" if f.flagged else ""
        head.append(f" — score {f.score:.2f} ({f.severity}{flag}), rank {f.rank} of {inv.population:,}")
        if f.campaign_id:
            head.append(f", campaign {tt(f.campaign_id, 40)}")
    else:
        head.append(" — no finding in the scan result")
    parts.append(head)
    tl = inv.timeline
    parts.append(
        Text(
            f"{inv.n_requests:,} requests, {_when(tl.first_seen)} – {_when(tl.last_seen)} UTC, "
            f"{tl.active_days} active day(s), {tl.active_hours} active hour(s)"
            + (f", {tl.untimed:,} without a time" if tl.untimed else "")
            + f"; finding from {'the scan report' if inv.source == 'report' else 'a scan of the store'}"
            + (" (redacted)" if inv.redacted else "")
        )
    )
    if f is not None:
        parts.append(Text(tt(f.reasons, 600)))
        if f.suppressed:
            parts.append(Text("suppressed: " + tt(f.suppressed, 200), style="yellow"))
    parts.extend(Text("note: " + tt(n, 300), style="yellow") for n in inv.notes)

    if f is not None and f.detectors:
        t = _table("Detector evidence", "id|detector|score>|conf>|contrib>|evidence*")
        for d in sorted(f.detectors, key=lambda d: (-d.contribution, -d.score, d.detector_id)):
            ev = tt(d.summary, 200) + (" | e.g. " + tt(d.examples[0], 120) if d.examples else "")
            t.add_row(
                Text(tt(d.detector_id, 8)),
                Text(tt(d.name, 28)),
                f"{d.score:.2f}",
                f"{d.confidence:.2f}",
                f"{d.contribution:.2f}",
                Text(ev),
            )
        parts.append(t)

    if tl.first_seen is not None:
        daily = _daily_series(tl)
        t = _table("Timeline (UTC)", "what|value", header=False)
        if tl.peak_hour is not None:
            t.add_row("peak hour", f"{_when(tl.peak_hour.start)} ({tl.peak_hour.n:,} requests)")
        t.add_row("requests/day", Text(sparkline(daily) + f"  (max {max(daily, default=0):,}/day over {len(daily)} days)"))
        t.add_row("hour of day", Text(sparkline(tl.hour_of_day) + "  (00–23 UTC)"))
        parts.append(t)

    p = inv.parameters
    t = _table("Parameters", "parameter|value*", header=False)
    features = (
        f"logprobs {p.logprobs_requests:,}, tools {p.tools_requests:,}, stream {p.stream_requests:,}, "
        f"thinking {p.thinking_requests:,}, multi-turn {p.multi_turn_requests:,}"
    )
    for k, v in (
        ("models", _fmt_counts(p.models)),
        ("API", _fmt_counts(p.providers)),
        ("max output tokens", _fmt_stats(p.max_output_tokens) + "; " + _fmt_counts(p.max_output_tokens_values, 3)),
        ("temperature", _fmt_counts(p.temperature_values, 4)),
        ("n (choices)", _fmt_counts(p.n_requested, 3)),
        ("features", features),
        ("reasoning effort", _fmt_counts(p.reasoning_effort)),
        ("response format", _fmt_counts(p.response_format)),
        ("input tokens", _fmt_stats(p.input_tokens)),
        ("output tokens", _fmt_stats(p.output_tokens)),
        ("reasoning tokens", _fmt_stats(p.reasoning_tokens)),
        ("status", _fmt_counts(p.status)),
        ("user agents", _fmt_counts(p.user_agents, 3)),
        ("IP ranges", _fmt_counts(p.ip_ranges, 4)),
        ("API keys", _fmt_counts(p.api_keys, 3)),
        ("principals", _fmt_counts(p.principals, 3)),
        ("end users", _fmt_counts(p.end_users, 3) + f"; {p.sessions:,} session(s)"),
        ("formats", _fmt_counts(p.source_formats)),
    ):
        t.add_row(k, Text(v))
    parts.append(t)

    if inv.frames:
        parts.append(_template_table(f"Template frames ({len(inv.frames):,} shown)", inv.frames, top))
    if inv.templates:
        parts.append(_template_table(f"Top templates ({inv.n_templates:,} distinct skeletons)", inv.templates, top))
    if inv.clusters:
        title = f"Near-duplicate clusters ({inv.n_clusters:,}; {inv.clustered_requests:,} requests in clusters of 2+)"
        t = _table(title, "#>|requests>|distinct>|templates>|first – last seen|example*")
        for cl in inv.clusters[:top]:
            t.add_row(
                str(cl.number),
                f"{cl.requests:,}",
                f"{cl.distinct_texts:,}",
                f"{cl.templates:,}",
                f"{_when(cl.first_seen)} – {_when(cl.last_seen)}",
                Text(tt(cl.example, 110)),
            )
        parts.append(t)

    c = inv.campaign
    if c is not None:
        parts.append(
            Text(
                f"Campaign {tt(c.campaign_id, 40)}: {c.size} {inv.entity}s, score {c.score:.2f}, linked by "
                f"{tt(', '.join(c.edge_kinds), 80)}; {len(c.template_fingerprints)} template fingerprint(s)",
                style="bold",
            )
        )
        t = _table(f"Linked {inv.entity}s", f"{inv.entity}|rank>|score>|severity|requests>|direct edges")
        for x in inv.linked[: max(top, 20)]:
            t.add_row(
                Text(tt(x.entity_id, 48)),
                "" if x.rank is None else str(x.rank),
                "" if x.score is None else f"{x.score:.2f}",
                Text(tt(x.severity or "", 10) + (" ⚑" if x.flagged else "")),
                "" if x.n_requests is None else f"{x.n_requests:,}",
                Text(tt(", ".join(x.edge_kinds) or "(via others)", 40)),
            )
        parts.append(t)
        if inv.edges:
            t = _table("Edges", "linked to|kind|weight>|evidence*")
            for e in sorted(inv.edges, key=lambda e: (-e.weight, e.kind, e.a, e.b))[: max(top, 20)]:
                other = e.b if e.a == inv.entity_id else e.a
                t.add_row(Text(tt(other, 48)), Text(tt(e.kind, 16)), f"{e.weight:.2f}", Text(tt(e.evidence, 160)))
            parts.append(t)
    return parts


def _template_table(title: str, rows: tuple[Template, ...], top: int) -> Any:
    from rich.text import Text

    from extractscan.report.safe import terminal_text as tt

    t = _table(title, "#>|requests>|share>|distinct>|fingerprint|pattern / example*")
    for i, tm in enumerate(rows[:top], 1):
        body = Text(tt(tm.pattern, 110))
        # An example shows what fills the slots; a pattern without slots is its own example.
        if "<" in tm.pattern or "{}" in tm.pattern:
            for ex in tm.examples[:1]:
                body.append("\n  e.g. " + tt(ex, 110), style="dim")
        t.add_row(str(i), f"{tm.requests:,}", f"{tm.share:.0%}", f"{tm.distinct_texts:,}", Text(tm.fingerprint), body)
    return t


def render_text(inv: Investigation, *, width: int = 160, top: int = 10) -> str:
    """The terminal rendering as plain text (no colour codes): deterministic, for files and tests."""
    from io import StringIO

    from rich.console import Console

    buf = StringIO()
    con = Console(file=buf, width=width, color_system=None, highlight=False, force_terminal=False)
    for part in render_terminal(inv, top=top):
        con.print(part)
    return buf.getvalue()
