"""When each account sends requests: vectorised over all accounts of a kind, one day (step) at a time.

A step is one UTC day of the window; each kind's generator returns the events it starts on that day, as
numpy columns. Human kinds live in local time (a per-account UTC offset), so a step's events may fall up
to :data:`LOOKBACK` hours before its UTC midnight; :class:`Scheduler` keeps events pending until no later
step can produce an earlier one, then hands them out sorted by time. Memory is bounded by about two days
of events, whatever the window length.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from extractscan.synth.accounts import Account, Plan

# event modes
CHAT, APP, BENCH, EXTRACT, PARA, FILLER = 0, 1, 2, 3, 4, 5
LOOKBACK = 15 * 3600.0  # the earliest a step's events can start before its UTC midnight

COLUMNS = ("ts", "acct", "mode", "conv", "turn", "nturns", "item", "aux", "rnd")
_DTYPES = {
    "ts": np.float64,
    "acct": np.int32,
    "mode": np.int8,
    "conv": np.int64,
    "turn": np.int16,
    "nturns": np.int16,
    "item": np.int64,
    "aux": np.int32,
    "rnd": np.int64,
}

# relative request intensity per local hour
_DIURNAL = np.array(
    [
        0.35,
        0.18,
        0.1,
        0.06,
        0.05,
        0.08,
        0.25,
        0.55,
        0.9,
        1.2,
        1.35,
        1.3,
        1.2,
        1.25,
        1.35,
        1.3,
        1.2,
        1.1,
        1.05,
        1.25,
        1.45,
        1.4,
        1.05,
        0.65,
    ]
)
_DIURNAL_CDF = np.cumsum(_DIURNAL) / _DIURNAL.sum()
_BUSINESS = np.array([0.02] * 7 + [0.3, 0.9, 1.0, 1.0, 1.0, 0.8, 0.95, 1.0, 1.0, 1.0, 0.7, 0.3] + [0.05] * 5)
_ROUND_CLOCK = 0.45 + 0.55 * _DIURNAL / _DIURNAL.max()
_OPERATING = np.array([0.15] * 7 + [1.0] * 16 + [0.15])  # semi-automated: a person starts the script

Events = dict[str, np.ndarray]


def empty() -> Events:
    return {c: np.empty(0, dtype=_DTYPES[c]) for c in COLUMNS}


def make(n: int, **cols: np.ndarray | int | float) -> Events:
    out: Events = {}
    for c in COLUMNS:
        if c == "rnd":
            continue
        v = cols.get(c, -1 if c == "conv" else (1 if c == "nturns" else 0))
        out[c] = np.broadcast_to(np.asarray(v, dtype=_DTYPES[c]), (n,)).copy() if n else np.empty(0, _DTYPES[c])
    return out


def concat(parts: list[Events]) -> Events:
    parts = [p for p in parts if len(p["ts"])]
    if not parts:
        return empty()
    return {c: np.concatenate([p[c] for p in parts]) for c in parts[0]}


def take(ev: Events, idx: np.ndarray) -> Events:
    return {c: v[idx] for c, v in ev.items()}


def group_arange(counts: np.ndarray) -> np.ndarray:
    """0..n-1 within each group laid out by ``np.repeat(..., counts)``."""
    total = int(counts.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    starts = np.cumsum(counts) - counts
    return np.arange(total) - np.repeat(starts, counts)


def group_cumsum(x: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Inclusive cumulative sum of ``x`` restarting at every group (``x`` laid out by ``counts``)."""
    if len(x) == 0:
        return x
    cs = np.cumsum(x)
    starts = np.cumsum(counts) - counts
    nz = counts > 0
    base = np.zeros(len(counts))
    base[nz] = cs[starts[nz]] - x[starts[nz]]
    return cs - np.repeat(base, counts)


def _expected_turns(p: np.ndarray, cap: int = 10) -> np.ndarray:
    return (1 - (1 - p) ** cap) / p


_E_CONV = sum(min(k, 4) * 0.6 * 0.4 ** (k - 1) for k in range(1, 60))


@dataclass
class _Chat:
    idx: np.ndarray
    tz: np.ndarray
    sess_mean: np.ndarray
    active_p: np.ndarray
    turn_p: np.ndarray
    shift: np.ndarray
    anchor: np.ndarray

    @classmethod
    def of(cls, accts: list[Account]) -> _Chat:
        f = np.array
        return cls(
            f([a.idx for a in accts], dtype=np.int32),
            f([a.tz for a in accts], dtype=float),
            f([a.sess_mean for a in accts], dtype=float),
            f([a.active_p for a in accts], dtype=float),
            f([a.turn_p for a in accts], dtype=float),
            f([a.shift for a in accts], dtype=float),
            f([a.anchor for a in accts], dtype=np.int64),
        )

    def expected_per_day(self) -> np.ndarray:
        return self.active_p * (5 + 2 * 0.7) / 7 * self.sess_mean * _E_CONV * _expected_turns(self.turn_p)


