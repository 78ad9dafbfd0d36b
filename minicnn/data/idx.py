"""Reading IDX files, the simple binary format MNIST is distributed in.

An IDX file is a header followed by the raw array, all numbers big-endian::

    bytes 0-1   zero
    byte  2     the element type: 0x08 = uint8, 0x09 = int8, 0x0B = int16,
                0x0C = int32, 0x0D = float32, 0x0E = float64
    byte  3     the number of dimensions d
    then d int32 sizes, then the elements in C (row-major) order.

MNIST's image files hold uint8 arrays of shape (N, 28, 28) (magic number 0x00000803) and its
label files uint8 arrays of shape (N,) (magic number 0x00000801).
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

ELEMENT_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_bytes(path: str | os.PathLike) -> bytes:
    """The contents of a file, decompressed first when its name ends in ``.gz``."""
    path = Path(path)
    if path.suffix != ".gz":
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as file:
            return file.read()
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(
            f"{path}: not a valid gzip file (truncated or corrupt?): {error}"
        ) from error


def read_idx(path: str | os.PathLike, ndim: int | None = None) -> np.ndarray:
    """Read an IDX file (plain or gzipped) into a NumPy array in native byte order.

    ``ndim``, when given, is the number of dimensions the caller expects. Any inconsistency
    (bad magic number, wrong number of dimensions, file shorter or longer than its header says)
    raises a ``ValueError`` naming the file.
    """
    data = read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in ELEMENT_TYPES:
        raise ValueError(
            f"{path}: not an IDX file: its magic number is {data[:4].hex() or 'missing'}, "
            "expected 0000TTDD (TT an element type in 08..0e, DD the number of dimensions)"
        )
    dtype, file_ndim = ELEMENT_TYPES[data[2]], data[3]
    if ndim is not None and file_ndim != ndim:
        raise ValueError(f"{path}: expected an IDX array with {ndim} dimensions, got {file_ndim}")
    header_bytes = 4 + 4 * file_ndim
    if len(data) < header_bytes:
        raise ValueError(
            f"{path}: truncated header: expected {header_bytes} bytes, got {len(data)}"
        )
    shape = tuple(int(s) for s in np.frombuffer(data, dtype=">u4", count=file_ndim, offset=4))
    expected = header_bytes + int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        raise ValueError(
            f"{path}: the header announces an array of shape {shape} ({expected} bytes in all) "
            f"but the file holds {len(data)} bytes ({'truncated' if len(data) < expected else 'extra data'})"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header_bytes).reshape(shape)
    return array.astype(dtype.newbyteorder("="))
