"""Progress bars for the long stages of a command (ingest, scan, synth), drawn by rich on stderr.

The library reports progress through plain callbacks -- ``progress(stage, done, total)`` from the scan
and a :class:`~extractscan.ingest.pipeline.ProgressEvent` from ingest -- and knows nothing about
terminals. This module turns those calls into one bar per stage. Bars are drawn only for a person
watching: never with ``--quiet``, when stderr is not a terminal (a pipe, a log file, a test runner) or
under CI (``CI=true``), so that machine output and logs stay free of redraw sequences.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from extractscan.cli._common import clean_text

if TYPE_CHECKING:
    from extractscan.ingest.pipeline import ProgressEvent

_FALSE = ("", "0", "false", "no", "off")


def in_ci() -> bool:
    """True under a CI runner (GitHub Actions, GitLab, most others set ``CI``)."""
    return os.environ.get("CI", "").strip().lower() not in _FALSE


def _amount(n: float, unit: str) -> str:
    if unit == "bytes":
        for suffix, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
            if n >= size:
                return f"{n / size:,.1f} {suffix}"
        return f"{n:,.0f} B"
    return f"{n:,.0f}"


class _CountColumn(ProgressColumn):
    """``done/total`` in the stage's unit (bytes shown as kB/MB/GB); ``done`` alone when the total is unknown."""

    def render(self, task: Task) -> Text:
        unit = str(task.fields.get("unit", ""))
        done = _amount(task.completed, unit)
        if task.total is None:
            return Text(done if task.completed else "")
        return Text(f"{done}/{_amount(task.total, unit)}")


class StageProgress:
    """A ``progress(stage, done, total)`` callback; a no-op when ``bar`` is None (progress not shown).

    Any stage name is accepted: the first call with a new name adds a bar for it, later calls move it.
    ``total`` None (or not positive) means an unknown total: the bar pulses and shows the count so far (or,
    once a total was given, keeps that total).
    """

    def __init__(self, bar: Progress | None) -> None:
        self._bar = bar
        self._tasks: dict[str, TaskID] = {}
        self._files_seen = 0

    @property
    def enabled(self) -> bool:
        return self._bar is not None

    def __call__(self, stage: str, done: float, total: float | None = None) -> None:
        self.update(stage, done, total)

    def update(self, stage: str, done: float, total: float | None = None, *, unit: str = "") -> None:
        if self._bar is None:
            return
        known = total if total is not None and total > 0 else None
        task = self._tasks.get(stage)
        if task is None:
            # stage names can come from a caller's code or a file name: never let them drive the terminal
            task = self._bar.add_task(clean_text(stage, 40), total=known, unit=unit)
            self._tasks[stage] = task
        self._bar.update(task, completed=max(0.0, float(done)), total=known)

    def ingest(self, event: ProgressEvent) -> None:
        """Adapter for ``ingest_paths(progress=...)``: bytes read of all input files, and files done."""
        if self._bar is None:
            return
        self.update("reading logs", event.bytes_done, event.bytes_total, unit="bytes")
        if event.files_total > 1 and (event.files_done != self._files_seen or event.phase == "start"):
            self._files_seen = event.files_done
            self.update("files", event.files_done, event.files_total)
        if event.phase == "commit":
            self.update("committing", 0, None)


def progress_enabled(quiet: bool, console: Console) -> bool:
    """Whether bars are shown: not quiet, stderr is an interactive terminal, not under CI."""
    return not quiet and console.is_terminal and not console.is_dumb_terminal and not in_ci()


@contextmanager
def stage_progress(quiet: bool = False, console: Console | None = None) -> Iterator[StageProgress]:
    """Yield a :class:`StageProgress` for the ``with`` block; the bars disappear when it ends."""
    con = console or Console(stderr=True, highlight=False)
    if not progress_enabled(quiet, con):
        yield StageProgress(None)
        return
    bar: Progress = Progress(
        TextColumn("{task.description:<14}"),
        BarColumn(),
        _CountColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=con,
        transient=True,
    )
    with bar:
        yield StageProgress(bar)


def ingest_callback(progress: StageProgress) -> Any:
    """What to pass as ``progress=`` to ``api.ingest`` / ``ingest_paths``: None when bars are off."""
    return progress.ingest if progress.enabled else None
