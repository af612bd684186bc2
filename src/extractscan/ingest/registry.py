"""The one place readers are registered: every Reader subclass in ``extractscan.ingest.formats``."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from functools import cache
from typing import Any

from extractscan.ingest import formats
from extractscan.ingest.base import Reader


@cache
def readers() -> dict[str, Reader]:
    """name -> reader instance, highest sniff priority first (ties broken by name for determinism)."""
    found: dict[str, type[Reader]] = {}
    for mod in pkgutil.iter_modules(formats.__path__):
        module = importlib.import_module(f"{formats.__name__}.{mod.name}")
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, Reader) and obj is not Reader and obj.name:
                if obj.name in found and found[obj.name] is not obj:
                    raise RuntimeError(f"two readers named {obj.name!r}")
                found[obj.name] = obj
    ordered = sorted(found.values(), key=lambda c: (-c.priority, c.name))
    return {c.name: c() for c in ordered}


def get_reader(name: str) -> Reader:
    try:
        return readers()[name]
    except KeyError:
        raise KeyError(f"unknown format {name!r}; known: {', '.join(sorted(readers()))}") from None


def sniff(obj: Any) -> Reader | None:
    """The first reader (by priority) that claims a decoded record, or None."""
    if not isinstance(obj, Mapping):
        return None
    for reader in readers().values():
        try:
            if reader.sniff(obj):
                return reader
        except Exception:  # a sniff must never break detection of other formats
            continue
    return None
