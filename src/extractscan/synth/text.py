"""Prompt and response text for the simulator: a small recursive grammar over :mod:`.vocab`, plus user pools.

Everything is a pure function of integer seeds: :class:`Rand` (splitmix64) is cheap to create per request,
so any text can be regenerated from the request's random word without keeping state. Responses are slices
of pre-built fragment corpora, so a long answer costs a string slice, not a generator loop.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from extractscan.synth import vocab as V

_M64 = (1 << 64) - 1


class Rand:
    """A tiny deterministic generator seeded by one integer (per request, per conversation).

    The seed is scrambled once (splitmix64 finaliser); draws are a 64-bit LCG whose high bits are used,
    which is plenty for picking words and is much cheaper than a full generator in pure Python.
    """

    __slots__ = ("x",)

    def __init__(self, seed: int) -> None:
        z = (seed * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & _M64
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
        self.x = z ^ (z >> 31)

    def next(self) -> int:
        """A 40-bit draw."""
        self.x = x = (self.x * 6364136223846793005 + 1442695040888963407) & _M64
        return x >> 24

    def below(self, n: int) -> int:
        self.x = x = (self.x * 6364136223846793005 + 1442695040888963407) & _M64
        return (x >> 24) % n

    def choice(self, seq: Sequence[Any]) -> Any:
        self.x = x = (self.x * 6364136223846793005 + 1442695040888963407) & _M64
        return seq[(x >> 24) % len(seq)]

    def random(self) -> float:
        self.x = x = (self.x * 6364136223846793005 + 1442695040888963407) & _M64
        return (x >> 24) / 1099511627776.0

    def chance(self, p: float) -> bool:
        return self.random() < p


def mix(*parts: int) -> int:
    """Combine integers into one 64-bit seed (order-sensitive)."""
    h = 0x84222325CBF29CE4
    for p in parts:
        h = ((h ^ (p & _M64)) * 0x100000001B3) & _M64
        h ^= h >> 29
    return h


# --------------------------------------------------------------------------------------------------
# Grammar rendering


def _num(lo: int, hi: int) -> Any:
    return lambda r: str(lo + r.below(hi - lo + 1))


_DYNAMIC: dict[str, Any] = {
    "a": _num(2, 9),
    "b": _num(2, 9),
    "c": _num(2, 12),
    "d": _num(3, 15),
    "e": _num(20, 95),
    "h": _num(6, 11),
    "day": _num(1, 28),
    "years": _num(2, 15),
    "pct": _num(3, 40),
    "quarter": _num(1, 4),
    "digits": _num(10, 99),
    "order_no": lambda r: f"{r.choice(('#', 'ORD-', 'A', ''))}{r.below(9_000_000) + 1_000_000}",
    "amount": lambda r: f"{r.choice(('$', '€', '£'))}{r.below(900) + 9}.{r.below(100):02d}",
    "nth": lambda r: r.choice(("second", "third", "fourth", "fifth")),
    "street": lambda r: f"{r.below(240) + 1} {r.choice(V.SLOTS['name'])} {r.choice(('Street', 'Road', 'Lane', 'Avenue'))}",
    "name_l": lambda r: r.choice(V.SLOTS["name"]).lower(),
    "project": lambda r: r.choice(("Phoenix", "Atlas", "Nova", "Orion", "Beacon", "Harbor", "Summit", "Aurora")),
    "item": lambda r: r.choice(V.PRODUCT_ITEM),
    "issue": lambda r: r.choice(V.ISSUE),
    "concept": lambda r: r.choice(V.MCQ_CONCEPT),
    "event_x": lambda r: r.choice(V.MCQ_EVENT),
    "definition": lambda r: r.choice(V.MCQ_DEFINITION),
    "dtype": lambda r: r.choice(V.CODE_DTYPES),
    "k": lambda r: r.choice(V.CODE_K),
}


class _Fill:
    __slots__ = ("extra", "r")

    def __init__(self, r: Rand, extra: dict[str, str] | None = None) -> None:
        self.r = r
        self.extra = extra or {}

    def __getitem__(self, key: str) -> str:
        v = self.extra.get(key)
        if v is not None:
            return v
        opts = V.SLOTS.get(key)
        if opts is not None:
            s = opts[self.r.below(len(opts))]
            return s.format_map(self) if "{" in s else s
        return str(_DYNAMIC[key](self.r))


_QWORDS = frozenset(("how", "what", "why", "is", "can", "should", "which", "where", "when", "do", "does", "who"))


def render(frame: str, r: Rand, **extra: str) -> str:
    return frame.format_map(_Fill(r, extra)) if "{" in frame else frame


_VARIANTS: dict[tuple[int, int], list[str]] = {}
_N_VARIANTS = 128


def _variant(frames: Sequence[str], i: int, r: Rand) -> str:
    """One of 128 pre-rendered variants of ``frames[i]`` (rendering every request anew costs more than
    it adds: the sentences combine into texts that are still practically never repeated)."""
    key = (id(frames), i)
    pool = _VARIANTS.get(key)
    if pool is None:
        frame = frames[i]
        n = _N_VARIANTS if "{" in frame else 1
        pool = [render(frame, Rand(mix(41, i, k, len(frame)))) for k in range(n)]
        _VARIANTS[key] = pool
    return pool[r.below(len(pool))] if len(pool) > 1 else pool[0]


def _sentence_case(s: str) -> str:
    return s[:1].upper() + s[1:] if s else s


def _typo(s: str, r: Rand) -> str:
    """Swap two adjacent letters somewhere (casual typing)."""
    if len(s) < 12:
        return s
    i = 3 + r.below(len(s) - 6)
    if s[i].isalpha() and s[i + 1].isalpha():
        return s[:i] + s[i + 1] + s[i] + s[i + 2 :]
    return s


# --------------------------------------------------------------------------------------------------
# Pools supplied by the user


@dataclass(frozen=True)
class PoolItem:
    prompt: str
    turns: tuple[str, ...] = ()
    system: str | None = None


@dataclass(frozen=True)
class Pool:
    path: str
    sha256: str
    items: tuple[PoolItem, ...]

    def __len__(self) -> int:
        return len(self.items)


class PoolError(ValueError):
    pass


def load_pool(path: str | Path) -> Pool:
    """A JSONL file with a ``prompt`` field per line (``turns`` and ``system`` optional)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise PoolError(f"cannot read pool {p}: {e}") from e
    items: list[PoolItem] = []
    for n, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as e:
            raise PoolError(f"{p}:{n}: invalid JSON ({e})") from e
        prompt = obj.get("prompt") if isinstance(obj, dict) else None
        if not isinstance(prompt, str) or not prompt.strip():
            raise PoolError(f"{p}:{n}: no 'prompt' string")
        turns = obj.get("turns") or ()
        if not isinstance(turns, list | tuple) or not all(isinstance(t, str) for t in turns):
            raise PoolError(f"{p}:{n}: 'turns' must be a list of strings")
        system = obj.get("system")
        items.append(PoolItem(prompt, tuple(turns), system if isinstance(system, str) and system else None))
    if not items:
        raise PoolError(f"pool {p} has no prompts")
    return Pool(str(p), hashlib.sha256(raw).hexdigest(), tuple(items))


