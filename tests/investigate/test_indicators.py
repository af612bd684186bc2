"""Indicator bundles: shareable (no prompt text, no full IPs, no accounts unless asked), stable, and the
same fingerprints as the scan."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import polars as pl
import pytest
from _investigate_helpers import Scanned, no_embed

from extractscan.campaigns import template_fingerprints
from extractscan.indicators import (
    IndicatorBundle,
    IndicatorError,
    campaign_indicators,
    fingerprint,
    ip_range_label_expr,
    member_requests,
    render,
    safe_name,
    suspicious_campaigns,
    template_indicators,
    write_indicators,
)
from extractscan.prepare import build_frame, load_requests
from extractscan.store import Store

FULL_IPV4 = re.compile(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.(?!0/24)\d{1,3}\b")


def _campaign(s: Scanned) -> str:
    return suspicious_campaigns(s.result)[0].campaign_id


def test_fingerprint_is_the_scans_unsalted_skeleton_hash(synth_scan: Scanned) -> None:
    frame, _ = build_frame(load_requests(Store(synth_scan.store).scan()), no_embed())
    scan = template_fingerprints(frame)
    mine = frame.group_by("entity_id", "skeleton").len().filter(pl.col("len") >= 3)
    mine = mine.with_columns(pl.col("skeleton").map_elements(fingerprint, return_dtype=pl.String).alias("fingerprint"))
    assert sorted(scan["fingerprint"].to_list()) == sorted(mine["fingerprint"].to_list())
    # No salt, no key: the fingerprint is a function of the pattern text alone (any machine, any run).
    assert fingerprint("explain {} step by step", "fr") == "fr:" + hashlib.sha256(b"explain {} step by step").hexdigest()[:16]
    assert fingerprint("explain <num> step by step") == "sk:" + hashlib.sha256(b"explain <num> step by step").hexdigest()[:16]


def test_bundle_contents(synth_scan: Scanned) -> None:
    cid = _campaign(synth_scan)
    camp = next(c for c in synth_scan.result.campaigns if c.campaign_id == cid)
    b = campaign_indicators(synth_scan.result, synth_scan.store, cid)
    assert (b.campaign_id, b.members, b.score, b.edge_kinds) == (cid, camp.size, camp.score, camp.edge_kinds)
    rows = Store(synth_scan.store).scan().filter(pl.col("account_id").is_in(list(camp.account_ids))).collect()
    assert b.requests == rows.height
    assert sum(k.requests for k in b.api_key_hashes) == rows["api_key_id"].count()
    assert all(k.value.startswith("key:") for k in b.api_key_hashes)
    assert sum(m.requests for m in b.models) == rows.height
    assert all(1 <= v.accounts <= b.members for v in (*b.ip_ranges, *b.user_agents, *b.models))
    assert set(camp.template_fingerprints) <= {t.fingerprint for t in b.template_fingerprints}
    assert b.first_seen is not None and b.first_seen.endswith("Z") and b.first_seen <= (b.last_seen or "")


def test_bundle_leaks_no_content_and_no_accounts(synth_scan: Scanned) -> None:
    for camp in synth_scan.result.campaigns:
        b = campaign_indicators(synth_scan.result, synth_scan.store, camp.campaign_id)
        text = render(b)
        assert not any(FULL_IPV4.search(r.value) for r in b.ip_ranges)
        assert all(r.value.endswith(("/24", "/48")) for r in b.ip_ranges)
        for member in camp.account_ids:
            assert member not in text
        rows = Store(synth_scan.store).scan().filter(pl.col("account_id").is_in(list(camp.account_ids))).collect()
        for prompt in rows["last_user_text"].drop_nulls().unique().to_list()[:50]:
            words = [w for w in prompt.split() if len(w) > 3][:6]
            assert " ".join(words).lower() not in text.lower() or not words
        ips = rows["client_ip"].drop_nulls().unique().to_list()
        assert ips and not any(ip in text for ip in ips)
    with_accounts = campaign_indicators(synth_scan.result, synth_scan.store, _campaign(synth_scan), include_accounts=True)
    assert with_accounts.account_ids and set(with_accounts.account_ids) <= set(a.entity_id for a in synth_scan.result.accounts)


def test_two_providers_get_the_same_fingerprints(synth_scan: Scanned) -> None:
    """Split one campaign's members across two "providers" (two separate computations over disjoint
    accounts): the fingerprints of the template they share are equal on both sides."""
    camp = next(c for c in suspicious_campaigns(synth_scan.result) if c.size >= 4)
    half = camp.size // 2
    a = template_indicators(member_requests(synth_scan.store, "account", camp.account_ids[:half], (None, None)))
    b = template_indicators(member_requests(synth_scan.store, "account", camp.account_ids[half:], (None, None)))
    frames_a, frames_b = {t.fingerprint for t in a[1]}, {t.fingerprint for t in b[1]}
    assert frames_a & frames_b


def test_bundle_is_deterministic_and_round_trips(synth_scan: Scanned, tmp_path: Path) -> None:
    cid = _campaign(synth_scan)
    a = render(campaign_indicators(synth_scan.result, synth_scan.store, cid))
    b = render(campaign_indicators(synth_scan.result, synth_scan.store, cid))
    assert a == b
    back = IndicatorBundle.from_dict(json.loads(a))
    assert render(back) == a


def test_unknown_campaign_and_missing_store(synth_scan: Scanned, tmp_path: Path) -> None:
    with pytest.raises(IndicatorError, match="no campaign"):
        campaign_indicators(synth_scan.result, synth_scan.store, "cmp-nope")
    with pytest.raises(IndicatorError, match="no store"):
        campaign_indicators(synth_scan.result, tmp_path, _campaign(synth_scan))


def test_ip_range_labels() -> None:
    ips = ["203.0.113.77", "203.0.113.xxx", "2001:DB8:aa:bb::1", "::1", "not an ip", None, " 10.1.2.3 "]
    got = pl.DataFrame({"ip": ips}).select(ip_range_label_expr(pl.col("ip")))["ip"].to_list()
    assert got == ["203.0.113.0/24", "203.0.113.0/24", "2001:db8:aa::/48", None, None, None, "10.1.2.0/24"]


def test_safe_names_never_escape(tmp_path: Path) -> None:
    hostile = ["../../etc/x", "..", ".hidden", "a/b", "a\\b", "x" * 500, "cmp-1", "cmp 1", "cmp_1", "\x00\x1b[31m", ""]
    names = [safe_name(h) for h in hostile]
    assert len(set(names)) == len(names)  # distinct ids never share a file
    for n in names:
        assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,80}", n), n
    assert safe_name("cmp-0bae4e05e1") == "cmp-0bae4e05e1"  # real campaign ids are kept as they are
    out = tmp_path / "ind"
    b = IndicatorBundle(1, "t", "s", "account", "../../etc/x", 1.0, 2, (), None, None, 0, (), (), (), (), (), ())
    (path,) = write_indicators([b], out)
    assert path.parent == out and path.name.startswith("campaign-") and path.is_file()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [path]
