"""Normalisation, skeleton masks, stable hashes and slot-sweep measurements."""

from __future__ import annotations

import random

import numpy as np
import polars as pl
import pytest

from extractscan.cluster.normalize import (
    frame_columns,
    hash_strings,
    normalize_expr,
    poly64,
    segment_poly,
    skeleton_expr,
    skeleton_id_expr,
    slot_sweeps,
    stable_hash64,
    stable_hash_expr,
)


def norm(texts: list[str | None]) -> list[str | None]:
    df = pl.DataFrame({"t": texts}, schema={"t": pl.String})
    return df.select(normalize_expr("t")).to_series().to_list()


def skel(texts: list[str]) -> list[str]:
    return pl.DataFrame({"t": texts}).select(skeleton_expr(normalize_expr(pl.col("t")))).to_series().to_list()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Hello   WORLD \n\t again ", "hello world again"),
        ("Ｆｕｌｌｗｉｄｔｈ ﬁle", "fullwidth file"),  # NFKC: full-width letters, ligature
        ("zero\u200bwidth and soft\u00adhyphen\ufeff", "zerowidth and softhyphen"),
        ("ctrl\x00char\x07s", "ctrlchars"),
        ("no\u00a0break\u2003em\u3000space", "no break em space"),
        ("line\r\nbreaks\u2028here", "line breaks here"),
        ("", ""),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert norm([raw]) == [expected]


def test_normalize_keeps_null() -> None:
    assert norm([None, "A"]) == [None, "a"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Fix this:\n```python\nprint('x')\n```\nthanks", "fix this: <code> thanks"),
        ("unclosed ```code to the end", "unclosed <code>"),
        ("what does `foo(1)` do", "what does <code> do"),
        ("read https://example.com/a?b=1, then www.test.org.", "read <url>, then <url>."),
        ("mail Bob.Smith+x@corp.example.co.uk now", "mail <email> now"),
        ('say "hello there" twice', "say <q> twice"),
        ("translate 'good morning' please", "translate <q> please"),
        ("don't touch the boys' toys", "don't touch the boys' toys"),  # apostrophes are not quotes
        ("“smart” or «guillemets» or ‘single’", "<q> or <q> or <q>"),
        ("on 2023-01-05T10:30:00Z", "on <date>"),
        ("due 12/31/2024 or March 3rd, 2021 or 5 May 2020", "due <date> or <date> or <date>"),
        ("meet at 10:30 pm", "meet at <date>"),
        ("uuid 550e8400-e29b-41d4-a716-446655440000 here", "uuid <id> here"),
        ("hex 0xDEADBEEF and sha a1b2c3d4e5f6", "hex <id> and sha <id>"),
        ("key sk-abc123def456ghi", "key <id>"),
        ("pay 12.5 or 1,000,000 or 50% or .5", "pay <num> or <num> or <num> or <num>"),
        ("the 1st and 22nd of 5kg, 1e-9", "the <num> and <num> of <num>"),
        ("sort [4, 8, 15, 16, 23, 42]", "sort [<num>]"),  # a list of one placeholder collapses
        ("python3 and gpt4 stay words", "python3 and gpt4 stay words"),
    ],
)
def test_skeleton_masks(raw: str, expected: str) -> None:
    assert skel([raw]) == [expected]


def test_same_template_same_skeleton() -> None:
    a, b = skel(
        [
            'Convert 12.5 km to miles and explain "why" (see https://a.io/x)',
            'Convert 300 km to miles and explain "how come" (see https://b.org/y?z=1)',
        ]
    )
    assert a == b == "convert <num> km to miles and explain <q> (see <url>)"


def test_stable_hash_matches_reference_and_is_pinned() -> None:
    texts = ["", "a", "hello", "héllo wörld ✓", "x" * 5000, "mixed\x00bytes", "日本語のテキスト"]
    got = hash_strings(pl.Series(texts))
    assert got.tolist() == [stable_hash64(t.encode()) for t in texts]
    # pinned: ids must never change across runs, processes or library versions
    assert stable_hash64(b"hello") == 0x9DA7D0863DE59795
    assert stable_hash64(b"") == 0


def test_stable_hash_expr_nulls_and_chunks() -> None:
    rng = random.Random(5)
    texts: list[str | None] = ["".join(rng.choice("abc dé✓") for _ in range(rng.randint(0, 3000))) for _ in range(700)]
    texts[3] = None
    s = pl.concat([pl.Series("s", texts[:350]), pl.Series("s", texts[350:])], rechunk=False)
    out = pl.DataFrame({"s": s}).select(stable_hash_expr("s")).to_series().to_list()
    assert out[3] is None
    assert out == [None if t is None else stable_hash64(t.encode()) for t in texts]
    sid = pl.DataFrame({"s": ["a <num> b"]}).select(skeleton_id_expr("s")).to_series()
    assert sid.dtype == pl.UInt64 and sid[0] == stable_hash64(b"a <num> b")


