from __future__ import annotations

import re
from html.parser import HTMLParser

from extractscan.findings import ScanResult
from extractscan.report import html as html_report


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        (self.scripts if self._in_script else self.text).append(data)


def _parse(doc: str) -> _Collect:
    p = _Collect()
    p.feed(doc)
    p.close()
    return p


def test_no_injected_markup(hostile_result: ScanResult) -> None:
    doc = html_report.render(hostile_result)
    assert "<script>alert" not in doc
    assert "<img" not in doc
    assert re.search(r"<[^>]*onerror=", doc) is None
    assert "\x1b" not in doc and "\x00" not in doc
    p = _parse(doc)
    names = [t for t, _ in p.tags]
    assert names.count("script") == 1 and "img" not in names
    assert p.scripts == [html_report._JS]
    for _, attrs in p.tags:
        for k, v in attrs:
            assert not k.startswith("on"), k
            if k == "data-v":
                float(v or "")  # numbers only
            if k in ("href", "src"):
                assert (v or "").startswith("#"), v
    text = "".join(p.text)
    # the hostile strings are shown, as text
    assert "<script>alert(1)</script>" in text
    assert "<img src=x onerror=alert(1)>" in text


def test_csp_and_offline(hostile_result: ScanResult) -> None:
    doc = html_report.render(hostile_result)
    p = _parse(doc)
    metas = [dict(a) for t, a in p.tags if t == "meta"]
    csp = [m for m in metas if (m.get("http-equiv") or "").lower() == "content-security-policy"]
    assert csp and csp[0]["content"] == (
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
    )
    scrubbed = doc.replace("http://www.w3.org/2000/svg", "").replace("HYPERLINK(&quot;http://x&quot;)", "")
    assert "http://" not in scrubbed and "https://" not in scrubbed
    assert not any(t in ("link", "iframe", "object", "embed") for t, _ in p.tags)


def test_plots_and_sections(hostile_result: ScanResult) -> None:
    doc = html_report.render(hostile_result)
    assert doc.count("<svg") == 4  # histogram, timeline, templates, one campaign graph
    assert "id=ranked" in doc and "data-type=num" in doc
    assert doc.count("<details") == 4
    assert '<details id="acct-1" open>' in doc and '<details id="acct-3">' in doc
    # template chart groups the two accounts sharing a frame
    assert "420 req, 2 acct, 3 clusters" in doc
    # campaign edges coloured by kind
    assert 'stroke="#d62728"' in doc and 'stroke="#1f77b4"' in doc
    assert "style='width:60.0%'" in doc  # contribution bar


def test_empty_result(hostile_result: ScanResult) -> None:
    import dataclasses

    empty = dataclasses.replace(hostile_result, accounts=(), campaigns=(), window=(None, None))
    doc = html_report.render(empty)
    assert "No timestamps to plot." in doc and "No linked campaigns." in doc
    _parse(doc)
