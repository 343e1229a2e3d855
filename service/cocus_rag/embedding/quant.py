"""Symmetric per-row int8 quantisation (the model and the dense index are stored this way)."""

from __future__ import annotations

import numpy as np


def quantize_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``x ≈ q * scale[:, None]`` with ``q`` int8 and one float32 scale per row."""
    x = np.asarray(x, dtype=np.float32)
    scale = np.abs(x).max(axis=1) / 127.0
    safe = np.where(scale > 0, scale, 1.0)
    q = np.clip(np.rint(x / safe[:, None]), -127, 127).astype(np.int8)
    return q, scale.astype(np.float32)


def dequantize_rows(q: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return q.astype(np.float32) * scale[:, None]
