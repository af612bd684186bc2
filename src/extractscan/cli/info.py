"""Introspection commands: ``config``, ``detectors`` and ``formats``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from extractscan.cli._common import console, get_config
from extractscan.config import to_toml


def register(app: typer.Typer) -> None:
    @app.command("config")
    def config_cmd(
        config: Annotated[
            Path | None, typer.Option("--config", "-c", help="TOML configuration file to validate and show.")
        ] = None,
    ) -> None:
        """Print the effective configuration (defaults merged with --config) as TOML."""
        sys.stdout.write(to_toml(get_config(config)))

    @app.command("detectors")
    def detectors_cmd() -> None:
        """List the registered detectors: ID, name, weight and summary."""
        from extractscan.detectors.registry import detector_classes

        t = Table(title="detectors")
        for c in ("id", "name", "weight", "needs", "summary"):
            t.add_column(c)
        for cls in detector_classes():
            t.add_row(cls.id, cls.name, f"{cls.weight:g}", ", ".join(sorted(cls.requires)) or "-", cls.summary)
        console().print(t)

    @app.command("formats")
    def formats_cmd() -> None:
        """List the log formats ingest reads (auto-detected per file; force one with --format)."""
        from extractscan.ingest.registry import readers

        t = Table(title="formats")
        t.add_column("name")
        t.add_column("summary")
        for name, r in readers().items():
            t.add_row(name, r.summary)
        console().print(t)
