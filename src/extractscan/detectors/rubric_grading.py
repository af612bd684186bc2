"""ES107 rubric_grading: rubric, grading and preference-comparison prompts (reward-model data harvest)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from extractscan.detectors.reasoning_elicitation import PhraseShareDetector, alternation

_ITEM = (
    r"(?:responses?|answers?|outputs?|completions?|replies|reply|generations?|summar(?:y|ies)|translations?|"
    r"solutions?|essays?|submissions?|candidates?)"
)
# A grading scale: starts at 0 or 1 and ends at a usual maximum ("1 to 10", "0-5"), not a game score.
_SCALE = r"[01] ?(?:to|-|–|and) ?(?:3|4|5|7|10|100)\b"
_JUDGE = r"(?:judge|grader|evaluator|rater|reward model|critic|annotator|scorer|assessor)"

# Lower-case, Rust regex syntax; matched case-insensitively on the last user text and the system text.
RUBRIC_PATTERNS: tuple[str, ...] = (
    # "rate / score / grade the following response", "evaluate both answers"
    r"\b(?:rate|score|grade|evaluate|assess|judge|rank|compare) (?:the |this |these |each |both |every |all |"
    r"following |given |above |below |two |three |model'?s? |assistant'?s? |ai'?s? |candidate |student'?s? )*" + _ITEM + r"\b",
    # a numeric scale next to a grading verb: "on a scale of 1 to 10", "a score from 0-5", "1-10 rating"
    r"\b(?:on|using) an? (?:\d+[- ]point |likert )?scale (?:of|from) " + _SCALE,
    r"\b(?:score|rating|grade|mark)s? (?:of|from|between) " + _SCALE,
    r"\b" + _SCALE + r" (?:point )?(?:scale|score|rating)\b",
    # pairwise preference
    r"\bwhich (?:of (?:the|these) )?(?:two |following |three )?(?:responses?|answers?|outputs?|completions?|"
    r"assistants?|replies|summaries|models?|candidates?) (?:is|was|are) (?:the )?(?:better|best|more|"
    r"preferable|preferred|superior|worse)",
    r"\[\[(?:a|b|c|tie|rating|score)\]\]",
    r"\b(?:response|assistant|answer|output|completion|model) a\b[^.\n]{0,80}\b(?:response|assistant|"
    r"answer|output|completion|model) b\b",
    r"\b(?:chosen|preferred|winning) (?:and|vs\.?|versus|/) (?:rejected|dispreferred|losing)\b",
    r"\bpairwise (?:comparison|preference|judg\w*|evaluation|ranking)",
    r"\bpreference (?:data|dataset|pairs?|labels?|annotations?|judg\w*|ranking)",
    # rubrics and judges
    r"\brubrics?\b",
    r"\b(?:grading|scoring|marking|evaluation|assessment) (?:criteria|guide|guidelines|scheme|rubric|"
    r"instructions|standards)\b",
    r"\b(?:act|serve|behave|function|you are|you're) (?:as )?(?:an? |the )?(?:impartial |fair |expert |"
    r"strict |objective |neutral |unbiased |careful |helpful )*" + _JUDGE + r"\b",
    r"\breward model\b",
    r"\b(?:llm|ai|model)[- ]as[- ]a[- ]judge\b",
    # the verdict format
    r"\"(?:score|rating|grade|verdict|winner|preferred|preference)\"\s*:",
    r"\b(?:output|return|give|provide|respond with|end with|finish with|report) (?:your |the |a |an |only |"
    r"one |single )*(?:final |overall |numeric(?:al)? |integer )?(?:score|rating|grade|verdict)s?\b",
)
RUBRIC_REGEX: str = alternation(RUBRIC_PATTERNS)


class RubricGrading(PhraseShareDetector):
    """Share of an entity's requests that are rubric grading, scoring or preference comparisons.

    **What it measures.** The share of requests whose last user text or system text asks the model to
    grade or compare model outputs: "score this response 1-10", "which of these two answers is better",
    "grade against the rubric", "act as an impartial judge / reward model", "Response A ... Response B",
    ``[[A]]`` verdicts, "output the score as JSON" (a compiled regex alternation, case-insensitive). With
    embeddings, rows of the embedded sample whose max cosine to this detector's ``exemplars`` reaches
    ``semantic_threshold`` also count (paraphrases); the share is the larger of the share over all
    requests and over the embedded sample. ``value`` is that share; the score ramps its excess over the
    population (median entity, at most ``max_baseline``; ``prior_share`` for a small population) from
    ``excess_low`` to ``excess_high``.

    **Why it indicates extraction.** Reward models and preference-tuning need graded and ranked outputs:
    the 2026 campaign reports describe accounts that had a frontier model score candidate answers against
    rubrics at scale, turning it into a labeller for the rival's RLHF / RLAIF data.

    **Evidence.** Up to five matching request ids and three example prompts (the system prompt, marked
    ``[system]``, when only it asks); the summary splits user-text, system-prompt and paraphrase matches.

    **Known false positives.** Legitimate LLM-as-a-judge evaluation pipelines (an eval team running
    MT-Bench-style judging), essay-grading and tutoring apps, annotation tools. They match on every
    request; the other detectors (volume, coverage, account linking) separate an in-house eval from a
    labelling campaign.
    """

    id: ClassVar[str] = "ES107"
    name: ClassVar[str] = "rubric_grading"
    summary: ClassVar[str] = "Share of requests that grade, score or compare answers (reward-model data)"
    requires: ClassVar[frozenset[str]] = frozenset()
    weight: ClassVar[float] = 1.25
    exemplars: ClassVar[tuple[str, ...]] = (
        "Score the following response on a scale of 1 to 10.",
        "Rate the quality of this answer from 1 to 5 and explain the rating.",
        "Which of these two responses is better, A or B?",
        "Compare Response A and Response B and say which one you prefer.",
        "Grade this answer against the rubric below.",
        "Evaluate the submission using the following grading criteria.",
        "You are a reward model. Rate how helpful and harmless the assistant's reply is.",
        "Act as an impartial judge and evaluate the quality of the response.",
        "Return your score as JSON with the keys score and justification.",
        "Rank these candidate completions from best to worst.",
        "Give the answer a numeric score for correctness, clarity and completeness.",
        "Judge whether the model's output follows the instructions; reply with a verdict.",
        "Assess the two summaries and choose the preferred one.",
        "Mark this solution out of 10 using the marking scheme.",
        "Label which completion a human rater would prefer.",
        "Critique the response, then assign it an overall rating.",
        "Check each rubric item and award points for the answer.",
        "Output [[A]] if assistant A is better, [[B]] if assistant B is better, [[C]] for a tie.",
        "How well does this response answer the question? Score 1-10.",
        "Evaluate the candidate answer for accuracy and give a grade.",
    )

    user_pattern: ClassVar[str] = RUBRIC_REGEX
    system_pattern: ClassVar[str] = RUBRIC_REGEX
    what: ClassVar[str] = "grade, score or compare answers"

    @dataclass(frozen=True)
    class Params:
        semantic_threshold: float = 0.5  # cosine to the nearest exemplar at which an embedded prompt counts
        min_sample: int = 5  # embedded rows needed before the sample share is used
        extra_weight: float = 0.0  # unused (no extra signal); kept for the shared scoring
        excess_low: float = 0.1  # share above the population baseline at which the score starts to rise
        excess_high: float = 0.5  # share above the baseline with score 1
        prior_share: float = 0.01  # baseline when fewer than min_population entities are comparable
        max_baseline: float = 0.15  # the baseline never exceeds this (a campaign-heavy population)
        min_population: int = 5  # comparable entities needed to use the population median
        min_requests: int = 5  # entities with fewer requests do not enter the baseline
        full_confidence_at: float = 50.0  # requests for full confidence
        evidence_rows: int = 5  # request ids reported

    params: Any
