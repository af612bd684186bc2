"""``extractscan label``: record an analyst's verdict (true / false positive) on a scanned account."""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Annotated

import typer

from extractscan.cli._common import EXIT_USAGE, console, fail


def _analyst() -> str:
    try:
        return os.environ.get("USER") or getpass.getuser()
    except (OSError, KeyError):  # no user database entry (containers)
        return "unknown"


def register(app: typer.Typer) -> None:
    @app.command("label")
    def label_cmd(
        account: Annotated[str, typer.Argument(help="The account (entity) id as the scan reports it.")],
        scan: Annotated[Path, typer.Option("--scan", help="The scan output (OUT folder or report.json) it is in.")],
        tp: Annotated[bool, typer.Option("--tp", help="A true positive: extraction.")] = False,
        fp: Annotated[bool, typer.Option("--fp", help="A false positive: benign.")] = False,
        note: Annotated[str, typer.Option("--note", help="Why (free text, kept with the verdict).")] = "",
        verdicts: Annotated[
            Path | None,
            typer.Option(
                "--verdicts",
                envvar="EXTRACTSCAN_VERDICTS",
                show_envvar=True,
                help="Verdicts file (JSONL, appended to). Default: verdicts.jsonl beside the OUT folder.",
            ),
        ] = None,
        analyst: Annotated[str | None, typer.Option("--analyst", help="Who labels (default: $USER).")] = None,
    ) -> None:
        """Record a verdict (--tp or --fp) on an account, with the scan's evidence at label time."""
        from extractscan.cli.diff import load_or_fail
        from extractscan.verdicts import VerdictError, append_verdict, default_path, make_verdict

        if tp == fp:
            fail("give exactly one of --tp or --fp", EXIT_USAGE)
        result = load_or_fail(scan)
        try:
            v = make_verdict(result, account, "tp" if tp else "fp", note=note, analyst=analyst or _analyst())
        except VerdictError as e:
            fail(str(e), EXIT_USAGE)
        path = verdicts or default_path(scan)
        try:
            append_verdict(path, v)
        except OSError as e:
            fail(f"cannot write {path}: {e}")
        state = "flagged" if v.flagged else "suppressed" if v.suppressed else "not flagged"
        console().print(f"{v.verdict} recorded for {account} (score {v.score:.2f}, {state}) in {path}", markup=False)
