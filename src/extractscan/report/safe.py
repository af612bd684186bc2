"""Prompts are written by the attackers we hunt: make their text inert before it reaches a terminal,
a spreadsheet or a browser."""

from __future__ import annotations

import html
import re

# CSI / OSC / other escape sequences, then any remaining C0/C1 control character (tab and newline are
# replaced by a space: one finding is one line in a terminal table).
_ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


def terminal_text(s: object, limit: int | None = None) -> str:
    """Strip ANSI / control / bidi-override characters; optionally cut to ``limit`` characters."""
    text = "" if s is None else str(s)
    text = _ANSI.sub("", text)
    text = _CONTROL.sub(" ", text)
    if limit is not None and len(text) > limit:
        text = text[: max(0, limit - 1)] + "…"
    return text


_FORMULA_START = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def csv_cell(s: object) -> object:
    """Neutralise spreadsheet formulas: a text cell starting (after any whitespace, tab or CR) with
    = + - @ gets a leading apostrophe, and control characters are removed. Numbers and None pass through
    untouched."""
    if s is None or isinstance(s, bool | int | float):
        return s
    # Control characters (NUL, ESC, …) never help a spreadsheet reader; drop them like for a terminal.
    text = _CONTROL.sub(" ", _ANSI.sub("", str(s)))
    # Look past leading whitespace: a tab or CR prefix (now a space) or a no-break space must not hide a
    # formula from us when a spreadsheet trims it; full-width signs are included for IME-input locales.
    if text.lstrip()[:1] in _FORMULA_START:
        return "'" + text
    return text


def html_text(s: object) -> str:
    """Escape for HTML text and attribute context (quotes included)."""
    return html.escape("" if s is None else str(s), quote=True)
