"""The investigation library: facts from the store agree with the store and with the scan it quotes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import polars as pl
import pytest
from _investigate_helpers import Scanned, no_embed

from extractscan.campaigns import template_fingerprints
from extractscan.investigate import (
    InvestigateError,
    Investigation,
    UnknownEntity,
    investigate,
    load_json,
    render_json,
    tenant_requests,
    timeline,
)
from extractscan.prepare import build_frame, load_requests
from extractscan.store import Store


def _member(s: Scanned) -> str:
    """The top-ranked account that is in a campaign."""
    return next(a.entity_id for a in s.result.accounts if a.campaign_id)


def _rows(s: Scanned, account: str) -> pl.DataFrame:
    return Store(s.store).scan().filter(pl.col("account_id") == account).collect()


def test_finding_and_facts_from_the_report(synth_scan: Scanned) -> None:
    acct = _member(synth_scan)
    inv = investigate(synth_scan.store, acct, no_embed(), scan_out=synth_scan.out)
    finding = next(a for a in synth_scan.result.accounts if a.entity_id == acct)
    assert inv.source == "report" and inv.finding == finding
    assert inv.population == synth_scan.result.stats.entities
    rows = _rows(synth_scan, acct)
    assert inv.n_requests == rows.height == finding.n_requests
    assert not inv.notes
    # Timeline: every timed request is in exactly one hour and one day.
    tl = inv.timeline
    timed = rows["event_time"].drop_nulls()
    assert sum(b.n for b in tl.hourly) == sum(b.n for b in tl.daily) == sum(tl.hour_of_day) == timed.len()
    assert tl.first_seen == finding.first_seen and tl.last_seen == finding.last_seen
    assert tl.peak_hour is not None and tl.peak_hour.n == max(b.n for b in tl.hourly)
    assert [b.start for b in tl.hourly] == sorted(b.start for b in tl.hourly)
    assert all(b.start % 3600 == 0 for b in tl.hourly) and all(b.start % 86400 == 0 for b in tl.daily)
    # Parameters count the same requests.
    p = inv.parameters
    models = rows.select(pl.coalesce("model_requested", "model_served").value_counts(sort=True)).unnest("model_requested")
    assert {c.value: c.n for c in p.models.top} == dict(models.iter_rows())
    assert sum(c.n for c in p.user_agents.top) + p.user_agents.missing == rows.height
    assert all(r.value.endswith(("/24", "/48")) for r in p.ip_ranges.top)
    assert p.output_tokens.count == rows["output_tokens"].count()
    assert p.output_tokens.max == float(rows["output_tokens"].max())  # type: ignore[arg-type]
    # Templates and clusters partition the requests.
    assert sum(t.requests for t in inv.templates) <= inv.n_requests
    assert inv.templates[0].requests == max(t.requests for t in inv.templates)
    assert inv.clustered_requests <= inv.n_requests and inv.n_clusters >= len(inv.clusters)
    assert [c.number for c in inv.clusters] == list(range(1, len(inv.clusters) + 1))


def test_campaign_edges_and_linked_accounts(synth_scan: Scanned) -> None:
    acct = _member(synth_scan)
    inv = investigate(synth_scan.store, acct, no_embed(), scan_out=synth_scan.out)
    camp = next(c for c in synth_scan.result.campaigns if acct in c.account_ids)
    assert inv.campaign == camp
    assert {x.entity_id for x in inv.linked} == set(camp.account_ids) - {acct}
    assert inv.edges and all(acct in (e.a, e.b) for e in inv.edges)
    direct = {e.b if e.a == acct else e.a for e in inv.edges}
    assert {x.entity_id for x in inv.linked if x.edge_kinds} == direct
    scores = {a.entity_id: a.score for a in synth_scan.result.accounts}
    assert all(x.score == scores[x.entity_id] for x in inv.linked)


def test_scanning_the_store_gives_the_reports_finding(synth_scan: Scanned) -> None:
    """Without --scan the store is scanned whole (population-relative scores): same config, same finding."""
    acct = _member(synth_scan)
    inv = investigate(synth_scan.store, acct, no_embed())
    assert inv.source == "scan"
    assert inv.finding == next(a for a in synth_scan.result.accounts if a.entity_id == acct)


def test_frames_show_the_slot_sweep(synth_scan: Scanned) -> None:
    """A sweeping extractor sends one frame with many fills: its top frame holds most of its requests."""
    labels = pl.read_csv(synth_scan.logs / "labels.csv")
    extractor = labels.filter(pl.col("kind") == "extractor")["account_id"][0]
    inv = investigate(synth_scan.store, extractor, no_embed(), scan_out=synth_scan.out)
    top = inv.frames[0]
    assert "{}" in top.pattern and top.fingerprint.startswith("fr:")
    assert top.share >= 0.3 and top.distinct_texts > 5
    for t in (*inv.frames, *inv.templates):  # shares are of all the tenant's requests
        assert t.share == round(t.requests / inv.n_requests, 4)


def test_template_fingerprints_match_the_scan(synth_scan: Scanned) -> None:
    acct = synth_scan.result.accounts[0].entity_id
    inv = investigate(synth_scan.store, acct, no_embed(), scan_out=synth_scan.out, top=10_000)
    frame, _ = build_frame(load_requests(tenant_requests(synth_scan.store, acct)), no_embed())
    scan_fps = set(template_fingerprints(frame)["fingerprint"].to_list())
    mine = {t.fingerprint for t in inv.templates if t.requests >= 3}
    assert mine == scan_fps


def test_window_restricts_the_request_facts(synth_scan: Scanned) -> None:
    acct = _member(synth_scan)
    since, until = "2025-06-02T12:00:00", "2025-06-03T06:00:00"
    inv = investigate(synth_scan.store, acct, no_embed(), scan_out=synth_scan.out, since=since, until=until)
    lo, hi = (datetime.fromisoformat(x).replace(tzinfo=UTC) for x in (since, until))
    rows = _rows(synth_scan, acct).filter((pl.col("event_time") >= lo) & (pl.col("event_time") < hi))
    assert 0 < inv.n_requests == rows.height
    assert inv.since == lo.timestamp() and inv.until == hi.timestamp()
    assert any("window" in n for n in inv.notes)  # the finding still covers the scan's window


def test_json_round_trip_is_exact(synth_scan: Scanned, tmp_path: pytest.TempPathFactory) -> None:
    inv = investigate(synth_scan.store, _member(synth_scan), no_embed(), scan_out=synth_scan.out)
    text = render_json(inv)
    back = Investigation.from_dict(json.loads(text))
    assert back == inv and render_json(back) == text
    path = tmp_path / "inv.json"  # type: ignore[operator]
    path.write_text(text)
    assert load_json(path) == inv


def test_unknown_account_lists_close_matches(synth_scan: Scanned) -> None:
    acct = _member(synth_scan)
    with pytest.raises(UnknownEntity) as e:
        investigate(synth_scan.store, acct[:-3], no_embed(), scan_out=synth_scan.out)
    assert acct in e.value.suggestions and acct in str(e.value)
    with pytest.raises(UnknownEntity) as e:  # without a report the store's ids are searched
        investigate(synth_scan.store, acct.upper()[:-2], no_embed())
    assert acct in e.value.suggestions
    with pytest.raises(UnknownEntity) as e:
        investigate(synth_scan.store, "nobody-at-all-🙂", no_embed(), scan_out=synth_scan.out)
    assert e.value.suggestions == ()


def test_usage_errors(synth_scan: Scanned, tmp_path: pytest.TempPathFactory) -> None:
    acct = _member(synth_scan)
    with pytest.raises(InvestigateError, match="no store"):
        investigate(tmp_path, acct)  # type: ignore[arg-type]
    with pytest.raises(InvestigateError, match="scores accounts"):
        investigate(synth_scan.store, acct, no_embed(), scan_out=synth_scan.out, entity="api_key")
    with pytest.raises(InvestigateError, match="no scan result"):
        investigate(synth_scan.store, acct, no_embed(), scan_out=tmp_path)  # type: ignore[arg-type]
    with pytest.raises(InvestigateError, match="invalid time"):
        investigate(synth_scan.store, acct, no_embed(), scan_out=synth_scan.out, since="last tuesday")


def test_other_entities(synth_scan: Scanned) -> None:
    key = Store(synth_scan.store).scan().select(pl.col("api_key_id").drop_nulls().first()).collect().item()
    inv = investigate(synth_scan.store, key, no_embed(), entity="api_key")
    assert inv.entity == "api_key" and inv.finding is not None and inv.finding.entity_id == key
    assert [c.value for c in inv.parameters.api_keys.top] == [key]


def test_timeline_of_untimed_requests() -> None:
    tl = timeline(pl.Series("ts", [None, None], dtype=pl.Float64))
    assert tl.untimed == 2 and tl.first_seen is None and tl.hourly == () and tl.hour_of_day == (0,) * 24
    tl = timeline(pl.Series("ts", [3600.0 * 5 + 10, 3600.0 * 5 + 20, 86400.0 + 7, None]))
    assert [(b.start, b.n) for b in tl.hourly] == [(18000.0, 2), (86400.0, 1)]
    assert [(b.start, b.n) for b in tl.daily] == [(0.0, 2), (86400.0, 1)]
    assert tl.hour_of_day[5] == 2 and tl.hour_of_day[0] == 1 and tl.untimed == 1 and tl.active_days == 2


def test_redacted_rows_keep_shape_and_mask_every_text() -> None:
    """Null lists stay null, empty lists empty, message order and roles kept; ids hashed, texts masked."""
    import pyarrow as pa

    from extractscan.investigate import redact_requests
    from extractscan.schema import CANONICAL_SCHEMA

    rows = [
        {
            "record_id": "r1",
            "source_format": "x",
            "account_id": "a",
            "client_ip": "203.0.113.9",
            "messages": [{"role": "user", "text": "secret one"}, {"role": "assistant", "text": None}],
            "last_user_text": "secret one",
            "output_tokens": 7,
        },
        {"record_id": "r2", "source_format": "x", "account_id": "a", "messages": [], "tags": [{"key": "k", "value": "v secret"}]},
        {"record_id": "r3", "source_format": "x", "account_id": "b", "messages": None, "tags": []},
    ]
    df = pl.from_arrow(pa.Table.from_pylist(rows, schema=CANONICAL_SCHEMA))
    assert isinstance(df, pl.DataFrame)
    out = redact_requests(df, "account", "salt")
    assert out.schema == df.schema and out.height == 3
    assert "secret" not in str(out.to_dicts()) and "203.0.113" not in str(out.to_dicts())
    m = out["messages"].to_list()
    assert [x["role"] for x in m[0]] == ["user", "assistant"] and m[0][1]["text"] is None and m[1] == [] and m[2] is None
    assert m[0][0]["text"] == out["last_user_text"][0]  # one text, one mask wherever it appears
    assert out["tags"].to_list()[0] is None and out["tags"].to_list()[2] == [] and out["tags"][1][0]["key"] == "k"
    a1, a2, b = out["account_id"].to_list()
    assert a1 == a2 != b and a1.startswith("acct:") and out["output_tokens"][0] == 7
