"""The HTML reports open in a real browser (headless Chromium) without running any attacker text.

Prompts, account ids, user agents and evidence are written by the people we hunt. Each report is loaded
from disk in Chromium, driven over the DevTools protocol, and we check what a reader would suffer: no
injected script ran (``window.__pwned`` stays undefined, no alert/confirm/prompt dialog opened), the page
raised no JavaScript error and logged no console error, nothing tried to load (CSP violations), and the
page's own script still works (the ranked table sorts when its header is clicked). A screenshot of each
page is kept in ``$EXTRACTSCAN_TEST_ARTEFACTS`` (default ``test-artefacts/``) for a person to look at.

Chromium is Debian's ``chromium`` package (``scripts/test.sh`` installs it). The protocol runs over
``--remote-debugging-pipe`` (JSON messages on file descriptors 3 and 4), so no network port, no
websocket library and no browser download are needed.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from extractscan import api
from extractscan.config import Config
from extractscan.findings import AccountFinding, Campaign, DetectorResult, LinkEdge, ScanResult, ScanStats
from extractscan.report import html as html_report

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


CHROMIUM = _chromium()
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium not installed (Debian: apt-get install chromium; scripts/test.sh does it)",
)

# Every payload sets window.__pwned (or opens a dialog) if it ever runs.
PWN = "window.__pwned=1"
PAYLOADS = (
    f"<script>{PWN}</script>",
    f'<img src=x onerror="{PWN}">',
    f"<img src=x onerror={PWN}>",
    f'"><svg onload={PWN}>',
    "'><svg/onload=alert(1)>",
    f"javascript:{PWN}",
    f"</style><script>{PWN}</script>",
    f"</script><script>{PWN}</script>",
    f"</title><script>{PWN}</script>",
    f"</textarea><script>{PWN}</script>",
    f"<!--<script>{PWN}</script>-->",
    f"<![CDATA[<script>{PWN}</script>]]>",
    f'<a href="javascript:{PWN}">click</a>',
    '<iframe srcdoc="<script>parent.__pwned=1</script>"></iframe>',
    f"<details open ontoggle={PWN}>",
    f"<body onload={PWN}>",
    f"{{{{constructor.constructor('{PWN}')()}}}}",
    f"\u2028\u2029<script>{PWN}</script>",
    "nul\x00byte \x1b[31mred\x1b[0m \x1b]8;;http://evil/\x07link\x1b]8;;\x07 \x9b2J",
    "\u202eevil-rtl \ufeff\u200b",
)
HOSTILE = " ".join(PAYLOADS)


# ------------------------------------------------------------------------------------- DevTools client


class DevTools:
    """A minimal Chrome DevTools Protocol client over ``--remote-debugging-pipe``."""

    def __init__(self, exe: str, profile: Path) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        flags = [
            "--headless",
            "--remote-debugging-pipe",
            "--no-sandbox",  # tests run as root in containers
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--mute-audio",
            f"--user-data-dir={profile}",
            "about:blank",
        ]
        # Chromium reads commands on fd 3 and writes replies on fd 4: map our pipe ends there (bash, as
        # dash redirects only single-digit descriptors).
        shell = f'exec "$@" 3<&{to_browser_r} 4>&{from_browser_w} {to_browser_r}<&- {from_browser_w}>&-'
        self.proc = subprocess.Popen(
            ["bash", "-c", shell, "bash", exe, *flags],
            pass_fds=(to_browser_r, from_browser_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._next_id = 0
        self._replies: dict[int, dict[str, Any]] = {}
        self._inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.events: list[dict[str, Any]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        buf = b""
        while True:
            try:
                chunk = os.read(self._from_browser, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                self._inbox.put(None)
                return
            buf += chunk
            *messages, buf = buf.split(b"\0")
            for m in messages:
                self._inbox.put(json.loads(m))

    def _pump(self, deadline: float) -> bool:
        """Take one message off the pipe (False when the deadline passed)."""
        try:
            msg = self._inbox.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return False
        if msg is None:
            raise RuntimeError("Chromium closed the DevTools pipe")
        if "id" in msg:
            self._replies[msg["id"]] = msg
        else:
            self.events.append(msg)
            if msg.get("method") == "Page.javascriptDialogOpening":
                # a dialog blocks the page: dismiss it (the test fails on the recorded event anyway)
                self.send("Page.handleJavaScriptDialog", {"accept": False}, msg.get("sessionId"), wait=False)
        return True

    def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session: str | None = None,
        *,
        wait: bool = True,
        timeout: float = 30.0,
    ) -> dict[str, Any]:
        self._next_id += 1
        mid = self._next_id
        msg: dict[str, Any] = {"id": mid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_browser, json.dumps(msg).encode() + b"\0")
        if not wait:
            return {}
        deadline = time.monotonic() + timeout
        while mid not in self._replies:
            if not self._pump(deadline):
                raise TimeoutError(f"no reply to {method} in {timeout} s")
        reply = self._replies.pop(mid)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return dict(reply.get("result", {}))

    def wait_for(self, method: str, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for ev in self.events[seen:]:
                if ev.get("method") == method:
                    return ev
            seen = len(self.events)
            if not self._pump(deadline):
                raise TimeoutError(f"no {method} in {timeout} s")

    def settle(self, seconds: float) -> None:
        """Collect events for a while (late timers, image errors, etc.)."""
        deadline = time.monotonic() + seconds
        while self._pump(deadline):
            pass

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.send("Browser.close", wait=False)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_browser)
        self._reader.join(timeout=5)
        os.close(self._from_browser)


# Installed before any page script: records CSP violations and replaced dialog functions (in addition to
# the protocol's own dialog events) so that an injected alert() is seen even if it never blocks.
_PROBE = """
window.__csp = [];
window.__dialogs = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__csp.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


