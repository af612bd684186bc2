"""``extractscan diff``: new, rising, falling and resolved accounts; campaigns matched by member overlap."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from _nightly_helpers import BENIGN, EXTRACTORS, no_embed, write_logs
from typer.testing import CliRunner

from extractscan import api
from extractscan.cli import app
from extractscan.diff import diff_results, match_campaigns, render_markdown, render_terminal
from extractscan.findings import AccountFinding, Campaign, ScanResult

runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})


def acct(eid: str, score: float, campaign: str | None = None, suppressed: str | None = None) -> AccountFinding:
    flagged = score >= 0.5 and suppressed is None
    return AccountFinding(
        eid, 0, score, "high" if flagged else "none", 1.0, flagged, f"why {eid}", 10, None, None, campaign, score, (), suppressed
    )


def camp(cid: str, members: tuple[str, ...], score: float = 0.9) -> Campaign:
    return Campaign(cid, members, score, len(members), ("template",), "linked")


def result(accounts: list[AccountFinding], campaigns: tuple[Campaign, ...] = (), base: ScanResult | None = None) -> ScanResult:
    assert base is not None
    return dataclasses.replace(base, accounts=tuple(accounts), campaigns=campaigns)


def test_account_changes(raw_result: ScanResult) -> None:
    prev = result(
        [
            acct("stays", 0.9),
            acct("climbs", 0.2),
            acct("cools", 0.95),
            acct("fixed", 0.8),
            acct("muted", 0.9),
            acct("left", 0.7),
            acct("meh", 0.4),
        ],
        base=raw_result,
    )
    cur = result(
        [
            acct("stays", 0.92),
            acct("climbs", 0.35),
            acct("cools", 0.6),
            acct("fixed", 0.3),
            acct("muted", 0.9, suppressed="red team"),
            acct("fresh", 0.7),
            acct("meh", 0.5),
        ],
        base=raw_result,
    )
    d = diff_results(prev, cur, rise=0.1)
    assert [c.entity_id for c in d.new] == ["fresh", "meh"]
    assert d.new[0].prev_score is None and d.new[1].prev_score == 0.4
    assert [c.entity_id for c in d.rising] == ["climbs"] and not d.rising[0].flagged
    assert [c.entity_id for c in d.falling] == ["cools"]
    assert {(c.entity_id, c.detail) for c in d.resolved} == {("fixed", "unflagged"), ("muted", "suppressed"), ("left", "gone")}
    assert next(c for c in d.resolved if c.entity_id == "muted").reasons == "red team"
    assert [c.entity_id for c in d.alerts] == ["fresh", "meh"]  # "climbs" rose but is not flagged
    assert (d.prev_flagged, d.flagged) == (5, 4)
    # A flagged account rising is an alert; a smaller rise is not a change at all.
    d2 = diff_results(prev, result([acct("climbs", 0.3), acct("stays", 0.99)], base=raw_result), rise=0.05)
    assert [c.entity_id for c in d2.rising] == ["stays", "climbs"] and [c.entity_id for c in d2.alerts] == ["stays"]
    assert not diff_results(prev, result([acct("stays", 0.95)], base=raw_result), rise=0.1).rising


def test_campaigns_match_by_members_not_id(raw_result: ScanResult) -> None:
    prev = (
        camp("cmp-a", ("a1", "a2", "a3")),
        camp("cmp-b", ("b1", "b2")),
        camp("cmp-c", ("c1", "c2")),
        camp("cmp-d", ("d1", "d2", "d3", "d4")),
    )
    cur = (
        camp("cmp-a2", ("a1", "a2", "a3", "a4")),  # grew: new id, same actor
        camp("cmp-bc", ("b1", "b2", "c1", "c2", "x")),  # b and c merged
        camp("cmp-d2", ("d1", "d2", "d3")),  # shrank
        camp("cmp-e", ("e1", "e2"), 0.2),  # new, not suspicious
    )
    pairs = {(prev[i].campaign_id, cur[j].campaign_id) for i, j, _ in match_campaigns(prev, cur)}
    assert ("cmp-a", "cmp-a2") in pairs and ("cmp-d", "cmp-d2") in pairs
    d = diff_results(result([], prev, raw_result), result([], cur, raw_result))
    by = {(c.prev_campaign_id, c.campaign_id): c for c in d.campaigns}
    grown = by[("cmp-a", "cmp-a2")]
    assert grown.status == "grown" and grown.added == ("a4",) and grown.overlap == 0.75
    assert by[("cmp-d", "cmp-d2")].status == "shrunk" and by[("cmp-d", "cmp-d2")].removed == ("d4",)
    new = by[(None, "cmp-e")]
    assert new.status == "new" and not new.suspicious
    statuses = {c.prev_campaign_id: c.status for c in d.campaigns if c.prev_campaign_id in ("cmp-b", "cmp-c")}
    assert sorted(statuses.values()) == ["grown", "merged"]  # one is matched to cmp-bc, the other merged into it
    merged = next(c for c in d.campaigns if c.status == "merged")
    assert merged.merged_into == "cmp-bc"
    gone = diff_results(result([], prev, raw_result), result([], (), raw_result))
    assert {c.status for c in gone.campaigns} == {"resolved"}


def test_diff_refuses_different_entities(raw_result: ScanResult) -> None:
    with pytest.raises(ValueError, match="different entities"):
        diff_results(raw_result, dataclasses.replace(raw_result, entity="api_key"))


def test_renderers_escape_hostile_ids(raw_result: ScanResult) -> None:
    evil = "\x1b[31m<script>|x"
    d = diff_results(result([], base=raw_result), result([acct(evil, 0.9)], base=raw_result))
    md = render_markdown(d)
    assert "<script>" not in md and "\\<script\\>" in md and "\x1b" not in md
    assert "\x1b" not in render_terminal(d)


@pytest.fixture(scope="module")
def two_nights(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Night 1: two extractors; night 2: a third joins them (the campaign grows and changes id)."""
    root = tmp_path_factory.mktemp("nights")
    outs = []
    for night, extractors in ((1, EXTRACTORS), (2, (*EXTRACTORS, "zorblax-tenant-7733"))):
        logs = write_logs(root / f"logs{night}", extractors=extractors)
        api.ingest([logs], root / f"store{night}", no_embed())
        res = api.scan_store(root / f"store{night}", no_embed())
        api.write_outputs(res, root / f"out{night}", stable=True)
        outs.append(root / f"out{night}")
    return outs[0], outs[1]


