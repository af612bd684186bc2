"""ES106 reasoning_elicitation: chain-of-thought elicitation fires (regex, system prompt, paraphrases via
exemplar embeddings, reasoning budget); a human who once says "step by step" does not."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from conftest import make_frame, run_detector

from extractscan.config import Config
from extractscan.detectors.base import RESULT_SCHEMA, EmbeddingSet, ScanContext
from extractscan.detectors.reasoning_elicitation import (
    ELICIT_REGEX,
    ReasoningElicitation,
    population_baseline,
)

PROBLEMS = [f"A train leaves at {h}:00 going {v} km/h; when does it cover {d} km?" for h in range(1, 7)
            for v, d in ((60, 150), (80, 200), (45, 90), (100, 350), (70, 210), (55, 165), (90, 300),
                         (40, 100), (65, 260), (75, 225))]  # fmt: skip

HUMAN = [
    "what's a good recipe for banana bread?",
    "help me write an email to my landlord about the broken heater",
    "who won the world cup in 2018",
    "can you explain how vaccines work, step by step?",
    "give me ideas for a 5 year old's birthday party",
    "summarize the plot of hamlet in a paragraph",
    "is it safe to eat raw cookie dough",
    "write a haiku about autumn leaves",
    "how do I fix a leaky kitchen faucet",
    "recommend three sci-fi novels like dune",
    "why is the sky blue",
    "plan a 3 day trip to lisbon on a budget",
    "tell me a fun fact about octopuses",
    "what's the difference between baking soda and baking powder",
    "draft a short toast for my sister's wedding",
    "what are the pros and cons of electric cars",
    "how many calories are in an avocado",
    "rewrite this more formally: we gotta ship it tomorrow",
    "what should I ask in a job interview as the candidate",
    "my cat keeps scratching the sofa, any tips",
]


def _rows(entity: str, texts: list[str], **extra: Any) -> list[dict[str, Any]]:
    return [{"account_id": entity, "record_id": f"{entity}-{i}", "text": t, **extra} for i, t in enumerate(texts)]


def _check(out: pl.DataFrame) -> pl.DataFrame:
    assert out.schema == pl.Schema(RESULT_SCHEMA)
    assert out["score"].is_between(0.0, 1.0).all() and out["confidence"].is_between(0.0, 1.0).all()
    return out


def _by(out: pl.DataFrame, entity: str) -> dict[str, Any]:
    return out.filter(pl.col("entity_id") == entity).row(0, named=True)


def test_regex_covers_varied_phrasings() -> None:
    hits = [
        "Explain quantum entanglement step by step.",
        "Solve 3x + 5 = 20 and show your work.",
        "Before answering, think carefully about each option.",
        "Walk me through your reasoning.",
        "What is 17*23? Let's think.",
        "Put your reasoning in <thinking> tags, then answer.",
        "Explain your thought process.",
        "Reason through the problem step-by-step, then give the final answer.",
        "Think aloud while you solve this riddle.",
        "Use a scratchpad, then answer.",
        "Write out your full chain of thought.",
        "Justify your answer.",
    ]
    misses = [
        "What is the capital of France?",
        "Write a haiku about the sea.",
        "Explain what a 401k is.",
        "Give me a recipe for pancakes.",
        "Summarize this article about reasoning models in AI.",
    ]
    s = pl.Series(hits + misses).str.contains(ELICIT_REGEX).to_list()
    assert s == [True] * len(hits) + [False] * len(misses)


def test_elicitation_campaign_fires_and_human_does_not() -> None:
    rows = _rows("cot", [f"{p} Think step by step and show your work." for p in PROBLEMS]) + _rows("human", HUMAN)
    out = _check(run_detector(ReasoningElicitation(), make_frame(rows)))
    c, h = _by(out, "cot"), _by(out, "human")
    assert c["value"] == 1.0 and c["score"] == 1.0 and c["confidence"] > 0.9
    assert c["summary"].startswith("100% of 60 requests ask for step-by-step reasoning (population 3%")
    assert c["request_ids"] == [f"cot-{i}" for i in range(5)]
    assert len(c["examples"]) == 3 and all(len(e) <= Config().report.example_chars for e in c["examples"])
    # The human asked once in 20 requests: 5%, within what benign users do.
    assert h["value"] == 0.05 and h["score"] == 0.0
    assert h["examples"] == ["can you explain how vaccines work, step by step?"]


def test_system_prompt_only_and_reasoning_budget() -> None:
    rows = (
        _rows("sys", PROBLEMS[:30], system_text="Always reason step by step before answering.")
        + _rows("budget", PROBLEMS[:30], reasoning_effort="high")
        + _rows("budget2", PROBLEMS[:30], thinking_budget_tokens=16000)
        + _rows("low", PROBLEMS[:30], reasoning_effort="low", thinking_budget_tokens=1024)
    )
    out = _check(run_detector(ReasoningElicitation(), make_frame(rows)))
    s = _by(out, "sys")
    assert s["score"] == 1.0 and s["examples"][0].startswith("[system] Always reason")
    assert "system prompt only 100%" in s["summary"]
    # A reasoning budget alone is a weak sign (extra_weight): it contributes, but does not fire fully.
    for e in ("budget", "budget2"):
        assert _by(out, e)["value"] == 0.3 and 0.0 < _by(out, e)["score"] < 0.5
        assert _by(out, e)["examples"][0].startswith("[high reasoning effort / thinking budget] A train")
    assert _by(out, "low")["value"] == 0.0


def _embedded_case(paraphrase_embedded: bool) -> tuple[pl.DataFrame, ScanContext]:
    """'para' phrases the elicitation in words the regexes miss; 10 of its 60 requests are embedded and
    sit next to the first exemplar. 'plain' has 10 embedded benign requests far from every exemplar."""
    dim = 32
    eye = np.eye(dim, dtype=np.float32)
    exemplars = eye[:3]  # hand-made exemplar vectors (unit)
    close = eye[0] + 0.2 * eye[5]
    close = close / np.linalg.norm(close)  # cosine 0.98 to exemplar 0
    benign = eye[10:20]  # cosine 0 to every exemplar
    para = [f"Narrate how you get to the answer, one move at a time: {p}" for p in PROBLEMS]
    rows = _rows("para", para) + _rows("plain", HUMAN * 3)
    vectors = []
    for r in rows:
        i = int(r["record_id"].split("-")[1])
        if i < 10 and (r["account_id"] == "plain" or paraphrase_embedded):
            r["embedding_row"] = len(vectors)
            vectors.append(close if r["account_id"] == "para" else benign[i])
    emb = EmbeddingSet(
        vectors=np.asarray(vectors, dtype=np.float32),
        reference=np.asarray(benign, dtype=np.float32),
        exemplar_vectors={"ES106": exemplars},
    )
    return make_frame(rows), ScanContext(config=Config(), embeddings=emb)


def test_paraphrases_caught_through_exemplar_embeddings() -> None:
    det = ReasoningElicitation()
    frame, ctx = _embedded_case(paraphrase_embedded=True)
    assert not frame.filter(pl.col("entity_id") == "para")["text"].str.contains(ELICIT_REGEX).any()
    out = _check(run_detector(det, frame, ctx))
    p, q = _by(out, "para"), _by(out, "plain")
    assert p["value"] == 1.0 and p["score"] == 1.0  # the embedded sample: 10 of 10 match
    assert "paraphrases 10, embedded sample 10/10 match" in p["summary"]
    assert p["request_ids"][:3] == ["para-0", "para-1", "para-2"]
    assert 0.0 < p["confidence"] <= 1.0
    assert q["score"] == 0.0  # "step by step" once in 20, and its embedded rows are far from the exemplars

    # Without the paraphrases in the sample (or without embeddings) the regexes alone miss them.
    frame2, ctx2 = _embedded_case(paraphrase_embedded=False)
    assert _by(run_detector(det, frame2, ctx2), "para")["score"] == 0.0
    assert _by(run_detector(det, frame), "para")["score"] == 0.0
    # A stricter threshold than the similarity turns the semantic path off.
    strict = ReasoningElicitation(ReasoningElicitation.Params(semantic_threshold=0.99))
    assert _by(run_detector(strict, frame, ctx), "para")["score"] == 0.0


def test_population_baseline() -> None:
    f = pl.DataFrame({"n": [100, 100, 100, 100, 100, 3], "v": [0.1, 0.1, 0.12, 0.08, 0.9, 1.0]})
    assert population_baseline(f, "v", min_requests=5, min_population=5, prior=0.03, cap=0.2) == 0.1
    assert population_baseline(f, "v", min_requests=5, min_population=6, prior=0.03, cap=0.2) == 0.03
    assert population_baseline(f, "v", min_requests=5, min_population=5, prior=0.03, cap=0.05) == 0.05
    # A population where every entity elicits (a CoT app fleet) only moves the baseline up to the cap.
    rows = [r for e in range(6) for r in _rows(f"app{e}", [f"{p} Think step by step." for p in PROBLEMS[:20]])]
    out = run_detector(ReasoningElicitation(), make_frame(rows))
    assert "(population 20%" in out["summary"][0] and out["score"].min() > 0.9


def test_deterministic_and_order_independent() -> None:
    rows = _rows("cot", [f"{p} Think step by step." for p in PROBLEMS]) + _rows("human", HUMAN)
    frame = make_frame(rows)
    det = ReasoningElicitation()
    a = run_detector(det, frame)
    assert a.equals(run_detector(det, frame.sample(fraction=1.0, shuffle=True, seed=3)))


def test_empty_frame() -> None:
    frame = make_frame(_rows("x", ["hello"])).clear()
    ctx = ScanContext(config=Config())
    det = ReasoningElicitation()
    assert det.score(det.features(frame, ctx), ctx).height == 0
