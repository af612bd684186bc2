"""Helpers shared by the command modules: consoles, config loading, error exits."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from extractscan.config import Config, ConfigError, load_config

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_FINDINGS = 3


def console(quiet: bool = False) -> Console:
    """Human output goes to stderr when stdout carries machine output; quiet silences it."""
    return Console(stderr=True, quiet=quiet, highlight=False, soft_wrap=True)


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    Console(stderr=True, highlight=False).print(f"[bold red]error:[/] {escape(message)}", markup=True)
    raise typer.Exit(code)


def get_config(path: Path | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as e:
        fail(str(e), EXIT_USAGE)


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()
