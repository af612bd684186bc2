"""``extractscan investigate ID --store STORE``: the one-tenant deep dive (terminal, JSON or HTML) and the
evidence bundle for an incident ticket (``--bundle DIR``)."""

from __future__ import annotations

import dataclasses
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from extractscan.cli._common import EXIT_USAGE, Entity, console, fail, get_config


class Format(str, Enum):
    terminal = "terminal"
    json = "json"
    html = "html"


def register(app: typer.Typer) -> None:
    @app.command("investigate")
    def investigate_cmd(
        entity_id: Annotated[str, typer.Argument(metavar="ID", help="The account (or --entity) to investigate.")],
        store: Annotated[
            Path | None,
            typer.Option("--store", help="The store holding the requests (default: SCAN/store when --scan is given)."),
        ] = None,
        scan: Annotated[
            Path | None,
            typer.Option(
                "--scan",
                help="A previous scan's output folder (or its report.json): take the finding from it instead of scanning.",
            ),
        ] = None,
        entity: Annotated[Entity, typer.Option("--entity", help="What ID names.")] = Entity.account,
        since: Annotated[
            str | None, typer.Option("--since", help="Only requests at or after this ISO time (UTC if no zone).")
        ] = None,
        until: Annotated[str | None, typer.Option("--until", help="Only requests before this ISO time.")] = None,
        config: Annotated[Path | None, typer.Option("--config", "-c", help="TOML configuration file.")] = None,
        no_embed: Annotated[
            bool,
            typer.Option("--no-embed", help="When scanning: skip sentence embeddings (faster; embedding detectors skipped)."),
        ] = False,
        fmt: Annotated[Format, typer.Option("--format", "-f", help="terminal, json or html.")] = Format.terminal,
        output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the output to FILE instead of stdout.")] = None,
        bundle: Annotated[
            Path | None,
            typer.Option(
                "--bundle",
                help="Also write an evidence bundle to DIR: investigation.json, requests.parquet, investigation.html, "
                "indicators.json.",
            ),
        ] = None,
        include_accounts: Annotated[
            bool, typer.Option("--include-accounts", help="Name the campaign's accounts in the bundle's indicators.json.")
        ] = False,
        redact: Annotated[
            bool,
            typer.Option(
                "--redact",
                help="Hash identifiers and mask prompt text in every output (key: $EXTRACTSCAN_REDACT_SALT, else random).",
            ),
        ] = False,
        top: Annotated[int, typer.Option("--top", min=1, help="Templates, clusters and linked entities shown.")] = 10,
        examples: Annotated[int, typer.Option("--examples", min=0, help="Example prompts per template.")] = 3,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or notes on stderr.")] = False,
    ) -> None:
        """Investigate one account: timeline, parameters, templates, clusters, detector evidence, linked
        accounts and edges; optionally an evidence bundle for an incident ticket."""
        from extractscan.cli._progress import stage_progress
        from extractscan.investigate import (
            InvestigateError,
            UnknownEntity,
            investigate_with_inputs,
            redact_investigation,
            render_json,
            render_terminal,
            write_bundle,
        )
        from extractscan.report.investigation_html import render as render_html

        cfg = get_config(config)
        if no_embed:
            cfg = cfg.replace(embed=dataclasses.replace(cfg.embed, enabled=False))
        con = console(quiet=quiet)
        if store is None:
            if scan is None or not (scan if scan.is_dir() else scan.parent).joinpath("store").is_dir():
                fail("give --store STORE (or --scan OUT of a scan that has OUT/store)", EXIT_USAGE)
            store = (scan if scan.is_dir() else scan.parent) / "store"
        salt = None
        if redact:
            from extractscan.redact import SALT_ENV, resolve_salt

            salt, stable = resolve_salt(None)
            if not stable:
                con.print(f"note: ${SALT_ENV} is not set: the hashes are random for this run", markup=False)
        if scan is None:
            con.print(f"scanning {store} for population-relative scores (give --scan OUT to reuse a scan)", markup=False)
        try:
            with stage_progress(quiet or fmt is not Format.terminal or output is not None) as progress:
                inv, inputs = investigate_with_inputs(
                    store,
                    entity_id,
                    cfg,
                    scan_out=scan,
                    entity=entity.value,
                    since=since,
                    until=until,
                    top=top,
                    examples=examples,
                    progress=progress,
                )
        except UnknownEntity as e:
            fail(str(e))
        except InvestigateError as e:
            fail(str(e))
        written: list[Path] = []
        if bundle is not None:
            try:
                written = write_bundle(inv, inputs, store, bundle, salt=salt, include_accounts=include_accounts)
            except OSError as e:
                fail(f"cannot write the bundle to {bundle}: {e}")
        shown = redact_investigation(inv, inputs.result, salt) if salt is not None else inv
        if fmt is Format.terminal and output is None:
            from rich.console import Console

            out_con = Console(highlight=False)
            for part in render_terminal(shown, top=top):
                out_con.print(part)
        else:
            from extractscan.investigate import render_text

            text = {
                Format.json: lambda: render_json(shown),
                Format.html: lambda: render_html(shown, examples=examples),
                Format.terminal: lambda: render_text(shown, top=top),
            }[fmt]()
            if output is None:
                sys.stdout.write(text)
                sys.stdout.flush()
            else:
                try:
                    output.parent.mkdir(parents=True, exist_ok=True)
                    output.write_text(text, encoding="utf-8")
                except OSError as e:
                    fail(f"cannot write {output}: {e}")
        if written:
            con.print(f"bundle written to {bundle}: " + ", ".join(p.name for p in written), markup=False)