def test_segment_poly_with_gaps() -> None:
    data = np.frombuffer(b"one two  three\xc3\xa9 x", dtype=np.uint8)
    starts = np.array([0, 4, 9, 9, 17])
    ends = np.array([3, 7, 9, 16, 18])
    got = segment_poly(data, starts, ends)
    raw = data.tobytes()
    assert got.tolist() == [poly64(raw[s:e]) for s, e in zip(starts, ends, strict=True)]


def _frame(rows: list[tuple[str, str]]) -> pl.DataFrame:
    df = pl.DataFrame(rows, schema=["entity_id", "text"], orient="row")
    return (
        df.with_columns(normalize_expr("text").alias("text_norm"))
        .with_columns(skeleton_expr("text_norm").alias("skeleton"))
        .with_columns(skeleton_id_expr("skeleton").alias("skeleton_id"))
    )


TOPICS = [
    f"{a} {b}"
    for a in ["quantum", "medieval", "organic", "bayesian", "roman", "plate", "neural", "keynesian", "gothic"]
    for b in ["tunnelling", "trade", "chemistry", "inference", "law", "tectonics", "networks", "economics"]
] + ["photosynthesis", "entropy", "inflation", "recursion", "glaciers", "vaccines", "tariffs", "sonnets"]

FILLER = str.split(
    "i ordered a blue jacket last week and the package still has not arrived the tracking page says it "
    "is in transit but it has not moved for days can you help me find out where it is and when it will "
    "be delivered because i need it for a trip on friday thank you so much for your help"
)


def test_slot_sweep_vs_support_app() -> None:
    rng = random.Random(7)
    rows = [("sweeper", f"Explain {t} step by step for a beginner.") for t in TOPICS]
    for _ in range(len(TOPICS)):
        start = rng.randint(0, 10)
        msg = " ".join(FILLER[start : start + rng.randint(25, 45)])
        order = rng.randint(1000, 99999)
        rows.append(("support", f"Customer message: order {order}: {msg}. Reply politely and briefly."))
    # a benign user with a few free-form questions
    rows += [("human", q) for q in ["how do magnets work", "best pasta recipe?", "fix my bike chain", "hi"]]
    sweeps = slot_sweeps(_frame(rows), frame_words=6, min_support=3, min_share=0.01)
    top = sweeps.by_frame.sort("n_requests", descending=True).unique("entity_id", keep="first")
    m = {r["entity_id"]: r for r in top.iter_rows(named=True)}
    sw, sp = m["sweeper"], m["support"]
    assert sw["frame"] == "explain {} step by step for a beginner."
    assert sp["frame"].startswith("customer message:") and sp["frame"].endswith("reply politely and briefly.")
    for r in (sw, sp):
        assert r["frame_share"] == pytest.approx(1.0)
        assert r["fill_distinct_ratio"] > 0.9
        assert r["frame_words"] >= 4
    # the measurements that tell them apart
    assert sw["fill_words_median"] <= 2 < 20 <= sp["fill_words_median"]
    assert sw["fill_word_diversity"] > 2 * sp["fill_word_diversity"]
    # a handful of unrelated questions has no frame
    human = sweeps.by_frame.filter(pl.col("entity_id") == "human")
    assert human["frame_words"].to_list() == [0] and human["frame"].to_list() == ["{}"]
    # per skeleton: free-word slots give one skeleton per topic; the frame groups them
    sk = sweeps.by_skeleton.filter(pl.col("entity_id") == "sweeper")
    assert sk.height == len(TOPICS)
    assert (sk["frame_id"] == sw["frame_id"]).all()
    assert sk["frame_fill_distinct_ratio"].min() > 0.9


def test_masked_slot_fill_diversity() -> None:
    rows = [("a", f"What is {i} times {i + 7}?") for i in range(50)] + [("b", "What is 2 times 9?")] * 50
    by_sk = slot_sweeps(_frame(rows)).by_skeleton
    a = by_sk.filter(pl.col("entity_id") == "a").row(0, named=True)
    b = by_sk.filter(pl.col("entity_id") == "b").row(0, named=True)
    assert a["n_requests"] == b["n_requests"] == 50
    assert a["skeleton"] == b["skeleton"] == "what is <num> times <num>?"
    assert a["n_slots"] == 2
    assert a["fill_diversity"] == 1.0 and b["fill_diversity"] == pytest.approx(1 / 50)


