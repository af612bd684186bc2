"""``extractscan evaluate``: measure a scan result against labels."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.console import Console
from rich.table import Table

from extractscan.cli._common import fail, get_config


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def register(app: typer.Typer) -> None:
    @app.command("evaluate")
    def evaluate_cmd(
        out: Annotated[Path, typer.Argument(help="A scan output folder (with accounts.parquet).")],
        labels: Annotated[
            Path,
            typer.Option("--labels", "-l", help="labels.csv: account_id, kind, campaign_id[, extraction_share]."),
        ],
        as_json: Annotated[bool, typer.Option("--json", help="Print the evaluation as JSON on stdout.")] = False,
        diluted_min_share: Annotated[
            float,
            typer.Option(help="Diluted accounts at or above this extraction share count for the diluted recall."),
        ] = 0.10,
        store: Annotated[
            Path | None,
            typer.Option(
                "--store",
                help="Also measure queries-until-flagged: re-scan growing time prefixes of this store.",
            ),
        ] = None,
        steps: Annotated[int, typer.Option("--steps", min=1, help="Time prefixes for queries-until-flagged.")] = 6,
        config: Annotated[Path | None, typer.Option("--config", "-c", help="TOML configuration for the re-scans.")] = None,
        no_embed: Annotated[bool, typer.Option("--no-embed", help="Re-scan without sentence embeddings.")] = False,
    ) -> None:
        """AUROC, average precision, TPR/FPR of `flagged`, recall per kind and campaign linking quality."""
        acc_path = out / "accounts.parquet"
        if not acc_path.exists():
            fail(f"no accounts.parquet in {out} (run `extractscan scan` first)")
        if not labels.exists():
            fail(f"no such labels file: {labels}")
        # Imported here: evaluate.py pulls in scipy.stats, which every other command would pay for at start-up.
        from extractscan.evaluate import evaluate, load_labels, queries_until_flagged

        lab = load_labels(labels)
        ev = evaluate(pl.read_parquet(acc_path), lab, diluted_min_share=diluted_min_share)
        if store is not None:
            if not store.exists():
                fail(f"no store at {store}")
            cfg = get_config(config)
            if no_embed:
                cfg = cfg.replace(embed=dataclasses.replace(cfg.embed, enabled=False))
            qtf = queries_until_flagged(store, lab, cfg, steps=steps)
            ev = dataclasses.replace(ev, queries_until_flagged=dataclasses.asdict(qtf))
        (out / "evaluation.json").write_text(json.dumps(ev.to_dict(), indent=2, sort_keys=True) + "\n")
        if as_json:
            sys.stdout.write(json.dumps(ev.to_dict(), indent=2, sort_keys=True) + "\n")
            return
        # The evaluation is this command's output: stdout, so that `evaluate ... > eval.txt` keeps it.
        con = Console(highlight=False, soft_wrap=True)
        con.print(
            f"accounts {ev.accounts} (positives {ev.positives}, negatives {ev.negatives}, not in scan {ev.unscored_labelled})\n"
            f"AUROC {_fmt(ev.auroc)}  AP {_fmt(ev.average_precision)}  TPR {_fmt(ev.tpr)}  FPR {_fmt(ev.fpr)}\n"
            f"diluted (share >= {ev.diluted_min_share:.0%}) recall {_fmt(ev.diluted_recall_at_min_share)}  "
            f"campaign recall {_fmt(ev.campaign_recall)}  purity {_fmt(ev.campaign_purity)}  recall by kind:"
            + "".join(f"  {k} {_fmt(v)}" for k, v in ev.campaign_recall_by_kind.items())
            + "\n"
            f"every extraction account above every benign one: {ev.all_positives_above_all_negatives}",
            markup=False,
        )
        t = Table(title="per labelled kind")
        for c in ("kind", "accounts", "flagged", "rate", "mean score"):
            t.add_column(c)
        for k in ev.per_kind:
            t.add_row(k.kind, str(k.accounts), str(k.flagged), f"{k.rate:.1%}", f"{k.mean_score:.3f}")
        con.print(t)
        if ev.queries_until_flagged:
            q = Table(title=f"queries until flagged ({ev.queries_until_flagged['steps']} time prefixes)")
            for c in ("kind", "accounts", "flagged", "median requests", "max requests"):
                q.add_column(c)
            for kind, v in ev.queries_until_flagged["per_kind"].items():
                q.add_row(kind, str(v["accounts"]), str(v["flagged"]), str(v["median_requests"]), str(v["max_requests"]))
            con.print(q)
