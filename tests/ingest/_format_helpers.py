"""Helpers shared by the gateway-format reader tests (LiteLLM, Langfuse, Helicone, Portkey, Azure, Vertex,
OpenRouter, generic): fixture loading, finalisation, and hypothesis strategies for arbitrary / mutated
records."""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path
from typing import Any, cast

import pyarrow as pa
from hypothesis import strategies as st

from extractscan.ingest.base import Rejected, SourceRef, finalize_row
from extractscan.ingest.registry import get_reader
from extractscan.schema import CANONICAL_SCHEMA, CanonicalRow

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "formats"
MINE = (
    "litellm_slp", "litellm_spendlogs", "langfuse_obs_v2", "langfuse_trace", "langfuse_ui", "helicone",
    "portkey", "azure_aoai_rr", "azure_apim_gateway", "azure_apim_llm", "vertex_rr",
    "openrouter_generation", "openrouter_activity",
)  # fmt: skip
REF = SourceRef("test", 1)


def load(name: str) -> list[dict[str, Any]]:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    if name.endswith(".jsonl"):
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    if name.endswith(".csv"):
        return list(csv.DictReader(io.StringIO(text)))
    data = json.loads(text)
    return data if isinstance(data, list) else [data]


def all_examples() -> list[tuple[str, dict[str, Any]]]:
    return [(p.name, r) for p in sorted(FIXTURES.iterdir()) if p.suffix in (".jsonl", ".json", ".csv")
            for r in load(p.name)]  # fmt: skip


def finalize(fmt: str, outcomes: Any) -> list[Any]:
    out = []
    for o in outcomes:
        assert isinstance(o, Rejected | dict), o
        out.append(
            o
            if isinstance(o, Rejected)
            else finalize_row(
                cast(CanonicalRow, o),
                source_format=fmt,
                ref=REF,
                raw_digest="d",
                max_prompt_chars=200_000,
                max_response_chars=20_000,
            )
        )
    return out


def one(fmt: str, rec: Any) -> dict[str, Any]:
    out = finalize(fmt, get_reader(fmt).parse(rec, REF))
    assert len(out) == 1 and isinstance(out[0], dict), out
    pa.Table.from_pylist(out, schema=CANONICAL_SCHEMA)
    return out[0]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
    max_leaves=10,
)


# Cheap fixed odd values mixed into mutations (arbitrary JSON is drawn once per example: it is costly).
ODD_VALUES: tuple[Any, ...] = (
    None,
    -1,
    0,
    2**70,
    1e308,
    float("nan"),
    "",
    "x",
    "{",
    "[1]",
    [],
    {},
    True,
    [None],
    {"": None},
)


@st.composite
def mutated(draw: Any, example: Any) -> Any:
    """The example with keys dropped, replaced by arbitrary JSON, JSON-encoded or stringified (CSV).
    One seed and a small pool of JSON values are drawn; the walk itself is plain ``random`` (fast)."""
    rnd = random.Random(draw(st.integers(0, 2**32)))
    pool = [draw(JSON), *ODD_VALUES]

    def walk(v: Any) -> Any:
        if isinstance(v, dict):
            out = {}
            for k, x in v.items():
                op = rnd.choice(("keep", "keep", "keep", "drop", "json", "dumps", "str", "deep"))
                if op == "drop":
                    continue
                out[k] = {"keep": x, "json": rnd.choice(pool), "dumps": json.dumps(x), "str": str(x)}.get(op)
                if op == "deep":
                    out[k] = walk(x)
            return out
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    return walk(example)


def check_outcomes(fmt: str, rec: Any) -> None:
    outcomes = list(get_reader(fmt).parse(rec, REF))
    rows = [r for r in finalize(fmt, outcomes) if not isinstance(r, Rejected)]
    pa.Table.from_pylist(rows, schema=CANONICAL_SCHEMA)
