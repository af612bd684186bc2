"""Seeded, deterministic simulator of labelled LLM API logs (``extractscan synth``).

It simulates benign users and apps next to the behaviours of distillation / extraction campaigns, writes the
traffic in real log formats, and labels every account. See docs/synth.md.
"""

from extractscan.synth.generate import generate, plan_for
from extractscan.synth.spec import (
    BENIGN_KINDS,
    DEFAULT_FORMATS,
    EXTRACTION_KINDS,
    FORMATS,
    KINDS,
    SCALES,
    SpecError,
    SynthSpec,
    SynthSummary,
)
from extractscan.synth.text import PoolError

__all__ = [
    "BENIGN_KINDS",
    "DEFAULT_FORMATS",
    "EXTRACTION_KINDS",
    "FORMATS",
    "KINDS",
    "SCALES",
    "PoolError",
    "SpecError",
    "SynthSpec",
    "SynthSummary",
    "generate",
    "plan_for",
]