def test_cli_diff_of_two_nights(two_nights: tuple[Path, Path]) -> None:
    night1, night2 = two_nights
    r = runner.invoke(app, ["diff", str(night1), str(night2), "--format", "json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert [c["entity_id"] for c in d["new"]] == ["zorblax-tenant-7733"]
    grown = [c for c in d["campaigns"] if c["status"] == "grown"]
    assert len(grown) == 1 and grown[0]["added"] == ["zorblax-tenant-7733"]
    assert grown[0]["campaign_id"] != grown[0]["prev_campaign_id"]  # the id changed; the overlap matched it
    assert d["alerts"] == 1

    r = runner.invoke(app, ["diff", str(night1), str(night2 / "report.json"), "--fail-on-new"])
    assert r.exit_code == 3
    assert "1 new" in r.stdout and "zorblax-tenant-7733" in r.stdout
    r = runner.invoke(app, ["diff", str(night2), str(night2), "--fail-on-new", "--format", "md"])
    assert r.exit_code == 0 and "0 new, 0 rising" in r.stdout
    # The reverse direction: the third account is gone (resolved), the campaign shrank.
    r = runner.invoke(app, ["diff", str(night2), str(night1), "--format", "json"])
    back = json.loads(r.stdout)
    assert [(c["entity_id"], c["detail"]) for c in back["resolved"]] == [("zorblax-tenant-7733", "gone")]
    assert [c["status"] for c in back["campaigns"] if set(c["removed"]) & {"zorblax-tenant-7733"}] == ["shrunk"]
    assert not any(c["entity_id"] in BENIGN for c in back["new"] + back["resolved"])


def test_cli_diff_errors(two_nights: tuple[Path, Path], tmp_path: Path) -> None:
    r = runner.invoke(app, ["diff", str(tmp_path / "nope"), str(two_nights[1])])
    assert r.exit_code == 2 and "no scan output" in r.stderr
    bad = tmp_path / "report.json"
    bad.write_text("{not json")
    r = runner.invoke(app, ["diff", str(bad), str(two_nights[1])])
    assert r.exit_code == 1 and "cannot read" in r.stderr