@dataclasses.dataclass
class PageRun:
    tools: DevTools
    session: str
    events_before: int

    def eval(self, expression: str) -> Any:
        r = self.tools.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}, self.session
        )
        if "exceptionDetails" in r:
            raise AssertionError(f"evaluation failed: {r['exceptionDetails']}")
        return r["result"].get("value")

    def click(self, element_js: str) -> None:
        """A real mouse click (pressed + released at the element's centre), as a reader would do it."""
        box = self.eval(
            f"(function(){{var e={element_js};e.scrollIntoView();"
            "var r=e.getBoundingClientRect();return [r.left+r.width/2, r.top+r.height/2];})()"
        )
        for kind in ("mousePressed", "mouseReleased"):
            self.tools.send(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": box[0], "y": box[1], "button": "left", "clickCount": 1},
                self.session,
            )

    def problems(self) -> list[str]:
        """Everything that went wrong on the page: JS exceptions, console errors, log errors, dialogs."""
        out = []
        for ev in self.tools.events[self.events_before :]:
            if ev.get("sessionId") != self.session:
                continue
            method, params = ev.get("method"), ev.get("params", {})
            if method == "Runtime.exceptionThrown":
                out.append(f"JS exception: {params['exceptionDetails']}")
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert", "warning"):
                out.append(f"console.{params['type']}: {params.get('args')}")
            elif method == "Log.entryAdded" and params["entry"].get("level") in ("error", "warning"):
                out.append(f"log {params['entry'].get('source')}: {params['entry'].get('text')}")
            elif method == "Page.javascriptDialogOpening":
                out.append(f"dialog {params.get('type')}: {params.get('message')}")
        return out

    def screenshot(self, path: Path) -> None:
        shot = self.tools.send(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, self.session, timeout=60
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevTools]:
    assert CHROMIUM is not None
    tools = DevTools(CHROMIUM, tmp_path_factory.mktemp("chromium-profile"))
    try:
        tools.send("Browser.getVersion", timeout=60)  # the first reply waits for the browser to start
        yield tools
    finally:
        tools.close()


@pytest.fixture
def open_page(browser: DevTools) -> Iterator[Callable[[Path], PageRun]]:
    targets: list[str] = []

    def _open(path: Path) -> PageRun:
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        targets.append(target)
        session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        run = PageRun(browser, session, len(browser.events))
        for domain in ("Page", "Runtime", "Log"):
            browser.send(f"{domain}.enable", session=session)
        browser.send(
            "Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session
        )
        browser.send("Page.addScriptToEvaluateOnNewDocument", {"source": _PROBE}, session)
        browser.send("Page.navigate", {"url": path.resolve().as_uri()}, session)
        browser.wait_for("Page.loadEventFired")
        browser.settle(0.5)  # onerror of a broken <img>, timers and the like fire after load
        return run

    yield _open
    for t in targets:
        browser.send("Target.closeTarget", {"targetId": t})


def artefacts_dir() -> Path:
    return Path(os.environ.get("EXTRACTSCAN_TEST_ARTEFACTS") or ROOT / "test-artefacts")


