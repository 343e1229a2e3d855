"""Read a ``.safetensors`` file into numpy arrays without torch.

The format is an 8-byte little-endian header length, a JSON header mapping tensor names to
``{dtype, shape, data_offsets}``, then the raw little-endian tensor bytes.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

_DTYPES = {
    "F64": np.float64,
    "F32": np.float32,
    "F16": np.float16,
    "I64": np.int64,
    "I32": np.int32,
    "I16": np.int16,
    "I8": np.int8,
    "U8": np.uint8,
    "BOOL": np.bool_,
}


class SafetensorsError(ValueError):
    """The file is not a safetensors file we can read."""


def load_safetensors(path: str | Path) -> dict[str, np.ndarray]:
    """Return every tensor in ``path`` as a read-only numpy array (memory-mapped)."""
    path = Path(path)
    with path.open("rb") as fh:
        raw_len = fh.read(8)
        if len(raw_len) != 8:
            raise SafetensorsError(f"{path}: too short for a safetensors header")
        (header_len,) = struct.unpack("<Q", raw_len)
        if header_len > 100_000_000:
            raise SafetensorsError(f"{path}: implausible header length {header_len}")
        try:
            header = json.loads(fh.read(header_len))
        except json.JSONDecodeError as exc:
            raise SafetensorsError(f"{path}: header is not JSON ({exc})") from exc
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + header_len)
    tensors: dict[str, np.ndarray] = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(meta["dtype"])
        if dtype is None:
            raise SafetensorsError(f"{path}: tensor {name} has unsupported dtype {meta['dtype']}")
        start, end = meta["data_offsets"]
        arr = np.frombuffer(data[start:end], dtype=np.dtype(dtype).newbyteorder("<"))
        tensors[name] = arr.reshape(meta["shape"])
    return tensors
