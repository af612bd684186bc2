"""Self-contained HTML report: works offline from one file (inline CSS, a small inline script, inline SVG).

Safety: every attacker-controlled string (ids, prompts, summaries, reasons, evidence) passes through
:func:`html_text`; the script is a constant with no data in it (the table it sorts carries numbers in
``data-v`` attributes we format ourselves); a Content-Security-Policy forbids any network access and any
script or style that is not inline, so injected markup could neither load nor send anything.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime

from extractscan.findings import AccountFinding, Campaign, DetectorResult, ScanResult
from extractscan.report.safe import html_text, terminal_text

CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"

_SEVERITIES = ("critical", "high", "medium", "low", "none")
_EDGE_COLOURS = {"template": "#d62728", "timing": "#1f77b4", "infrastructure": "#2ca02c"}
_OTHER_EDGE = "#7f7f7f"

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1200px;
padding:1em 2em;color:#1d1d1f;background:#fff}
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:.2em}
.meta{color:#666}.summary{font-size:1.1em}
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{border-bottom:1px solid #e5e5e5;padding:4px 6px;
text-align:left;vertical-align:top}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
table.sortable th{cursor:pointer;user-select:none;background:#f6f6f6}
table.sortable th:hover{background:#ececec}
th.asc::after{content:" \\25B2"}th.desc::after{content:" \\25BC"}
.sev{display:inline-block;padding:0 6px;border-radius:3px;font-size:.85em;color:#fff;background:#999}
.sev-critical{background:#b00020}.sev-high{background:#e8590c}.sev-medium{background:#e0a800;color:#222}
.sev-low{background:#1c7ed6}.sev-none{background:#adb5bd;color:#222}
.wrap{word-break:break-all}
details{border:1px solid #ddd;border-radius:4px;margin:.4em 0;padding:.3em .6em}
details[open]{background:#fcfcfc}summary{cursor:pointer;font-weight:600}
.det{margin:.6em 0 .6em 1em;border-left:3px solid #ddd;padding-left:.6em}
.bars{display:grid;grid-template-columns:8em 12em 4em;gap:2px 8px;align-items:center;font-size:.85em}
.bar{background:#eee;height:8px;border-radius:4px;overflow:hidden}
.bar span{display:block;height:100%;background:#4263eb}
.bar.c span{background:#12b886}.bar.k span{background:#f08c00}
pre{background:#f4f4f4;padding:.5em;white-space:pre-wrap;word-break:break-word;max-height:16em;overflow:auto}
code{font-size:.9em}.ids{font-size:.8em;color:#555;word-break:break-all}
.plots{display:flex;flex-wrap:wrap;gap:1.5em}.plot{flex:1 1 520px}
svg text{font:11px system-ui,sans-serif;fill:#333}
.legend span{display:inline-block;margin-right:1em}.legend i{display:inline-block;width:1em;height:3px;
vertical-align:middle;margin-right:.3em}
"""

# Constant script: sorts any table.sortable by the clicked header (numbers from data-v, else text).
_JS = """
(function(){
  document.querySelectorAll('table.sortable').forEach(function(t){
    var heads=t.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads,function(th,i){
      th.addEventListener('click',function(){
        var asc=!th.classList.contains('asc');
        Array.prototype.forEach.call(heads,function(h){h.classList.remove('asc','desc');});
        th.classList.add(asc?'asc':'desc');
        var num=th.getAttribute('data-type')==='num';
        var body=t.tBodies[0],rows=Array.prototype.slice.call(body.rows);
        rows.sort(function(a,b){
          var x=a.cells[i],y=b.cells[i],p,q;
          if(num){p=parseFloat(x.getAttribute('data-v'));q=parseFloat(y.getAttribute('data-v'));
            if(isNaN(p))p=-Infinity;if(isNaN(q))q=-Infinity;}
          else{p=x.textContent.toLowerCase();q=y.textContent.toLowerCase();}
          return (p<q?-1:p>q?1:0)*(asc?1:-1);
        });
        rows.forEach(function(r){body.appendChild(r);});
      });
    });
  });
})();
"""


def _num(x: float | None, default: float = 0.0) -> float:
    """A finite float (NaN / inf / None become ``default``)."""
    try:
        v = float(x) if x is not None else default
    except (TypeError, ValueError):
        return default
    return v if math.isfinite(v) else default


