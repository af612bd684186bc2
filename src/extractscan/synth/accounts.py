"""The simulated population: accounts, campaigns and benchmark runs, with their identities and habits.

:func:`build_plan` draws every account's fixed traits (format, ids, models, IPs, user agents, volume,
parameters, extraction recipe) from its own seeded :class:`~extractscan.synth.text.Rand`, so traits do not
depend on generation order. Request timing is vectorised separately (:mod:`extractscan.synth.timing`).
"""

from __future__ import annotations

import hashlib
import math
import string
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from extractscan.synth import catalog as C
from extractscan.synth.catalog import Model
from extractscan.synth.spec import COUNTED_KINDS, SynthSpec
from extractscan.synth.text import CAPABILITIES, Rand, TextGen, mix, templates_for
from extractscan.synth.vocab import APPS, COMPANY

_ALNUM = string.ascii_letters + string.digits
_LOWER_ALNUM = string.ascii_lowercase + string.digits
_HEX = "0123456789abcdef"
_TEAMS = ("research", "growth", "platform", "apps", "data", "eval")
_IP_FORMATS = ("envelope", "litellm")  # the formats that carry the caller's IP and user agent


@dataclass
class BenchRun:
    account: int
    step: int  # day index in the window
    start: float  # epoch seconds
    bench: int  # benchmark id (its items are fixed)
    n_items: int
    concurrency: int
    model: Model


@dataclass
class Campaign:
    campaign_id: str
    kind: str  # hydra | paraphrase
    members: list[int]
    tz: float
    bursts_per_day: float = 0.0
    per_burst: float = 1.0
    business_hours: bool = False
    capability: str = ""
    family: int = 0
    templates: tuple[int, ...] = ()
    ip_ranges: tuple[str, ...] = ()
    ua_family: str = ""


@dataclass(eq=False)
class Account:
    idx: int
    kind: str
    campaign_id: str
    fmt: str
    account_id: str
    surface: str
    family: str
    models: tuple[Model, ...]
    tz: float
    country: str
    ips: tuple[str, ...]
    uas: tuple[str, ...]
    keys: tuple[str, ...]
    region: str = "us-east-1"
    principals: tuple[str, ...] = ()
    end_users: int = 0  # number of distinct end users behind the account (apps); 0: none
    register: int = 1
    topics: tuple[str, ...] = ()
    # request parameters
    max_tokens: int | None = None
    temperature: float | None = None
    stream: bool = False
    n: int = 1
    logprobs: bool = False
    top_logprobs: int | None = None
    reasoning_effort: str | None = None
    thinking_budget: int | None = None
    tools_p: float = 0.0
    # timing
    rate: float = 0.0  # requests per hour (automated kinds)
    active_p: float = 0.0
    sess_mean: float = 0.0
    turn_p: float = 0.5
    shift: float = 0.0
    anchor: int = 0
    workers: int = 1
    start_step: int = 0
    business_hours: bool = False
    total_target: int = 0  # hydra members: requests over the window
    fill_share: float = 0.0
    # extraction recipe
    templates: tuple[int, ...] = ()
    sweep_offset: int = 0
    sweep_stride: int = 1
    share: float = 0.0
    para_cap: str = ""
    para_family: int = 0
    script_ua: str = ""
    # benign app
    app_kind: str = ""
    company: str = ""
    app_name: str = ""
    # model release
    pivot_ts: float | None = None
    pivot_p: float = 0.0
    ident: dict[str, Any] = field(default_factory=dict)
    runs: list[int] = field(default_factory=list)
    # mutable generation state
    counter: int = 0
    written: int = 0
    extraction_written: int = 0


@dataclass
class Plan:
    accounts: list[Account]
    campaigns: list[Campaign]
    runs: list[BenchRun]
    t0: float
    days: int
    release: date
    release_ts: float
    new_models: dict[str, Model]

    def by_kind(self, kind: str) -> list[Account]:
        return [a for a in self.accounts if a.kind == kind]


# --------------------------------------------------------------------------------------------------
# helpers


def _rs(r: Rand, alphabet: str, n: int) -> str:
    return "".join(alphabet[r.below(len(alphabet))] for _ in range(n))


def _uuid(r: Rand) -> str:
    h = f"{r.next():010x}{r.next():010x}{r.next():010x}{r.next():010x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"


