"""``extractscan ingest`` and the ``extractscan store`` group (``info``, ``quarantine``)."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from extractscan.cli._common import EXIT_ERROR, EXIT_USAGE, clean_text, console, fail, get_config
from extractscan.cli._progress import ingest_callback, stage_progress
from extractscan.config import ConfigError
from extractscan.models import IngestReport
from extractscan.store import Store

_MAX_PROBLEMS_SHOWN = 20
_MAX_REASONS_SHOWN = 10


def register(app: typer.Typer) -> None:
    @app.command("ingest")
    def ingest_cmd(
        paths: Annotated[list[Path], typer.Argument(help="Log files or folders (read recursively).", show_default=False)],
        store: Annotated[Path, typer.Option("--store", "-s", help="Store folder (created if missing).", show_default=False)],
        fmt: Annotated[
            str | None,
            typer.Option(
                "--format",
                "-f",
                help="Force a reader: a name from `extractscan formats` or generic:<mapping>.",
            ),
        ] = None,
        config: Annotated[Path | None, typer.Option("--config", "-c", help="TOML configuration file.")] = None,
        account_id: Annotated[
            str | None,
            typer.Option("--account-id", help="Account for records that carry none (raw provider bodies)."),
        ] = None,
        workers: Annotated[
            int | None,
            typer.Option(
                "--workers",
                "-j",
                min=0,
                help="Processes parsing files in parallel (0: one per core; default: ingest.workers).",
            ),
        ] = None,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary on the terminal.")] = False,
        json_out: Annotated[bool, typer.Option("--json", help="Print the ingest report as JSON on stdout.")] = False,
    ) -> None:
        """Read log files into the store: each record is stored, a duplicate, or quarantined with a reason."""
        from extractscan.ingest.pipeline import UnknownFormatError, ingest_paths
        from extractscan.store import StoreError

        cfg = get_config(config)
        if account_id:
            cfg = cfg.replace(ingest=dataclasses.replace(cfg.ingest, default_account_id=account_id))
        if workers is not None:
            cfg = cfg.replace(ingest=dataclasses.replace(cfg.ingest, workers=workers))
        missing = [p for p in paths if not p.exists()]
        if missing:
            fail(f"no such file or folder: {missing[0]}", EXIT_ERROR)
        con = console(quiet=quiet or json_out)
        try:
            with stage_progress(quiet or json_out, con) as progress:
                report = ingest_paths(paths, store, cfg, fmt=fmt, progress=ingest_callback(progress))
        except UnknownFormatError as e:
            fail(str(e), EXIT_USAGE)
        except ConfigError as e:
            fail(str(e), EXIT_USAGE)
        except FileNotFoundError as e:
            fail(str(e), EXIT_ERROR)
        except StoreError as e:
            fail(str(e), EXIT_ERROR)
        if json_out:
            sys.stdout.write(orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2).decode() + "\n")
            return
        print_ingest_report(report, con)

    store_app = typer.Typer(help="Inspect a store: contents, runs and quarantine.", no_args_is_help=True)
    app.add_typer(store_app, name="store")

    @store_app.command("info")
    def store_info_cmd(
        store: Annotated[Path, typer.Option("--store", "-s", help="Store folder.", show_default=False)],
        json_out: Annotated[bool, typer.Option("--json", help="Print as JSON on stdout.")] = False,
    ) -> None:
        """Rows, accounts, date range, formats and runs of a store."""
        st = _open_existing(store)
        stats = st.stats()
        runs = st.runs()
        if json_out:
            d = dataclasses.asdict(stats)
            d["runs"] = [dataclasses.asdict(r) for r in runs]
            d["store"] = str(st.root)
            sys.stdout.write(orjson.dumps(d, option=orjson.OPT_INDENT_2).decode() + "\n")
            return
        con = console()
        first = stats.first_event.isoformat() if stats.first_event else "-"
        last = stats.last_event.isoformat() if stats.last_event else "-"
        summary = Table(title=Text(f"store {clean_text(st.root)}"), show_header=False)
        summary.add_column("key")
        summary.add_column("value", justify="right")
        for k, v in (
            ("rows", f"{stats.rows:,}"),
            ("accounts", f"{stats.accounts:,}"),
            ("first event", first),
            ("last event", last),
            ("rows without time", f"{stats.rows_without_time:,}"),
            ("input files", f"{stats.files:,}"),
            ("runs", f"{stats.runs:,}"),
            ("quarantined", f"{stats.quarantined:,}"),
            ("data files", f"{stats.data_files:,} ({stats.bytes:,} bytes)"),
        ):
            summary.add_row(k, v)
        con.print(summary)
        if stats.formats:
            t = Table(title="formats")
            t.add_column("format")
            t.add_column("rows", justify="right")
            for name, n in stats.formats.items():
                t.add_row(Text(clean_text(name)), f"{n:,}")
            con.print(t)
        if runs:
            t = Table(title="runs (latest last)")
            for c in ("run", "committed", "files", "stored", "duplicate", "quarantined"):
                t.add_column(c, justify="right" if c in ("files", "stored", "duplicate", "quarantined") else "left")
            for r in runs[-20:]:
                t.add_row(
                    r.run_id,
                    r.committed,
                    f"{r.files:,}",
                    f"{r.stored:,}",
                    f"{r.duplicate:,}",
                    f"{r.quarantined:,}",
                )
            con.print(t)

    @store_app.command("quarantine")
    def store_quarantine_cmd(
        store: Annotated[Path, typer.Option("--store", "-s", help="Store folder.", show_default=False)],
        limit: Annotated[int, typer.Option("--limit", "-n", min=0, help="Entries shown (latest runs last).")] = 50,
        reason: Annotated[str | None, typer.Option("--reason", help="Only entries with this reason code.")] = None,
        json_out: Annotated[bool, typer.Option("--json", help="Print the entries as JSON on stdout.")] = False,
    ) -> None:
        """List quarantined records: where they came from, why, and the start of the raw record."""
        import polars as pl

        st = _open_existing(store)
        q = st.quarantine_frame()
        total = q.height
        if reason:
            q = q.filter(pl.col("reason") == reason)
        shown = q.head(limit)
        if json_out:
            sys.stdout.write(orjson.dumps(shown.to_dicts(), option=orjson.OPT_INDENT_2).decode() + "\n")
            return
        con = console()
        if total == 0:
            con.print("the quarantine is empty", markup=False)
            return
        counts = q.group_by("reason", "kind").len().sort(["len", "reason"], descending=[True, False])
        rt = Table(title="quarantine reasons")
        rt.add_column("reason")
        rt.add_column("kind")
        rt.add_column("entries", justify="right")
        for r, k, n in counts.iter_rows():
            rt.add_row(Text(clean_text(r)), Text(clean_text(k)), f"{n:,}")
        con.print(rt)
        t = Table(title=f"entries ({shown.height:,} of {q.height:,})")
        for c in ("source", "format", "reason", "message", "excerpt"):
            t.add_column(c, overflow="fold")
        for row in shown.iter_rows(named=True):
            where = clean_text(row["source_file"] or "-", 60)
            if row["source_offset"] is not None:
                where += f":{row['source_offset']}"
            t.add_row(
                Text(where),
                Text(clean_text(row["source_format"] or "-", 30)),
                Text(clean_text(row["reason"], 40)),
                Text(clean_text(row["message"] or "", 120)),
                Text(clean_text(row["excerpt"] or "", 80)),
            )
        con.print(t)


def _open_existing(store: Path) -> Store:
    from extractscan.store import StoreError

    if not (store / "manifest.json").is_file():
        fail(f"no store at {store}", EXIT_ERROR)
    try:
        return Store(store)
    except StoreError as e:
        fail(str(e), EXIT_ERROR)


def print_ingest_report(report: IngestReport, con: Console) -> None:
    """The human summary of an ingest run: counts per format, file problems, quarantine reasons."""
    t = Table(title=Text(f"ingest run {report.run_id} ({report.duration_s:.1f} s)"))
    t.add_column("format")
    for c in ("read", "stored", "duplicate", "quarantined", "(skipped)"):
        t.add_column(c, justify="right")
    for f in report.formats:
        t.add_row(
            Text(clean_text(f.format)),
            f"{f.read:,}",
            f"{f.stored:,}",
            f"{f.duplicate:,}",
            f"{f.quarantined:,}",
            f"{f.skipped:,}",
        )
    tot = report.totals
    t.add_section()
    t.add_row(
        "total",
        f"{tot.read:,}",
        f"{tot.stored:,}",
        f"{tot.duplicate:,}",
        f"{tot.quarantined:,}",
        f"{tot.skipped:,}",
        style="bold",
    )
    con.print(t)
    n_records = sum(f.records for f in report.files)
    con.print(Text(f"{len(report.files):,} file(s), {n_records:,} record(s) -> {clean_text(report.store)}"))
    problems = report.problems
    if problems:
        pt = Table(title=f"file problems ({len(problems):,})")
        pt.add_column("file", overflow="fold")
        pt.add_column("problem")
        pt.add_column("detail", overflow="fold")
        for path, p in problems[:_MAX_PROBLEMS_SHOWN]:
            pt.add_row(Text(clean_text(path, 120)), Text(clean_text(p.code)), Text(clean_text(p.message, 200)))
        con.print(pt)
        if len(problems) > _MAX_PROBLEMS_SHOWN:
            con.print(Text(f"... and {len(problems) - _MAX_PROBLEMS_SHOWN:,} more (see --json)"))
    if report.quarantine_reasons:
        rt = Table(title="top quarantine reasons")
        rt.add_column("reason")
        rt.add_column("kind")
        rt.add_column("records", justify="right")
        for r in report.quarantine_reasons[:_MAX_REASONS_SHOWN]:
            rt.add_row(Text(clean_text(r.reason)), r.kind, f"{r.count:,}")
        con.print(rt)
    if report.quarantine_path:
        con.print(
            Text(
                f"quarantine: {clean_text(report.quarantine_path)} "
                f"(list it with: extractscan store quarantine --store {clean_text(report.store)})"
            )
        )
