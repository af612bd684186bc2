"""``extractscan verdicts``: summarise analysts' verdicts: true / false positives and precision per detector."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from extractscan.cli._common import EXIT_USAGE, fail


class VerdictsFormat(StrEnum):
    terminal = "terminal"
    json = "json"


def register(app: typer.Typer) -> None:
    @app.command("verdicts")
    def verdicts_cmd(
        verdicts: Annotated[
            Path | None,
            typer.Option(
                "--verdicts",
                envvar="EXTRACTSCAN_VERDICTS",
                show_envvar=True,
                help="Verdicts file. Default: verdicts.jsonl beside --scan OUT, else in the working folder.",
            ),
        ] = None,
        scan: Annotated[Path | None, typer.Option("--scan", help="A scan OUT folder, to find the default file.")] = None,
        fmt: Annotated[VerdictsFormat, typer.Option("--format", "-f", help="Output format.")] = VerdictsFormat.terminal,
        fire_cut: Annotated[
            float,
            typer.Option("--fire-cut", min=0.0, max=1.0, help="Detector score at which it counts as having fired."),
        ] = 0.5,
    ) -> None:
        """Summarise verdicts: counts of tp / fp and the precision of each detector where it fired."""
        from extractscan.verdicts import VerdictError, default_path, load_verdicts, summarize

        path = verdicts or default_path(scan)
        if not path.is_file():
            fail(f"no verdicts file at {path} (record one with `extractscan label`)", EXIT_USAGE)
        try:
            s = summarize(load_verdicts(path), fire_cut)
        except VerdictError as e:
            fail(str(e))
        if fmt is VerdictsFormat.json:
            sys.stdout.write(json.dumps(s.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n")
            return
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        from extractscan.report.safe import terminal_text

        def pct(x: float | None) -> str:
            return "—" if x is None else f"{x:.0%}"

        con = Console(highlight=False)
        con.print(
            Text(
                f"{s.accounts} labelled accounts ({s.records} verdicts): {s.tp} tp, {s.fp} fp; "
                f"precision of flagged accounts {pct(s.flagged_precision)} "
                f"({s.flagged_tp} of {s.flagged_tp + s.flagged_fp})",
                style="bold",
            )
        )
        t = Table(title=f"Precision per detector (fired: score >= {s.fire_cut:g})")
        t.add_column("detector")
        t.add_column("name")
        for col in ("fired", "tp", "fp", "precision"):
            t.add_column(col, justify="right")
        for d in s.detectors:
            t.add_row(d.detector_id, Text(terminal_text(d.name, 40)), str(d.fired), str(d.tp), str(d.fp), pct(d.precision))
        con.print(t)