def _pct(x: float | None) -> str:
    return f"{max(0.0, min(1.0, _num(x))) * 100:.1f}%"


def _ts(t: float | None) -> str:
    if t is None or not math.isfinite(_num(t, math.nan)):
        return "?"
    try:
        return datetime.fromtimestamp(float(t), UTC).strftime("%Y-%m-%d %H:%M")
    except (ValueError, OverflowError, OSError):
        return "?"


def _text(s: object, limit: int | None = None) -> str:
    """Attacker text for HTML: control characters removed, then escaped for text and attribute context."""
    return html_text(terminal_text(s, limit))


def _block(s: object, limit: int = 1000) -> str:
    """Multi-line attacker text for a <pre>: lines kept, control characters removed, escaped."""
    raw = "" if s is None else str(s)
    if len(raw) > limit:
        raw = raw[: limit - 1] + "…"
    return html_text("\n".join(terminal_text(line) for line in raw.replace("\r\n", "\n").split("\n")))


def _sev(severity: str, flagged: bool, suppressed: bool = False) -> str:
    cls = severity if severity in _SEVERITIES else "none"
    mark = ' <span class="sev sev-none">suppressed</span>' if suppressed else ""
    return f'<span class="sev sev-{cls}">{_text(severity, 20)}{" ⚑" if flagged else ""}</span>{mark}'


# ---------------------------------------------------------------------------------------------------- plots


def _svg_open(w: int, h: int, label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="100%" role="img" aria-label="{html_text(label)}">'
    )


