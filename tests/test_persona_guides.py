"""The persona guides (docs/guide-analyst.md, guide-responder.md, guide-ci.md) run as written.

Fast: every ``extractscan ...`` command in their ```bash blocks names a real command, and its options
and values parse (typer's own parser, so an unknown option, a bad choice or a non-number fails).
Slow: each guide's bash blocks run in order, with ``bash -e``, from a scratch folder that holds
``sample_logs/`` -- exactly what a reader pasting them from the repository root would do.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from extractscan.cli import app

ROOT = Path(__file__).resolve().parents[1]
GUIDES = ("guide-analyst.md", "guide-responder.md", "guide-ci.md")
_OPERATORS = {"|", "||", "&&", ";", "&", "(", ")", ";;", "|&"}
_REDIRECTS = {">", ">>", "<", "&>", ">|"}


def bash_blocks(text: str) -> list[str]:
    return re.findall(r"^```bash\n(.*?)^```", text, flags=re.M | re.S)


def commands(block: str) -> list[list[str]]:
    """The argument lists of the ``extractscan`` invocations in a bash block (shell syntax removed)."""
    joined = block.replace("\\\n", " ")
    found = []
    for line in joined.splitlines():
        line = re.sub(r"(^|\s)\d?>&\d\b", " ", line)  # 2>&1: no file name follows
        line = re.sub(r"(^|\s)\d(>>?|<)", r"\1\2", line)  # 2> file: the file is skipped below
        lex = shlex.shlex(line, posix=True, punctuation_chars=True)
        lex.whitespace_split = True
        lex.commenters = "#"
        try:
            tokens = list(lex)
        except ValueError:  # not shell (a heredoc's TOML or Python): only an extractscan line must parse
            if re.search(r"(^|[\s;|&(])extractscan\s", line):
                raise
            continue
        segment: list[str] = []
        skip_next = False
        for tok in [*tokens, ";"]:
            if skip_next:
                skip_next = False
                continue
            if tok in _OPERATORS:
                if segment[:1] == ["extractscan"]:
                    found.append(segment[1:])
                segment = []
            elif tok in _REDIRECTS:
                skip_next = True
            elif segment or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", tok):  # leading VAR=value
                segment.append(tok)
    return found


def _guide_commands(name: str) -> list[list[str]]:
    text = (ROOT / "docs" / name).read_text(encoding="utf-8")
    return [c for b in bash_blocks(text) for c in commands(b)]


def _parse(args: list[str]) -> Any:
    """Parse ``args`` the way the CLI would, without running anything; returns the command's context."""
    cmd: Any = typer.main.get_command(app)
    ctx = cmd.context_class(cmd, info_name="extractscan")
    rest = list(args)
    while getattr(cmd, "commands", None) is not None:
        assert rest, "a command group needs a subcommand"
        name = rest.pop(0)
        assert name in cmd.commands, f"no command {name!r}"
        cmd = cmd.commands[name]
        ctx = cmd.context_class(cmd, info_name=name, parent=ctx)
    return cmd.make_context(ctx.info_name, rest, parent=ctx.parent)


def test_command_extraction() -> None:
    block = (
        "mkdir -p out  # make room\n"
        "extractscan scan sample_logs/ --out out/a \\\n  --no-embed --quiet > out/a.json || test $? -eq 3\n"
        "HF_HUB_OFFLINE=1 extractscan report out/a/report.json -f md | head -5\n"
        "echo done; extractscan store info --store out/a/store 2>&1\n"
    )
    assert commands(block) == [
        ["scan", "sample_logs/", "--out", "out/a", "--no-embed", "--quiet"],
        ["report", "out/a/report.json", "-f", "md"],
        ["store", "info", "--store", "out/a/store"],
    ]


def test_parser_rejects_bad_commands() -> None:
    for bad in (["scan", "--no-such-option"], ["scan", "--format", "pdf"], ["scan", "--fail-above", "high"], ["nope"]):
        with pytest.raises((AssertionError, Exception)):
            _parse(bad)
    _parse(["scan", "sample_logs/", "--out", "out/x", "--fail-above", "0.9"])


@pytest.mark.parametrize("guide", GUIDES)
def test_guide_commands_parse(guide: str) -> None:
    cmds = _guide_commands(guide)
    assert len(cmds) >= 4, f"docs/{guide} shows too few extractscan commands"
    for args in cmds:
        try:
            _parse(args)
        except Exception as e:  # typer's UsageError / BadParameter, or our assertions
            raise AssertionError(f"docs/{guide}: `extractscan {shlex.join(args)}` does not parse: {e}") from e


def test_guides_are_linked() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    guide = (ROOT / "docs" / "guide.md").read_text(encoding="utf-8")
    for name in GUIDES:
        assert f"docs/{name}" in readme, f"README.md does not link docs/{name}"
        assert f"({name})" in guide, f"docs/guide.md does not link {name}"


@pytest.mark.slow
@pytest.mark.parametrize("guide", GUIDES)
def test_guide_runs_as_written(guide: str, tmp_path: Path) -> None:
    """Every bash block of the guide, in order, in one ``bash -e -o pipefail`` session."""
    text = (ROOT / "docs" / guide).read_text(encoding="utf-8")
    script = "\n".join(bash_blocks(text))
    (tmp_path / "sample_logs").symlink_to(ROOT / "sample_logs")
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "COLUMNS": "160",
    }
    res = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert res.returncode == 0, f"docs/{guide} failed (exit {res.returncode}):\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