class Scheduler:
    """Generates the events of the whole window step by step and yields them in time order, in chunks."""

    def __init__(self, plan: Plan, seed: int) -> None:
        self.plan = plan
        self.seed = seed
        accts = plan.accounts
        kind = {k: [a for a in accts if a.kind == k] for k in {a.kind for a in accts}}
        self.chat = _Chat.of(kind.get("benign_chat", []))
        self.dil = _Chat.of(kind.get("diluted", []))
        dil = kind.get("diluted", [])
        self.dil_share = np.array([a.share for a in dil], dtype=float)
        apps = kind.get("benign_app", [])
        self.app_idx = np.array([a.idx for a in apps], dtype=np.int32)
        self.app_tz = np.array([a.tz for a in apps], dtype=float)
        self.app_rate = np.array([a.rate for a in apps], dtype=float)
        self.app_bus = np.array([a.business_hours for a in apps], dtype=bool)
        ex = kind.get("extractor", [])
        self.ex_idx = np.array([a.idx for a in ex], dtype=np.int32)
        self.ex_rate = np.array([a.rate for a in ex], dtype=float)
        self.ex_workers = np.array([a.workers for a in ex], dtype=np.int64)
        self.ex_start = np.array([a.start_step for a in ex], dtype=np.int64)
        self.ex_phase = np.array([(a.sweep_offset % 997) / 997.0 for a in ex], dtype=float)
        pa = kind.get("paraphrase", [])
        self.pa_idx = np.array([a.idx for a in pa], dtype=np.int32)
        self.pa_tz = np.array([a.tz for a in pa], dtype=float)
        self.pa_rate = np.array([a.rate for a in pa], dtype=float)
        self.pa_start = np.array([a.start_step for a in pa], dtype=np.int64)
        self.conv_next = 1

    # ---- kinds --------------------------------------------------------------------------------------
    def _chat(self, rng: np.random.Generator, c: _Chat, g: int, day0: float, weekend: bool) -> Events:
        a = len(c.idx)
        if a == 0:
            return empty()
        p = c.active_p * (0.7 if weekend else 1.0)
        forced = c.anchor == g
        active = (rng.random(a) < p) | forced
        ns = rng.poisson(c.sess_mean) * active
        ns = np.where(forced, np.maximum(ns, 1), ns)
        s = int(ns.sum())
        if s == 0:
            return empty()
        sa = np.repeat(np.arange(a), ns)
        hour = np.searchsorted(_DIURNAL_CDF, rng.random(s)) + rng.random(s)
        hour = (hour + c.shift[sa]) % 24.0
        start = day0 + (hour - c.tz[sa]) * 3600.0
        nconv = np.minimum(rng.geometric(0.6, s), 4)
        cs = np.repeat(np.arange(s), nconv)
        n_c = len(cs)
        nturn = np.minimum(rng.geometric(c.turn_p[sa[cs]]), 10)
        ec = np.repeat(np.arange(n_c), nturn)
        turn = group_arange(nturn)
        e = len(ec)
        gap = np.where(turn == 0, 0.0, 25.0 + rng.lognormal(np.log(70.0), 0.9, e))
        t_in = group_cumsum(gap, nturn)
        dur = np.add.reduceat(gap, np.cumsum(nturn) - nturn)
        first_conv = group_arange(nconv) == 0
        prev_dur = np.r_[0.0, dur[:-1]]
        conv_gap = np.where(first_conv, 0.0, 60.0 + rng.lognormal(np.log(300.0), 1.0, n_c))
        off = group_cumsum(np.where(first_conv, 0.0, prev_dur + conv_gap), nconv)
        ts = start[cs[ec]] + off[ec] + t_in
        conv_ids = self.conv_next + np.arange(n_c)
        self.conv_next += n_c
        return make(
            e,
            ts=ts,
            acct=c.idx[sa[cs[ec]]],
            mode=CHAT,
            conv=conv_ids[ec],
            turn=turn,
            nturns=nturn[ec],
        )

    def _apps(self, rng: np.random.Generator, day0: float, weekend: bool) -> Events:
        a = len(self.app_idx)
        if a == 0:
            return empty()
        prof = np.where(self.app_bus[:, None], _BUSINESS[None, :] * (0.08 if weekend else 1.0), _ROUND_CLOCK[None, :])
        lam = self.app_rate[:, None] * prof
        cnt = rng.poisson(lam)
        flat = cnt.ravel()
        rows = np.repeat(np.repeat(np.arange(a), 24), flat)
        hours = np.repeat(np.tile(np.arange(24), a), flat)
        n = len(rows)
        ts = day0 + (hours - self.app_tz[rows]) * 3600.0 + rng.random(n) * 3600.0
        return make(n, ts=ts, acct=self.app_idx[rows], mode=APP)

    def _bench(self, rng: np.random.Generator, g: int) -> Events:
        runs = [(i, r) for i, r in enumerate(self.plan.runs) if r.step == g]
        if not runs:
            return empty()
        n_items = np.array([r.n_items for _, r in runs], dtype=np.int64)
        conc = np.array([r.concurrency for _, r in runs], dtype=float)
        start = np.array([r.start for _, r in runs], dtype=float)
        ri = np.repeat(np.arange(len(runs)), n_items)
        n = len(ri)
        gaps = rng.exponential(1.0, n) * (0.6 + 1.4 * rng.random(n)) / conc[ri]
        ts = start[ri] + group_cumsum(gaps, n_items)
        return make(
            n,
            ts=ts,
            acct=np.array([r.account for _, r in runs], dtype=np.int32)[ri],
            mode=BENCH,
            item=group_arange(n_items),
            aux=np.array([i for i, _ in runs], dtype=np.int32)[ri],
        )

    def _extractors(self, rng: np.random.Generator, g: int, day0: float) -> Events:
        live = self.ex_start <= g
        a = len(self.ex_idx)
        if a == 0 or not live.any():
            return empty()
        n = rng.poisson(self.ex_rate * 24.0) * live
        k = self.ex_workers
        rows = np.repeat(np.arange(a), n)
        i = group_arange(n)
        batches = np.maximum(1, -(-n // k))
        period = 86400.0 / batches
        b = i // k[rows]
        ts = day0 + (self.ex_phase[rows] + b) * period[rows]
        ts += rng.normal(0.0, 0.04, len(rows)) * period[rows] + rng.random(len(rows)) * 2.0
        # an outage now and then: the script is down for a few hours
        down = rng.random(a) < 0.25
        d0 = day0 + rng.random(a) * 86400.0
        d1 = d0 + (1 + 3 * rng.random(a)) * 3600.0
        keep = ~(down[rows] & (ts >= d0[rows]) & (ts < d1[rows]))
        rows, ts = rows[keep], ts[keep]
        return make(len(rows), ts=ts, acct=self.ex_idx[rows], mode=EXTRACT)

    def _hydra(self, rng: np.random.Generator, g: int, day0: float) -> Events:
        parts: list[Events] = []
        days = self.plan.days
        for camp in self.plan.campaigns:
            if camp.kind != "hydra":
                continue
            members = [self.plan.accounts[i] for i in camp.members]
            nb = max(1, int(rng.poisson(camp.bursts_per_day)))
            if camp.business_hours:
                local = 8.0 + 12.0 * rng.random(nb)
                bt = day0 + (local - camp.tz) * 3600.0
            else:
                bt = day0 + rng.random(nb) * 86400.0
            bt = np.floor(bt / 300.0) * 300.0 + rng.random(nb) * 30.0  # fire at the top of a 5-minute bucket
            need = np.array([m.total_target * (1 - m.fill_share) / days for m in members])
            p = np.minimum(0.9, need / (nb * camp.per_burst))
            kmean = np.maximum(1.0, need / (nb * np.maximum(p, 1e-9)))
            part = rng.random((nb, len(members))) < p[None, :]
            cnt = np.where(part, 1 + rng.poisson(np.maximum(kmean - 1.0, 0.0)[None, :], (nb, len(members))), 0)
            flat = cnt.ravel()
            bi = np.repeat(np.repeat(np.arange(nb), len(members)), flat)
            mi = np.repeat(np.tile(np.arange(len(members)), nb), flat)
            j = group_arange(flat)
            ts = bt[bi] + rng.random(len(bi)) * 150.0 + j * (4.0 + 12.0 * rng.random(len(bi)))
            idx = np.array(camp.members, dtype=np.int32)
            parts.append(make(len(bi), ts=ts, acct=idx[mi], mode=EXTRACT))
            # ordinary-looking cover traffic at human hours
            fill = rng.poisson(np.array([m.total_target * m.fill_share / days for m in members]))
            fm = np.repeat(np.arange(len(members)), fill)
            local = 9.0 + 14.0 * rng.random(len(fm))
            fts = day0 + (local - camp.tz) * 3600.0
            parts.append(make(len(fm), ts=fts, acct=idx[fm], mode=FILLER))
        return concat(parts)

    def _diluted(self, rng: np.random.Generator, g: int, day0: float, weekend: bool) -> Events:
        c = self.dil
        a = len(c.idx)
        if a == 0:
            return empty()
        benign = self._chat(rng, c, g, day0, weekend)
        lam = c.expected_per_day() * self.dil_share / (1 - self.dil_share)
        n = rng.poisson(lam)
        n = np.where(c.anchor == g, np.maximum(n, 2), n)
        rows = np.repeat(np.arange(a), n)
        # the extraction part runs as a script: one or two bursts of back-to-back requests
        two = rng.random(a) < 0.4
        b0 = day0 + (rng.random(a) * 24.0 - c.tz) * 3600.0
        b1 = day0 + (rng.random(a) * 24.0 - c.tz) * 3600.0
        i = group_arange(n)
        which = two[rows] & (i % 2 == 1)
        base = np.where(which, b1[rows], b0[rows])
        ts = base + (i // np.where(two[rows], 2, 1)) * (8.0 + 30.0 * rng.random(len(rows)))
        ex = make(len(rows), ts=ts, acct=c.idx[rows], mode=EXTRACT)
        return concat([benign, ex])

    def _paraphrase(self, rng: np.random.Generator, g: int, day0: float) -> Events:
        a = len(self.pa_idx)
        if a == 0:
            return empty()
        live = self.pa_start <= g
        lam = self.pa_rate[:, None] * _OPERATING[None, :] * live[:, None]
        cnt = rng.poisson(lam).ravel()
        rows = np.repeat(np.repeat(np.arange(a), 24), cnt)
        hours = np.repeat(np.tile(np.arange(24), a), cnt)
        ts = day0 + (hours - self.pa_tz[rows]) * 3600.0 + rng.random(len(rows)) * 3600.0
        return make(len(rows), ts=ts, acct=self.pa_idx[rows], mode=PARA)

    # ---- driver -------------------------------------------------------------------------------------
    def step(self, g: int) -> Events:
        rng = np.random.default_rng([self.seed & 0xFFFFFFFF, 99, g + 1])
        day0 = self.plan.t0 + g * 86400.0
        weekday = int((day0 // 86400 + 3) % 7)  # 1970-01-01 was a Thursday; 0 = Monday
        weekend = weekday >= 5
        ev = concat(
            [
                self._chat(rng, self.chat, g, day0, weekend),
                self._apps(rng, day0, weekend),
                self._bench(rng, g),
                self._extractors(rng, g, day0),
                self._hydra(rng, g, day0),
                self._diluted(rng, g, day0, weekend),
                self._paraphrase(rng, g, day0),
            ]
        )
        ev["ts"] = np.round(ev["ts"], 3)
        ev["rnd"] = rng.integers(0, 2**62, size=len(ev["ts"]), dtype=np.int64)
        t_end = self.plan.t0 + self.plan.days * 86400.0
        keep = (ev["ts"] >= self.plan.t0) & (ev["ts"] < t_end)
        return take(ev, np.flatnonzero(keep))

    def chunks(self) -> Iterator[Events]:
        """Events of the whole window in time order (ties: account, then generation order)."""
        pending = empty()
        for g in range(-1, self.plan.days + 1):
            pending = concat([pending, self.step(g)])
            last = g == self.plan.days
            bound = np.inf if last else self.plan.t0 + (g + 1) * 86400.0 - LOOKBACK
            ready = pending["ts"] < bound
            if ready.any():
                out = take(pending, np.flatnonzero(ready))
                order = np.lexsort((np.arange(len(out["ts"])), out["acct"], out["ts"]))
                yield take(out, order)
                pending = take(pending, np.flatnonzero(~ready))

    def count(self) -> int:
        """Number of events of the window (a dry run: no records are built)."""
        return int(self.per_account().sum())

    def per_account(self) -> np.ndarray:
        """Events per account over the window (a dry run)."""
        out = np.zeros(len(self.plan.accounts), dtype=np.int64)
        conv = self.conv_next
        for g in range(-1, self.plan.days + 1):
            out += np.bincount(self.step(g)["acct"], minlength=len(out))
        self.conv_next = conv
        return out