# ------------------------------------------------------------------------------------ hostile results

T0 = 1772409600.0  # 2026-03-02T00:00:00Z


def _det(did: str, name: str, score: float, summary: str, examples: tuple[str, ...], ids: tuple[str, ...]) -> DetectorResult:
    return DetectorResult(
        detector_id=did,
        name=name,
        value=score,
        score=score,
        confidence=0.9,
        weight=1.0,
        contribution=score / 2,
        summary=summary,
        request_ids=ids,
        cluster_ids=ids,
        examples=examples,
    )


def hostile_result() -> ScanResult:
    """A hand-built result with a payload in every text field a writer shows."""
    accounts = []
    for i, p in enumerate(PAYLOADS):
        dets = (
            _det("ES102", "template_concentration", 0.9, f"1 frame {p}", (f"template: {p}", f"prompt {p}\nline 2 {p}"), (p,)),
            _det("ES113", "shared_infrastructure", 0.6, f"user agent {p}", (f"ua: Mozilla/5.0 {p}",), (f"ip {p}",)),
        )
        accounts.append(
            AccountFinding(
                entity_id=p,
                rank=i + 1,
                score=round(1.0 - i / (len(PAYLOADS) + 1), 4),
                severity=("critical", "high", "medium", "low", "none")[i % 5],
                confidence=0.9,
                flagged=i % 3 != 2,
                reasons=f"Flagged — {p}",
                n_requests=100 + 37 * ((i * 7) % len(PAYLOADS)),  # an order unlike the rank's, so sorting shows
                first_seen=T0 + i * 600.0,
                last_seen=T0 + 40000.0 + i * 900.0,
                campaign_id=f"C-{p}" if i < 6 else None,
                base_score=0.5,
                detectors=dets,
                suppressed=f"allow-list {p}" if i == 4 else None,
            )
        )
    campaign = Campaign(
        campaign_id=f"C-{PAYLOADS[0]}",
        account_ids=tuple(PAYLOADS[:6]),
        score=0.95,
        size=6,
        edge_kinds=("template", "timing", f"kind {PAYLOADS[1]}"),
        evidence=f"shared template {HOSTILE}",
        edges=tuple(
            LinkEdge(
                a=PAYLOADS[j],
                b=PAYLOADS[j + 1],
                kind=("template", "timing", "infrastructure", PAYLOADS[3])[j % 4],
                weight=0.8,
                evidence=f"evidence {PAYLOADS[j]}",
            )
            for j in range(5)
        ),
        template_fingerprints=(f"fp {PAYLOADS[5]}",),
    )
    return ScanResult(
        version=1,
        tool_version=f"0.1.0 {PAYLOADS[0]}",
        created_at=f"2026-03-03 {PAYLOADS[6]}",
        entity="account",
        window=(T0, T0 + 86400.0),
        alert_threshold=0.5,
        config={"note": HOSTILE},
        manifest=[{"path": f"logs/{PAYLOADS[7]}.jsonl"}],
        stats=ScanStats(
            requests=5000,
            entities=len(accounts),
            unattributed_requests=0,
            partitions=1,
            lsh_candidates=10,
            lsh_confirmed=5,
            embedded_texts=0,
            embedding_cache_hits=0,
            stage_seconds={"load": 1.0},
        ),
        accounts=tuple(accounts),
        campaigns=(campaign,),
        detectors=(
            {"id": "ES102", "name": "template_concentration", "summary": f"templates {PAYLOADS[0]}"},
            {"id": "ES113", "name": "shared_infrastructure", "summary": f"infra {PAYLOADS[1]}"},
        ),
    )