# --------------------------------------------------------------------------------------------------
# Capabilities of extraction: an integer index names one slot value (the sweep position).

CAPABILITIES = ("coding", "maths", "reasoning", "grading", "agentic")
_TEMPLATES_BY_CAP: dict[str, list[int]] = {}
for _i, (_cap, _t) in enumerate(V.EXTRACTION_TEMPLATES):
    _TEMPLATES_BY_CAP.setdefault(_cap, []).append(_i)


def templates_for(capability: str) -> list[int]:
    return list(_TEMPLATES_BY_CAP[capability])


SLOT_SPACE = {
    "coding": len(V.CODE_TASKS) * len(V.CODE_CONSTRAINTS) * 4,
    "maths": 20_000,
    "reasoning": len(V.EXPLAIN_CONCEPTS) * len(V.EXPLAIN_ASPECTS) * len(V.EXPLAIN_AUDIENCES),
    "grading": 20_000,
    "agentic": len(V.AGENT_TASKS) * 200,
}


def coding_task(i: int) -> str:
    t = V.CODE_TASKS[i % len(V.CODE_TASKS)]
    j = i // len(V.CODE_TASKS)
    c = V.CODE_CONSTRAINTS[j % len(V.CODE_CONSTRAINTS)]
    base = render(t, Rand(mix(11, j // len(V.CODE_CONSTRAINTS))))
    return f"{base} {c}" if c else base


def slot_value(capability: str, i: int) -> str:
    if capability == "coding":
        return coding_task(i)
    if capability == "maths":
        r = Rand(mix(13, i))
        return render(V.MATH_PROBLEMS[i % len(V.MATH_PROBLEMS)], r)
    if capability == "reasoning":
        nc, na = len(V.EXPLAIN_CONCEPTS), len(V.EXPLAIN_ASPECTS)
        concept = V.EXPLAIN_CONCEPTS[i % nc]
        aspect = V.EXPLAIN_ASPECTS[(i // nc) % na]
        audience = V.EXPLAIN_AUDIENCES[(i // (nc * na)) % len(V.EXPLAIN_AUDIENCES)]
        return " ".join(p for p in (concept, aspect, audience) if p)
    if capability == "grading":
        return slot_value("maths", i) if i % 2 else "Write a function that " + coding_task(i // 2)
    r = Rand(mix(17, i))
    return render(V.AGENT_TASKS[i % len(V.AGENT_TASKS)], r)


# A paraphrase campaign targets a narrow capability: "coding_narrow" (a family of coding tasks) or "maths".


def narrow_coding(i: int, family: int) -> str:
    """Coding tasks drawn from one small family (4 related tasks) with varying constraints."""
    fam = [(family * 4 + k) % len(V.CODE_TASKS) for k in range(4)]
    t = V.CODE_TASKS[fam[i % 4]]
    c = V.CODE_CONSTRAINTS[(i // 4) % len(V.CODE_CONSTRAINTS)]
    base = render(t, Rand(mix(19, i // 48)))
    return f"{base} {c}" if c else base


# --------------------------------------------------------------------------------------------------
# Response corpora


def _corpus(sentences: Sequence[str], seed: int, n: int = 400, para_every: int = 5) -> tuple[str, list[int]]:
    r = Rand(seed)
    parts: list[str] = []
    starts: list[int] = []
    pos = 0
    for k in range(n):
        s = sentences[r.below(len(sentences))]
        sep = "\n\n" if k % para_every == para_every - 1 else " "
        starts.append(pos)
        parts.append(s + sep)
        pos += len(s) + len(sep)
    text = "".join(parts)
    return text + text, starts  # doubled, so any slice of up to len(text) chars from a start exists


_CHAT_CORPUS, _CHAT_STARTS = _corpus(V.RESPONSE_SENTENCES, 1)
_COT_HEADS = (
    "Let's work through this step by step.\n\n",
    "Let me reason about this carefully.\n\n",
    "Here is a step-by-step solution.\n\n",
    "I'll break this down into steps.\n\n",
)


def _step_texts(n_texts: int = 48, n_steps: int = 80) -> list[tuple[str, list[int], int]]:
    """Numbered step-by-step texts: (text, end offset of each step, end offset of step 3)."""
    out = []
    sent = V.STEP_SENTENCES
    for t in range(n_texts):
        r = Rand(mix(31, t))
        parts: list[str] = []
        ends: list[int] = []
        pos = 0
        for k in range(1, n_steps + 1):
            para = f"Step {k}: {sent[r.below(len(sent))]} {sent[r.below(len(sent))]}\n\n"
            parts.append(para)
            pos += len(para)
            ends.append(pos)
        out.append(("".join(parts), ends, ends[2]))
    return out


_STEP_TEXTS = _step_texts()


class TextGen:
    """Renders every prompt and response the simulator writes. Pools are optional."""

    def __init__(self, benign_pool: Pool | None = None, extraction_pool: Pool | None = None) -> None:
        self.benign_pool = benign_pool
        self.extraction_pool = extraction_pool
        self._chat_topics = tuple(V.CHAT_FRAMES)

    # ---- benign chat --------------------------------------------------------------------------
    @property
    def chat_topics(self) -> tuple[str, ...]:
        return self._chat_topics

    def chat_first(self, seed: int, topics: Sequence[str], register: int) -> tuple[str, str | None]:
        """(first user turn, optional system prompt). ``register`` 0 casual, 1 plain, 2 formal."""
        r = Rand(seed)
        if self.benign_pool is not None:
            item = self.benign_pool.items[r.below(len(self.benign_pool))]
            return item.prompt, item.system
        topic = topics[r.below(len(topics))]
        core = render(V.CHAT_FRAMES[topic][r.below(len(V.CHAT_FRAMES[topic]))], r)
        opener = V.CHAT_OPENERS[r.below(len(V.CHAT_OPENERS))]
        context = _variant(V.CHAT_CONTEXT, r.below(len(V.CHAT_CONTEXT)), r)
        closer = V.CHAT_CLOSERS[r.below(len(V.CHAT_CLOSERS))]
        if register == 0:
            text = " ".join(p for p in (opener.lower(), context.lower(), core, closer) if p)
            if r.chance(0.3):
                text = _typo(text, r)
            if r.chance(0.5):
                text = text.rstrip("?.!")
        else:
            body = _sentence_case(core)
            if body[-1:] not in ("?", ".", "!"):
                body += "?" if body.split(" ", 1)[0].lower() in _QWORDS else "."
            if register == 2 and not body.startswith(("Can", "Could", "What", "How", "Why", "Is", "Should")):
                body = "Could you help with the following: " + core
            if opener and not context and opener[-1].isalpha():
                body = body[:1].lower() + body[1:]  # "ok so how do I ..." runs on
            text = " ".join(p for p in (opener, context, body, _sentence_case(closer)) if p)
        return text, None

    def chat_followup(self, seed: int, turn: int, first_seed: int, register: int) -> str:
        r = Rand(seed)
        if self.benign_pool is not None:
            item = self.benign_pool.items[Rand(first_seed).below(len(self.benign_pool))]
            if turn - 1 < len(item.turns):
                return item.turns[turn - 1]
        text = render(V.FOLLOWUPS[r.below(len(V.FOLLOWUPS))], r)
        return text if register == 0 else _sentence_case(text)

    def filler_prompt(self, seed: int) -> str:
        """An ordinary-looking single-turn question (the cover traffic of hydra members)."""
        text, _ = self.chat_first(seed, self._chat_topics, 1)
        return text

    # ---- benign apps --------------------------------------------------------------------------
    def app_text(self, app_kind: str, seed: int) -> str:
        r = Rand(seed)
        if app_kind == "minutes":
            n = 5 + r.below(8)
            first = r.below(len(V.NOTE_SENTENCES))
            step = 1 + r.below(3)
            idx = [(first + k * step) % len(V.NOTE_SENTENCES) for k in range(n)]
            return " ".join(_variant(V.NOTE_SENTENCES, i, r) for i in idx)
        n = 2 + r.below(8)
        opening = _variant(V.TICKET_SENTENCES, r.below(2), r)
        rest = [_variant(V.TICKET_SENTENCES, 2 + r.below(len(V.TICKET_SENTENCES) - 2), r) for _ in range(n)]
        text = " ".join([opening, *rest])
        return text if app_kind != "sentiment" else text[: 120 + r.below(400)]

    @staticmethod
    def app_prompt(app_kind: str, company: str, text: str) -> tuple[str, str]:
        for kind, system, user in V.APPS:
            if kind == app_kind:
                return system.format(company=company), user.replace("{text}", text)
        raise KeyError(app_kind)

    @staticmethod
    def app_response(app_kind: str, seed: int, target_chars: int) -> str:
        r = Rand(seed)
        if app_kind == "classify":
            cat = r.choice(("billing", "delivery", "technical", "account", "complaint", "other"))
            return f'{{"category": "{cat}", "urgency": {1 + r.below(3)}}}'
        if app_kind == "sentiment":
            return r.choice(("positive", "neutral", "negative", "negative"))
        if app_kind == "extract":
            name = r.choice(V.SLOTS["name"])
            return (
                f'{{"name": "{name}", "email": "{name.lower()}.{r.below(90) + 10}@example.com", '
                f'"order_number": "{r.below(9_000_000) + 1_000_000}", "issue": "{r.choice(V.ISSUE)}", '
                f'"sentiment": "{r.choice(("negative", "neutral", "positive"))}"}}'
            )
        if app_kind == "support":
            n = 2 + r.below(4)
            return (
                "Hello,\n\n"
                + " ".join(render(V.SUPPORT_REPLIES[r.below(len(V.SUPPORT_REPLIES))], r) for _ in range(n))
                + "\n\nBest regards,\nCustomer Care"
            )
        return chat_slice(r, max(80, target_chars))

    # ---- benchmarks ---------------------------------------------------------------------------
    @staticmethod
    def bench_item(bench: int, item: int) -> tuple[str, str]:
        """(prompt, gold answer) of item ``item`` of benchmark ``bench``: fixed for a given pair."""
        r = Rand(mix(23, bench, item))
        if bench % 3 == 2:  # short-answer arithmetic
            a, b, c = 12 + r.below(900), 3 + r.below(60), 2 + r.below(40)
            op = r.below(3)
            q = (f"What is {a} + {b} * {c}?", f"What is ({a} - {b}) * {c}?", f"What is {a} * {b} - {c}?")[op]
            ans = (a + b * c, (a - b) * c, a * b - c)[op]
            instr = V.BENCH_SHORT_INSTRUCTIONS[bench % len(V.BENCH_SHORT_INSTRUCTIONS)]
            return f"{q}\n{instr}", str(ans)
        stem = render(V.MCQ_STEMS[r.below(len(V.MCQ_STEMS))], r)
        first = r.below(len(V.MCQ_OPTIONS))
        step = 1 + r.below(len(V.MCQ_OPTIONS) // 4)
        opts = [V.MCQ_OPTIONS[(first + k * step) % len(V.MCQ_OPTIONS)] for k in range(4)]
        letters = "ABCD"
        body = "\n".join(f"{letters[k]}) {o}" for k, o in enumerate(opts))
        instr = V.BENCH_INSTRUCTIONS[bench % len(V.BENCH_INSTRUCTIONS)]
        return f"Question {item + 1}: {stem}\n{body}\n{instr}", letters[r.below(4)]

    # ---- extraction ---------------------------------------------------------------------------
    def extraction_prompt(self, template: int, slot_index: int, seed: int) -> tuple[str, str, bool]:
        """(prompt, capability, uses_tools) for one template filled with sweep position ``slot_index``."""
        if self.extraction_pool is not None:
            item = self.extraction_pool.items[slot_index % len(self.extraction_pool)]
            wrapper = V.COT_WRAPPERS[template % len(V.COT_WRAPPERS)]
            return wrapper.replace("{slot}", item.prompt), "pool", False
        cap, frame = V.EXTRACTION_TEMPLATES[template]
        slot = slot_value(cap, slot_index % SLOT_SPACE[cap])
        extra = {"slot": slot}
        if cap == "grading":
            extra["rubric"] = V.RUBRIC_CRITERIA[slot_index % len(V.RUBRIC_CRITERIA)]
            extra["answer"] = V.RUBRIC_ANSWERS[(slot_index // 7) % len(V.RUBRIC_ANSWERS)]
        if "{lang}" in frame:
            extra["lang"] = V.CODE_LANGS[(slot_index // 3) % len(V.CODE_LANGS)]
        text = frame
        for k, v in extra.items():  # templates hold only these named slots: plain replacement is enough
            text = text.replace("{" + k + "}", v)
        return text, cap, cap == "agentic"

    def paraphrase_prompt(self, capability: str, family: int, slot_index: int, seed: int) -> str:
        """One request of a paraphrasing campaign: same narrow capability, freshly worded every time."""
        r = Rand(seed)
        if self.extraction_pool is not None:
            slot = self.extraction_pool.items[slot_index % len(self.extraction_pool)].prompt
            task = _synonyms(slot, r)
            task = r.choice(V.PARA_MATH_TASK).replace("{slot}", task)
        elif capability == "maths":
            slot = slot_value("maths", slot_index)
            task = r.choice(V.PARA_MATH_TASK).replace("{slot}", _synonyms(slot, r))
        else:
            slot = narrow_coding(slot_index, family)
            task = r.choice(V.PARA_TASK).replace("{slot}", _synonyms(slot, r))
        cot = r.choice(V.PARA_COT)
        fmt = r.choice(V.PARA_FORMAT if capability == "coding_narrow" else V.PARA_MATH_FORMAT)
        framing = r.choice(V.PARA_FRAMING)
        parts = [task, cot, fmt]
        order = r.below(4)
        if order == 1:
            parts = [cot, task, fmt]
        elif order == 2:
            parts = [task, fmt, cot]
        if framing:
            parts = [framing, *parts] if framing.endswith(",") or r.chance(0.7) else [*parts, framing]
        sep = "\n\n" if r.chance(0.3) else " "
        return sep.join(p for p in parts if p)

    # ---- responses ----------------------------------------------------------------------------
    @staticmethod
    def chat_response(seed: int, target_chars: int) -> str:
        return chat_slice(Rand(seed), target_chars)

    @staticmethod
    def cot_response(seed: int, capability: str, target_chars: int) -> str:
        """A step-by-step answer of about ``target_chars`` characters (with code for coding tasks)."""
        r = Rand(seed)
        head = _COT_HEADS[r.below(len(_COT_HEADS))]
        if capability == "grading":
            tail = f"Score: {1 + r.below(10)}"
        elif capability in ("maths", "pool"):
            tail = f"Final answer: {r.below(1000)}"
        else:
            tail = "In summary, the approach above is correct and handles the edge cases."
        code = ""
        if capability in ("coding", "grading") or (capability == "pool" and r.chance(0.3)):
            code = V.CODE_SNIPPETS[r.below(len(V.CODE_SNIPPETS))] + "\n\n"
        budget = max(0, target_chars - len(head) - len(tail) - len(code))
        text, ends, third = _STEP_TEXTS[r.below(len(_STEP_TEXTS))]
        k = bisect.bisect_right(ends, budget)
        if k == 0:
            return head + code + tail
        if code and k > 3:
            return head + text[:third] + code + text[third : ends[k - 1]] + tail
        return head + text[: ends[k - 1]] + code + tail

    @staticmethod
    def bench_response(answer: str) -> str:
        return answer


def chat_slice(r: Rand, target_chars: int) -> str:
    start = _CHAT_STARTS[r.below(len(_CHAT_STARTS))]
    target = max(20, min(target_chars, len(_CHAT_CORPUS) // 2))
    text = _CHAT_CORPUS[start : start + target]
    cut = text.rfind(". ")
    if cut > target // 2:
        text = text[: cut + 1]
    return text.strip()


def _synonyms(text: str, r: Rand) -> str:
    words = text.split(" ")
    for i, w in enumerate(words):
        alts = V.PARA_SYNONYMS.get(w)
        if alts is not None and r.chance(0.6):
            words[i] = alts[r.below(len(alts))]
    return " ".join(words)