def test_frame_columns_short_texts() -> None:
    rows = [("e", "hi")] * 5 + [("e", "")] * 3 + [("e", "explain x"), ("e", "explain y"), ("e", "explain z")]
    df = _frame(rows)
    f = frame_columns(df, frame_words=3, min_support=3, min_share=0.0)
    got = dict(zip(f["text_norm"].to_list(), f["frame"].to_list(), strict=False))
    assert got["hi"] == "{}"  # a frame always leaves at least one word of fill
    assert got[""] == "{}"
    assert got["explain x"] == "explain {}"
    assert f.filter(pl.col("text_norm") == "explain y")["middle"].item() == "y"


def test_frame_columns_nulls() -> None:
    df = pl.DataFrame(
        {"entity_id": ["e", "e"], "skeleton": [None, "a b"], "text_norm": [None, "a b"]},
        schema={"entity_id": pl.String, "skeleton": pl.String, "text_norm": pl.String},
    )
    f = frame_columns(df)
    assert f["frame"].to_list() == ["{}", "{}"] and f["fill_words"].to_list() == [0, 2]


_PIECES = [
    "a",
    "B",
    "word",
    " ",
    "  ",
    "\t",
    "\n",
    "\r\n",
    "\u00a0",
    "\u2003",
    "\u3000",
    "\u0085",
    "\u2028",
    "\u200b",
    "\u00ad",
    "\x00",
    "\x07",
    "Ｆｕｌｌ",
    "ﬁ",
    "É",
    "é",
    "Σ",
    "ß",
    "x\u0301",
    "1",
    "<num>",
    "'",
    "",
]


def test_normalize_equals_the_plain_expression_chain() -> None:
    # normalize_expr skips NFKC on ASCII rows and rewrites only whitespace runs other than one space: it must
    # equal the plain chain on any mix of whitespace, invisible, compatibility and non-ASCII characters.
    rng = random.Random(7)
    texts: list[str | None] = ["".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 12))) for _ in range(3000)]
    texts += [None, "plain ascii text", " lead", "trail ", "a  b", "a \tb", "a\t b", "\t", " "]
    df = pl.DataFrame({"t": texts}, schema={"t": pl.String})
    plain = (
        pl.col("t")
        .str.normalize("NFKC")
        .str.to_lowercase()
        .str.replace_all(r"[\p{Cf}\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]", "")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars(" ")
    )
    got = df.select(normalize_expr("t")).to_series()
    assert got.to_list() == df.select(plain).to_series().to_list()
    # skeletons of raw (unnormalised) text end with the same whitespace collapse
    raw_skel = df.select(skeleton_expr("t")).to_series().to_list()
    ref = df.select(skeleton_expr("t").str.replace_all(r"\s+", " ").str.strip_chars(" ")).to_series().to_list()
    assert raw_skel == ref


def test_per_distinct_expressions_equal_their_row_by_row_results() -> None:
    # normalize_expr, skeleton_expr and stable_hash_expr compute once per distinct value and gather back:
    # on a column with repeats and nulls (in several chunks) they must equal the row-by-row results
    from extractscan.cluster.normalize import _normalize_plain, _skeleton_plain

    rng = random.Random(3)
    pool: list[str | None] = [
        "Explain the Krebs cycle step by step",
        "explain  THE krebs\tcycle step by step",
        "pay 12.5 or 1,000,000 on 2023-01-05",
        "mail bob@corp.example.com about ‘this’",
        "Ｆｕｌｌ width ﬁle\u200b",
        "",
        None,
    ]
    pool += ["".join(rng.choice(_PIECES) for _ in range(8)) for _ in range(40)]
    texts = [rng.choice(pool) for _ in range(2000)]
    s = pl.concat([pl.Series("t", texts[:700], dtype=pl.String), pl.Series("t", texts[700:], dtype=pl.String)], rechunk=False)
    df = s.to_frame()
    got = df.select(normalize_expr("t").alias("n")).with_columns(skeleton_expr("n").alias("s"), stable_hash_expr("n").alias("h"))
    want = df.select(_normalize_plain(pl.col("t")).alias("n")).with_columns(_skeleton_plain(pl.col("n")).alias("s"))
    assert got["n"].to_list() == want["n"].to_list()
    assert got["s"].to_list() == want["s"].to_list()
    assert got["h"].to_list() == [None if v is None else stable_hash64(v.encode()) for v in want["n"].to_list()]