def write_hostile_logs(path: Path) -> None:
    """Envelope logs whose account ids, prompts and user agents carry the payloads: one templated
    extraction campaign over several accounts (so that prompts reach the evidence) next to benign users."""
    lines = []
    t = T0
    campaign_ids = [PAYLOADS[0], PAYLOADS[3], PAYLOADS[7], PAYLOADS[13]]
    topics = ["recursion", "hash maps", "binary search", "dynamic programming", "graph colouring", "tries"]
    n = 0
    for k, acct in enumerate(campaign_ids):
        for i in range(90):
            n += 1
            t += 37.0
            prompt = (
                f"Explain {topics[i % len(topics)]} #{i} step by step and show your full reasoning. "
                f'{PAYLOADS[(i + k) % len(PAYLOADS)]} Answer in JSON {{"steps": [...]}} </script>'
            )
            lines.append(
                {
                    "timestamp": t,
                    "account_id": acct,
                    "user_agent": f"harvester/1.0 {PAYLOADS[(i + 2) % len(PAYLOADS)]}",
                    "client_ip": "203.0.113.9",
                    "request_id": f"req-{n}",
                    "request": {"model": "gpt-4o", "max_tokens": 4000, "messages": [{"role": "user", "content": prompt}]},
                    "response": {
                        "id": f"chatcmpl-{n}",
                        "object": "chat.completion",
                        "model": "gpt-4o",
                        "choices": [
                            {"index": 0, "message": {"role": "assistant", "content": "Step 1 " * 300}, "finish_reason": "stop"}
                        ],
                        "usage": {"prompt_tokens": 60, "completion_tokens": 3000, "total_tokens": 3060},
                    },
                }
            )
    for u in range(12):
        for i in range(8):
            n += 1
            t += 911.0
            lines.append(
                {
                    "timestamp": t,
                    "account_id": f"user-{u} {PAYLOADS[u % len(PAYLOADS)]}",
                    "user_agent": "Mozilla/5.0",
                    "client_ip": f"198.51.100.{u}",
                    "request_id": f"req-{n}",
                    "request": {
                        "model": "gpt-4o-mini",
                        "messages": [{"role": "user", "content": f"what should I cook tonight with {i} eggs, friend {u}?"}],
                    },
                }
            )
    path.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))


@pytest.fixture(scope="module")
def real_scan(tmp_path_factory: pytest.TempPathFactory) -> tuple[ScanResult, Path]:
    """A real ingest + scan (no embeddings) of the hostile logs, written by ``api.write_outputs``."""
    d = tmp_path_factory.mktemp("hostile-scan")
    write_hostile_logs(d / "logs.jsonl")
    cfg = Config()
    cfg = cfg.replace(embed=dataclasses.replace(cfg.embed, enabled=False))
    api.ingest([d / "logs.jsonl"], d / "store", cfg)
    result = api.scan_store(d / "store", cfg)
    api.write_outputs(result, d / "out")
    return result, d / "out"


# ------------------------------------------------------------------------------------------- checks


def _assert_inert(page: PageRun) -> None:
    assert page.eval("typeof window.__pwned") == "undefined", "an injected payload ran"
    assert page.eval("typeof parent.__pwned") == "undefined"
    assert page.eval("window.__csp") == [], "something tried to load a resource or run a blocked script"
    assert page.problems() == []
    # nothing the attacker wrote became an element: no images, frames or foreign scripts
    assert page.eval("document.querySelectorAll('img,iframe,object,embed,link,base,form').length") == 0
    assert page.eval("document.scripts.length") == 1
    handlers = page.eval(
        "Array.prototype.filter.call(document.querySelectorAll('*'),function(e){return Array.prototype.some.call("
        "e.attributes,function(a){return a.name.indexOf('on')===0;});}).length"
    )
    assert handlers == 0
    hrefs = page.eval("Array.prototype.map.call(document.querySelectorAll('[href]'),function(e){return e.getAttribute('href');})")
    assert all(h.startswith("#") for h in hrefs), hrefs


def _column(page: PageRun, table_js: str, col: int) -> list[float]:
    values = page.eval(
        f"Array.prototype.map.call(({table_js}).tBodies[0].rows,function(r){{return r.cells[{col}].getAttribute('data-v');}})"
    )
    return [float(v) for v in values]


def _assert_sorts(page: PageRun, table_js: str = "document.querySelector('#ranked')", header: str = "requests") -> None:
    """Clicking a numeric column header sorts the table ascending, a second click descending."""
    heads = page.eval(f"Array.prototype.map.call(({table_js}).tHead.rows[0].cells,function(h){{return h.textContent;}})")
    col = heads.index(header)
    th = f"({table_js}).tHead.rows[0].cells[{col}]"
    before = _column(page, table_js, col)
    assert len(set(before)) > 1, "the table needs distinct values to show a sort"
    page.click(th)
    asc = _column(page, table_js, col)
    page.click(th)
    desc = _column(page, table_js, col)
    assert sorted(before) == asc and asc != before, "the table did not sort on a click"
    assert desc == sorted(before, reverse=True)
    assert "desc" in page.eval(f"{th}.className")
    assert page.problems() == []


