"""Detector helpers: per-distinct evaluation equals row-by-row evaluation; examples are the earliest rows."""

from __future__ import annotations

import random

import polars as pl
from conftest import make_frame

from extractscan.cluster.normalize import distinct_index
from extractscan.detectors.base import on_distinct, per_distinct, top_examples
from extractscan.detectors.reasoning_elicitation import ELICIT_REGEX


def _column() -> pl.Series:
    rng = random.Random(1)
    pool = ["Explain it step by step", "explain it", "show your work: 2+2", "", None, "ünïcode step-by-step", "x"]
    values = [rng.choice(pool) for _ in range(500)]
    # several chunks, as a partition frame may have
    return pl.concat(
        [pl.Series("t", values[:200], dtype=pl.String), pl.Series("t", values[200:], dtype=pl.String)], rechunk=False
    )


def test_distinct_index_round_trips() -> None:
    s = _column()
    uniq, index = distinct_index(s)
    assert uniq.n_unique() == uniq.len() == s.n_unique()  # null is one value
    assert uniq.gather(index).to_list() == s.to_list()
    assert uniq.to_list() == s.unique(maintain_order=True).to_list()  # first appearance first


def test_per_distinct_and_on_distinct_equal_the_direct_expressions() -> None:
    s = _column()
    exprs = [
        pl.col("t").str.contains(ELICIT_REGEX).alias("asks"),
        pl.col("t").str.len_chars().alias("chars"),
        pl.col("t").fill_null("?").str.to_uppercase().alias("upper"),
    ]
    assert per_distinct(s, exprs).equals(s.to_frame().select(exprs))
    df = s.to_frame()
    got = df.select(on_distinct(pl.col("t").fill_null(""), lambda e: e.str.contains(ELICIT_REGEX), pl.Boolean()).alias("a"))
    want = df.select(pl.col("t").fill_null("").str.contains(ELICIT_REGEX).alias("a"))
    assert got.equals(want)
    empty = pl.Series("t", [], dtype=pl.String)
    assert per_distinct(empty, exprs).schema == empty.to_frame().select(exprs).schema


def test_top_examples_are_the_earliest_masked_rows() -> None:
    rows = [{"account_id": "a", "text": f"prompt {i}", "ts": 100.0 - i} for i in range(6)]
    rows += [{"account_id": "b", "text": "only one", "ts": 5.0}, {"account_id": "c", "text": "masked out", "ts": 1.0}]
    frame = make_frame(rows)
    out = top_examples(frame, pl.col("text") != "masked out", 2, 8)
    assert out["entity_id"].to_list() == ["a", "b"]
    assert out.row(0, named=True) == {"entity_id": "a", "examples": ["prompt 5", "prompt 4"], "request_ids": ["r5", "r4"]}
    assert out.row(1, named=True)["examples"] == ["only one"]
