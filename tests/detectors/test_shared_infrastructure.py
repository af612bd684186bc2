"""ES113 shared infrastructure."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from conftest import make_frame, run_detector

from extractscan.config import Config, LinkConfig
from extractscan.detectors.base import RESULT_SCHEMA, ScanContext
from extractscan.detectors.shared_infrastructure import SharedInfrastructureDetector, ip_network

CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"


def check(out: pl.DataFrame) -> dict[str, dict[str, Any]]:
    assert out.schema == pl.Schema(RESULT_SCHEMA)
    assert out["score"].is_between(0.0, 1.0).all()
    assert out["confidence"].is_between(0.0, 1.0).all()
    return {r["entity_id"]: r for r in out.to_dicts()}


def requests(name: str, n: int, **cols: Any) -> list[dict[str, Any]]:
    return [{"entity_id": name, "text": f"{name} prompt {i}", **cols} for i in range(n)]


def independents(n: int = 6) -> list[dict[str, Any]]:
    """Unrelated browser users: own addresses, the same common browser user agent."""
    return [row for e in range(n) for row in requests(f"user{e}", 10, client_ip=f"198.51.{e}.20", user_agent=CHROME)]


def test_shared_infrastructure_fires_on_hydra() -> None:
    rows = independents()
    for a in range(8):  # eight accounts, one /24, one custom client
        rows += requests(f"hydra{a}", 12, client_ip=f"203.0.113.{10 + a}", user_agent="harvest-kit/0.3 (+acme)")
    res = check(run_detector(SharedInfrastructureDetector(), make_frame(rows)))
    h = res["hydra0"]
    # /24 (0.35) and a custom client (0.6), each shared with >= full_at_others entities: 1 - 0.65 * 0.4.
    assert abs(h["score"] - 0.74) < 1e-9 and h["value"] == 7.0 and h["confidence"] > 0.5
    assert h["summary"] == (
        'shares UA "harvest-kit/0.3 (+acme)", 203.0.113.0/24 with 7 other entities (hydra1, hydra2, hydra3, …)'
    )
    assert h["cluster_ids"] == [f"hydra{a}" for a in range(1, 8)]
    assert h["request_ids"] and h["examples"] == ["hydra0 prompt 0", "hydra0 prompt 1", "hydra0 prompt 2"]
    # Sharing a browser user agent with a few strangers counts for very little.
    assert res["user0"]["score"] == pytest.approx(0.05) and res["user0"]["value"] == 5.0


def test_shared_api_key_links_accounts() -> None:
    rows = independents()
    rows += [r for a in range(3) for r in requests(f"acct{a}", 10, api_key_id="key:abc123", client_ip=f"192.0.{a}.9")]
    res = check(run_detector(SharedInfrastructureDetector(), make_frame(rows)))
    # A key shared by three accounts: weight 1 times 2 others / full_at_others (4).
    assert res["acct0"]["score"] == 0.5 and "key key:abc123" in res["acct0"]["summary"]


def test_shared_infrastructure_quiet_on_proxies_apps_and_private_ranges() -> None:
    rows = independents()
    # A benign templated app: one service IP and an SDK user agent, nobody else on them.
    rows += requests("support_bot", 300, client_ip="192.0.2.5", user_agent="OpenAI/Python 1.54.0")
    # A proxy / NAT range used by more accounts than link.max_accounts_per_ip.
    rows += [r for a in range(30) for r in requests(f"mobile{a:02d}", 3, client_ip=f"100.20.30.{a}", user_agent=f"app-build-{a}")]
    # Private addresses (an internal gateway) say nothing about who is calling.
    rows += [r for a in range(4) for r in requests(f"internal{a}", 5, client_ip="10.0.0.7", user_agent=f"svc-{a}")]
    res = check(run_detector(SharedInfrastructureDetector(), make_frame(rows)))
    assert res["support_bot"]["score"] == 0.0 and res["support_bot"]["confidence"] == 1.0
    assert res["support_bot"]["summary"] == "no IP range, user agent or key shared with other entities"
    assert res["support_bot"]["cluster_ids"] == [] and res["support_bot"]["request_ids"] == []
    assert max(res[f"mobile{a:02d}"]["score"] for a in range(30)) == 0.0
    assert max(res[f"internal{a}"]["score"] for a in range(4)) == 0.0
    # The same proxy range counts when the guard allows that many accounts.
    ctx = ScanContext(config=Config(link=LinkConfig(max_accounts_per_ip=50)))
    res = check(run_detector(SharedInfrastructureDetector(), make_frame(rows), ctx))
    assert res["mobile00"]["score"] == SharedInfrastructureDetector.Params().w_network


def test_one_isp_range_stays_weak_but_rotating_shared_ranges_add_up() -> None:
    # Twelve neighbours on one ISP range with common browsers: one weak resource.
    rows = [r for a in range(12) for r in requests(f"home{a}", 5, client_ip=f"81.2.69.{a}", user_agent=CHROME)]
    # Five accounts rotating together through six proxy ranges.
    rows += [
        r
        for a in range(5)
        for k in range(6)
        for r in requests(f"rot{a}", 2, client_ip=f"45.{k}.{10 + k}.{a + 1}", user_agent=CHROME)
    ]
    res = check(run_detector(SharedInfrastructureDetector(), make_frame(rows)))
    assert max(res[f"home{a}"]["score"] for a in range(12)) < 0.4
    assert min(res[f"rot{a}"]["score"] for a in range(5)) > 0.85


def test_no_infrastructure_fields() -> None:
    res = check(run_detector(SharedInfrastructureDetector(), make_frame(requests("bare", 20))))
    assert res["bare"]["score"] == 0.0 and res["bare"]["confidence"] == 0.0


def test_ip_network() -> None:
    ips = [
        "1.2.3.4",
        "203.0.113.77:443",
        "::ffff:8.8.4.4",
        "2001:db8::1",
        "2001:0DB8:0001:0002::",
        "[2001:db8:a:b::1]:8080",
        "1.2.3.xxx",
        "2001::5:6:7:8:9:a",
        "garbage",
        "1:2:3:4:5:6:7:8:9",
        None,
    ]
    got = pl.DataFrame({"ip": ips}).select(ip_network(pl.col("ip")))["ip"].to_list()
    assert got == [
        "1.2.3.0/24",
        "203.0.113.0/24",
        "8.8.4.0/24",
        "2001:db8:0::/48",
        "2001:db8:1::/48",
        "2001:db8:a::/48",
        "1.2.3.0/24",
        "2001:0:5::/48",
        None,
        None,
        None,
    ]


def test_shared_infrastructure_deterministic() -> None:
    rows = independents() + [r for a in range(5) for r in requests(f"h{a}", 6, client_ip=f"203.0.113.{a}")]
    frame = make_frame(rows)
    a = run_detector(SharedInfrastructureDetector(), frame)
    b = run_detector(SharedInfrastructureDetector(), frame.sample(fraction=1.0, shuffle=True, seed=9))
    assert a.equals(b)
