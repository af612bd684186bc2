"""``extractscan synth``: write a seeded, labelled, simulated log set (see docs/synth.md)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from extractscan.cli._common import EXIT_USAGE, console, fail
from extractscan.cli._progress import stage_progress
from extractscan.synth import DEFAULT_FORMATS, FORMATS, SCALES, PoolError, SpecError, SynthSpec, generate
from extractscan.synth.generate import existing_outputs
from extractscan.synth.spec import COUNTED_KINDS


def _range_int(text: str, name: str) -> tuple[int, int]:
    try:
        lo, _, hi = text.partition("-")
        a, b = int(lo), int(hi or lo)
    except ValueError:
        fail(f"{name} must look like N or N-M, got {text!r}", EXIT_USAGE)
    return a, b


def _range_float(text: str, name: str) -> tuple[float, float]:
    try:
        lo, _, hi = text.partition("-")
        a, b = float(lo), float(hi or lo)
    except ValueError:
        fail(f"{name} must look like X or X-Y, got {text!r}", EXIT_USAGE)
    return a, b


def _accounts(text: str | None) -> dict[str, int] | None:
    if not text:
        return None
    out: dict[str, int] = {}
    for part in text.split(","):
        k, sep, v = part.partition("=")
        k = k.strip()
        if not sep or k not in COUNTED_KINDS:
            fail(
                f"--accounts takes KIND=N pairs with KIND in {', '.join(COUNTED_KINDS)}; got {part!r}",
                EXIT_USAGE,
            )
        try:
            out[k] = int(v)
        except ValueError:
            fail(f"--accounts: {v!r} is not an integer", EXIT_USAGE)
    return out


def synth(
    out: Annotated[Path, typer.Argument(help="Output directory (created if missing).")],
    seed: Annotated[int, typer.Option(help="Random seed: the same seed and options give byte-identical output.")] = 0,
    days: Annotated[int, typer.Option(help="Length of the simulated window in days.")] = 7,
    start: Annotated[str, typer.Option(help="First UTC day of the window (YYYY-MM-DD).")] = "2025-06-02",
    scale: Annotated[
        str,
        typer.Option(help=f"Population preset: {', '.join(SCALES)} (medium/large/xl: ~100k/1M/10M requests)."),
    ] = "small",
    requests: Annotated[int | None, typer.Option(help="Rescale the population to about this many requests in total.")] = None,
    formats: Annotated[
        str,
        typer.Option(help=f"Comma-separated log formats ({', '.join(FORMATS)}); openai_batch only when named."),
    ] = ",".join(DEFAULT_FORMATS),
    benign_pool: Annotated[
        Path | None,
        typer.Option(help="JSONL of benign prompts ('prompt', optional 'turns') for benign chats."),
    ] = None,
    extraction_pool: Annotated[
        Path | None, typer.Option(help="JSONL of prompts ('prompt') that the extraction kinds harvest.")
    ] = None,
    gzip: Annotated[bool, typer.Option("--gzip", help="Write .jsonl.gz files (Bedrock is always .json.gz).")] = False,
    accounts: Annotated[
        str | None,
        typer.Option(help="Account counts, e.g. 'benign_chat=60,extractor=3' (overrides the scale)."),
    ] = None,
    hydra_campaigns: Annotated[int | None, typer.Option(help="Number of hydra campaigns.")] = None,
    hydra_size: Annotated[str | None, typer.Option(help="Members per hydra campaign, N or N-M (default: the scale's).")] = None,
    hydra_requests: Annotated[
        str | None,
        typer.Option(help="Requests of one hydra member over the window, N-M (default: the scale's)."),
    ] = None,
    paraphrase_campaigns: Annotated[int | None, typer.Option(help="Number of paraphrase campaigns.")] = None,
    paraphrase_size: Annotated[str, typer.Option(help="Members per paraphrase campaign, N or N-M.")] = "3-6",
    diluted_share: Annotated[str, typer.Option(help="Extraction share of diluted accounts, X or X-Y (fractions).")] = "0.05-0.5",
    volume: Annotated[float | None, typer.Option(help="Multiplier of automated request rates (default: the scale's).")] = None,
    max_response_chars: Annotated[
        int, typer.Option(help="Response text is cut at this length; usage keeps the modelled tokens.")
    ] = 1500,
    release_day: Annotated[
        float | None, typer.Option(help="Day offset of the simulated model release (default: 40% in).")
    ] = None,
    workers: Annotated[int, typer.Option(help="Processes writing formats in parallel; 0 = automatic. Output is unchanged.")] = 0,
    force: Annotated[bool, typer.Option("--force", help="Replace synth output already in OUT.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary.")] = False,
) -> None:
    """Write a seeded, labelled, simulated LLM API log set: benign users, apps and benchmark runs next to
    single-account extractors, hydra and paraphrase campaigns and diluted accounts, in real log formats,
    with OUT/labels.csv and OUT/synth.json."""
    con = console(quiet)
    spec = SynthSpec(
        seed=seed,
        start=start,
        days=days,
        scale=scale,
        requests=requests,
        accounts=_accounts(accounts),
        volume=volume,
        hydra_campaigns=hydra_campaigns,
        hydra_size=_range_int(hydra_size, "--hydra-size") if hydra_size else None,
        hydra_member_requests=_range_int(hydra_requests, "--hydra-requests") if hydra_requests else None,
        paraphrase_campaigns=paraphrase_campaigns,
        paraphrase_size=_range_int(paraphrase_size, "--paraphrase-size"),
        diluted_share=_range_float(diluted_share, "--diluted-share"),
        formats=tuple(f.strip() for f in formats.split(",") if f.strip()),
        gzip=gzip,
        benign_pool=str(benign_pool) if benign_pool else None,
        extraction_pool=str(extraction_pool) if extraction_pool else None,
        max_response_chars=max_response_chars,
        release_day=release_day,
    )
    try:
        spec.validate()
    except SpecError as e:
        fail(str(e), EXIT_USAGE)
    if out.exists() and not force and out.is_dir() and existing_outputs(out):
        fail(f"{out} already holds synth output; use --force to replace it", EXIT_USAGE)
    if workers <= 0:
        big = (spec.effective_requests() or 0) >= 200_000
        workers = min(os.cpu_count() or 1, len(spec.formats), 6) if big else 1
    try:
        # generate() reports no steps: an open-ended bar shows that it is alive and for how long
        with stage_progress(quiet, con) as bar:
            bar("generating", 0, None)
            summary = generate(spec, out, overwrite=force, workers=workers)
    except (SpecError, PoolError) as e:
        fail(str(e), EXIT_USAGE)

    table = Table(title=f"synth -> {out}  (seed {seed}, {summary.window_start[:10]} .. {summary.window_end[:10]})")
    table.add_column("kind")
    table.add_column("accounts", justify="right")
    table.add_column("requests", justify="right")
    for k, n in summary.accounts_per_kind.items():
        table.add_row(k, str(n), str(summary.requests_per_kind[k]))
    con.print(table)
    fmt = Table()
    fmt.add_column("format")
    fmt.add_column("requests", justify="right")
    fmt.add_column("files", justify="right")
    fmt.add_column("MB", justify="right")
    for f, n in summary.requests_per_format.items():
        fmt.add_row(f, str(n), str(summary.files_per_format[f]), f"{summary.bytes_per_format[f] / 1e6:.1f}")
    con.print(fmt)
    con.print(
        f"{summary.total_accounts} accounts, {summary.total_requests} requests, "
        f"{summary.total_bytes / 1e6:.1f} MB; model release {summary.model_release['date']}; "
        f"labels in {out / 'labels.csv'}"
    )


def register(app: typer.Typer) -> None:
    app.command("synth")(synth)
