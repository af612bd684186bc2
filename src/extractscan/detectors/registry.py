"""The one place detectors are registered: every Detector subclass with an ``id`` in this package."""

from __future__ import annotations

import importlib
import pkgutil
import re
from functools import cache

from extractscan import detectors as _pkg
from extractscan.config import Config
from extractscan.detectors.base import Detector

_ID = re.compile(r"^ES\d{3}$")


@cache
def detector_classes() -> tuple[type[Detector], ...]:
    """All detector classes, ordered by ID."""
    found: dict[str, type[Detector]] = {}
    for mod in pkgutil.iter_modules(_pkg.__path__):
        if mod.name in ("base", "registry") or mod.name.startswith("_"):
            continue
        module = importlib.import_module(f"{_pkg.__name__}.{mod.name}")
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, Detector) and obj is not Detector and obj.id:
                if not _ID.match(obj.id):
                    raise RuntimeError(f"detector {obj.__name__} has a malformed id {obj.id!r}")
                if obj.id in found and found[obj.id] is not obj:
                    raise RuntimeError(f"two detectors with id {obj.id}")
                found[obj.id] = obj
    return tuple(found[k] for k in sorted(found))


def enabled_detectors(cfg: Config, skip: frozenset[str] = frozenset()) -> list[Detector]:
    """Instantiate the detectors enabled in ``cfg`` (``[detectors.ES1xx] enabled = false`` disables one),
    minus those requiring a capability in ``skip`` (e.g. ``{"embeddings"}`` when embeddings are off)."""
    out = []
    for cls in detector_classes():
        if cfg.detectors.get(cls.id, {}).get("enabled", True) is False:
            continue
        if cls.requires & skip:
            continue
        out.append(cls.from_config(cfg))
    return out


def weight_of(cls: type[Detector], cfg: Config) -> float:
    w = cfg.detectors.get(cls.id, {}).get("weight")
    if w is None:
        w = cfg.scoring.weights.get(cls.id, cls.weight)
    return float(w)