@needs_chromium
def test_hostile_result_html_is_inert_in_chromium(tmp_path: Path, open_page: Callable[[Path], PageRun]) -> None:
    result = hostile_result()
    out = tmp_path / "out"
    api.write_outputs(result, out)  # the real writer, as a scan uses it
    page = open_page(out / "report.html")
    _assert_inert(page)
    # every account is in the table and their ids are shown as text
    assert page.eval("document.querySelectorAll('#ranked tbody tr').length") == len(PAYLOADS)
    body = page.eval("document.body.innerText")
    for p in (PAYLOADS[1], PAYLOADS[3], PAYLOADS[6], PAYLOADS[7]):
        assert p in body, p
    _assert_sorts(page)
    assert "<script>window.__pwned=1</script>" in page.eval("document.body.innerText")  # still text
    page.screenshot(artefacts_dir() / "report-hostile.png")
    assert (artefacts_dir() / "report-hostile.png").stat().st_size > 10_000


@needs_chromium
def test_hostile_scan_html_is_inert_in_chromium(real_scan: tuple[ScanResult, Path], open_page: Callable[[Path], PageRun]) -> None:
    result, out = real_scan
    flagged = [a for a in result.accounts if a.flagged]
    assert flagged, "the templated campaign should be flagged, so its prompts reach the report"
    assert any(PAYLOADS[0] in ex for a in flagged for d in a.detectors for ex in d.examples)
    page = open_page(out / "report.html")
    _assert_inert(page)
    body = page.eval("document.body.innerText")
    assert PAYLOADS[0] in body  # the account id and the prompts are shown, as text
    _assert_sorts(page)
    page.screenshot(artefacts_dir() / "report-hostile-scan.png")


@needs_chromium
def test_rendered_from_saved_json_is_inert(
    real_scan: tuple[ScanResult, Path], tmp_path: Path, open_page: Callable[[Path], PageRun]
) -> None:
    """``extractscan report out/report.json --format html`` re-renders from JSON: same guarantees."""
    _, out = real_scan
    saved = ScanResult.from_dict(orjson.loads((out / "report.json").read_bytes()))
    (tmp_path / "again.html").write_text(html_report.render(saved), encoding="utf-8")
    page = open_page(tmp_path / "again.html")
    _assert_inert(page)


@needs_chromium
def test_probe_sees_an_injection(tmp_path: Path, open_page: Callable[[Path], PageRun]) -> None:
    """The checks can fail: a page that does run a payload, alert and error is caught on every count."""
    doc = html_report.render(hostile_result())
    broken = doc.replace("</body>", f'<img src=x onerror="{PWN}"><script>alert(1);undefinedFn()</script></body>', 1)
    (tmp_path / "broken.html").write_text(broken, encoding="utf-8")
    page = open_page(tmp_path / "broken.html")
    assert page.eval("window.__pwned") == 1
    problems = page.problems()
    assert any(p.startswith("dialog alert") for p in problems), problems
    assert any("undefinedFn" in p for p in problems), problems


@needs_chromium
def test_investigation_html_is_inert_in_chromium(
    real_scan: tuple[ScanResult, Path], tmp_path: Path, open_page: Callable[[Path], PageRun]
) -> None:
    """The one-tenant page (``investigate --format html`` and the bundle's investigation.html)."""
    from extractscan.investigate import investigate_with_inputs, write_bundle

    _, out = real_scan
    store = out.parent / "store"
    cfg = Config()
    cfg = cfg.replace(embed=dataclasses.replace(cfg.embed, enabled=False))
    target = PAYLOADS[0]  # the <script> account: a member of the templated campaign
    inv, inputs = investigate_with_inputs(store, target, cfg, scan_out=out)
    assert inv.campaign is not None, "the hostile account should be linked, so the page shows its campaign"
    write_bundle(inv, inputs, store, tmp_path / "bundle")
    page = open_page(tmp_path / "bundle" / "investigation.html")
    _assert_inert(page)
    body = page.eval("document.body.innerText")
    assert target in body and "harvester/1.0" in body  # the id and the user agents are shown, as text
    tables = page.eval(
        "Array.prototype.map.call(document.querySelectorAll('table.sortable'),function(t){"
        "return Array.prototype.map.call(t.tHead.rows[0].cells,function(h){return h.textContent;});})"
    )
    idx = next(i for i, heads in enumerate(tables) if "requests" in heads)
    _assert_sorts(page, f"document.querySelectorAll('table.sortable')[{idx}]", "requests")
    page.screenshot(artefacts_dir() / "investigation-hostile.png")
