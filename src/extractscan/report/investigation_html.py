"""Self-contained HTML page of one investigation (``extractscan investigate --format html`` and the bundle's
``investigation.html``): works offline from one file, with the same safety rules as the scan report.

Every attacker-controlled string (ids, prompts, skeletons, user agents, summaries, evidence) passes through
the scan report's escaping helpers; the page has the same Content-Security-Policy (no network, nothing but
inline style and the constant sorting script) and draws its plots as inline SVG from numbers only.
"""

from __future__ import annotations

import math

from extractscan.investigate import Bucket, Counts, Investigation, Stats, Template
from extractscan.report.html import (
    _CSS,
    _EDGE_COLOURS,
    _JS,
    CSP,
    _block,
    _num,
    _sev,
    _svg_open,
    _text,
    _ts,
    campaign_graph,
    detector_evidence,
)

_EXTRA_CSS = """
dl.kv{display:grid;grid-template-columns:12em 1fr;gap:2px 12px}dl.kv dt{color:#555}dl.kv dd{margin:0}
.fp{font-family:ui-monospace,monospace;font-size:.85em}
.wide{flex:2 1 560px}.narrow{flex:1 1 280px;max-width:480px}
"""


def _counts(c: Counts, limit: int = 6) -> str:
    if not c.top:
        return "<span class=meta>–</span>"
    items = ", ".join(f"<code>{_text(x.value, 120)}</code>&nbsp;×{x.n:,}" for x in c.top[:limit])
    more = c.distinct - min(limit, len(c.top))
    return items + (f" … (+{more:,} more)" if more > 0 else "")


def _stats(s: Stats) -> str:
    if s.count == 0:
        return "<span class=meta>–</span>"
    return (
        f"min {_num(s.min):,.0f}, median {_num(s.median):,.0f}, p90 {_num(s.p90):,.0f}, "
        f"max {_num(s.max):,.0f}, total {_num(s.total):,.0f} ({s.count:,} requests)"
    )


