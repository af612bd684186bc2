"""``extractscan scan``: ingest (optionally) and scan, write the result files, print a summary."""

from __future__ import annotations

import dataclasses
import sys
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from extractscan import api
from extractscan.cli._common import EXIT_FINDINGS, EXIT_USAGE, Entity, console, fail, get_config
from extractscan.cli._progress import ingest_callback, stage_progress
from extractscan.findings import ScanResult
from extractscan.suppressions import Suppression


class StdoutFormat(str, Enum):
    terminal = "terminal"
    json = "json"
    none = "none"


def register(app: typer.Typer) -> None:
    @app.command("scan")
    def scan_cmd(
        paths: Annotated[
            list[Path] | None,
            typer.Argument(help="Log files or folders to ingest first (into OUT/store unless --store is given)."),
        ] = None,
        out: Annotated[
            Path,
            typer.Option("--out", "-o", help="Output folder for accounts.parquet/csv, campaigns.parquet, report.json."),
        ] = Path("extractscan-out"),
        store: Annotated[Path | None, typer.Option("--store", help="Store to scan (and to ingest PATHs into).")] = None,
        config: Annotated[Path | None, typer.Option("--config", "-c", help="TOML configuration file.")] = None,
        entity: Annotated[Entity, typer.Option("--entity", help="What is scored.")] = Entity.account,
        since: Annotated[
            str | None,
            typer.Option("--since", help="Only requests at or after this ISO time (UTC if no zone)."),
        ] = None,
        until: Annotated[str | None, typer.Option("--until", help="Only requests before this ISO time.")] = None,
        no_embed: Annotated[
            bool,
            typer.Option("--no-embed", help="Skip sentence embeddings (embedding detectors are skipped)."),
        ] = False,
        device: Annotated[str | None, typer.Option("--device", help="Embedding device: cpu or cuda.")] = None,
        fmt: Annotated[StdoutFormat, typer.Option("--format", "-f", help="What to print on stdout.")] = StdoutFormat.terminal,
        fail_above: Annotated[
            float | None,
            typer.Option("--fail-above", help="Exit 3 when any account scores at or above this."),
        ] = None,
        stable: Annotated[
            bool,
            typer.Option(
                "--stable",
                help="Leave out timestamps and timings: byte-identical output for the same input and seed.",
            ),
        ] = False,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary on the terminal.")] = False,
        suppressions: Annotated[
            Path | None,
            typer.Option(
                "--suppressions",
                help="TOML file of known-benign accounts, campaigns, templates (docs/nightly.md); "
                "default: [report] suppressions.",
            ),
        ] = None,
        redact: Annotated[
            bool,
            typer.Option("--redact", help="Hash ids and mask prompt text in every output (docs/privacy.md)."),
        ] = False,
        redact_salt: Annotated[
            str | None,
            typer.Option(
                "--redact-salt",
                envvar="EXTRACTSCAN_REDACT_SALT",
                show_envvar=True,
                help="Secret key of the --redact hashes; keep it fixed so ids hash alike every night.",
            ),
        ] = None,
    ) -> None:
        """Score every account for extraction and link campaigns; write the results to OUT."""
        cfg = get_config(config)
        if no_embed:
            cfg = cfg.replace(embed=dataclasses.replace(cfg.embed, enabled=False))
        if device:
            cfg = cfg.replace(embed=dataclasses.replace(cfg.embed, device=device))
        con = console(quiet=quiet)
        store_dir = store or out / "store"
        muted = _load_suppressions(suppressions, cfg.report.suppressions, config)
        if paths:
            missing = [p for p in paths if not p.exists()]
            if missing:
                fail(f"no such file or folder: {missing[0]}")
            with stage_progress(quiet, con) as bar:
                report = api.ingest(paths, store_dir, cfg, progress=ingest_callback(bar))
            totals = getattr(report, "totals", None)
            if totals is not None:
                con.print(
                    f"ingested into {store_dir}: read {totals.read}, stored {totals.stored}, "
                    f"duplicate {totals.duplicate}, quarantined {totals.quarantined}",
                    markup=False,
                )
        elif store is None:
            fail("give log PATHs to ingest, or --store STORE to scan", 2)
        elif not store_dir.exists():
            fail(f"no store at {store_dir}")
        try:
            with stage_progress(quiet, con) as bar:
                result = api.scan_store(
                    store_dir, cfg, entity=entity.value, since=since, until=until, progress=bar if bar.enabled else None
                )
        except ValueError as e:
            fail(str(e), 2)
        if muted:
            from extractscan.suppressions import split_expired

            for s in split_expired(muted, datetime.now(UTC).date())[1]:
                con.print(f"warning: suppression {s.describe()} has expired and is ignored", markup=False)
            result = api.apply_suppressions(result, muted, store_dir, salt=redact_salt)
        if redact:
            from extractscan.redact import RANDOM_SALT_WARNING, redact_result, resolve_salt

            salt, kept = resolve_salt(redact_salt)
            if not kept:
                con.print(f"warning: {RANDOM_SALT_WARNING}", markup=False)
            if store is None:
                con.print(f"warning: {store_dir} holds the raw logs; give --store elsewhere to share {out}", markup=False)
            result = redact_result(result, salt)
        api.write_outputs(result, out, stable=stable)
        if fmt is StdoutFormat.json:
            from extractscan.report import json as json_report

            sys.stdout.write(json_report.render(result, stable=stable))
        elif fmt is StdoutFormat.terminal and not quiet:
            _print_summary(result, out)
        if fail_above is not None and any(a.score >= fail_above and a.suppressed is None for a in result.accounts):
            raise typer.Exit(EXIT_FINDINGS)


def _load_suppressions(option: Path | None, configured: str, config: Path | None) -> tuple[Suppression, ...]:
    """--suppressions, else the config's [report] suppressions (relative to the config file). An invalid
    file stops the scan before it starts (exit 2)."""
    from extractscan.suppressions import SuppressionError, load_suppressions

    path = option
    if path is None and configured:
        path = Path(configured)
        if not path.is_absolute() and config is not None:
            path = config.parent / path
    if path is None:
        return ()
    try:
        return load_suppressions(path)
    except SuppressionError as e:
        fail(str(e), EXIT_USAGE)


def _print_summary(result: ScanResult, out: Path) -> None:
    from extractscan.report import terminal

    terminal.print_report(result)
    console().print(f"results written to {out}", markup=False)
