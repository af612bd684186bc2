"""Suppressions: known-benign accounts, campaigns and templates, kept out of alerts at scan time.

A suppressions file is TOML, one ``[[suppress]]`` table per entry::

    [[suppress]]
    account = "team-eval-harness"         # exactly one of account / campaign / template
    reason = "our own nightly eval suite"  # required: shown in every report
    expires = 2026-03-31                   # optional ISO date: ignored (with a warning) after this day
    author = "j.doe"                       # optional

* ``account``: an entity id as the scan reports it (or its ``--redact`` hash, when the scan is given the
  same salt: analysts who only see redacted reports can still suppress).
* ``campaign``: a campaign id (``cmp-…``, a hash of the member set: it changes when the membership changes,
  so prefer account or template entries for anything meant to last).
* ``template``: a template fingerprint (``sk:`` + 16 hex, as in a campaign's ``template_fingerprints``).
  It suppresses an account when **every** template the account sends recurrently (at least
  :data:`MIN_TEMPLATE_REQUESTS` times) is suppressed: an eval harness is silenced, but an account that also
  runs an extraction template is not.

A matched account keeps its score and evidence, gets ``suppressed = <reason>`` and ``flagged = False``; it
does not count for ``--fail-above`` and reports show it marked. The first match wins, in the order account,
campaign, template, then file order. Filtering is separate from detection: the scan is unchanged, so an
expired or deleted entry brings the account straight back.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from extractscan.findings import AccountFinding, ScanResult

KINDS = ("account", "campaign", "template")
MIN_TEMPLATE_REQUESTS = 3  # as campaigns.template_fingerprints: the skeletons an account sends recurrently
_FINGERPRINT = re.compile(r"^sk:[0-9a-f]{16}$")
_KEYS = {*KINDS, "reason", "expires", "author"}


class SuppressionError(ValueError):
    """An invalid suppressions file; the message names the file and the entry."""


@dataclass(frozen=True)
class Suppression:
    kind: str  # account / campaign / template
    value: str
    reason: str
    expires: date | None = None
    author: str | None = None
    entry: int = 0  # 1-based position in the file, for messages

    def expired(self, today: date) -> bool:
        return self.expires is not None and self.expires < today

    def describe(self) -> str:
        until = f", expires {self.expires.isoformat()}" if self.expires else ""
        return f"entry {self.entry} ({self.kind} {self.value}{until})"


def parse_suppressions(data: Mapping[str, Any], where: str = "suppressions") -> tuple[Suppression, ...]:
    """Validate parsed TOML; raises :class:`SuppressionError` with the entry at fault."""
    unknown = sorted(set(data) - {"suppress"})
    if unknown:
        raise SuppressionError(f"{where}: unknown top-level key {unknown[0]!r} (entries are [[suppress]] tables)")
    entries = data.get("suppress", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise SuppressionError(f"{where}: 'suppress' must be an array of tables ([[suppress]])")
    out = []
    for i, e in enumerate(entries, 1):
        at = f"{where}: entry {i}"
        bad = sorted(set(e) - _KEYS)
        if bad:
            raise SuppressionError(f"{at}: unknown key {bad[0]!r} (known: {', '.join(sorted(_KEYS))})")
        kinds = [k for k in KINDS if k in e]
        if len(kinds) != 1:
            raise SuppressionError(f"{at}: needs exactly one of account, campaign, template (found {len(kinds)})")
        kind = kinds[0]
        value = e[kind]
        if not isinstance(value, str) or not value.strip():
            raise SuppressionError(f"{at}: {kind} must be a non-empty string")
        value = value.strip()
        if kind == "template" and not _FINGERPRINT.match(value):
            raise SuppressionError(
                f"{at}: template must be a fingerprint 'sk:' + 16 hex digits (as in a campaign's "
                f"template_fingerprints), got {value!r}"
            )
        reason = e.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise SuppressionError(f"{at}: 'reason' is required (a non-empty string)")
        author = e.get("author")
        if author is not None and not isinstance(author, str):
            raise SuppressionError(f"{at}: 'author' must be a string")
        out.append(Suppression(kind, value, reason.strip(), _expiry(e.get("expires"), at), author, i))
    return tuple(out)


def _expiry(value: Any, at: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise SuppressionError(f"{at}: 'expires' must be an ISO date such as 2026-03-31, got {value!r}")


def load_suppressions(path: str | Path) -> tuple[Suppression, ...]:
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise SuppressionError(f"suppressions file not found: {p}") from e
    except (OSError, UnicodeDecodeError) as e:
        raise SuppressionError(f"cannot read suppressions file {p}: {e}") from e
    except tomllib.TOMLDecodeError as e:
        raise SuppressionError(f"invalid TOML in {p}: {e}") from e
    return parse_suppressions(data, str(p))


def split_expired(suppressions: Iterable[Suppression], today: date) -> tuple[list[Suppression], list[Suppression]]:
    """(active, expired) on ``today``."""
    active: list[Suppression] = []
    expired: list[Suppression] = []
    for s in suppressions:
        (expired if s.expired(today) else active).append(s)
    return active, expired


def _today(now: date | datetime) -> date:
    return now.date() if isinstance(now, datetime) else now


def apply_suppressions(
    result: ScanResult,
    suppressions: Sequence[Suppression],
    now: date | datetime,
    *,
    templates: Mapping[str, frozenset[str]] | None = None,
    salt: str | None = None,
) -> ScanResult:
    """The result with matching accounts marked ``suppressed`` and unflagged (expired entries ignored).

    ``templates``: each account's recurring template fingerprints (:func:`account_templates`); template
    entries match nothing without it. ``salt``: the ``--redact`` salt, so that entries written against
    hashed ids match too."""
    active, _ = split_expired(suppressions, _today(now))
    if not active:
        return result
    by_kind: dict[str, dict[str, Suppression]] = {k: {} for k in KINDS}
    for s in active:
        by_kind[s.kind].setdefault(s.value, s)
    muted_templates = set(by_kind["template"])
    hashed: dict[str, str] = {}
    if salt:
        from extractscan.redact import entity_prefix, redact_id

        kind = entity_prefix(result.entity)
        hashed = {a.entity_id: redact_id(a.entity_id, salt, kind) for a in result.accounts}
        hashed.update({c.campaign_id: redact_id(c.campaign_id, salt, "cmp") for c in result.campaigns})

    def lookup(kind: str, value: str | None) -> Suppression | None:
        if value is None:
            return None
        table = by_kind[kind]
        return table.get(value) or (table.get(hashed[value]) if value in hashed else None)

    def match(a: AccountFinding) -> Suppression | None:
        found: Suppression | None = lookup("account", a.entity_id) or lookup("campaign", a.campaign_id)
        if found is None and muted_templates and templates:
            fps = templates.get(a.entity_id)
            if fps and fps <= muted_templates:
                found = by_kind["template"][min(fps, key=lambda f: by_kind["template"][f].entry)]
        return found

    accounts = []
    for a in result.accounts:
        hit = match(a)
        accounts.append(a if hit is None else dataclasses.replace(a, suppressed=hit.reason, flagged=False))
    return dataclasses.replace(result, accounts=tuple(accounts))


def account_templates(
    store_dir: str | Path, entity: str, window: tuple[float | None, float | None], accounts: Iterable[str] | None = None
) -> dict[str, frozenset[str]]:
    """Each account's recurring template fingerprints over the scan's window, computed as the scan computes
    ``Campaign.template_fingerprints`` (same text, normalisation and skeleton). Columnar; needed only when
    the suppressions include templates. ``accounts`` limits the accounts read."""
    from extractscan.campaigns import template_fingerprints
    from extractscan.cluster.normalize import normalize_expr, skeleton_expr
    from extractscan.prepare import load_requests
    from extractscan.store import Store

    lf = Store(Path(store_dir)).scan()
    # The result's window is the observed [first, last] request time; load_requests' until is exclusive.
    until = None if window[1] is None else math.nextafter(window[1], math.inf)
    requests = load_requests(lf, entity=entity, since=window[0], until=until)
    if accounts is not None:
        requests = requests.filter(pl.col("entity_id").is_in(pl.Series(list(accounts), dtype=pl.String())))
    frame = requests.select(
        "entity_id",
        skeleton_expr(normalize_expr(pl.coalesce(pl.col("last_user_text"), pl.col("system_text"), pl.lit("")))).alias("skeleton"),
    )
    fps = template_fingerprints(frame, MIN_TEMPLATE_REQUESTS).group_by("entity_id").agg(pl.col("fingerprint"))
    return {e: frozenset(f) for e, f in fps.iter_rows()}


def suppressed_count(result: ScanResult) -> int:
    return sum(a.suppressed is not None for a in result.accounts)