def timeline_svg(hourly: tuple[Bucket, ...], w: int = 1000, h: int = 200) -> str:
    """Requests per hour from the first to the last active hour (days when that span exceeds 60 days)."""
    if not hourly:
        return "<p class=meta>No timestamps to plot.</p>"
    step = 3600.0
    first, last = hourly[0].start, hourly[-1].start
    if (last - first) / step > 24 * 60:
        step = 86400.0
    t0 = math.floor(first / step) * step
    # At least a day of hourly slots, so a short burst is drawn as narrow bars, not a few wide blocks.
    n = max(int((last - t0) // step) + 1, 24)
    counts = [0] * n
    for b in hourly:
        counts[min(n - 1, int((b.start - t0) // step))] += b.n
    left, bottom, top, right = 44, 30, 10, 10
    pw, ph = w - left - right, h - bottom - top
    peak = max(counts) or 1
    bw = pw / n
    unit = "hour" if step == 3600.0 else "day"
    parts = [_svg_open(w, h, f"requests per {unit}")]
    for i, c in enumerate(counts):
        if not c:
            continue
        bh = ph * c / peak
        x, y = left + i * bw, top + ph - bh
        parts.append(
            f'<rect x="{x:.2f}" y="{y:.1f}" width="{max(0.8, bw - 0.4):.2f}" height="{bh:.1f}" fill="#4263eb">'
            f"<title>{_ts(t0 + i * step)}: {c:,} requests</title></rect>"
        )
    parts.append(f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="#333"/>')
    parts.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + ph}" stroke="#333"/>')
    parts.append(f'<text x="{left - 4}" y="{top + 10}" text-anchor="end">{peak:,}</text>')
    parts.append(f'<text x="{left - 4}" y="{top + ph}" text-anchor="end">0</text>')
    parts.append(f'<text x="{left}" y="{top + ph + 14}">{_ts(t0)}</text>')
    parts.append(f'<text x="{left + pw}" y="{top + ph + 14}" text-anchor="end">{_ts(t0 + (n - 1) * step)}</text>')
    parts.append(f'<text x="{left + pw / 2:.1f}" y="{h - 2}" text-anchor="middle">requests per {unit} (UTC)</text>')
    parts.append("</svg>")
    return "".join(parts)


def hour_of_day_svg(counts: tuple[int, ...], w: int = 480, h: int = 160) -> str:
    """Requests by hour of day (UTC): round-the-clock activity is a sign of automation."""
    left, bottom, top = 10, 28, 10
    pw, ph = w - left - 10, h - bottom - top
    peak = max(counts, default=0) or 1
    bw = pw / 24
    parts = [_svg_open(w, h, "requests by hour of day")]
    for i, c in enumerate(counts[:24]):
        bh = ph * c / peak
        x = left + i * bw
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{top + ph - bh:.1f}" width="{bw - 2:.1f}" height="{bh:.1f}" fill="#f08c00">'
            f"<title>{i:02d}:00 UTC: {c:,} requests</title></rect>"
        )
        if i % 3 == 0:
            parts.append(f'<text x="{x + bw / 2:.1f}" y="{top + ph + 14}" text-anchor="middle">{i:02d}</text>')
    parts.append(f'<text x="{left + pw / 2:.1f}" y="{h - 2}" text-anchor="middle">hour of day (UTC)</text>')
    parts.append("</svg>")
    return "".join(parts)


def _evidence(inv: Investigation, examples: int) -> str:
    f = inv.finding
    if f is None or not f.detectors:
        return "<p class=meta>No detector evidence.</p>"
    parts = []
    for d in sorted(f.detectors, key=lambda d: (-_num(d.contribution), -_num(d.score), d.detector_id)):
        # The detectors that drive the score are open; the rest are one line each until clicked.
        opened = " open" if _num(d.contribution) > 0.05 else ""
        parts.append(
            f"<details{opened}><summary>{_text(d.name, 60)} <code>{_text(d.detector_id, 20)}</code> — score "
            f"{_num(d.score):.2f}, contribution {_num(d.contribution):.2f}</summary><div class=det>"
        )
        parts.extend(detector_evidence(d, examples))
        parts.append("</div></details>")
    return "".join(parts)


def _parameters(inv: Investigation) -> str:
    p = inv.parameters
    rows = [
        ("models", _counts(p.models)),
        ("API", _counts(p.providers)),
        ("log formats", _counts(p.source_formats)),
        ("status", _counts(p.status)),
        ("max output tokens", _stats(p.max_output_tokens) + "<br>" + _counts(p.max_output_tokens_values)),
        ("temperature", _counts(p.temperature_values)),
        ("n (choices)", _counts(p.n_requested)),
        ("reasoning effort", _counts(p.reasoning_effort)),
        ("response format", _counts(p.response_format)),
        (
            "features",
            f"logprobs {p.logprobs_requests:,} · tools {p.tools_requests:,} · stream {p.stream_requests:,} · "
            f"thinking {p.thinking_requests:,} · multi-turn {p.multi_turn_requests:,}",
        ),
        ("input tokens", _stats(p.input_tokens)),
        ("output tokens", _stats(p.output_tokens)),
        ("reasoning tokens", _stats(p.reasoning_tokens)),
        ("user agents", _counts(p.user_agents)),
        ("IP ranges", _counts(p.ip_ranges)),
        ("API keys", _counts(p.api_keys)),
        ("principals", _counts(p.principals)),
        ("end users", _counts(p.end_users) + f"; {p.sessions:,} session(s)"),
    ]
    return "<dl class=kv>" + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows) + "</dl>"


def _templates(templates: tuple[Template, ...], empty: str) -> str:
    if not templates:
        return f"<p class=meta>{empty}</p>"
    rows = []
    for i, t in enumerate(templates, 1):
        ex = "".join(f"<pre>{_block(x, 600)}</pre>" for x in t.examples)
        rows.append(
            "<tr>"
            f'<td class=n data-v="{i}">{i}</td>'
            f'<td class=n data-v="{t.requests:d}">{t.requests:,}</td>'
            f'<td class=n data-v="{_num(t.share):.6f}">{_num(t.share) * 100:.1f}%</td>'
            f'<td class=n data-v="{t.distinct_texts:d}">{t.distinct_texts:,}</td>'
            f"<td class=fp>{_text(t.fingerprint, 40)}</td>"
            f"<td><code>{_text(t.pattern, 300)}</code>"
            + (f"<details><summary>{len(t.examples)} example(s)</summary>{ex}</details>" if ex else "")
            + f"</td><td>{_ts(t.first_seen)} – {_ts(t.last_seen)}</td></tr>"
        )
    return (
        "<table class=sortable><thead><tr><th class=n data-type=num>#</th><th class=n data-type=num>requests</th>"
        "<th class=n data-type=num>share</th><th class=n data-type=num>distinct</th><th>fingerprint</th>"
        f"<th>pattern</th><th>first – last seen</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _clusters(inv: Investigation) -> str:
    if not inv.clusters:
        return "<p class=meta>No clusters.</p>"
    rows = "".join(
        "<tr>"
        f'<td class=n data-v="{c.number:d}">{c.number:d}</td>'
        f'<td class=n data-v="{c.requests:d}">{c.requests:,}</td>'
        f'<td class=n data-v="{c.distinct_texts:d}">{c.distinct_texts:,}</td>'
        f'<td class=n data-v="{c.templates:d}">{c.templates:,}</td>'
        f"<td>{_ts(c.first_seen)} – {_ts(c.last_seen)}</td>"
        f"<td>{_text(c.example, 300)}</td></tr>"
        for c in inv.clusters
    )
    return (
        "<table class=sortable><thead><tr><th class=n data-type=num>#</th><th class=n data-type=num>requests</th>"
        "<th class=n data-type=num>distinct</th><th class=n data-type=num>templates</th><th>first – last seen</th>"
        f"<th>example</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _campaign(inv: Investigation) -> str:
    c = inv.campaign
    if c is None:
        return "<p class=meta>Not linked to any campaign.</p>"
    linked = "".join(
        "<tr>"
        f"<td class=wrap>{_text(x.entity_id, 100)}</td>"
        f'<td class=n data-v="{x.rank if x.rank is not None else ""}">{x.rank if x.rank is not None else ""}</td>'
        f'<td class=n data-v="{_num(x.score):.6f}">{"" if x.score is None else f"{_num(x.score):.2f}"}</td>'
        f"<td>{_sev(x.severity or 'none', x.flagged)}</td>"
        f'<td class=n data-v="{x.n_requests or 0:d}">{"" if x.n_requests is None else f"{x.n_requests:,}"}</td>'
        f"<td>{_text(', '.join(x.edge_kinds) or '(via others)', 60)}</td></tr>"
        for x in inv.linked
    )
    edges = "".join(
        f"<tr><td class=wrap>{_text(e.b if e.a == inv.entity_id else e.a, 100)}</td><td>{_text(e.kind, 20)}</td>"
        f'<td class=n data-v="{_num(e.weight):.6f}">{_num(e.weight):.2f}</td><td>{_text(e.evidence, 300)}</td></tr>'
        for e in sorted(inv.edges, key=lambda e: (-_num(e.weight), e.kind, e.a, e.b))
    )
    fps = ", ".join(_text(f, 40) for f in c.template_fingerprints[:20])
    legend = "".join(f'<span><i style="background:{col}"></i>{k}</span>' for k, col in _EDGE_COLOURS.items())
    return (
        f"<p><b>{_text(c.campaign_id, 40)}</b> — {c.size:d} {_text(inv.entity, 20)}s, score {_num(c.score):.2f}, "
        f"linked by {_text(', '.join(c.edge_kinds), 100)}. {_text(c.evidence, 400)}</p>"
        f"<div class=plots><div>{campaign_graph(c)}<p class=legend>{legend}</p></div><div class=plot>"
        + (f"<p class=ids>template fingerprints: {fps}</p>" if fps else "")
        + "<table class=sortable><thead><tr><th>linked</th><th class=n data-type=num>rank</th>"
        "<th class=n data-type=num>score</th><th>severity</th><th class=n data-type=num>requests</th>"
        f"<th>direct edges</th></tr></thead><tbody>{linked}</tbody></table></div></div>"
        + (
            "<h3>Edges to this entity</h3><table class=sortable><thead><tr><th>linked to</th><th>kind</th>"
            f"<th class=n data-type=num>weight</th><th>evidence</th></tr></thead><tbody>{edges}</tbody></table>"
            if edges
            else ""
        )
    )


def render(inv: Investigation, *, examples: int = 3) -> str:
    """The investigation page: summary, detector evidence, timeline plots, parameters, templates, clusters
    and the campaign with its linked entities and edges."""
    f = inv.finding
    ent = _text(inv.entity, 30)
    if f is not None:
        head = (
            f"score {_num(f.score):.2f} {_sev(f.severity, f.flagged)} · rank {f.rank:,} of {inv.population:,} "
            f"· confidence {_num(f.confidence):.2f}"
        )
        reasons = f"<p>{_text(f.reasons, 800)}</p>"
        if f.suppressed:
            reasons += f"<p class=meta>suppressed: {_text(f.suppressed, 200)}</p>"
    else:
        head, reasons = "no finding in the scan result", ""
    tl = inv.timeline
    meta = (
        f"{inv.n_requests:,} requests · first seen {_ts(tl.first_seen)} · last seen {_ts(tl.last_seen)} (UTC) · "
        f"{tl.active_days:,} active day(s), {tl.active_hours:,} active hour(s)"
        + (f" · {tl.untimed:,} without a time" if tl.untimed else "")
        + f" · finding from {'the scan report' if inv.source == 'report' else 'a scan of the store'}"
        + (" · redacted" if inv.redacted else "")
    )
    notes = "".join(f"<p class=meta>note: {_text(n, 300)}</p>" for n in inv.notes)
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>extractscan investigation</title><style>{_CSS}{_EXTRA_CSS}</style></head><body>\n"
        f"<h1>{ent} <span class=wrap>{_text(inv.entity_id, 200)}</span></h1>"
        f"<p class=summary>{head}</p><p class=meta>{meta}</p>{reasons}{notes}\n"
        "<h2>Timeline</h2><div class=plots>"
        f"<div class=wide>{timeline_svg(tl.hourly)}</div>"
        f"<div class=narrow>{hour_of_day_svg(tl.hour_of_day)}</div></div>\n"
        f"<h2>Detector evidence</h2>{_evidence(inv, examples)}\n"
        f"<h2>Parameters</h2>{_parameters(inv)}\n"
        "<h2>Template frames</h2><p class=meta>The fixed words around a free-text slot that the prompts share "
        f"(a slot sweep).</p>{_templates(inv.frames, 'No template frames.')}\n"
        f"<h2>Top templates ({inv.n_templates:,} distinct skeletons)</h2>{_templates(inv.templates, 'No prompts.')}\n"
        f"<h2>Near-duplicate clusters ({inv.n_clusters:,}; {inv.clustered_requests:,} requests in clusters of 2+)</h2>"
        f"{_clusters(inv)}\n"
        f"<h2>Campaign</h2>{_campaign(inv)}\n"
        f"<p class=meta>extractscan {_text(inv.tool_version, 40)}</p>"
        f"<script>{_JS}</script></body></html>\n"
    )