def _weighted(r: Rand, weights: list[float]) -> int:
    x = r.random() * sum(weights)
    for i, w in enumerate(weights):
        x -= w
        if x < 0:
            return i
    return len(weights) - 1


def _ip_residential(r: Rand) -> str:
    return f"{r.choice(C.RESIDENTIAL_FIRST)}.{r.below(256)}.{r.below(256)}.{1 + r.below(254)}"


def _ip_mobile(r: Rand) -> str:
    return f"{r.choice(C.MOBILE_FIRST)}.{r.below(256)}.{r.below(256)}.{1 + r.below(254)}"


def _hosting_24(r: Rand) -> str:
    return f"{r.choice(C.HOSTING_16)}.{r.below(256)}"


def _browser_ua(r: Rand) -> str:
    return r.choice(C.BROWSER_UAS).format(v=120 + r.below(18), m=r.below(6))


def _script_ua(r: Rand, family: str | None = None) -> str:
    fam = family or r.choice(tuple(C.SCRIPT_UA_FAMILIES))
    return r.choice(C.SCRIPT_UA_FAMILIES[fam])


def _tz(r: Rand) -> tuple[float, str]:
    i = _weighted(r, [w for _, _, w in C.TIMEZONES])
    return C.TIMEZONES[i][0], C.TIMEZONES[i][1]


