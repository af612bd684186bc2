"""Progress bars: drawn for a person at a terminal, never into pipes, logs, CI or with --quiet."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.progress import Progress
from typer.testing import CliRunner

from extractscan.cli import app
from extractscan.cli._progress import StageProgress, ingest_callback, progress_enabled, stage_progress
from extractscan.ingest.pipeline import ProgressEvent

ROOT = Path(__file__).resolve().parents[2]
LOGS = ROOT / "sample_logs" / "envelope"  # one format of the sample: enough for a real ingest + scan

# Progress bars end with "erase line" / "cursor up" sequences; rich emits them only for live displays.
LIVE = ("\x1b[2K", "\x1b[1A", "\x1b[?25l")


@pytest.fixture(autouse=True)
def _not_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    # CI=true switches the bars off; the tests decide for themselves where they want that
    for var in ("CI", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "FORCE_COLOR", "TERM"):
        monkeypatch.delenv(var, raising=False)


def _bar() -> tuple[Progress, io.StringIO]:
    buf = io.StringIO()
    con = Console(file=buf, force_terminal=True, width=120)
    return Progress(console=con, auto_refresh=False), buf


def test_any_stage_name_gets_its_own_bar() -> None:
    bar, _ = _bar()
    cb = StageProgress(bar)
    cb("partitions", 1, 4)
    cb("embed", 10, 200)
    cb("partitions", 3, 4)
    cb("link \x1b[31mred", 0, None)  # unknown total, hostile name
    tasks = {t.description: t for t in bar.tasks}
    assert set(tasks) == {"partitions", "embed", "link red"}
    assert (tasks["partitions"].completed, tasks["partitions"].total) == (3, 4)
    assert (tasks["embed"].completed, tasks["embed"].total) == (10, 200)
    assert tasks["link red"].total is None
    cb("embed", 150, 0)  # a zero total means "unknown": the known total stays, no division by zero
    assert (tasks["embed"].completed, tasks["embed"].total) == (150, 200)
    cb("fresh", 5, 0)
    assert {t.description: t for t in bar.tasks}["fresh"].total is None
    bar.refresh()  # renders every column without error, unknown totals included


def test_ingest_events_become_bytes_and_files() -> None:
    bar, _ = _bar()
    cb = StageProgress(bar)
    total = 3_000_000
    for phase, files_done, done in (("start", 0, 0), ("bytes", 0, 1_000_000), ("file", 1, 1_500_000), ("commit", 2, total)):
        cb.ingest(ProgressEvent(phase, None, files_done, 2, done, total))
    tasks = {t.description: t for t in bar.tasks}
    assert tasks["reading logs"].completed == total and tasks["reading logs"].total == total
    assert tasks["reading logs"].fields["unit"] == "bytes"
    assert (tasks["files"].completed, tasks["files"].total) == (2, 2)
    assert "committing" in tasks
    bar.refresh()
    assert ingest_callback(cb) == cb.ingest


def test_disabled_callback_is_a_no_op() -> None:
    cb = StageProgress(None)
    assert not cb.enabled
    cb("partitions", 1, 2)
    cb.ingest(ProgressEvent("start", None, 0, 1, 0, 10))
    assert ingest_callback(cb) is None  # the pipeline then skips progress bookkeeping altogether


def test_when_bars_are_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    tty = Console(file=io.StringIO(), force_terminal=True)
    pipe = Console(file=io.StringIO())
    assert progress_enabled(False, tty)
    assert not progress_enabled(True, tty)  # --quiet
    assert not progress_enabled(False, pipe)  # redirected to a file or a pipe
    monkeypatch.setenv("CI", "true")
    assert not progress_enabled(False, tty)
    monkeypatch.setenv("CI", "false")
    assert progress_enabled(False, tty)


def test_stage_progress_draws_on_a_terminal_only() -> None:
    buf = io.StringIO()
    with stage_progress(False, Console(file=buf, force_terminal=True, width=100)) as cb:
        assert cb.enabled
        cb("partitions", 1, 2)
    assert "partitions" in buf.getvalue()
    buf = io.StringIO()
    with stage_progress(False, Console(file=buf, width=100)) as cb:
        assert not cb.enabled
        cb("partitions", 1, 2)
    assert buf.getvalue() == ""


# ------------------------------------------------------------------------------------------ the CLI


def _run(args: list[str], **env: str) -> Any:
    runner = CliRunner(env={"COLUMNS": "120", "HF_HUB_OFFLINE": "1", **env})
    return runner.invoke(app, args)


def test_cli_not_a_terminal_no_progress(tmp_path: Path) -> None:
    res = _run(["ingest", str(LOGS), "--store", str(tmp_path / "store")])
    assert res.exit_code == 0, res.output
    res = _run(["scan", "--store", str(tmp_path / "store"), "--out", str(tmp_path / "out"), "--no-embed"])
    assert res.exit_code == 0, res.output
    for seq in LIVE:
        assert seq not in res.output
    assert "partitions" not in res.output and "reading logs" not in res.output
    assert "results written to" in res.output  # the summary itself is still printed


def test_cli_terminal_shows_progress_unless_quiet_or_ci(tmp_path: Path) -> None:
    # TTY_COMPATIBLE=1 makes rich treat the test runner's stderr as a terminal
    args = ["scan", str(LOGS), "--out", str(tmp_path / "out"), "--no-embed"]
    res = _run(args, TTY_COMPATIBLE="1")
    assert res.exit_code == 0, res.output
    assert "reading logs" in res.output and "partitions" in res.output
    assert any(seq in res.output for seq in LIVE)

    for extra_args, env in ((["--quiet"], {}), ([], {"CI": "true"})):
        res = _run([*args, *extra_args], TTY_COMPATIBLE="1", **env)
        assert res.exit_code == 0, res.output
        assert "partitions" not in res.output and "reading logs" not in res.output, (extra_args, env)
        assert not any(seq in res.output for seq in LIVE), (extra_args, env)


def test_cli_ingest_progress_on_terminal(tmp_path: Path) -> None:
    res = _run(["ingest", str(LOGS), "--store", str(tmp_path / "s")], TTY_COMPATIBLE="1")
    assert res.exit_code == 0, res.output
    assert "reading logs" in res.output
    res = _run(["ingest", str(LOGS), "--store", str(tmp_path / "s2"), "--json"], TTY_COMPATIBLE="1")
    assert res.exit_code == 0
    assert "reading logs" not in res.output  # --json: stdout is for the machine, and so is the run
