"""``extractscan ingest``, ``store info`` and ``store quarantine``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from extractscan.cli import app
from extractscan.ingest import registry
from extractscan.ingest.base import Reader, Rejected, as_str, parse_time
from extractscan.store import Store


class ToyReader(Reader):
    name = "toy"
    summary = "test records"

    def sniff(self, obj: Any) -> bool:
        return "acct" in obj and "prompt" in obj

    def parse(self, obj: Any, ref: Any) -> Any:
        if not isinstance(obj.get("prompt"), str):
            yield Rejected("wrong_type", "prompt is not a string")
            return
        row: dict[str, Any] = {
            "event_time": parse_time(obj.get("ts")),
            "messages": [{"role": "user", "text": obj["prompt"]}],
        }
        if obj.get("acct"):
            row["account_id"] = as_str(obj["acct"])
        yield row


@pytest.fixture(autouse=True)
def toy_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "readers", lambda: {"toy": ToyReader()})


runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})


def invoke(*args: str | Path) -> Any:
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    d = tmp_path / "logs"
    d.mkdir()
    lines = [
        {"ts": "2025-01-01T00:00:00Z", "acct": "a", "prompt": "hello"},
        {"ts": "2025-01-02T00:00:00Z", "acct": "", "prompt": "no account"},
        {"ts": "2025-01-02T00:00:00Z", "acct": "b", "prompt": 5},
    ]
    data = b"".join(orjson.dumps(x) + b"\n" for x in lines)
    # hostile excerpt: ANSI escapes, control characters and rich markup in a bad line
    data += b'\x1b[31m{"acct": "[bold red]owned[/]", \x07\x1b]0;title\x07 "prompt": broken\n'
    (d / "app.jsonl").write_bytes(data)
    (d / "empty.jsonl").write_bytes(b"")
    return d


def test_ingest_prints_counts_and_exits_0(tmp_path: Path, logs: Path) -> None:
    store = tmp_path / "store"
    r = invoke("ingest", logs, "--store", store)
    assert r.exit_code == 0, r.output
    out = r.stderr
    assert "toy" in out and "total" in out
    for word in ("read", "stored", "duplicate", "quarantined"):
        assert word in out
    assert "empty_file" in out
    assert "wrong_type" in out and "invalid_json" in out
    assert "extractscan store quarantine --store" in out
    assert r.stdout == ""
    assert Store(store).scan().collect().height == 2


def test_ingest_json(tmp_path: Path, logs: Path) -> None:
    r = invoke("ingest", logs, "--store", tmp_path / "store", "--json", "--account-id", "team-x")
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    t = report["totals"]
    assert (t["read"], t["stored"], t["duplicate"], t["quarantined"]) == (4, 2, 0, 2)
    assert t["read"] == t["stored"] + t["duplicate"] + t["quarantined"]
    assert [p["code"] for p in report["problems"]] == ["empty_file"]
    assert report["run_id"] and report["quarantine_path"]
    accounts = Store(tmp_path / "store").scan().collect()["account_id"].sort().to_list()
    assert accounts == ["a", "team-x"]
    again = json.loads(invoke("ingest", logs, "--store", tmp_path / "store", "--json").stdout)
    assert again["totals"]["stored"] == 0 and again["totals"]["duplicate"] == 4


def test_quiet(tmp_path: Path, logs: Path) -> None:
    r = invoke("ingest", logs, "--store", tmp_path / "store", "--quiet")
    assert r.exit_code == 0 and r.output == ""


def test_exit_codes(tmp_path: Path, logs: Path) -> None:
    r = invoke("ingest", tmp_path / "missing", "--store", tmp_path / "store")
    assert r.exit_code == 1 and "no such file" in r.stderr
    r = invoke("ingest", logs, "--store", tmp_path / "store", "--format", "nope")
    assert r.exit_code == 2 and "unknown format" in r.stderr
    r = invoke("ingest", logs)  # --store is required
    assert r.exit_code == 2
    bad = tmp_path / "bad.toml"
    bad.write_text("[ingest]\nnot_a_key = 1\n")
    r = invoke("ingest", logs, "--store", tmp_path / "store", "--config", bad)
    assert r.exit_code == 2
    not_store = tmp_path / "notstore"
    not_store.mkdir()
    (not_store / "x.txt").write_text("x")
    r = invoke("ingest", logs, "--store", not_store)
    assert r.exit_code == 1 and "not an extractscan store" in r.stderr
    r = invoke("store", "info", "--store", tmp_path / "nowhere")
    assert r.exit_code == 1 and "no store" in r.stderr
    assert not (tmp_path / "nowhere").exists()


def test_store_info(tmp_path: Path, logs: Path) -> None:
    store = tmp_path / "store"
    invoke("ingest", logs, "--store", store, "--quiet")
    r = invoke("store", "info", "--store", store)
    assert r.exit_code == 0, r.output
    assert "rows" in r.stderr and "2025-01-01" in r.stderr and "toy" in r.stderr
    r = invoke("store", "info", "--store", store, "--json")
    info = json.loads(r.stdout)
    assert (info["rows"], info["accounts"], info["formats"]) == (2, 1, {"toy": 2})
    assert len(info["runs"]) == 1


def test_store_quarantine_is_safe_to_print(tmp_path: Path, logs: Path) -> None:
    store = tmp_path / "store"
    invoke("ingest", logs, "--store", store, "--quiet")
    r = invoke("store", "quarantine", "--store", store)
    assert r.exit_code == 0, r.output
    out = r.stderr
    assert "invalid_json" in out and "wrong_type" in out
    assert "\x1b" not in out and "\x07" not in out
    assert "[bold red]owned[/]" in out  # shown literally, not interpreted as markup
    r = invoke("store", "quarantine", "--store", store, "--limit", "1", "--json")
    entries = json.loads(r.stdout)
    assert len(entries) == 1 and entries[0]["reason"] in ("wrong_type", "invalid_json")
    r = invoke("store", "quarantine", "--store", store, "--reason", "invalid_json", "--json")
    (entry,) = json.loads(r.stdout)
    assert entry["excerpt"].startswith("\x1b[31m")  # stored as read; only printing strips it


def test_clean_text() -> None:
    from extractscan.cli._common import clean_text

    assert clean_text("a\x1b[1;31mred\x1b[0m\tb\nc\x00\u202ed") == "ared b cd"
    assert clean_text("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\") == "link"
    assert clean_text("x" * 10, 5) == "xxxx…"
    assert clean_text(None) == ""
