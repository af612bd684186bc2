from __future__ import annotations

import re

from extractscan.findings import ScanResult
from extractscan.report import markdown

_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


def _fences(text: str) -> tuple[list[str], list[str]]:
    """Split Markdown into (fenced block bodies, lines outside fences) the way CommonMark closes fences."""
    blocks: list[str] = []
    outside: list[str] = []
    fence: int | None = None
    body: list[str] = []
    for line in text.split("\n"):
        if fence is None:
            m = re.match(r"^(`{3,})([^`]*)$", line)
            if m:
                fence, body = len(m.group(1)), []
            else:
                outside.append(line)
        elif re.match(rf"^ {{0,3}}`{{{fence},}}\s*$", line):
            blocks.append("\n".join(body))
            fence = None
        else:
            body.append(line)
    assert fence is None, "unterminated fence"
    return blocks, outside


def test_fences_cannot_be_broken(hostile_result: ScanResult) -> None:
    md = markdown.render(hostile_result)
    blocks, outside = _fences(md)
    # the prompt with ``` and ```` inside stays in one block, lines intact, ANSI removed
    target = [b for b in blocks if "print(1)" in b]
    assert len(target) == 1
    assert target[0] == "Explain ```python\nprint(1)\n```\n```` four ticks red"
    assert any(b == "line one\nline two nul byte" for b in blocks)
    assert not any(line.startswith("`") for line in outside)
    assert "print(1)" not in "\n".join(outside)


def test_table_cells_escaped(hostile_result: ScanResult) -> None:
    md = markdown.render(hostile_result)
    rows = [line for line in md.split("\n") if line.startswith("| ") and not line.startswith("| a ")]
    ranked = rows[: 1 + len(hostile_result.accounts)]
    assert len(ranked) == 5
    for row in ranked:
        assert len(_UNESCAPED_PIPE.findall(row)) == 8, row  # 7 columns
    assert "user\\|red" in md  # pipe escaped, ANSI stripped, newline gone from the cell
    edge_rows = [line for line in md.split("\n") if "skeleton" in line]
    assert edge_rows and all(len(_UNESCAPED_PIPE.findall(r)) == 6 for r in edge_rows)


def test_no_control_or_raw_html(hostile_result: ScanResult) -> None:
    md = markdown.render(hostile_result)
    assert "\x1b" not in md and "\x00" not in md
    _, outside = _fences(md)
    text = "\n".join(line.removeprefix("> ") for line in outside)  # our own blockquotes
    assert re.search(r"(?<!\\)[<>]", text) is None  # every angle bracket is backslash-escaped
    assert "\\<script\\>alert(1)\\</script\\>" in text


def test_structure(hostile_result: ScanResult) -> None:
    md = markdown.render(hostile_result)
    assert md.startswith("# extractscan report\n")
    assert "**2 of 4 accounts flagged**" in md
    assert "## Flagged accounts (2)" in md and "## Campaigns (1)" in md
    assert "contribution 60%" in md
    assert "members: \\<script\\>" in md
    assert "seat" not in md.split("## Campaigns")[0].split("## Flagged")[1]  # zero contribution left out
    assert md.endswith("\n") and not md.endswith("\n\n")


def test_top_limits_rows(hostile_result: ScanResult) -> None:
    md = markdown.render(hostile_result, top=1)
    assert "_3 more accounts not shown._" in md


def test_fenced_helper_longer_fence() -> None:
    out = markdown.fenced("x ````` y")
    assert out.startswith("``````text\n") and out.endswith("\n``````")