def score_histogram(result: ScanResult, bins: int = 20) -> str:
    counts = [0] * bins
    for a in result.accounts:
        counts[min(bins - 1, max(0, int(_num(a.score) * bins)))] += 1
    w, h, left, bottom, top = 520, 220, 40, 30, 10
    pw, ph = w - left - 10, h - bottom - top
    peak = max(counts) or 1
    # log scale keeps the rare high scorers visible next to the mass of benign accounts
    scale = math.log1p(peak)
    parts = [_svg_open(w, h, "score distribution")]
    bw = pw / bins
    for i, c in enumerate(counts):
        if not c:
            continue
        bh = ph * math.log1p(c) / scale
        x, y = left + i * bw, top + ph - bh
        lo, hi = i / bins, (i + 1) / bins
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{bw - 2:.1f}" height="{bh:.1f}" '
            f'fill="#4263eb"><title>{lo:.2f}–{hi:.2f}: {c}</title></rect>'
        )
        parts.append(f'<text x="{x + bw / 2:.1f}" y="{y - 2:.1f}" text-anchor="middle">{c}</text>')
    thr = max(0.0, min(1.0, _num(result.alert_threshold)))
    tx = left + pw * thr
    parts.append(f'<line x1="{tx:.1f}" y1="{top}" x2="{tx:.1f}" y2="{top + ph}" stroke="#b00020" stroke-dasharray="4 3"/>')
    parts.append(f'<text x="{tx + 3:.1f}" y="{top + 10}" fill="#b00020">threshold</text>')
    parts.append(f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="#333"/>')
    for k in range(0, 11, 2):
        x = left + pw * k / 10
        parts.append(f'<text x="{x:.1f}" y="{top + ph + 14}" text-anchor="middle">{k / 10:.1f}</text>')
    parts.append(f'<text x="{left + pw / 2:.1f}" y="{h - 2}" text-anchor="middle">score (accounts, log scale)</text>')
    parts.append("</svg>")
    return "".join(parts)


def timeline(result: ScanResult, top: int = 20) -> str:
    accts = [a for a in result.accounts[:top] if a.first_seen is not None and a.last_seen is not None]
    if not accts:
        return "<p class=meta>No timestamps to plot.</p>"
    starts = [_num(a.first_seen) for a in accts]
    ends = [_num(a.last_seen) for a in accts]
    w0 = _num(result.window[0], min(starts)) if result.window[0] is not None else min(starts)
    w1 = _num(result.window[1], max(ends)) if result.window[1] is not None else max(ends)
    w0, w1 = min(w0, *starts), max(w1, *ends)
    span = (w1 - w0) or 1.0
    row, left, w = 16, 130, 520
    pw = w - left - 10
    h = row * len(accts) + 36
    parts = [_svg_open(w, h, "request timeline")]
    for i, a in enumerate(accts):
        y = 6 + i * row
        x0 = left + pw * (_num(a.first_seen) - w0) / span
        x1 = left + pw * (_num(a.last_seen) - w0) / span
        colour = "#b00020" if a.flagged else "#868e96"
        parts.append(f'<text x="{left - 4}" y="{y + 10}" text-anchor="end">{_text(a.entity_id, 18)}</text>')
        parts.append(
            f'<rect x="{x0:.1f}" y="{y + 2}" width="{max(2.0, x1 - x0):.1f}" height="10" fill="{colour}">'
            f"<title>{_text(a.entity_id, 80)}: {_ts(a.first_seen)} – {_ts(a.last_seen)}, "
            f"{a.n_requests:,} requests</title></rect>"
        )
    axis_y = 6 + len(accts) * row + 4
    parts.append(f'<line x1="{left}" y1="{axis_y}" x2="{left + pw}" y2="{axis_y}" stroke="#333"/>')
    parts.append(f'<text x="{left}" y="{axis_y + 14}">{_ts(w0)}</text>')
    parts.append(f'<text x="{left + pw}" y="{axis_y + 14}" text-anchor="end">{_ts(w1)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _template_of(a: AccountFinding) -> tuple[str, int] | None:
    for d in a.detectors:
        if d.name != "template_concentration" or d.score <= 0:
            continue
        tmpl = next((e for e in d.examples if e.startswith("template:")), None)
        tmpl = tmpl or (d.examples[:1] or ("",))[0]
        tmpl = tmpl.removeprefix("template:").split(" | fills:", 1)[0].strip()
        if tmpl:
            return tmpl, len(d.cluster_ids)
    return None


def top_templates(result: ScanResult, top: int = 10) -> str:
    by_tmpl: dict[str, list[AccountFinding]] = defaultdict(list)
    clusters: dict[str, int] = defaultdict(int)
    for a in result.accounts:
        t = _template_of(a)
        if t is not None:
            by_tmpl[t[0]].append(a)
            clusters[t[0]] += t[1]
    if not by_tmpl:
        return "<p class=meta>No template sweeps found.</p>"
    ranked = sorted(by_tmpl.items(), key=lambda kv: (-sum(a.n_requests for a in kv[1]), kv[0]))[:top]
    peak = max(sum(a.n_requests for a in v) for _, v in ranked) or 1
    row, w, left = 34, 520, 10
    pw = w - left - 80
    parts = [_svg_open(w, row * len(ranked) + 6, "top templates")]
    for i, (tmpl, accts) in enumerate(ranked):
        y = 4 + i * row
        n = sum(a.n_requests for a in accts)
        names = ", ".join(terminal_text(a.entity_id, 30) for a in accts[:8])
        names += " …" if len(accts) > 8 else ""
        parts.append(f'<text x="{left}" y="{y + 10}">{_text(tmpl, 80)}</text>')
        parts.append(
            f'<rect x="{left}" y="{y + 14}" width="{max(2.0, pw * n / peak):.1f}" height="10" fill="#f08c00">'
            f"<title>{html_text(names)}</title></rect>"
        )
        parts.append(
            f'<text x="{left + pw * n / peak + 4:.1f}" y="{y + 23}">{n:,} req, {len(accts)} acct, '
            f"{clusters[tmpl]} clusters</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def campaign_graph(c: Campaign, size: int = 260) -> str:
    members = list(c.account_ids)
    n = max(1, len(members))
    cx = cy = size / 2
    r = size / 2 - 40
    pos = {
        m: (
            cx + r * math.cos(2 * math.pi * i / n - math.pi / 2),
            cy + r * math.sin(2 * math.pi * i / n - math.pi / 2),
        )
        for i, m in enumerate(members)
    }
    parts = [_svg_open(size, size, "campaign graph")]
    for e in c.edges:
        if e.a not in pos or e.b not in pos:
            continue
        (x1, y1), (x2, y2) = pos[e.a], pos[e.b]
        colour = _EDGE_COLOURS.get(e.kind, _OTHER_EDGE)
        sw = 1 + 3 * max(0.0, min(1.0, _num(e.weight)))
        parts.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}" '
            f'stroke-width="{sw:.1f}" stroke-opacity=".7"><title>{_text(e.kind, 20)} {_num(e.weight):.2f}: '
            f"{_text(e.evidence, 200)}</title></line>"
        )
    for m, (x, y) in pos.items():
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="#343a40"><title>{_text(m, 120)}</title></circle>')
        anchor = "start" if x >= cx else "end"
        dx = 8 if x >= cx else -8
        parts.append(f'<text x="{x + dx:.1f}" y="{y + 4:.1f}" text-anchor="{anchor}">{_text(m, 14)}</text>')
    parts.append("</svg>")
    return "".join(parts)


# ---------------------------------------------------------------------------------------------- sections


def _ranked_table(result: ScanResult) -> str:
    cols = (
        ("#", "num", "n"),
        (result.entity, "", ""),
        ("score", "num", "n"),
        ("severity", "num", ""),
        ("requests", "num", "n"),
        ("campaign", "", ""),
        ("reason", "", ""),
    )
    head = "".join(
        f"<th{f' class={c}' if c else ''}{f' data-type={t}' if t else ''}>{_text(name, 40)}</th>" for name, t, c in cols
    )
    sev_rank = {s: len(_SEVERITIES) - i for i, s in enumerate(_SEVERITIES)}
    rows = []
    for a in result.accounts:
        rows.append(
            "<tr>"
            f'<td class=n data-v="{a.rank:d}">{a.rank:d}</td>'
            f'<td class=wrap><a href="#acct-{a.rank:d}">{_text(a.entity_id, 80)}</a></td>'
            f'<td class=n data-v="{_num(a.score):.6f}">{_num(a.score):.2f}</td>'
            f'<td data-v="{sev_rank.get(a.severity, 0)}">{_sev(a.severity, a.flagged, a.suppressed is not None)}</td>'
            f'<td class=n data-v="{a.n_requests:d}">{a.n_requests:,}</td>'
            f"<td>{_text(a.campaign_id or '', 40)}</td>"
            f"<td>{_text(a.reasons, 300)}</td>"
            "</tr>"
        )
    body = "".join(rows)
    return f"<table class=sortable id=ranked><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _bar(label: str, value: float, cls: str = "") -> str:
    return (
        f"<span>{label}</span><span class='bar {cls}'><span style='width:{_pct(value)}'></span></span>"
        f"<span>{_num(value):.2f}</span>"
    )


def detector_evidence(d: DetectorResult, examples: int) -> list[str]:
    """One detector's evidence as HTML parts (score bars, summary, example prompts, request ids), every
    string escaped: shared by the scan report and the investigation page."""
    parts = [
        "<div class=bars>"
        + _bar("score", d.score)
        + _bar("confidence", d.confidence, "c")
        + _bar("contribution", d.contribution, "k")
        + "</div>",
        f"<p>{_text(d.summary, 600)}</p>",
    ]
    parts.extend(f"<pre>{_block(ex)}</pre>" for ex in d.examples[:examples])
    if d.request_ids:
        more = f" (+{len(d.request_ids) - 10})" if len(d.request_ids) > 10 else ""
        ids = ", ".join(_text(r, 90) for r in d.request_ids[:10])
        parts.append(f"<p class=ids>request ids: {ids}{more}</p>")
    return parts


def _account(a: AccountFinding, examples: int) -> str:
    head = (
        f"#{a.rank:d} {_text(a.entity_id, 120)} — score {_num(a.score):.2f} "
        f"{_sev(a.severity, a.flagged, a.suppressed is not None)} · {a.n_requests:,} requests"
    )
    meta = [
        f"first seen {_ts(a.first_seen)}, last seen {_ts(a.last_seen)} (UTC)",
        f"confidence {_num(a.confidence):.2f}, base score {_num(a.base_score):.2f}",
    ]
    if a.campaign_id:
        meta.append(f"campaign {_text(a.campaign_id, 40)}")
    if a.suppressed:
        meta.append(f"suppressed: {_text(a.suppressed, 200)}")
    parts = [
        f'<details id="acct-{a.rank:d}"{" open" if a.flagged else ""}><summary>{head}</summary>',
        f"<p class=meta>{'; '.join(meta)}</p>",
        f"<p>{_text(a.reasons, 600)}</p>",
    ]
    for d in sorted(a.detectors, key=lambda d: (-_num(d.contribution), d.detector_id)):
        parts.append(f"<div class=det><b>{_text(d.name, 60)}</b> <code>{_text(d.detector_id, 20)}</code>")
        parts.extend(detector_evidence(d, examples))
        if d.cluster_ids:
            parts.append(f"<p class=ids>clusters: {', '.join(_text(c, 40) for c in d.cluster_ids[:20])}</p>")
        parts.append("</div>")
    parts.append("</details>")
    return "".join(parts)


def _campaign(c: Campaign) -> str:
    members = ", ".join(_text(m, 80) for m in c.account_ids)
    rows = "".join(
        f"<tr><td class=wrap>{_text(e.a, 60)}</td><td class=wrap>{_text(e.b, 60)}</td>"
        f'<td>{_text(e.kind, 20)}</td><td class=n data-v="{_num(e.weight):.6f}">{_num(e.weight):.2f}</td>'
        f"<td>{_text(e.evidence, 300)}</td></tr>"
        for e in sorted(c.edges, key=lambda e: -_num(e.weight))[:50]
    )
    fps = ", ".join(_text(f, 80) for f in c.template_fingerprints[:10])
    return (
        f"<h3>{_text(c.campaign_id, 40)} — {c.size:d} accounts, score {_num(c.score):.2f}</h3>"
        f"<div class=plots><div>{campaign_graph(c)}</div><div class=plot>"
        f"<p><b>linked by</b> {_text(', '.join(c.edge_kinds), 100)}</p><p><b>members</b> {members}</p>"
        f"<p><b>evidence</b> {_text(c.evidence, 600)}</p>"
        + (f"<p class=ids>template fingerprints: {fps}</p>" if fps else "")
        + "</div></div>"
        + (
            "<table class=sortable><thead><tr><th>a</th><th>b</th><th>kind</th>"
            "<th class=n data-type=num>weight</th><th>evidence</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
            if rows
            else ""
        )
    )


def render(result: ScanResult, *, top: int = 100, examples: int = 3) -> str:
    """The HTML report: every account in the sortable table; drill-down for the flagged accounts and the
    ``top`` highest-ranked ones, with up to ``examples`` example prompts per detector."""
    n_flag = sum(a.flagged for a in result.accounts)
    n_supp = sum(a.suppressed is not None for a in result.accounts)
    ent = _text(result.entity, 30)
    thr = _num(result.alert_threshold)
    summary = (
        f"{n_flag} of {result.stats.entities:,} {ent}s flagged (threshold {thr:g}) "
        f"across {result.stats.requests:,} requests; {len(result.campaigns)} campaign(s); "
        + (f"{n_supp} suppressed; " if n_supp else "")
        + f"window {_ts(result.window[0])} – {_ts(result.window[1])} UTC"
    )
    meta = f"extractscan {_text(result.tool_version, 40)}"
    if result.created_at:
        meta += f" · scanned {_text(result.created_at, 40)}"
    drill = [a for i, a in enumerate(result.accounts) if a.flagged or a.suppressed is not None or i < top]
    legend = "".join(f'<span><i style="background:{c}"></i>{k}</span>' for k, c in _EDGE_COLOURS.items())
    details = "".join(_account(a, examples) for a in drill)
    campaigns = "".join(_campaign(c) for c in result.campaigns) or "<p class=meta>No linked campaigns.</p>"
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>extractscan report</title><style>{_CSS}</style></head><body>\n"
        f"<h1>extractscan report</h1><p class=summary>{summary}</p><p class=meta>{meta}</p>\n"
        "<h2>Overview</h2><div class=plots>"
        f"<div class=plot><h3>Score distribution</h3>{score_histogram(result)}</div>"
        f"<div class=plot><h3>Request timeline (top {ent}s)</h3>{timeline(result)}</div>"
        f"<div class=plot><h3>Top templates</h3>{top_templates(result)}</div></div>\n"
        f"<h2>Ranked {ent}s</h2><p class=meta>Click a column header to sort.</p>{_ranked_table(result)}\n"
        f"<h2>{_text(result.entity.capitalize(), 30)} details</h2>{details}\n"
        f"<h2>Campaigns ({len(result.campaigns)})</h2><p class=legend>{legend}</p>{campaigns}\n"
        f"<script>{_JS}</script></body></html>\n"
    )
