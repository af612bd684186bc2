"""What changed between two scans (last night's and tonight's): the nightly triage list.

Accounts are matched by id. An account is

* **new** — flagged now, and absent or not flagged before;
* **rising** — score up by at least ``rise`` (and not new); flagged or not, so that early warnings show;
* **falling** — score down by at least ``rise`` while still flagged;
* **resolved** — flagged before and not now: ``unflagged`` (score fell under the threshold), ``suppressed``
  (a suppression matched; its reason is kept) or ``gone`` (no traffic in tonight's window).

Campaign ids are a hash of the member set, so they change whenever one member joins or leaves: campaigns are
matched by **member overlap** instead. Every (previous, current) pair sharing a member is scored by the
Jaccard similarity of the member sets; pairs are matched one to one, best first, when at least half of the
smaller campaign's members are shared. A matched pair is ``grown`` (members joined), ``shrunk`` (members left,
none joined) or ``same``; an unmatched current campaign is ``new``; an unmatched previous one is ``merged``
when at least half its members are in some current campaign, else ``resolved``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from extractscan.findings import AccountFinding, Campaign, ScanResult

MATCH_MIN_SHARE = 0.5  # shared members / members of the smaller campaign, for two campaigns to be one


@dataclass(frozen=True)
class AccountChange:
    entity_id: str
    status: str  # new / rising / falling / resolved
    detail: str  # for resolved: unflagged / suppressed / gone; else ""
    prev_score: float | None  # None: absent from the previous scan
    score: float | None  # None: absent from this scan
    prev_flagged: bool
    flagged: bool
    campaign_id: str | None  # this scan's campaign (the previous one's when gone)
    reasons: str  # this scan's reasons (the previous ones when gone), or the suppression reason

    @property
    def delta(self) -> float | None:
        if self.prev_score is None or self.score is None:
            return None
        return self.score - self.prev_score


@dataclass(frozen=True)
class CampaignChange:
    status: str  # new / grown / shrunk / same / merged / resolved
    campaign_id: str | None  # this scan's id (None when merged / resolved)
    prev_campaign_id: str | None  # the previous scan's id (None when new)
    size: int
    prev_size: int
    score: float | None
    prev_score: float | None
    suspicious: bool  # score at or above the alert threshold in the scan it is from
    added: tuple[str, ...] = ()  # members that joined
    removed: tuple[str, ...] = ()  # members that left
    overlap: float = 0.0  # Jaccard similarity of the member sets (0 when unmatched)
    merged_into: str | None = None  # for merged: the current campaign holding most of its members


@dataclass(frozen=True)
class ScanDiff:
    entity: str
    rise: float
    prev_created_at: str
    created_at: str
    prev_window: tuple[float | None, float | None]
    window: tuple[float | None, float | None]
    prev_flagged: int
    flagged: int
    new: tuple[AccountChange, ...] = ()
    rising: tuple[AccountChange, ...] = ()
    falling: tuple[AccountChange, ...] = ()
    resolved: tuple[AccountChange, ...] = ()
    campaigns: tuple[CampaignChange, ...] = ()  # every campaign that is not ``same``
    notes: tuple[str, ...] = field(default_factory=tuple)  # why the two scans may not compare cleanly

    @property
    def alerts(self) -> tuple[AccountChange, ...]:
        """New flagged accounts and flagged accounts whose score rose: what ``--fail-on-new`` fails on."""
        return self.new + tuple(c for c in self.rising if c.flagged)

    def campaigns_with(self, *status: str) -> tuple[CampaignChange, ...]:
        return tuple(c for c in self.campaigns if c.status in status)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["alerts"] = len(self.alerts)
        return d


def _change(status: str, detail: str, prev: AccountFinding | None, cur: AccountFinding | None) -> AccountChange:
    now = cur or prev
    assert now is not None
    reasons = cur.suppressed if cur is not None and cur.suppressed else now.reasons
    return AccountChange(
        entity_id=now.entity_id,
        status=status,
        detail=detail,
        prev_score=None if prev is None else prev.score,
        score=None if cur is None else cur.score,
        prev_flagged=bool(prev and prev.flagged),
        flagged=bool(cur and cur.flagged),
        campaign_id=now.campaign_id,
        reasons=reasons,
    )


def diff_accounts(prev: ScanResult, cur: ScanResult, rise: float) -> dict[str, list[AccountChange]]:
    before = {a.entity_id: a for a in prev.accounts}
    after = {a.entity_id: a for a in cur.accounts}
    out: dict[str, list[AccountChange]] = {"new": [], "rising": [], "falling": [], "resolved": []}
    eps = 1e-9  # scores are rounded to 6 places: a rise of exactly ``rise`` counts
    for eid, a in after.items():
        p = before.get(eid)
        if a.flagged and (p is None or not p.flagged):
            out["new"].append(_change("new", "", p, a))
        elif p is not None and p.flagged and not a.flagged:
            out["resolved"].append(_change("resolved", "suppressed" if a.suppressed else "unflagged", p, a))
        elif p is not None and a.score - p.score >= rise - eps:
            out["rising"].append(_change("rising", "", p, a))
        elif p is not None and a.flagged and p.score - a.score >= rise - eps:
            out["falling"].append(_change("falling", "", p, a))
    for eid, p in before.items():
        if eid not in after and p.flagged:
            out["resolved"].append(_change("resolved", "gone", p, None))
    # Most urgent first: highest current score (previous for gone), then id, for a deterministic order.
    for changes in out.values():
        changes.sort(key=lambda c: (-(c.score if c.score is not None else c.prev_score or 0.0), c.entity_id))
    return out


def match_campaigns(prev: tuple[Campaign, ...], cur: tuple[Campaign, ...]) -> list[tuple[int, int, float]]:
    """One-to-one (previous index, current index, Jaccard) matches by member overlap, best first."""
    owner: dict[str, list[int]] = {}
    for i, c in enumerate(prev):
        for m in c.account_ids:
            owner.setdefault(m, []).append(i)
    shared: dict[tuple[int, int], int] = {}
    for j, c in enumerate(cur):
        for m in c.account_ids:
            for i in owner.get(m, ()):
                shared[(i, j)] = shared.get((i, j), 0) + 1
    candidates = []
    for (i, j), n in shared.items():
        a, b = len(set(prev[i].account_ids)), len(set(cur[j].account_ids))
        if n >= MATCH_MIN_SHARE * min(a, b):
            candidates.append((n / (a + b - n), n, i, j))
    candidates.sort(key=lambda t: (-t[0], -t[1], prev[t[2]].campaign_id, cur[t[3]].campaign_id))
    used_prev: set[int] = set()
    used_cur: set[int] = set()
    matches = []
    for jac, _, i, j in candidates:
        if i in used_prev or j in used_cur:
            continue
        used_prev.add(i)
        used_cur.add(j)
        matches.append((i, j, jac))
    return matches


def diff_campaigns(prev: ScanResult, cur: ScanResult) -> list[CampaignChange]:
    matches = match_campaigns(prev.campaigns, cur.campaigns)
    out: list[CampaignChange] = []
    matched_prev = {i for i, _, _ in matches}
    matched_cur = {j for _, j, _ in matches}
    for i, j, jac in matches:
        p, c = prev.campaigns[i], cur.campaigns[j]
        added = tuple(sorted(set(c.account_ids) - set(p.account_ids)))
        removed = tuple(sorted(set(p.account_ids) - set(c.account_ids)))
        status = "grown" if added else "shrunk" if removed else "same"
        out.append(
            CampaignChange(
                status=status,
                campaign_id=c.campaign_id,
                prev_campaign_id=p.campaign_id,
                size=c.size,
                prev_size=p.size,
                score=c.score,
                prev_score=p.score,
                suspicious=c.score >= cur.alert_threshold,
                added=added,
                removed=removed,
                overlap=round(jac, 6),
            )
        )
    for j, c in enumerate(cur.campaigns):
        if j not in matched_cur:
            out.append(
                CampaignChange(
                    status="new",
                    campaign_id=c.campaign_id,
                    prev_campaign_id=None,
                    size=c.size,
                    prev_size=0,
                    score=c.score,
                    prev_score=None,
                    suspicious=c.score >= cur.alert_threshold,
                    added=tuple(sorted(c.account_ids)),
                )
            )
    home = {m: c.campaign_id for c in cur.campaigns for m in c.account_ids}
    for i, p in enumerate(prev.campaigns):
        if i in matched_prev:
            continue
        homes: dict[str, int] = {}
        for m in p.account_ids:
            if m in home:
                homes[home[m]] = homes.get(home[m], 0) + 1
        best = min(homes.items(), key=lambda kv: (-kv[1], kv[0])) if homes else None
        merged = best is not None and best[1] >= MATCH_MIN_SHARE * len(p.account_ids)
        out.append(
            CampaignChange(
                status="merged" if merged else "resolved",
                campaign_id=None,
                prev_campaign_id=p.campaign_id,
                size=0,
                prev_size=p.size,
                score=None,
                prev_score=p.score,
                suspicious=p.score >= prev.alert_threshold,
                removed=tuple(sorted(p.account_ids)),
                merged_into=best[0] if merged and best else None,
            )
        )
    order = {"new": 0, "grown": 1, "merged": 2, "shrunk": 3, "resolved": 4, "same": 5}
    out.sort(key=lambda c: (order[c.status], -(c.score if c.score is not None else c.prev_score or 0.0), c.campaign_id or ""))
    return out


def _notes(prev: ScanResult, cur: ScanResult) -> tuple[str, ...]:
    from extractscan.redact import is_redacted

    notes = []
    if prev.alert_threshold != cur.alert_threshold:
        notes.append(f"alert threshold changed from {prev.alert_threshold:g} to {cur.alert_threshold:g}")
    if is_redacted(prev) != is_redacted(cur):
        notes.append("one scan is redacted and the other is not: ids cannot match (redact both, with one salt)")
    if prev.tool_version != cur.tool_version:
        notes.append(f"extractscan version changed from {prev.tool_version} to {cur.tool_version}")
    return tuple(notes)


class ScanLoadError(ValueError):
    """A scan output that cannot be read; ``missing`` when there is none at the path (a usage error)."""

    def __init__(self, message: str, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing


def load_scan(path: str | Path) -> ScanResult:
    """A scan result from an output folder (its ``report.json``) or a ``report.json`` file."""
    import json

    from extractscan.report import json as json_report

    p = Path(path)
    file = p / "report.json" if p.is_dir() else p
    if not file.is_file():
        raise ScanLoadError(f"no scan output at {p} (expected an OUT folder or its report.json)", missing=True)
    try:
        return json_report.load(file)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ScanLoadError(f"cannot read {file}: {e}") from e
    except (KeyError, TypeError, ValueError, IndexError) as e:
        raise ScanLoadError(f"{file} is not an extractscan report.json: {type(e).__name__}: {e}") from e


def diff_results(prev: ScanResult, cur: ScanResult, rise: float = 0.1) -> ScanDiff:
    """The changes from ``prev`` to ``cur`` (see the module docstring). Both must score the same entity."""
    if prev.entity != cur.entity:
        raise ValueError(f"the scans score different entities ({prev.entity} vs {cur.entity})")
    if not 0.0 < rise <= 1.0:
        raise ValueError(f"rise must be in (0, 1], got {rise}")
    acc = diff_accounts(prev, cur, rise)
    camps = [c for c in diff_campaigns(prev, cur) if c.status != "same"]
    return ScanDiff(
        entity=cur.entity,
        rise=rise,
        prev_created_at=prev.created_at,
        created_at=cur.created_at,
        prev_window=prev.window,
        window=cur.window,
        prev_flagged=sum(a.flagged for a in prev.accounts),
        flagged=sum(a.flagged for a in cur.accounts),
        new=tuple(acc["new"]),
        rising=tuple(acc["rising"]),
        falling=tuple(acc["falling"]),
        resolved=tuple(acc["resolved"]),
        campaigns=tuple(camps),
        notes=_notes(prev, cur),
    )


# ---------------------------------------------------------------------------------------------- rendering
# Ids and reasons are attacker-controlled: terminal text is stripped of control characters and shown as
# plain text, Markdown is escaped (report.safe / report.markdown).


def _score(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}"


def _delta(c: AccountChange) -> str:
    d = c.delta
    return "" if d is None else f"{d:+.2f}"


def _headline(d: ScanDiff) -> str:
    camp_new = len(d.campaigns_with("new"))
    camp_grown = len(d.campaigns_with("grown", "merged"))
    camp_res = len(d.campaigns_with("resolved"))
    return (
        f"{d.flagged} flagged (was {d.prev_flagged}): {len(d.new)} new, {len(d.rising)} rising, "
        f"{len(d.falling)} falling, {len(d.resolved)} resolved {d.entity}s; campaigns {camp_new} new, "
        f"{camp_grown} grown, {camp_res} resolved"
    )


_ACCOUNT_SECTIONS = (("new", "New flagged"), ("rising", "Rising"), ("falling", "Falling"), ("resolved", "Resolved"))


def render_markdown(d: ScanDiff, top: int = 50) -> str:
    from extractscan.report.markdown import inline

    lines = ["# extractscan diff", "", f"**{inline(_headline(d))}** (rise >= {d.rise:g})", ""]
    lines.append(f"_previous scan {inline(d.prev_created_at or '?')}, this scan {inline(d.created_at or '?')}_")
    for n in d.notes:
        lines += ["", f"> note: {inline(n)}"]
    for key, title in _ACCOUNT_SECTIONS:
        changes: tuple[AccountChange, ...] = getattr(d, key)
        lines += ["", f"## {title} {inline(d.entity)}s ({len(changes)})", ""]
        if not changes:
            lines.append("_None._")
            continue
        lines += [f"| {inline(d.entity)} | before | now | change | campaign | why |", "|---|---:|---:|---:|---|---|"]
        for a in changes[:top]:
            why = (a.detail + ": " if a.detail else "") + a.reasons
            lines.append(
                f"| {inline(a.entity_id, 60) or ' '} | {_score(a.prev_score)} | {_score(a.score)} | {_delta(a) or ' '} | "
                f"{inline(a.campaign_id or '', 24) or ' '} | {inline(why, 200) or ' '} |"
            )
        if len(changes) > top:
            lines += ["", f"_{len(changes) - top} more not shown._"]
    lines += ["", f"## Campaigns ({len(d.campaigns)} changed)", ""]
    if not d.campaigns:
        lines.append("_No campaign changed._")
    else:
        lines += ["| status | campaign | was | size | score | joined | left |", "|---|---|---|---:|---:|---|---|"]
        for c in d.campaigns[:top]:
            cid = c.campaign_id or (f"→ {c.merged_into}" if c.merged_into else "")
            lines.append(
                f"| {c.status}{' ⚑' if c.suspicious else ''} | {inline(cid, 40) or ' '} | "
                f"{inline(c.prev_campaign_id or '', 40) or ' '} | {c.prev_size} → {c.size} | "
                f"{_score(c.prev_score)} → {_score(c.score)} | {inline(', '.join(c.added[:10]), 300) or ' '} | "
                f"{inline(', '.join(c.removed[:10]), 300) or ' '} |"
            )
    return "\n".join(lines) + "\n"


def terminal_parts(d: ScanDiff, top: int = 25) -> list[Any]:
    """Rich renderables (a headline and one table per non-empty section)."""
    from rich.table import Table
    from rich.text import Text

    from extractscan.report.safe import terminal_text

    parts: list[Any] = [Text(f"extractscan diff: {_headline(d)}", style="bold")]
    parts += [Text(f"note: {terminal_text(n)}", style="yellow") for n in d.notes]
    for key, title in _ACCOUNT_SECTIONS:
        changes: tuple[AccountChange, ...] = getattr(d, key)
        if not changes:
            continue
        t = Table(title=f"{title} {d.entity}s ({len(changes)})")
        t.add_column(d.entity)
        for col in ("before", "now", "change"):
            t.add_column(col, justify="right")
        t.add_column("campaign")
        t.add_column("why", ratio=1)
        for a in changes[:top]:
            why = (a.detail + ": " if a.detail else "") + a.reasons
            t.add_row(
                Text(terminal_text(a.entity_id, 40)),
                _score(a.prev_score),
                _score(a.score),
                _delta(a),
                Text(terminal_text(a.campaign_id or "", 16)),
                Text(terminal_text(why, 110)),
            )
        parts.append(t)
    if d.campaigns:
        t = Table(title=f"Campaigns ({len(d.campaigns)} changed)")
        for col in ("status", "campaign", "was", "size", "score", "joined", "left"):
            t.add_column(col)
        for c in d.campaigns[:top]:
            cid = c.campaign_id or (f"→ {c.merged_into}" if c.merged_into else "")
            t.add_row(
                c.status + (" ⚑" if c.suspicious else ""),
                Text(terminal_text(cid, 40)),
                Text(terminal_text(c.prev_campaign_id or "", 40)),
                f"{c.prev_size} → {c.size}",
                f"{_score(c.prev_score)} → {_score(c.score)}",
                Text(terminal_text(", ".join(c.added[:5]) + (" …" if len(c.added) > 5 else ""), 80)),
                Text(terminal_text(", ".join(c.removed[:5]) + (" …" if len(c.removed) > 5 else ""), 80)),
            )
        parts.append(t)
    return parts


def render_terminal(d: ScanDiff, *, width: int = 160, top: int = 25) -> str:
    """Plain text (no colour codes) of the terminal rendering."""
    from io import StringIO

    from rich.console import Console

    buf = StringIO()
    con = Console(file=buf, width=width, color_system=None, highlight=False, force_terminal=False)
    for part in terminal_parts(d, top):
        con.print(part)
    return buf.getvalue()
