"""``extractscan indicators OUT --store STORE``: shareable indicator bundles of a scan's campaigns (hashed
template fingerprints, key hashes, IP ranges, user agents, models; no prompt text)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from extractscan.cli._common import EXIT_USAGE, console, fail


def register(app: typer.Typer) -> None:
    @app.command("indicators")
    def indicators_cmd(
        scan_out: Annotated[Path, typer.Argument(metavar="OUT", help="A scan's output folder (or its report.json).")],
        store: Annotated[
            Path | None, typer.Option("--store", help="The store the scan read (default: OUT/store when it exists).")
        ] = None,
        campaign: Annotated[
            list[str] | None,
            typer.Option("--campaign", help="Campaign id to export (repeatable; default: every suspicious campaign)."),
        ] = None,
        out: Annotated[
            Path | None, typer.Option("--out", "-o", help="Folder for campaign-<id>.json (default: OUT/indicators).")
        ] = None,
        include_accounts: Annotated[
            bool, typer.Option("--include-accounts", help="Name the member accounts (left out by default: they are yours).")
        ] = False,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary on the terminal.")] = False,
    ) -> None:
        """Write one shareable indicator bundle per campaign: hashed template and frame fingerprints, API key
        hashes, IP ranges (/24, /48), user agents, models and counts — never prompt text."""
        from rich.table import Table
        from rich.text import Text

        from extractscan.indicators import IndicatorError, campaign_indicators, suspicious_campaigns, write_indicators
        from extractscan.investigate import InvestigateError, load_scan_result
        from extractscan.report.safe import terminal_text

        base = scan_out if scan_out.is_dir() else scan_out.parent
        try:
            result = load_scan_result(scan_out)
        except InvestigateError as e:
            fail(str(e), EXIT_USAGE if not scan_out.exists() else 1)
        store_dir = store or base / "store"
        if not (store_dir / "manifest.json").is_file():
            fail(f"no store at {store_dir} (give --store STORE)")
        ids = list(campaign) if campaign else [c.campaign_id for c in suspicious_campaigns(result)]
        con = console(quiet=quiet)
        try:
            bundles = [campaign_indicators(result, store_dir, cid, include_accounts=include_accounts) for cid in ids]
        except IndicatorError as e:
            fail(str(e))
        if not bundles:
            con.print(
                f"no campaign scores at or above the alert threshold {result.alert_threshold:g} "
                f"({len(result.campaigns)} campaign(s) in all; name one with --campaign)",
                markup=False,
            )
            return
        dest = out or base / "indicators"
        try:
            paths = write_indicators(bundles, dest)
        except OSError as e:
            fail(f"cannot write to {dest}: {e}")
        t = Table(title="Indicator bundles", title_justify="left")
        for col in ("campaign", "score", "members", "requests", "templates", "frames", "keys", "IPs", "agents"):
            t.add_column(col, justify="left" if col == "campaign" else "right", no_wrap=col == "campaign")
        for b in bundles:
            t.add_row(
                Text(terminal_text(b.campaign_id, 40)),
                f"{b.score:.2f}",
                str(b.members),
                f"{b.requests:,}",
                str(len(b.template_fingerprints)),
                str(len(b.frame_fingerprints)),
                str(len(b.api_key_hashes)),
                str(len(b.ip_ranges)),
                str(len(b.user_agents)),
            )
        con.print(t)
        for p in paths:
            con.print(Text(f"wrote {terminal_text(str(p))}"))
