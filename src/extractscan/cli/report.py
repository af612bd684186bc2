"""``extractscan report``: re-render a saved ``report.json`` in another format, without re-scanning."""

from __future__ import annotations

import dataclasses
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from extractscan.cli._common import EXIT_USAGE, fail
from extractscan.findings import ScanResult


class ReportFormat(StrEnum):
    terminal = "terminal"
    json = "json"
    md = "md"
    csv = "csv"
    html = "html"


def _load(path: Path) -> ScanResult:
    from extractscan.report import json as json_report

    if not path.is_file():
        fail(f"no such file: {path}", EXIT_USAGE)
    try:
        return json_report.load(path)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        fail(f"cannot read {path}: {e}")
    except (KeyError, TypeError, ValueError, IndexError) as e:
        fail(f"{path} is not an extractscan report.json: {type(e).__name__}: {e}")


def _stable(result: ScanResult) -> ScanResult:
    stats = dataclasses.replace(result.stats, stage_seconds={})
    return dataclasses.replace(result, created_at="", stats=stats)


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report_cmd(
        report_json: Annotated[Path, typer.Argument(help="A report.json written by `extractscan scan`.")],
        fmt: Annotated[ReportFormat, typer.Option("--format", "-f", help="Output format.")] = (ReportFormat.terminal),
        output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to FILE instead of stdout.")] = None,
        stable: Annotated[bool, typer.Option("--stable", help="Leave out the scan time and timings (byte-identical).")] = False,
        redact: Annotated[bool, typer.Option("--redact", help="Hash ids and mask prompt text (docs/privacy.md).")] = False,
        redact_salt: Annotated[
            str | None,
            typer.Option(
                "--redact-salt",
                envvar="EXTRACTSCAN_REDACT_SALT",
                show_envvar=True,
                help="Secret key of the --redact hashes (the same as the scan's, for the same hashes).",
            ),
        ] = None,
    ) -> None:
        """Re-render OUT/report.json as terminal, json, md, csv or html, without re-scanning."""
        from extractscan.report import WRITERS
        from extractscan.report import json as json_report

        result = _load(report_json)
        if redact:
            from extractscan.cli._common import console
            from extractscan.redact import RANDOM_SALT_WARNING, is_redacted, redact_result, resolve_salt

            salt, kept = resolve_salt(redact_salt)
            if not kept and not is_redacted(result):
                console().print(f"warning: {RANDOM_SALT_WARNING}", markup=False)
            result = redact_result(result, salt)
        if stable:
            result = _stable(result)
        if fmt is ReportFormat.json:
            text = json_report.render(result, stable=stable)
        elif fmt is ReportFormat.terminal and output is None:
            from rich.console import Console

            from extractscan.report import terminal

            terminal.print_report(result, Console(highlight=False))
            return
        else:
            text = WRITERS[fmt.value](result)
        if output is None:
            sys.stdout.write(text)
            sys.stdout.flush()
            return
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            with output.open("w", encoding="utf-8", newline="") as fh:
                fh.write(text)
        except OSError as e:
            fail(f"cannot write {output}: {e}")
