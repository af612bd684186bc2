"""Helpers shared by the command modules: consoles, config loading, error exits."""

from __future__ import annotations

import re
import sys
from enum import Enum
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from extractscan.config import Config, ConfigError, load_config


class Entity(str, Enum):
    """What a scan scores (``--entity``): the canonical identity columns."""

    account = "account"
    principal = "principal"
    api_key = "api_key"
    end_user = "end_user"


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


# Terminal escape sequences (CSI, OSC, other ESC sequences), C0/C1 controls, bidi overrides, zero-width
# and line/paragraph separators: log content is hostile and must not drive the terminal, nor reorder or
# hide what is shown, when printed (the same set as report/safe.py).
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


def clean_text(text: object, limit: int | None = None) -> str:
    """Log content made safe to print: escape sequences and control characters removed, newlines and
    tabs shown as spaces, cut to ``limit`` characters. Print it as ``rich.text.Text`` (or ``escape`` it)
    so that brackets are not read as rich markup."""
    s = "" if text is None else str(text)
    s = _ANSI.sub("", s)
    s = s.replace("\r\n", " ").replace("\n", " ").replace("\t", " ").replace("\r", " ")
    s = _CONTROL.sub("", s)
    if limit is not None and len(s) > limit:
        s = s[: max(0, limit - 1)] + "…"
    return s