class _Ids:
    """Unique, realistic account ids per format."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def new(self, fmt: str, r: Rand) -> str:
        while True:
            if fmt == "bedrock":
                v = str(100_000_000_000 + r.below(900_000_000_000))
            elif fmt == "litellm":
                v = _uuid(r)
            elif fmt == "langfuse":  # the app's user id; the Langfuse project is shared (see _identity)
                v = "usr_" + _rs(r, _LOWER_ALNUM, 16)
            elif fmt == "helicone":
                v = f"cust-{10_000_000 + r.below(90_000_000)}"
            elif fmt == "portkey":
                v = f"user-{100_000_000 + r.below(900_000_000)}"
            else:  # envelope, openai_batch: OpenAI-style organisation ids
                v = "org-" + _rs(r, _ALNUM, 24)
            if v not in self.seen:
                self.seen.add(v)
                return v


# --------------------------------------------------------------------------------------------------


class _Builder:
    def __init__(self, spec: SynthSpec, counts: dict[str, int], n_hydra: int, n_para: int) -> None:
        self.spec = spec
        self.seed = spec.seed
        self.volume = spec.effective_volume()
        self.days = spec.days
        self.t0 = datetime.combine(date.fromisoformat(spec.start), datetime.min.time(), UTC).timestamp()
        rel_day = spec.release_day if spec.release_day is not None else round(0.4 * spec.days, 2)
        self.release_ts = self.t0 + rel_day * 86400 + 17 * 3600  # announced late afternoon UTC
        self.release = datetime.fromtimestamp(self.release_ts, UTC).date()
        self.new_models = C.new_models(self.release)
        self.counts = counts
        self.n_hydra = n_hydra
        self.n_para = n_para
        self.ids = _Ids()
        self.accounts: list[Account] = []
        self.campaigns: list[Campaign] = []
        self.runs: list[BenchRun] = []
        self.formats = list(spec.formats)
        rp = self._rand(77)
        self.langfuse_projects = ["cm" + _rs(rp, _LOWER_ALNUM, 23) for _ in range(2)]
        # openai_batch carries no time or account: only accounts we place there explicitly get it
        self.fmt_weights = [C.FORMAT_WEIGHTS[f] for f in self.formats]

    # ---- shared ---------------------------------------------------------------------------------
    def _rand(self, *parts: int) -> Rand:
        return Rand(mix(self.seed, *parts))

    def _format(self, r: Rand, prefer_ip: bool = False, human: bool = False) -> str:
        """Draw a format. People do not submit Batch API files, so human kinds never get openai_batch
        (unless it is the only format asked for)."""
        w = list(self.fmt_weights)
        if prefer_ip:
            w = [x * (2.5 if f in _IP_FORMATS else 1.0) for f, x in zip(self.formats, w, strict=True)]
        if human and any(f != "openai_batch" for f in self.formats):
            w = [0.0 if f == "openai_batch" else x for f, x in zip(self.formats, w, strict=True)]
        return self.formats[_weighted(r, w)]

    def _surface(self, r: Rand, fmt: str) -> tuple[str, str]:
        opts = C.SURFACES[fmt]
        i = _weighted(r, [w for _, _, w in opts])
        return opts[i][0], opts[i][1]

    def _models(self, r: Rand, family: str, k: int, strong: bool = False) -> tuple[Model, ...]:
        pool = list(C.FAMILIES[family])
        if strong:  # extraction wants the most capable models
            pool.sort(key=lambda m: -m.price_out)
            pool = pool[: max(1, min(2, len(pool)))]
        out: list[Model] = []
        for _ in range(k):
            m = pool[r.below(len(pool))]
            if m not in out:
                out.append(m)
        return tuple(out)

    def _identity(self, a: Account, r: Rand, *, role: str, shared_key: str | None = None) -> None:
        """Format-specific identity fields (keys, principals, aliases)."""
        fmt = a.fmt
        if fmt == "bedrock":
            a.region = r.choice(C.BEDROCK_REGIONS)
            acct = a.account_id
            if role == "human":
                first, last = r.choice(C.FIRST_NAMES), r.choice(C.LAST_NAMES)
                if r.chance(0.5):
                    a.principals = (f"arn:aws:iam::{acct}:user/{first}.{last}",)
                else:
                    sso = _rs(r, _HEX, 16)
                    a.principals = (
                        f"arn:aws:sts::{acct}:assumed-role/AWSReservedSSO_DeveloperAccess_{sso}/{first}.{last}@"
                        f"{r.choice(C.WORDS)}corp.com",
                    )
            elif role == "app":
                app = a.app_name or "inference"
                a.principals = tuple(
                    f"arn:aws:sts::{acct}:assumed-role/{app}-inference-role/i-0{_rs(r, _HEX, 16)}" for _ in range(2)
                )
            elif role == "campaign":
                a.principals = tuple(f"arn:aws:sts::{acct}:assumed-role/{shared_key}/worker-{1 + r.below(40)}" for _ in range(2))
            else:  # service / script
                if r.chance(0.5):
                    a.principals = (f"arn:aws:iam::{acct}:user/svc-{r.choice(C.WORDS)}",)
                else:
                    role_name = f"{r.choice(C.WORDS)}-batch-runner"
                    a.principals = tuple(
                        f"arn:aws:sts::{acct}:assumed-role/{role_name}/worker-{k}" for k in range(1, a.workers + 1)
                    )
            a.keys = a.principals
            return
        nkeys = 1 if role in ("human", "campaign") else 1 + r.below(2)
        if fmt == "litellm":
            raw = [shared_key or ("sk-" + _rs(r, _ALNUM, 22)) for _ in range(nkeys)]
            a.keys = tuple(hashlib.sha256(k.encode()).hexdigest() for k in raw)
            alias = r.choice(C.WORDS)
            a.ident = {
                "team_alias": f"{alias}-{r.choice(_TEAMS)}",
                "key_alias": f"{alias}-key-{r.below(100)}",
                "user_id": f"{r.choice(C.FIRST_NAMES)}.{r.choice(C.LAST_NAMES)}@{alias}.io"
                if role == "human"
                else f"svc-{alias}",
            }
        elif fmt == "helicone":
            a.keys = (shared_key or _uuid(r),)
        elif fmt == "portkey":
            prov = "anthropic" if a.family == "anthropic" else "openai"
            a.keys = (shared_key or f"{prov}-{r.choice(C.WORDS)}-vk-{_rs(r, _HEX, 4)}",)
            a.ident = {"runtime": r.choice(("python", "node")), "sdk": f"1.{r.below(12)}.{r.below(10)}"}
        elif fmt == "langfuse":
            # One Langfuse export is one or a few projects of one platform; its users are the accounts.
            a.keys = (shared_key or "pk-lf-" + _uuid(r),)
            a.ident = {
                "project_id": self.langfuse_projects[mix(self.seed, a.idx) % len(self.langfuse_projects)],
                "release": f"v{1 + r.below(3)}.{r.below(20)}.{r.below(10)}",
                "trace_name": {"app": a.app_name or "app", "human": "chat"}.get(role, r.choice(C.WORDS) + "-job"),
            }
        else:  # envelope, openai_batch
            a.keys = tuple(shared_key or ("key_" + _rs(r, _ALNUM, 20)) for _ in range(nkeys))
            if role == "human" and r.chance(0.3):
                a.ident = {"end_user": "user_" + _rs(r, _LOWER_ALNUM, 12)}

    def _new(self, kind: str, r: Rand, fmt: str, campaign_id: str = "") -> Account:
        surface, family = self._surface(r, fmt)
        tz, country = _tz(r)
        a = Account(
            idx=len(self.accounts),
            kind=kind,
            campaign_id=campaign_id,
            fmt=fmt,
            account_id=self.ids.new(fmt, r),
            surface=surface,
            family=family,
            models=(),
            tz=tz,
            country=country,
            ips=(),
            uas=(),
            keys=(),
        )
        self.accounts.append(a)
        return a

    def _chat_habits(self, a: Account, r: Rand, topics: tuple[str, ...]) -> None:
        a.register = _weighted(r, [0.35, 0.45, 0.2])
        k = 2 + r.below(4)
        a.topics = tuple(topics[r.below(len(topics))] for _ in range(k))
        a.sess_mean = min(10.0, math.exp(math.log(2.2) + 0.7 * _gauss(r)))
        a.active_p = 0.3 + 0.65 * r.random()
        a.turn_p = 0.25 + 0.4 * r.random()
        a.shift = -2.0 + 4.0 * r.random()
        # a day on which the account is surely active, inside the window whatever its time zone
        a.anchor = 1 + r.below(self.days - 2) if self.days >= 3 else r.below(self.days)
        a.models = self._models(r, a.family, 1 + r.below(3))
        if r.chance(0.15):  # developer tools and SDK defaults ask for long outputs: a hard negative
            top = max(m.max_out for m in a.models)
            a.max_tokens = min(top, r.choice((8192, 16384, 32000)))
        elif a.surface in ("messages", "invoke", "converse"):
            a.max_tokens = r.choice((1024, 1024, 2048, 4096))
        else:
            a.max_tokens = None if r.chance(0.75) else r.choice((256, 512, 1024, 2048))
        a.temperature = None if r.chance(0.7) else r.choice((0.7, 1.0, 0.5))
        if self.release_ts and r.chance(0.25):
            a.pivot_ts = self.release_ts + r.random() * 4 * 86400
            a.pivot_p = 0.5

    def _extract_params(self, a: Account, r: Rand, strong: bool = True) -> None:
        a.models = self._models(r, a.family, 1 + r.below(2), strong=strong)
        top = max(m.max_out for m in a.models)
        a.max_tokens = int(top * r.choice((1.0, 1.0, 0.95, 0.9))) if top < 60000 else r.choice((32000, top, 64000))
        a.temperature = r.choice((0.7, 0.8, 1.0, 1.0, None))
        if a.surface in ("chat",) and r.chance(0.3):
            a.n = r.choice((2, 3))
        if a.surface in ("chat", "responses") and r.chance(0.25):
            a.logprobs = True
            a.top_logprobs = r.choice((5, 10, 20))
        if any(m.reasoning for m in a.models):
            a.reasoning_effort = "high"
        if a.surface in ("messages", "invoke") and r.chance(0.4):
            a.thinking_budget = r.choice((8000, 16000, 24000))

    # ---- kinds ----------------------------------------------------------------------------------
    def benign_chat(self, n: int, tg: TextGen) -> None:
        accts = []
        for i in range(n):
            r = self._rand(1, i)
            a = self._new("benign_chat", r, self._format(r, human=True))
            self._chat_habits(a, r, tg.chat_topics)
            ips = [_ip_residential(r)]
            if r.chance(0.35):
                ips.append(_ip_mobile(r))
            if r.chance(0.1):
                ips.append(_ip_residential(r))
            a.ips = tuple(ips)
            a.uas = (_browser_ua(r),) if r.chance(0.85) else (r.choice(C.SDK_UAS),)
            a.stream = a.uas[0].startswith("Mozilla") and r.chance(0.6)
            self._identity(a, r, role="human")
            accts.append(a)
        # colleagues behind one corporate proxy: same IP, same managed browser build, same gateway log
        ip_fmts = [f for f in self.formats if f in _IP_FORMATS]
        r = self._rand(2)
        n_corp = round(self.spec.corporate_share * n) if ip_fmts else 0
        i = 0
        g = 0
        while i + 2 < n_corp:
            size = min(3 + r.below(6), n_corp - i)
            ip = f"{r.choice(C.CORPORATE_16)}.{r.below(256)}.{1 + r.below(254)}"
            ua = _browser_ua(r)
            fmt = r.choice(ip_fmts)
            for a in accts[i : i + size]:
                if a.fmt != fmt:
                    self.ids.seen.discard(a.account_id)
                    ra = self._rand(1, a.idx, 2)
                    a.fmt = fmt
                    a.account_id = self.ids.new(fmt, ra)
                    a.surface, a.family = self._surface(ra, fmt)
                    a.models = self._models(ra, a.family, 1 + ra.below(3))
                    if a.surface in ("messages", "invoke", "converse") and a.max_tokens is None:
                        a.max_tokens = 1024
                    self._identity(a, ra, role="human")
                a.ips = (ip,)
                a.uas = (ua,)
                a.stream = True
                a.ident = {**a.ident, "corporate_group": g}
            i += size
            g += 1

    def benign_app(self, n: int) -> None:
        for i in range(n):
            r = self._rand(3, i)
            a = self._new("benign_app", r, self._format(r))
            a.app_kind = APPS[r.below(len(APPS))][0]
            a.company = r.choice(COMPANY)
            a.app_name = r.choice(C.APP_NAMES)
            a.models = self._models(r, a.family, 1)
            a.max_tokens = r.choice((256, 512, 800, 1024))
            a.temperature = r.choice((0.0, 0.2, 0.3))
            a.business_hours = r.chance(0.6)
            a.rate = self.volume * min(400.0, max(10.0, math.exp(math.log(80) + 0.6 * _gauss(r))))
            a.ips = (f"{_hosting_24(r)}.{1 + r.below(254)}",)
            a.uas = (r.choice(C.SDK_UAS),)
            a.end_users = 50 + r.below(5000)
            self._identity(a, r, role="app")

    def benchmark_runner(self, n: int) -> None:
        for i in range(n):
            r = self._rand(4, i)
            a = self._new("benchmark_runner", r, self._format(r))
            a.models = self._models(r, a.family, 2 + r.below(2))
            a.max_tokens = r.choice((1, 5, 10, 16))
            a.temperature = 0.0
            a.ips = (f"{_hosting_24(r)}.{1 + r.below(254)}",) if r.chance(0.6) else (_ip_residential(r),)
            a.uas = (r.choice(C.SDK_UAS),)
            self._identity(a, r, role="service")
            benches = [r.below(12) for _ in range(1 + r.below(2))]
            n_runs = 1 + r.below(3)
            days = sorted({r.below(self.days) for _ in range(n_runs)})
            for d in days:
                self._run(a, r, d, benches[r.below(len(benches))], a.models[r.below(len(a.models))])
            if r.chance(0.5):  # evaluate the newly released model quickly: a hard negative for the pivot
                d = int((self.release_ts - self.t0) // 86400) + 1
                if d < self.days:
                    self._run(a, r, d, benches[0], self.new_models[a.family])

    def _run(self, a: Account, r: Rand, day: int, bench: int, model: Model) -> None:
        local_hour = 9 + 9 * r.random()
        start = self.t0 + day * 86400 + (local_hour - a.tz) * 3600
        n_items = max(20, int(self.volume * (200 + r.below(800))))
        run = BenchRun(a.idx, day, start, bench, n_items, 4 + r.below(13), model)
        a.runs.append(len(self.runs))
        self.runs.append(run)

    def extractor(self, n: int) -> None:
        for i in range(n):
            r = self._rand(5, i)
            a = self._new("extractor", r, self._format(r))
            a.workers = 2 + r.below(7)
            self._extract_params(a, r)
            cap_main = r.choice(CAPABILITIES)
            tmpl = templates_for(cap_main)
            a.templates = tuple(tmpl[: 1 + r.below(len(tmpl))])
            if r.chance(0.4):  # a second capability
                other = templates_for(r.choice(CAPABILITIES))
                a.templates += (other[r.below(len(other))],)
            a.tools_p = 1.0 if cap_main == "agentic" else 0.0
            a.sweep_offset = r.below(1_000_000)
            a.rate = self.volume * min(400.0, max(10.0, math.exp(math.log(60) + 0.5 * _gauss(r))))
            a.start_step = r.below(max(1, self.days // 4))
            r24 = _hosting_24(r)
            a.ips = tuple(f"{r24}.{1 + r.below(254)}" for _ in range(1 + r.below(4)))
            a.script_ua = _script_ua(r)
            a.uas = (a.script_ua,)
            a.pivot_ts = self.release_ts + 3600 * (1 + 19 * r.random())
            a.pivot_p = 0.9
            self._identity(a, r, role="service")

    def hydra(self, n_campaigns: int) -> None:
        lo, hi = self.spec.effective_hydra_size()
        tlo, thi = self.spec.effective_hydra_member_requests()
        for c in range(n_campaigns):
            r = self._rand(6, c)
            cid = f"camp-{len(self.campaigns) + 1:03d}"
            size = lo + r.below(hi - lo + 1)
            fmt = self._format(r, prefer_ip=True)
            tz, _ = _tz(r)
            cap = r.choice(CAPABILITIES)
            tmpl = templates_for(cap)
            camp = Campaign(
                campaign_id=cid,
                kind="hydra",
                members=[],
                tz=tz,
                bursts_per_day=2 + 4 * r.random(),
                per_burst=1.0 + 1.5 * r.random(),
                business_hours=r.chance(0.3),
                capability=cap,
                templates=tuple(tmpl[: 1 + r.below(len(tmpl))]),
                ip_ranges=tuple(_hosting_24(r) for _ in range(2 + r.below(2))),
                ua_family=r.choice(tuple(C.SCRIPT_UA_FAMILIES)),
            )
            surface, family = self._surface(r, fmt)
            base_models = self._models(r, family, 1, strong=True)
            top = base_models[0].max_out
            max_tokens = int(top if top < 60000 else 32000)
            role = f"{r.choice(C.WORDS)}-{r.choice(C.WORDS)}-role"
            shared_keys: list[str | None] = [None] * size
            if fmt != "bedrock" and r.chance(0.7):  # a few members share API keys
                key = self._shared_key(fmt, r, family)
                for j in range(min(size, 2 + r.below(3))):
                    shared_keys[j] = key
            pivot = self.release_ts + 3600 * (1 + 10 * r.random())
            for m in range(size):
                rm = self._rand(7, c, m)
                a = self._new("hydra", rm, fmt, cid)
                a.surface, a.family, a.models = surface, family, base_models
                a.max_tokens = max_tokens
                a.temperature = 1.0
                a.templates = camp.templates
                a.tools_p = 1.0 if cap == "agentic" else 0.0
                a.sweep_offset = r.below(1_000_000) if m == 0 else self.accounts[camp.members[0]].sweep_offset
                a.sweep_stride = size
                a.counter = m  # members take interleaved slices of the campaign's sweep
                a.total_target = tlo + rm.below(thi - tlo + 1)
                a.fill_share = 0.08 + 0.17 * rm.random()
                a.ips = tuple(f"{rm.choice(camp.ip_ranges)}.{1 + rm.below(254)}" for _ in range(1 + rm.below(2)))
                a.script_ua = rm.choice(C.SCRIPT_UA_FAMILIES[camp.ua_family])
                a.uas = (a.script_ua,)
                a.pivot_ts = pivot
                a.pivot_p = 0.9
                a.tz = camp.tz
                self._identity(a, rm, role="campaign", shared_key=role if fmt == "bedrock" else shared_keys[m])
                camp.members.append(a.idx)
            self.campaigns.append(camp)

    def _shared_key(self, fmt: str, r: Rand, family: str) -> str:
        if fmt == "litellm":
            return "sk-" + _rs(r, _ALNUM, 22)
        if fmt == "helicone":
            return _uuid(r)
        if fmt == "portkey":
            prov = "anthropic" if family == "anthropic" else "openai"
            return f"{prov}-{r.choice(C.WORDS)}-vk-{_rs(r, _HEX, 4)}"
        if fmt == "langfuse":
            return "pk-lf-" + _uuid(r)
        return "key_" + _rs(r, _ALNUM, 20)

    def diluted(self, n: int, tg: TextGen) -> None:
        lo, hi = self.spec.diluted_share
        for i in range(n):
            r = self._rand(8, i)
            a = self._new("diluted", r, self._format(r, human=True))
            self._chat_habits(a, r, tg.chat_topics)
            a.pivot_ts = None
            a.sess_mean = max(a.sess_mean, 1.0)
            a.active_p = max(a.active_p, 0.5)
            a.share = lo + (hi - lo) * r.random()
            cap = r.choice(CAPABILITIES[:3])
            a.templates = (templates_for(cap)[0],)
            a.sweep_offset = r.below(1_000_000)
            a.ips = (_ip_residential(r),) + ((_ip_mobile(r),) if r.chance(0.3) else ())
            a.uas = (_browser_ua(r),)
            a.script_ua = _script_ua(r, r.choice(("requests", "httpx", "curl")))
            a.stream = r.chance(0.5)
            strong = self._models(r, a.family, 1, strong=True)[0]
            self._identity(a, r, role="human")
            a.ident["extract_model"] = strong  # the script asks the strongest model for everything

    def paraphrase(self, n_campaigns: int) -> None:
        lo, hi = self.spec.paraphrase_size
        for c in range(n_campaigns):
            r = self._rand(9, c)
            cid = f"camp-{len(self.campaigns) + 1:03d}"
            size = lo + r.below(hi - lo + 1)
            fmt = self._format(r, human=True)
            tz, _ = _tz(r)
            camp = Campaign(
                campaign_id=cid,
                kind="paraphrase",
                members=[],
                tz=tz,
                capability=r.choice(("coding_narrow", "maths")),
                family=r.below(10),
            )
            surface, family = self._surface(r, fmt)
            for m in range(size):
                rm = self._rand(10, c, m)
                a = self._new("paraphrase", rm, fmt, cid)
                a.surface, a.family = surface, family
                a.models = self._models(rm, family, 1, strong=True)
                top = a.models[0].max_out
                a.max_tokens = rm.choice((8192, 16000, top)) if top > 16000 else top
                a.temperature = rm.choice((None, 0.7, 0.9))
                a.para_cap = camp.capability
                a.para_family = camp.family
                a.sweep_offset = rm.below(1_000_000)
                a.rate = self.volume * (3.0 + 9.0 * rm.random())
                a.tz = camp.tz + rm.choice((-1.0, 0.0, 0.0, 1.0))
                a.start_step = rm.below(max(1, self.days // 3))
                a.ips = tuple(_ip_residential(rm) for _ in range(2 + rm.below(4)))
                a.uas = tuple(_browser_ua(rm) for _ in range(1 + rm.below(3)))
                a.pivot_ts = self.release_ts + 3600 * (2 + 20 * rm.random())
                a.pivot_p = 0.8
                self._identity(a, rm, role="human")
                camp.members.append(a.idx)
            self.campaigns.append(camp)


def _gauss(r: Rand) -> float:
    # Box-Muller from two uniforms
    u1 = max(r.random(), 1e-12)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2 * math.pi * r.random())


def build_plan(spec: SynthSpec, counts: dict[str, int], n_hydra: int, n_para: int, tg: TextGen) -> Plan:
    """Draw the population. ``counts`` gives the directly counted kinds; campaigns give the rest."""
    b = _Builder(spec, counts, n_hydra, n_para)
    b.benign_chat(counts.get("benign_chat", 0), tg)
    b.benign_app(counts.get("benign_app", 0))
    b.benchmark_runner(counts.get("benchmark_runner", 0))
    b.extractor(counts.get("extractor", 0))
    b.hydra(n_hydra)
    b.diluted(counts.get("diluted", 0), tg)
    b.paraphrase(n_para)
    return Plan(b.accounts, b.campaigns, b.runs, b.t0, spec.days, b.release, b.release_ts, b.new_models)


def base_counts(spec: SynthSpec) -> tuple[dict[str, int], int, int]:
    counts = {k: int(spec.preset.accounts.get(k, 0)) for k in COUNTED_KINDS}
    if spec.accounts:
        counts.update({k: int(v) for k, v in spec.accounts.items()})
    n_hydra = spec.hydra_campaigns if spec.hydra_campaigns is not None else spec.preset.hydra_campaigns
    n_para = spec.paraphrase_campaigns if spec.paraphrase_campaigns is not None else spec.preset.paraphrase_campaigns
    return counts, n_hydra, n_para


def scaled_counts(counts: dict[str, int], n_hydra: int, n_para: int, factor: float) -> tuple[dict[str, int], int, int]:
    def sc(v: int) -> int:
        return max(1, round(v * factor)) if v > 0 else 0

    return {k: sc(v) for k, v in counts.items()}, sc(n_hydra), sc(n_para)


__all__ = [
    "Account",
    "BenchRun",
    "Campaign",
    "Plan",
    "base_counts",
    "build_plan",
    "scaled_counts",
]
