"""docs/cli.md, the command-line reference, generated from the typer app itself: every command and
subcommand, its usage line, arguments and options with their help and defaults, and the exit codes.

``python -m extractscan.clidoc`` rewrites it (``--check`` only compares); tests/test_cli_docs.py fails
when the committed file is stale or when a command, argument or option has no help text, so a new
command or option cannot ship undocumented.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import typer

from extractscan.cli._common import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, EXIT_USAGE

EXIT_CODES: tuple[tuple[int, str], ...] = (
    (EXIT_OK, "success (for `scan --fail-above`: nothing scored at or above the threshold)"),
    (EXIT_ERROR, "error: the command could not do its work (unreadable input, no store, a failed write)"),
    (EXIT_USAGE, "usage error: a bad command line (unknown command or option, bad value) or configuration file"),
    (EXIT_FINDINGS, "findings: `scan --fail-above X` and some account scored at or above X"),
)


@dataclass(frozen=True)
class Param:
    """One argument or option of a command, as documented."""

    kind: str  # "argument" / "option"
    names: str  # "--out, -o" or "PATHS"
    metavar: str  # "PATH", "[account|principal]", "" for flags
    default: str  # shown default, "" when none
    required: bool
    help: str


@dataclass(frozen=True)
class Command:
    path: str  # "extractscan store info"
    help: str
    usage: str
    params: tuple[Param, ...]
    subcommands: tuple[str, ...]  # for a group: its commands' names


def _root(app: typer.Typer | None = None) -> Any:
    if app is None:
        from extractscan.cli import app as main_app

        app = main_app
    return typer.main.get_command(app)


# typer builds its commands on its own vendored click: they are read by duck typing (params, commands,
# opts, help), not by isinstance checks against the click package.


def _is_flag(p: Any) -> bool:
    return bool(getattr(p, "is_flag", False))


def _default(p: Any) -> str:
    d = p.default
    if _is_flag(p) and not p.secondary_opts:
        return ""  # a plain flag is off unless given
    if d is None or callable(d) or d in ((), []) or getattr(p, "show_default", True) is False:
        return ""
    if isinstance(d, bool) and p.secondary_opts:
        return p.opts[0] if d else p.secondary_opts[0]
    if isinstance(d, list | tuple):
        return " ".join(str(x.value if isinstance(x, Enum) else x) for x in d)
    return str(d.value if isinstance(d, Enum) else d)


def _metavar(p: Any, ctx: Any) -> str:
    if _is_flag(p):
        return ""
    shown = str(p.display_type(ctx) if callable(getattr(p, "display_type", None)) else "").strip("<>")
    if "|" in shown:  # a choice: the values as typed
        return shown
    repeat = getattr(p, "multiple", False)
    if repeat and shown.startswith("list[") and shown.endswith("]"):
        shown = shown[5:-1]
    return shown.upper() + (" (repeatable)" if repeat else "")


def _param(p: Any, ctx: Any) -> Param:
    if p.param_type_name == "option":
        names = ", ".join([*p.opts, *p.secondary_opts])
        kind = "option"
    else:
        names = (p.metavar or p.name or "").upper() + ("..." if p.nargs == -1 else "")
        kind = "argument"
    text = (p.help or "").strip()
    if p.envvar and getattr(p, "show_envvar", False):
        text += f" (env: `{p.envvar}`)"
    return Param(kind, names, _metavar(p, ctx) if kind == "option" else "", _default(p), bool(p.required), text)


def _walk(cmd: Any, path: str, parent: Any) -> Iterator[Command]:
    ctx = cmd.context_class(cmd, info_name=path.split(" ")[-1], parent=parent)
    pieces = [x.upper() for x in cmd.collect_usage_pieces(ctx)]  # as --help shows it: {REQUIRED} [OPTIONAL]...
    params = tuple(_param(p, ctx) for p in cmd.get_params(ctx) if p.name != "help")
    group = getattr(cmd, "commands", None)
    subs = tuple(sorted(n for n, c in group.items() if not c.hidden)) if group is not None else ()
    yield Command(path=path, help=inspect_help(cmd), usage=" ".join([path, *pieces]), params=params, subcommands=subs)
    for name in subs:
        yield from _walk(group[name], f"{path} {name}", ctx)  # type: ignore[index]


def inspect_help(cmd: Any) -> str:
    """The command's help text without typer's trailing form feed section."""
    text = (cmd.help or "").split("\f")[0]
    return re.sub(r"[ \t]+\n", "\n", text).strip()


def commands(app: typer.Typer | None = None) -> list[Command]:
    """Every command of the CLI (``app``, default extractscan's), the root first, then depth-first in name order."""
    return list(_walk(_root(app), "extractscan", None))


def undocumented(app: typer.Typer | None = None) -> list[str]:
    """Commands, arguments and options without help text (what the docs test rejects)."""
    missing = []
    for c in commands(app):
        if not c.help:
            missing.append(c.path)
        missing += [f"{c.path} {p.names}" for p in c.params if not p.help]
    return missing


def _cell(s: str) -> str:
    """Help text for a Markdown table cell: one line, pipes escaped."""
    return " ".join(s.split()).replace("|", "\\|")


def _anchor(path: str) -> str:
    return path.replace(" ", "-")


def cli_md() -> str:
    cmds = commands()
    root, rest = cmds[0], cmds[1:]
    lines = [
        "# Command-line reference",
        "",
        "Every `extractscan` command with its arguments, options and defaults. Generated from the CLI itself by",
        "`python -m extractscan.clidoc`; a test fails when it is stale or when an option has no help text. Worked",
        "examples are in [guide.md](guide.md) and the persona guides: [nightly analyst](guide-analyst.md),",
        "[incident responder](guide-responder.md), [CI job](guide-ci.md).",
        "",
        root.help,
        "",
        "## Exit codes",
        "",
        "Every command exits with one of these codes (shell scripts and CI jobs can rely on them):",
        "",
        "| code | meaning |",
        "|---|---|",
        *[f"| {code} | {meaning} |" for code, meaning in EXIT_CODES],
        "",
        "## Commands",
        "",
    ]
    for c in rest:
        depth = c.path.count(" ") - 1
        first = c.help.split("\n\n")[0]
        lines.append(f"{'  ' * depth}- [`{c.path}`](#{_anchor(c.path)}) — {_cell(first)}")
    for c in rest:
        lines += ["", f"## `{c.path}`", "", c.help, "", "```", c.usage, "```"]
        if c.subcommands:
            lines += ["", "Subcommands: " + ", ".join(f"[`{s}`](#{_anchor(f'{c.path} {s}')})" for s in c.subcommands) + "."]
        args = [p for p in c.params if p.kind == "argument"]
        opts = [p for p in c.params if p.kind == "option"]
        if args:
            lines += ["", "| argument | required | description |", "|---|---|---|"]
            lines += [f"| `{p.names}` | {'yes' if p.required else 'no'} | {_cell(p.help)} |" for p in args]
        if opts:
            lines += ["", "| option | value | default | description |", "|---|---|---|---|"]
            for p in opts:
                value = f"`{_cell(p.metavar)}`" if p.metavar else "flag"
                default = f"`{_cell(p.default)}`" if p.default else ("**required**" if p.required else "")
                lines.append(f"| `{p.names}` | {value} | {default} | {_cell(p.help)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in args
    args = [a for a in args if a != "--check"]
    path = Path(args[0]) if args else Path("docs") / "cli.md"
    text = cli_md()
    missing = undocumented()
    if missing:
        print("without help text: " + ", ".join(missing), file=sys.stderr)
    if check:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            print(f"{path} is stale: run `python -m extractscan.clidoc`", file=sys.stderr)
            return 1
        return 1 if missing else 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
