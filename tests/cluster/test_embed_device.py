"""The encode batch size follows the device (no GPU needed: the model is a recording stand-in)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from extractscan.cluster.embed import CUDA_BATCH_SIZE, Embedder, batch_size_for
from extractscan.config import EmbedConfig


class _RecordingModel:
    """Stands in for a loaded SentenceTransformer: records the encode arguments."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def get_embedding_dimension(self) -> int:
        return 4

    def encode(self, texts: list[str], **kw: Any) -> np.ndarray:
        self.calls.append({"n": len(texts), **kw})
        return np.ones((len(texts), 4), dtype=np.float32)


@pytest.mark.parametrize(
    ("device", "configured", "expected"),
    [
        ("cpu", 32, 32),  # the CPU default stays (larger batches do not help on two cores)
        ("cuda", 32, CUDA_BATCH_SIZE),  # the CPU default on a GPU becomes a GPU-sized batch
        ("cuda:1", 32, CUDA_BATCH_SIZE),
        ("cuda", 64, 64),  # an explicit choice is kept on any device
        ("cpu", 512, 512),
        ("cpu", 0, 1),
    ],
)
def test_batch_size_for_device(device: str, configured: int, expected: int) -> None:
    assert batch_size_for(EmbedConfig(device=device, batch_size=configured)) == expected


def test_cuda_default_is_larger_than_cpu_default() -> None:
    assert EmbedConfig().batch_size < CUDA_BATCH_SIZE


@pytest.mark.parametrize(("device", "expected"), [("cpu", 32), ("cuda", CUDA_BATCH_SIZE)])
def test_encode_passes_the_device_batch_size(device: str, expected: int) -> None:
    emb = Embedder(EmbedConfig(device=device))
    model = _RecordingModel()
    emb._model = model  # loaded: encode must not touch torch's device handling
    vecs = emb.encode(["a", "b", "c"])
    assert vecs.shape == (3, 4)
    assert model.calls and model.calls[0]["batch_size"] == expected
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, rtol=1e-6)
