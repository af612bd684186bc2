"""Markdown report, ready to paste into a ticket: summary, ranked table, per-account evidence, campaigns.

Prompts, ids, summaries and reasons are attacker-controlled. Inline text has control characters stripped
(:func:`terminal_text`) and Markdown / HTML punctuation backslash-escaped, so it can neither open a link,
an image, raw HTML nor a new table cell; example prompts go into fenced blocks whose fence is longer than
any backtick run in the prompt, so they cannot close the fence early.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from extractscan.findings import AccountFinding, Campaign, ScanResult
from extractscan.report.safe import terminal_text

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#!~&])")
_BACKTICKS = re.compile(r"`+")


def inline(s: object, limit: int | None = None) -> str:
    """Attacker text made inert for inline Markdown (and table cells): one line, punctuation escaped."""
    return _MD_SPECIAL.sub(r"\\\1", terminal_text(s, limit))


def fenced(text: object, limit: int | None = 600) -> str:
    """A fenced code block that the text cannot break out of (lines kept, control characters removed)."""
    raw = "" if text is None else str(text)
    if limit is not None and len(raw) > limit:
        raw = raw[: max(0, limit - 1)] + "…"
    lines = [terminal_text(line).rstrip() for line in raw.replace("\r\n", "\n").split("\n")]
    body = "\n".join(lines)
    longest = max((len(m) for m in _BACKTICKS.findall(body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{body}\n{fence}"


def _ts(t: float | None) -> str:
    if t is None:
        return "?"
    try:
        return datetime.fromtimestamp(float(t), UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (ValueError, OverflowError, OSError):
        return "?"


def _cell(s: object, limit: int | None = None) -> str:
    return inline(s, limit) or " "


def _summary(result: ScanResult) -> str:
    n_flag = sum(a.flagged for a in result.accounts)
    n_supp = sum(a.suppressed is not None for a in result.accounts)
    ent = inline(result.entity)
    line = (
        f"**{n_flag} of {result.stats.entities:,} {ent}s flagged** (threshold {result.alert_threshold:g}) "
        f"across {result.stats.requests:,} requests, {len(result.campaigns)} campaign(s); "
        + (f"{n_supp} suppressed; " if n_supp else "")
        + f"window {_ts(result.window[0])} – {_ts(result.window[1])}."
    )
    meta = f"extractscan {inline(result.tool_version)}"
    if result.created_at:
        meta += f", scanned {inline(result.created_at)}"
    return f"{line}\n\n_{meta}_"


def _table(result: ScanResult, top: int) -> list[str]:
    out = [
        f"| # | {inline(result.entity)} | score | severity | requests | campaign | reason |",
        "|---:|---|---:|---|---:|---|---|",
    ]
    for a in result.accounts[:top]:
        sev = inline(a.severity) + (" ⚑" if a.flagged else "") + (" suppressed" if a.suppressed is not None else "")
        out.append(
            f"| {a.rank} | {_cell(a.entity_id, 60)} | {a.score:.2f} | {sev} | {a.n_requests:,} | "
            f"{_cell(a.campaign_id or '', 24)} | {_cell(a.reasons, 200)} |"
        )
    if len(result.accounts) > top:
        out.append("")
        out.append(f"_{len(result.accounts) - top} more {inline(result.entity)}s not shown._")
    return out


def _account(a: AccountFinding, n_detectors: int, n_examples: int) -> list[str]:
    out = [
        f"### {a.rank}. {inline(a.entity_id, 120)} — score {a.score:.2f} ({inline(a.severity)})",
        "",
        f"- requests: {a.n_requests:,}; first seen {_ts(a.first_seen)}, last seen {_ts(a.last_seen)}",
        f"- confidence {a.confidence:.2f}; base score {a.base_score:.2f}"
        + (f"; campaign {inline(a.campaign_id)}" if a.campaign_id else ""),
    ]
    if a.suppressed:
        out.append(f"- suppressed: {inline(a.suppressed, 200)}")
    if a.reasons:
        out.append(f"- reasons: {inline(a.reasons, 400)}")
    ordered = sorted(a.detectors, key=lambda d: (-d.contribution, d.detector_id))
    dets = [d for d in ordered if d.contribution > 0]
    for d in dets[:n_detectors]:
        out += [
            "",
            f"**{inline(d.name)}** ({inline(d.detector_id)}): score {d.score:.2f}, "
            f"confidence {d.confidence:.2f}, contribution {d.contribution:.0%}",
            "",
            f"> {inline(d.summary, 400)}",
        ]
        for ex in d.examples[:n_examples]:
            out += ["", fenced(ex)]
        if d.request_ids:
            ids = ", ".join(inline(r, 80) for r in d.request_ids[:5])
            more = f" (+{len(d.request_ids) - 5})" if len(d.request_ids) > 5 else ""
            out += ["", f"request ids: {ids}{more}"]
    return out


def _campaign(c: Campaign, max_edges: int) -> list[str]:
    out = [
        f"### {inline(c.campaign_id)} — {c.size} accounts, score {c.score:.2f}",
        "",
        f"- linked by: {inline(', '.join(c.edge_kinds))}",
        f"- members: {', '.join(inline(m, 80) for m in c.account_ids)}",
        f"- evidence: {inline(c.evidence, 400)}",
    ]
    if c.template_fingerprints:
        fps = ", ".join(inline(f, 80) for f in c.template_fingerprints[:10])
        out.append(f"- template fingerprints: {fps}")
    if c.edges:
        out += ["", "| a | b | kind | weight | evidence |", "|---|---|---|---:|---|"]
        for e in sorted(c.edges, key=lambda e: -e.weight)[:max_edges]:
            out.append(f"| {_cell(e.a, 60)} | {_cell(e.b, 60)} | {_cell(e.kind)} | {e.weight:.2f} | {_cell(e.evidence, 200)} |")
        if len(c.edges) > max_edges:
            out.append("")
            out.append(f"_{len(c.edges) - max_edges} more edges not shown._")
    return out


def render(result: ScanResult, *, top: int = 25, detectors: int = 3, examples: int = 2, edges: int = 20) -> str:
    """The Markdown report: ``top`` ranked rows, evidence for every flagged account (its ``detectors`` top
    contributions with up to ``examples`` example prompts each) and every campaign (up to ``edges`` edges)."""
    ent = inline(result.entity)
    parts: list[str] = ["# extractscan report", "", _summary(result), "", f"## Ranked {ent}s", ""]
    parts += _table(result, top)
    flagged = result.flagged()
    parts += ["", f"## Flagged {inline(result.entity)}s ({len(flagged)})", ""]
    if not flagged:
        parts.append("_None above the alert threshold._")
    for a in flagged:
        parts += _account(a, detectors, examples)
        parts.append("")
    suppressed = [a for a in result.accounts if a.suppressed is not None]
    if suppressed:
        parts += ["", f"## Suppressed {ent}s ({len(suppressed)})", "", f"| # | {ent} | score | reason |", "|---:|---|---:|---|"]
        parts += [f"| {a.rank} | {_cell(a.entity_id, 60)} | {a.score:.2f} | {_cell(a.suppressed, 200)} |" for a in suppressed]
    parts += ["", f"## Campaigns ({len(result.campaigns)})", ""]
    if not result.campaigns:
        parts.append("_No linked campaigns._")
    for c in result.campaigns:
        parts += _campaign(c, edges)
        parts.append("")
    # collapse runs of blank lines between blocks (never inside a fenced block: each block is one part)
    tidy = [p for i, p in enumerate(parts) if p or (i > 0 and parts[i - 1])]
    return "\n".join(tidy).rstrip("\n") + "\n"
