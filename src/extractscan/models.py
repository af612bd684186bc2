"""Typed, immutable records passed between stages and written to reports.

Ingest records come first; the records of later stages follow.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

# --------------------------------------------------------------------------------------------------
# Ingest


@dataclass(frozen=True)
class FormatCounts:
    """What happened to the items of one source format (or of all of them, for totals).

    An *item* is a canonical row or a rejected record: an input record usually gives one item, a
    container record (a CloudWatch envelope, a batch file) may give several. Always
    ``read == stored + duplicate + quarantined``; ``skipped`` (valid records that are not model calls)
    is the part of ``quarantined`` that is not an error. ``records`` counts the raw input records.
    """

    format: str
    records: int = 0
    read: int = 0
    stored: int = 0
    duplicate: int = 0
    quarantined: int = 0
    skipped: int = 0

    @property
    def balanced(self) -> bool:
        return self.read == self.stored + self.duplicate + self.quarantined

    def __add__(self, other: FormatCounts) -> FormatCounts:
        return FormatCounts(
            format=self.format,
            records=self.records + other.records,
            read=self.read + other.read,
            stored=self.stored + other.stored,
            duplicate=self.duplicate + other.duplicate,
            quarantined=self.quarantined + other.quarantined,
            skipped=self.skipped + other.skipped,
        )


@dataclass(frozen=True)
class FileProblem:
    """A file-level problem: ``empty_file``, ``unreadable_file``, ``unknown_format``,
    ``duplicate_file``, ``truncated_compressed_stream``, ``corrupt_compressed_stream``, ``read_error``,
    ``truncated_json``, ``invalid_parquet``."""

    code: str
    message: str


@dataclass(frozen=True)
class FileReport:
    """One input file of a run. ``status``: ``ingested``, ``duplicate_file`` (same content already in
    the store: skipped, its items counted as duplicates), ``empty`` or ``unreadable``."""

    path: str
    status: str
    format: str | None = None
    container: str | None = None
    compression: str | None = None
    size: int = 0
    sha256: str | None = None
    records: int = 0
    read: int = 0
    stored: int = 0
    duplicate: int = 0
    quarantined: int = 0
    skipped: int = 0
    problems: tuple[FileProblem, ...] = ()


@dataclass(frozen=True)
class ReasonCount:
    reason: str
    kind: str  # "error" or "skipped"
    count: int


@dataclass(frozen=True)
class IngestReport:
    """The outcome of one ``ingest`` run. ``formats`` is sorted by format name; ``quarantine_reasons``
    by count (descending)."""

    run_id: str
    store: str
    formats: tuple[FormatCounts, ...]
    totals: FormatCounts
    files: tuple[FileReport, ...]
    quarantine_reasons: tuple[ReasonCount, ...] = ()
    quarantine_path: str | None = None
    duration_s: float = 0.0

    @property
    def problems(self) -> list[tuple[str, FileProblem]]:
        """(file path, problem) for every file-level problem, in file order."""
        return [(f.path, p) for f in self.files for p in f.problems]

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["problems"] = [{"path": path, **dataclasses.asdict(p)} for path, p in self.problems]
        return d
