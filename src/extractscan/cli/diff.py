"""``extractscan diff``: what changed between two scans (new, rising, resolved accounts and campaigns)."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from extractscan.cli._common import EXIT_FINDINGS, EXIT_USAGE, fail
from extractscan.findings import ScanResult


class DiffFormat(StrEnum):
    terminal = "terminal"
    json = "json"
    md = "md"


def load_or_fail(path: Path) -> ScanResult:
    """A scan result (OUT folder or report.json) or a clean exit: 2 when there is none, 1 when unreadable."""
    from extractscan.diff import ScanLoadError, load_scan

    try:
        return load_scan(path)
    except ScanLoadError as e:
        fail(str(e), EXIT_USAGE if e.missing else 1)


def register(app: typer.Typer) -> None:
    @app.command("diff")
    def diff_cmd(
        prev_out: Annotated[Path, typer.Argument(help="The previous scan: its OUT folder or report.json.")],
        out: Annotated[Path, typer.Argument(help="This scan: its OUT folder or report.json.")],
        fmt: Annotated[DiffFormat, typer.Option("--format", "-f", help="Output format.")] = DiffFormat.terminal,
        rise: Annotated[
            float, typer.Option("--rise", min=0.001, max=1.0, help="Score increase that makes an account 'rising'.")
        ] = 0.1,
        fail_on_new: Annotated[
            bool,
            typer.Option("--fail-on-new", help="Exit 3 when there are new flagged accounts or flagged ones rising."),
        ] = False,
    ) -> None:
        """Compare two scans: new, rising, falling and resolved accounts; new, grown and resolved campaigns."""
        from extractscan.diff import diff_results, render_markdown, terminal_parts

        try:
            d = diff_results(load_or_fail(prev_out), load_or_fail(out), rise=rise)
        except ValueError as e:
            fail(str(e), EXIT_USAGE)
        if fmt is DiffFormat.json:
            sys.stdout.write(json.dumps(d.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        elif fmt is DiffFormat.md:
            sys.stdout.write(render_markdown(d))
        else:
            from rich.console import Console

            con = Console(highlight=False)
            for part in terminal_parts(d):
                con.print(part)
        if fail_on_new and d.alerts:
            raise typer.Exit(EXIT_FINDINGS)
