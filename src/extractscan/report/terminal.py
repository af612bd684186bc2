"""Terminal report: a ranked table with the top reasons and a campaign summary (rich).

Every attacker-controlled string passes through :func:`terminal_text` (no ANSI / control characters) and is
rendered as plain text (rich markup is never interpreted in it)."""

from __future__ import annotations

from io import StringIO
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from extractscan.findings import ScanResult
from extractscan.report.safe import terminal_text

_SEV_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "none": "dim"}


def build(result: ScanResult, top: int = 25) -> list[Table | Text]:
    n_flag = sum(a.flagged for a in result.accounts)
    suppressed = [a for a in result.accounts if a.suppressed is not None]
    head = Text(
        f"extractscan: {result.stats.requests:,} requests, {result.stats.entities:,} {result.entity}s, "
        f"{n_flag} flagged (threshold {result.alert_threshold}), {len(result.campaigns)} campaigns"
        + (f", {len(suppressed)} suppressed" if suppressed else ""),
        style="bold",
    )
    t = Table(title=f"Top {min(top, len(result.accounts))} {result.entity}s by score", show_lines=False)
    columns: tuple[tuple[str, dict[str, Any]], ...] = (
        ("#", {"justify": "right"}),
        (result.entity, {}),
        ("score", {"justify": "right"}),
        ("severity", {}),
        ("requests", {"justify": "right"}),
        ("campaign", {}),
        ("top reasons", {"ratio": 1}),
    )
    for col, kw in columns:
        t.add_column(col, **kw)
    for a in result.accounts[:top]:
        reasons = "; ".join(
            terminal_text(f"{d.name}: {d.summary}", 110)
            for d in sorted(a.detectors, key=lambda d: -d.contribution)[:2]
            if d.contribution > 0.05
        )
        t.add_row(
            str(a.rank),
            Text(terminal_text(a.entity_id, 40)),
            f"{a.score:.2f}",
            Text(
                a.severity + (" ⚑" if a.flagged else "") + (" suppressed" if a.suppressed is not None else ""),
                style=_SEV_STYLE.get(a.severity, ""),
            ),
            f"{a.n_requests:,}",
            Text(terminal_text(a.campaign_id or "", 16)),
            Text(reasons),
        )
    parts: list[Table | Text] = [head, t]
    if suppressed:
        # Shown, not hidden: an analyst must see what the suppressions file keeps out of the alerts.
        st = Table(title=f"Suppressed {result.entity}s ({len(suppressed)})")
        st.add_column("#", justify="right")
        st.add_column(result.entity)
        st.add_column("score", justify="right")
        st.add_column("reason")
        for a in suppressed[:top]:
            st.add_row(
                str(a.rank), Text(terminal_text(a.entity_id, 40)), f"{a.score:.2f}", Text(terminal_text(a.suppressed, 120))
            )
        parts.append(st)
    if result.campaigns:
        c = Table(title="Campaigns")
        for col in ("campaign", "score", "accounts", "linked by", "members"):
            c.add_column(col)
        for camp in result.campaigns[:top]:
            members = ", ".join(terminal_text(m, 24) for m in camp.account_ids[:6])
            if camp.size > 6:
                members += f", … (+{camp.size - 6})"
            c.add_row(
                Text(terminal_text(camp.campaign_id)),
                f"{camp.score:.2f}",
                str(camp.size),
                Text(terminal_text(", ".join(camp.edge_kinds))),
                Text(members),
            )
        parts.append(c)
    return parts


def print_report(result: ScanResult, console: Console | None = None, top: int = 25) -> None:
    con = console or Console(highlight=False)
    for part in build(result, top):
        con.print(part)


def render(result: ScanResult, *, width: int = 160, top: int = 25) -> str:
    """Plain-text rendering (no colour codes) — what `report --format terminal` writes to a file."""
    buf = StringIO()
    con = Console(file=buf, width=width, color_system=None, highlight=False, force_terminal=False)
    print_report(result, con, top)
    return buf.getvalue()
