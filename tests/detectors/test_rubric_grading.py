"""ES107 rubric_grading: reward-model / preference-labelling traffic fires; ordinary users do not."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from conftest import make_frame, run_detector

from extractscan.config import Config
from extractscan.detectors.base import RESULT_SCHEMA, EmbeddingSet, ScanContext
from extractscan.detectors.rubric_grading import RUBRIC_REGEX, RubricGrading

QUESTIONS = [f"What is the boiling point of water at {h} m altitude?" for h in range(0, 3000, 100)]
ANSWERS = ["About 100 C.", "Roughly 95 C, since pressure drops with altitude.", "It does not change."]

HUMAN = [
    "what's a good recipe for banana bread?",
    "help me write an email to my landlord about the broken heater",
    "who won the world cup in 2018",
    "can you grade my essay? it's for my english class: <essay text>",
    "give me ideas for a 5 year old's birthday party",
    "summarize the plot of hamlet in a paragraph",
    "is it safe to eat raw cookie dough",
    "write a haiku about autumn leaves",
    "how do I fix a leaky kitchen faucet",
    "the lakers won by a score of 110 to 98, who was top scorer?",
    "why is the sky blue",
    "plan a 3 day trip to lisbon on a budget",
    "tell me a fun fact about octopuses",
    "on a scale of 1 to 10 how spicy is a jalapeno",
    "draft a short toast for my sister's wedding",
    "what are the pros and cons of electric cars",
    "how many calories are in an avocado",
    "rewrite this more formally: we gotta ship it tomorrow",
    "what should I ask in a job interview as the candidate",
    "my cat keeps scratching the sofa, any tips",
]


def _rows(entity: str, texts: list[str], **extra: Any) -> list[dict[str, Any]]:
    return [{"account_id": entity, "record_id": f"{entity}-{i}", "text": t, **extra} for i, t in enumerate(texts)]


def _by(out: pl.DataFrame, entity: str) -> dict[str, Any]:
    return out.filter(pl.col("entity_id") == entity).row(0, named=True)


def _judge_prompts() -> list[str]:
    out = []
    for i, q in enumerate(QUESTIONS):
        a, b = ANSWERS[i % 3], ANSWERS[(i + 1) % 3]
        out.append(
            [
                f"Score the following response from 1 to 10 against the rubric.\nQuestion: {q}\nResponse: {a}",
                f"[Question] {q}\n[Response A] {a}\n[Response B] {b}\nWhich response is better? Output [[A]] or [[B]].",
                f'You are a reward model. Rate the assistant\'s answer and return JSON {{"score": <1-10>}}.\n{q}\n{a}',
            ][i % 3]
        )
    return out


def test_regex_covers_judging_and_spares_ordinary_numbers() -> None:
    hits = [
        "Please act as an impartial judge and evaluate the quality of the response provided.",
        "Grade the student's essay using this rubric: clarity, evidence, style.",
        "Rate this summary on a 1-5 scale.",
        "Compare the two completions and tell me which is preferred.",
        "Which of these two answers is more helpful?",
        "Evaluate the candidate solution against the reference and return a score.",
        "Give this translation a rating between 0 and 100.",
    ]
    misses = [
        "The Hornets led by a score of 86 to 74 with 40 seconds left. How many points did they win by?",
        "What is the capital of France?",
        "Write a poem about judges in ancient Rome.",
        "Explain how chess ratings work.",
    ]
    s = pl.Series(hits + misses).str.contains(RUBRIC_REGEX).to_list()
    assert s == [True] * len(hits) + [False] * len(misses)


def test_grading_campaign_fires_and_human_does_not() -> None:
    rows = _rows("rm", _judge_prompts()) + _rows("human", HUMAN)
    out = run_detector(RubricGrading(), make_frame(rows))
    assert out.schema == pl.Schema(RESULT_SCHEMA)
    assert out["score"].is_between(0.0, 1.0).all()
    r, h = _by(out, "rm"), _by(out, "human")
    assert r["value"] == 1.0 and r["score"] == 1.0 and r["confidence"] > 0.5
    assert r["summary"].startswith("100% of 30 requests grade, score or compare answers (population 1%")
    assert len(r["request_ids"]) == 5 and len(r["examples"]) == 3
    # The human asked for a "1 to 10" opinion once (the essay request names no scale or rubric): 5%.
    assert h["value"] == 0.05 and h["score"] == 0.0
    assert h["examples"] == ["on a scale of 1 to 10 how spicy is a jalapeno"]


def test_judge_system_prompt() -> None:
    sys_prompt = "Act as an impartial judge. Output your verdict as [[A]], [[B]] or [[C]] for a tie."
    rows = _rows("judge", [f"{q}\nA: {ANSWERS[0]}\nB: {ANSWERS[1]}" for q in QUESTIONS], system_text=sys_prompt)
    r = _by(run_detector(RubricGrading(), make_frame(rows)), "judge")
    assert r["score"] == 1.0 and r["examples"][0].startswith("[system] Act as an impartial judge")


def test_paraphrased_grading_through_exemplar_embeddings() -> None:
    dim = 16
    eye = np.eye(dim, dtype=np.float32)
    texts = [f"How good is the reply below? Put a number on it.\n{q}\n{ANSWERS[0]}" for q in QUESTIONS]
    assert not pl.Series(texts).str.contains(RUBRIC_REGEX).any()
    rows = _rows("para", texts) + _rows("human", HUMAN)
    vectors = []
    for r in rows:
        if int(r["record_id"].split("-")[1]) < 8:
            r["embedding_row"] = len(vectors)
            v = eye[1] + 0.5 * eye[9] if r["account_id"] == "para" else eye[10]
            vectors.append(v / np.linalg.norm(v))  # para: cosine 0.89 to exemplar 1; human: 0
    emb = EmbeddingSet(np.asarray(vectors), np.asarray(eye[10:]), {"ES107": eye[:4]})
    ctx = ScanContext(config=Config(), embeddings=emb)
    out = run_detector(RubricGrading(), make_frame(rows), ctx)
    assert _by(out, "para")["score"] == 1.0 and "embedded sample 8/8" in _by(out, "para")["summary"]
    assert _by(out, "human")["score"] == 0.0
    assert _by(run_detector(RubricGrading(), make_frame(rows)), "para")["score"] == 0.0


def test_relative_to_population() -> None:
    # An eval team among graders: when most entities grade, the baseline rises (to its cap).
    rows = [r for e in range(5) for r in _rows(f"eval{e}", _judge_prompts()[: 10 + e])]
    rows += _rows("half", _judge_prompts()[:10] + HUMAN[:10])
    out = run_detector(RubricGrading(), make_frame(rows))
    assert "(population 15%" in _by(out, "half")["summary"]
    assert _by(out, "half")["score"] < _by(out, "eval0")["score"]


def test_deterministic_and_order_independent() -> None:
    frame = make_frame(_rows("rm", _judge_prompts()) + _rows("human", HUMAN))
    det = RubricGrading()
    a = run_detector(det, frame)
    assert a.equals(run_detector(det, frame.sample(fraction=1.0, shuffle=True, seed=5)))
