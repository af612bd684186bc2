"""Docs that must not drift from the code: the generated references and a guide entry per command."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractscan.cli import app
from extractscan.docgen import GENERATED

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_doc_is_current(name: str) -> None:
    committed = (DOCS / name).read_text(encoding="utf-8")
    assert committed == GENERATED[name](), f"docs/{name} is stale: run `python -m extractscan.docgen`"


def test_every_command_has_a_guide_entry() -> None:
    guide = (DOCS / "guide.md").read_text(encoding="utf-8")
    names = [c.name for c in app.registered_commands] + [g.name for g in app.registered_groups]
    assert names, "no commands registered"
    missing = [n for n in names if f"extractscan {n}" not in guide]
    assert not missing, f"commands without an example in docs/guide.md: {missing}"
