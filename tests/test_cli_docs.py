"""docs/cli.md documents every command and option of the CLI, and stays current."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer
from typer.testing import CliRunner

from extractscan import clidoc
from extractscan.cli import app

CLI_MD = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def _sections(text: str) -> dict[str, str]:
    parts = re.split(r"^## `(extractscan[^`]*)`$", text, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def test_cli_md_is_current() -> None:
    assert CLI_MD.read_text(encoding="utf-8") == clidoc.cli_md(), "docs/cli.md is stale: run `python -m extractscan.clidoc`"


def test_every_command_and_option_has_help() -> None:
    assert clidoc.undocumented() == [], "give these a help string (docstring / help=...)"


def test_every_command_and_option_is_in_cli_md() -> None:
    """Checked against the app's own --help, independently of how clidoc walks the commands."""
    sections = _sections(CLI_MD.read_text(encoding="utf-8"))
    runner = CliRunner(env={"COLUMNS": "250", "NO_COLOR": "1"})
    names = [c.name for c in app.registered_commands] + [g.name for g in app.registered_groups]
    assert len(names) >= 8
    paths: list[list[str]] = [[n] for n in names if n]
    for g in app.registered_groups:
        assert g.typer_instance is not None
        paths += [[g.name or "", c.name or ""] for c in g.typer_instance.registered_commands]
    seen = 0
    for path in paths:
        key = "extractscan " + " ".join(path)
        assert key in sections, f"{key} has no section in docs/cli.md"
        res = runner.invoke(app, [*path, "--help"])
        assert res.exit_code == 0, res.output
        # option rows of the help screen start with the option (after the box edge and a required star)
        options = set(re.findall(r"^[│|]?\s*\*?\s*(--[a-z][a-z0-9-]*)", res.output, flags=re.M)) - {"--help"}
        seen += len(options)
        missing = sorted(o for o in options if f"`{o}" not in sections[key] and f", {o}" not in sections[key])
        assert not missing, f"{key}: options missing from docs/cli.md: {missing}"
    assert seen > 40, "the --help screens were not parsed"


def test_exit_codes_documented() -> None:
    text = CLI_MD.read_text(encoding="utf-8")
    table = text.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    for code, word in ((0, "success"), (1, "error"), (2, "usage"), (3, "findings")):
        assert re.search(rf"^\| {code} \| {word}", table, flags=re.M), (code, word)


def test_undocumented_option_is_caught() -> None:
    """The check itself works: an option or command without help is reported by name."""
    toy = typer.Typer(help="A toy CLI.")

    @toy.command("documented")
    def documented(x: Annotated[int, typer.Option(help="An x.")] = 1) -> None:
        """Has help."""

    @toy.command("bare")
    def bare(y: Annotated[int, typer.Option("--why")] = 2, path: Annotated[str, typer.Argument()] = ".") -> None:
        pass

    assert sorted(clidoc.undocumented(toy)) == ["extractscan bare", "extractscan bare --why", "extractscan bare PATH"]
    doc = "\n".join(c.path for c in clidoc.commands(toy))
    assert "extractscan documented" in doc and "extractscan bare" in doc


def test_defaults_and_choices_rendered() -> None:
    scan = _sections(clidoc.cli_md())["extractscan scan"]
    assert "| `--out, -o` | `PATH` | `extractscan-out` |" in scan
    assert "| `--entity` | `account\\|principal\\|api_key\\|end_user` | `account` |" in scan
    assert "| `--fail-above` | `FLOAT` |  |" in scan
    assert "| `--quiet, -q` | flag |  |" in scan
    assert "```\nextractscan scan [OPTIONS] [PATHS]...\n```" in scan


def test_main_check_mode(tmp_path: Path) -> None:
    out = tmp_path / "cli.md"
    assert clidoc.main([str(out), "--check"]) == 1  # missing = stale
    assert clidoc.main([str(out)]) == 0
    assert clidoc.main([str(out), "--check"]) == 0
    out.write_text("old", encoding="utf-8")
    assert clidoc.main([str(out), "--check"]) == 1
