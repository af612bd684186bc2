"""Shared helpers of the nightly-workflow tests: a tiny gateway log with two extraction accounts that share an
IP, a user agent and a templated prompt with a distinctive word, and a few people chatting."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from extractscan.config import Config

SECRET_WORD = "flumpernickel"
EXTRACTORS = ("zorblax-tenant-7731", "zorblax-tenant-7732")
BENIGN = ("quiet-user-01", "quiet-user-02", "quiet-user-03", "quiet-user-04")
SECRET_IP = "151.101.7.9"
SECRET_UA = "QuokkaHarvester/4.2"
T0 = 1_748_736_000  # 2025-06-01T00:00:00Z

_CHAT = (
    "What should I cook tonight with leftover rice?",
    "Can you help me write a birthday note for my sister?",
    "My bike chain keeps slipping, any idea why?",
    "Suggest a short reading list about birds.",
    "How long should I boil an egg for a soft yolk?",
    "thanks, and what about a hard one?",
)


def _line(ts: int, account: str, rid: str, prompt: str, *, ip: str, ua: str, max_tokens: int, out_tokens: int) -> str:
    return json.dumps(
        {
            "timestamp": ts,
            "account_id": account,
            "client_ip": ip,
            "user_agent": ua,
            "request_id": rid,
            "request": {"model": "gpt-4o", "max_tokens": max_tokens, "messages": [{"role": "user", "content": prompt}]},
            "response": {
                "id": f"resp-{rid}",
                "object": "chat.completion",
                "model": "gpt-4o",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok " * 50}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 40, "completion_tokens": out_tokens, "total_tokens": 40 + out_tokens},
            },
        }
    )


def write_logs(folder: Path, *, extractor_requests: int = 40, extractors: tuple[str, ...] = EXTRACTORS) -> Path:
    """JSONL envelope logs into ``folder``; returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for k, acct in enumerate(extractors):
        for i in range(extractor_requests):
            prompt = (
                f"Explain the {SECRET_WORD} theorem variant {i * 7 + k} step by step, showing your full reasoning "
                f"and rate your answer from 1-10 against this rubric: rigour, clarity."
            )
            lines.append(
                _line(
                    T0 + i * 60 + k * 7,
                    acct,
                    f"zx-{k}-{i}",
                    prompt,
                    ip=SECRET_IP,
                    ua=SECRET_UA,
                    max_tokens=16000,
                    out_tokens=3000,
                )
            )
    for k, acct in enumerate(BENIGN):
        for i in range(12):
            lines.append(
                _line(
                    T0 + i * 3607 + k * 911,
                    acct,
                    f"bn-{k}-{i}",
                    _CHAT[(i + k) % len(_CHAT)],
                    ip=f"81.2.{k}.{10 + i % 3}",
                    ua="Mozilla/5.0",
                    max_tokens=500,
                    out_tokens=120,
                )
            )
    (folder / "gateway.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def no_embed() -> Config:
    cfg = Config()
    return cfg.replace(embed=dataclasses.replace(cfg.embed, enabled=False))
