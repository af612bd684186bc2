"""``--redact``: a scan result with identifiers hashed and prompt text masked, for sharing outside the team.

* **Identifiers** (account / entity ids, campaign ids, request ids, IP ranges, user agents, API keys, log file
  paths) become a keyed hash: ``acct:`` + the first 12 hex digits of HMAC-SHA256(salt, id). The same id and
  salt always give the same hash, so a nightly job that keeps its salt can still diff runs and follow an
  account across nights; without the salt the hash can be neither reversed nor confirmed by guessing ids.
* **Text** that can quote a prompt (detector examples, the template quoted in a template summary, user
  agents) becomes ``[redacted N chars hmac:abcd1234]``: its length and a keyed digest, so identical
  examples stay recognisable as identical.

Redacting a result that is already redacted (every id hashed, every example masked) returns it unchanged,
so ``extractscan report --redact`` on a ``report.json`` written with ``scan --redact`` is safe. The salt is
never written: configuration keys whose name contains ``salt`` are dropped from the result. docs/privacy.md
says what is *not* hidden.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from extractscan.findings import AccountFinding, Campaign, DetectorResult, LinkEdge, ScanResult

SALT_ENV = "EXTRACTSCAN_REDACT_SALT"
RANDOM_SALT_WARNING = f"no --redact-salt or ${SALT_ENV}: a random salt is used, so hashed ids differ from every other run"
ID_HEX = 12

# Prefix of a hashed entity id per scanned entity kind.
_ENTITY_PREFIX = {"account": "acct", "principal": "prin", "api_key": "key", "end_user": "user"}
_HASHED = re.compile(rf"^[a-z]{{2,6}}:[0-9a-f]{{{ID_HEX}}}$")
_MASKED = re.compile(r"^\[redacted \d+ chars (?:sha256|hmac):[0-9a-f]{8}\]$")
# IPv4 addresses and ranges (a masked last octet too), IPv6 addresses and ranges with at least three groups.
_IPV4 = re.compile(r"(?<![\w.])\d{1,3}\.\d{1,3}\.\d{1,3}\.(?:\d{1,3}|[x*]{1,3})(?:/\d{1,2})?(?![\w.])")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9a-fA-F]{1,4}:){2,7}(?::|[0-9a-fA-F]{1,4})?(?:/\d{1,3})?(?![\w:])")
# Shared-infrastructure labels (ES113): an IP range, ``key <id>`` or ``UA "<agent>"``, then ", " or the end.
_INFRA_LABEL = re.compile(r'UA "(?P<ua>.{0,40}?)"(?=, |$)|key (?P<key>.{1,24}?)(?=, |$)|(?P<ip>[0-9a-fA-F.:]+/\d{1,3})(?=, |$)')
# The template quoted in a template-concentration summary (ES102): greedy, the template may contain quotes.
_DOMINANT = re.compile(r'(dominant: ")(.*)("\))', re.DOTALL)
# The user agent of the harvest-heavy client segment (ES114): greedy, an agent may contain ")" or ";".
_SEGMENT = re.compile(r"client: \d+ of \d+ \([^,()]*, (?P<ua>.*)\); surprise ", re.DOTALL)
_SHARED_INFRA = "ES113"
_SEPARATOR = re.compile(r'[\s,;()\[\]"\']')
_TRAILING = ".:;!?…"
_TOKEN = re.compile(r'[^\s,;()\[\]"\']+')


def entity_prefix(entity: str) -> str:
    """The prefix of a hashed entity id: ``acct`` for accounts, ``prin``, ``key``, ``user`` for the others."""
    return _ENTITY_PREFIX.get(entity, "ent")


def resolve_salt(salt: str | None = None, env: Mapping[str, str] | None = None) -> tuple[str, bool]:
    """The salt to use: ``salt`` if given, else ``$EXTRACTSCAN_REDACT_SALT``, else a random one.

    Returns (salt, stable): ``stable`` is False for a random salt, whose hashes differ on every run."""
    if salt:
        return salt, True
    value = (os.environ if env is None else env).get(SALT_ENV, "")
    if value:
        return value, True
    return secrets.token_hex(32), False


@functools.lru_cache(maxsize=1 << 16)
def _digest(value: str, salt: str | None, n: int) -> str:
    # Cached: one account's detectors repeat the same request ids and example prompts.
    data = value.encode("utf-8", "surrogatepass")
    if salt is None:
        return hashlib.sha256(data).hexdigest()[:n]
    return hmac.digest(salt.encode("utf-8", "surrogatepass"), data, "sha256").hex()[:n]


def redact_id(value: str, salt: str, kind: str = "acct") -> str:
    """A stable keyed hash of an identifier: ``acct:`` + 12 hex digits of HMAC-SHA256(salt, value).

    ``kind`` is the prefix (``acct``, ``cmp``, ``req``, ``ip``, ``ua``, ``key``, ``file``); it does not enter
    the hash, so an id hashes alike wherever it appears."""
    return f"{kind}:{_digest(value, salt, ID_HEX)}"


def mask_text(text: str, salt: str | None = None) -> str:
    """Prompt text replaced by its length and a digest: ``[redacted 123 chars hmac:abcd1234]`` (keyed
    with ``salt``) or ``sha256:`` without a salt. Identical texts give identical masks; masking a mask
    returns it unchanged."""
    if _MASKED.match(text):
        return text
    label = "sha256" if salt is None else "hmac"
    return f"[redacted {len(text)} chars {label}:{_digest(text, salt, 8)}]"


@dataclasses.dataclass(frozen=True)
class _IdMap:
    """Original id -> hashed id, plus the ids a token lookup cannot see (they contain a separator or end
    in punctuation), longest first, built once per result."""

    hashed: dict[str, str]
    odd: tuple[str, ...]

    @staticmethod
    def of(ids: Mapping[str, str]) -> _IdMap:
        odd = sorted((i for i in ids if i and (_SEPARATOR.search(i) or i != i.rstrip(_TRAILING))), key=len, reverse=True)
        return _IdMap(dict(ids), tuple(odd))

    def get(self, key: str) -> str | None:
        return self.hashed.get(key)


def redact_text(text: str, salt: str, ids: Mapping[str, str]) -> str:
    """Free text (summaries, evidence, reasons) with IP addresses and ranges hashed and every identifier in
    ``ids`` (original -> hashed) replaced."""
    return _scrub(text, salt, _IdMap.of(ids))


def _scrub(text: str, salt: str, ids: _IdMap) -> str:
    # Ids are looked up token by token (linear in the text, whatever the number of ids); the cheap checks
    # first, as most summaries hold no address and no id.
    if "." in text:
        text = _IPV4.sub(lambda m: redact_id(m.group(0), salt, "ip"), text)
    if text.count(":") >= 2:
        text = _IPV6.sub(lambda m: redact_id(m.group(0), salt, "ip"), text)
    table = ids.hashed
    tokens = _TOKEN.findall(text)
    stripped = [t.rstrip(_TRAILING) for t in tokens if t[-1] in _TRAILING]
    if table.keys().isdisjoint(tokens) and table.keys().isdisjoint(stripped):
        tokens = []

    def token(m: re.Match[str]) -> str:
        t = m.group(0)
        if t in table:
            return table[t]
        core = t.rstrip(_TRAILING)
        return table[core] + t[len(core) :] if core in table else t

    if tokens:
        text = _TOKEN.sub(token, text)
    for original in ids.odd:
        if original in text:
            text = text.replace(original, table[original])
    return text


def _redact_infra_labels(labels: str, salt: str) -> str:
    """``139.59.189.0/24, UA "Go-http-client/1.1", key k-123`` -> hashed tokens; masked whole when the
    labels cannot be split exactly (a hostile user agent containing ``", ``)."""
    more = labels.endswith(", …")
    body = labels[: -len(", …")] if more else labels
    out: list[str] = []
    pos = 0
    while pos < len(body):
        m = _INFRA_LABEL.match(body, pos)
        if m is None:
            return mask_text(labels, salt)
        if m.group("ua") is not None:
            out.append("UA " + redact_id(m.group("ua"), salt, "ua"))
        elif m.group("key") is not None:
            out.append("key " + redact_id(m.group("key"), salt, "key"))
        else:
            out.append(redact_id(m.group("ip"), salt, "ip"))
        pos = m.end()
        if pos < len(body):
            if not body.startswith(", ", pos):
                return mask_text(labels, salt)
            pos += 2
    return ", ".join(out) + (", …" if more else "")


def _redact_infra_summary(summary: str, linked: tuple[str, ...], n_linked: float | None, salt: str, ids: _IdMap) -> str:
    """ES113: ``shares LABELS with N other entities (ID, ID, ID, …)``. The tail is rebuilt from the
    detector's own fields (linked ids, their count) so that hostile labels cannot hide where it starts."""
    n = int(n_linked or 0)
    if not summary.startswith("shares ") or n <= 0:
        return _scrub(summary, salt, ids)
    tail = f" with {n:,} other entit{'y' if n == 1 else 'ies'} (" + ", ".join(linked[:3]) + (", …" if n > 3 else "") + ")"
    if not summary.endswith(tail):
        return mask_text(summary, salt)
    labels = summary[len("shares ") : len(summary) - len(tail)]
    hashed = ", ".join(ids.get(x) or redact_id(x, salt, "acct") for x in linked[:3])
    new_tail = tail.replace("(" + ", ".join(linked[:3]), "(" + hashed, 1)
    return "shares " + _redact_infra_labels(labels, salt) + new_tail


def _quoted_template(r: DetectorResult, salt: str, ids: _IdMap) -> str:
    """ES102 quotes its dominant template frame (prompt text) as ``dominant: "…")``."""
    return _scrub(_DOMINANT.sub(lambda m: m.group(1) + mask_text(m.group(2), salt) + m.group(3), r.summary), salt, ids)


def _client_segment(r: DetectorResult, salt: str, ids: _IdMap) -> str:
    """ES114 names its most harvest-heavy client's user agent: ``client: K of N (P%, <agent>); surprise``.
    Masked whole when that shape is not found (the detector changed): failing safe."""
    m = _SEGMENT.search(r.summary)
    if m is None:
        return mask_text(r.summary, salt) if "client:" in r.summary else _scrub(r.summary, salt, ids)
    agent = m.group("ua")
    hashed = agent if agent == "no user agent" else redact_id(agent, salt, "ua")
    return _scrub(r.summary[: m.start("ua")], salt, ids) + hashed + _scrub(r.summary[m.end("ua") :], salt, ids)


def _plain(r: DetectorResult, salt: str, ids: _IdMap) -> str:
    return _scrub(r.summary, salt, ids)


# Every detector's summary was reviewed for raw log values. Numbers, shares, model names and fixed words are
# kept; the three that quote log content have their own rule. A detector not listed here (a new one) gets its
# summary masked whole until someone reviews it and adds it (tests/nightly checks that all are listed).
SUMMARY_RULES: dict[str, Callable[[DetectorResult, str, _IdMap], str]] = {
    "ES101": _plain,  # volume: counts and rates
    "ES102": _quoted_template,
    "ES103": _plain,  # semantic shift: statistics
    "ES104": _plain,  # PRADA: statistics
    "ES105": _plain,  # SEAT: pair counts
    "ES106": _plain,  # reasoning elicitation: shares
    "ES107": _plain,  # rubric grading: shares
    "ES108": _plain,  # capability targeting: fixed category names and shares
    "ES109": _plain,  # output harvesting: shares
    "ES110": _plain,  # conversation shape: shares
    "ES111": _plain,  # cadence: timing statistics
    "ES112": _plain,  # model pivot: model names (kept; see docs/privacy.md)
    _SHARED_INFRA: lambda r, salt, ids: _redact_infra_summary(r.summary, r.cluster_ids, r.value, salt, ids),
    "ES114": _client_segment,
}


def _redact_summary(r: DetectorResult, salt: str, ids: _IdMap) -> str:
    rule = SUMMARY_RULES.get(r.detector_id)
    return mask_text(r.summary, salt) if rule is None else rule(r, salt, ids)


def _redact_detector(r: DetectorResult, salt: str, ids: _IdMap, entity_kind: str) -> DetectorResult:
    # Shared-infrastructure evidence lists linked entities in cluster_ids; other detectors put run-local
    # cluster numbers there (kept), and anything else that is not a plain number is hashed to be safe.
    if r.detector_id == _SHARED_INFRA:
        clusters = tuple(ids.get(c) or redact_id(c, salt, entity_kind) for c in r.cluster_ids)
    else:
        clusters = tuple(c if c.isdigit() else redact_id(c, salt, "cl") for c in r.cluster_ids)
    return dataclasses.replace(
        r,
        summary=_redact_summary(r, salt, ids),
        request_ids=tuple(redact_id(x, salt, "req") for x in r.request_ids),
        cluster_ids=clusters,
        examples=tuple(mask_text(x, salt) for x in r.examples),
    )


def _redact_account(a: AccountFinding, salt: str, ids: _IdMap, entity_kind: str) -> AccountFinding:
    from extractscan.scoring import explain

    detectors = tuple(_redact_detector(r, salt, ids, entity_kind) for r in a.detectors)
    campaign = None if a.campaign_id is None else ids.get(a.campaign_id) or redact_id(a.campaign_id, salt, "cmp")
    # The reasons sentence quotes the summaries: rebuilt from the redacted ones rather than patched.
    if a.detectors:
        reasons = explain(a.score, a.flagged, [(r.name, r.contribution, r.summary) for r in detectors], campaign)
    else:
        reasons = _scrub(a.reasons, salt, ids)
    return dataclasses.replace(
        a,
        entity_id=ids.hashed[a.entity_id],
        campaign_id=campaign,
        reasons=reasons,
        detectors=detectors,
        suppressed=None if a.suppressed is None else _scrub(a.suppressed, salt, ids),
    )


def _redact_campaign(c: Campaign, salt: str, ids: _IdMap, entity_kind: str) -> Campaign:
    def member(x: str) -> str:
        return ids.get(x) or redact_id(x, salt, entity_kind)

    members = tuple(member(x) for x in c.account_ids)
    return dataclasses.replace(
        c,
        campaign_id=ids.hashed[c.campaign_id],
        account_ids=members,
        evidence=_scrub(c.evidence, salt, ids),
        edges=tuple(
            LinkEdge(a=member(e.a), b=member(e.b), kind=e.kind, weight=e.weight, evidence=_scrub(e.evidence, salt, ids))
            for e in c.edges
        ),
    )


def _drop_salt(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_salt(v) for k, v in value.items() if "salt" not in str(k).lower()}
    if isinstance(value, list):
        return [_drop_salt(v) for v in value]
    return value


def _redact_manifest(entry: dict[str, Any], salt: str) -> dict[str, Any]:
    # File paths name tenants and cloud accounts (``AWSLogs/<account>/…``): hashed, the rest is counts.
    redact: dict[str, Callable[[Any], Any]] = {
        "path": lambda v: redact_id(str(v), salt, "file"),
        "source": lambda v: redact_id(str(v), salt, "file"),
    }
    return {k: (redact[k](v) if k in redact and v not in (None, "") else v) for k, v in entry.items()}


def is_redacted(result: ScanResult) -> bool:
    """True when every account and campaign id is a hash and every example a mask: the result was
    redacted already. (Judged on the whole result, not per id, so that a real id that happens to look like
    a hash is still hashed when the rest of the result is not redacted.)"""
    if not result.accounts:
        return False
    return (
        all(_HASHED.match(a.entity_id) for a in result.accounts)
        and all(_HASHED.match(c.campaign_id) for c in result.campaigns)
        and all(_MASKED.match(x) for a in result.accounts for r in a.detectors for x in r.examples)
    )


def redact_result(result: ScanResult, salt: str) -> ScanResult:
    """The result with identifiers hashed and prompt text masked (see the module docstring); scores,
    ranks, counts, detector values, times, cluster numbers and template fingerprints are kept."""
    if not salt:
        raise ValueError("redaction needs a non-empty salt")
    if is_redacted(result):
        return dataclasses.replace(result, config=_drop_salt(result.config))
    kind = entity_prefix(result.entity)
    ids: dict[str, str] = {a.entity_id: redact_id(a.entity_id, salt, kind) for a in result.accounts}
    for c in result.campaigns:
        for m in c.account_ids:
            ids.setdefault(m, redact_id(m, salt, kind))
        ids[c.campaign_id] = redact_id(c.campaign_id, salt, "cmp")
    idmap = _IdMap.of(ids)
    return dataclasses.replace(
        result,
        config=_drop_salt(result.config),
        manifest=[_redact_manifest(m, salt) for m in result.manifest],
        accounts=tuple(_redact_account(a, salt, idmap, kind) for a in result.accounts),
        campaigns=tuple(_redact_campaign(c, salt, idmap, kind) for c in result.campaigns),
    )
