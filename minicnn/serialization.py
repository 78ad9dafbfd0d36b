"""Save and load named arrays as safetensors files: ``minicnn.save`` and ``minicnn.load``.

A safetensors file is an 8-byte little-endian header length ``n``, a JSON header of ``n`` bytes
(each tensor's dtype, shape and byte range, plus an optional ``"__metadata__"`` dict of
strings), then the raw bytes of the tensors. Unlike a pickle, loading one never runs code,
and PyTorch (``safetensors.torch.load_file``) reads the same files::

    minicnn.save(model.state_dict(), "model.safetensors")
    model.load_state_dict(minicnn.load("model.safetensors"))

Saving is *atomic*: the bytes go to a temporary file ``.<name>.<8 random characters>.tmp`` in
the same folder, which is flushed to disk and then renamed over the target in one step
(``os.replace``). A crash in the middle of a save leaves the previous file as it was, never a
half-written one; a temporary file left by a killed save is removed by the next successful save
of the same file. A symbolic link is written through (its target gets the new bytes, the link
stays), a replaced file keeps its permissions, and a read-only file is refused.

Loading checks the header before anything else, so a truncated, corrupt or foreign file (an
empty file, a pickle, ...) raises :class:`CheckpointError` (a ``ValueError``) naming the file.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import secrets
import stat
import time
from collections.abc import Mapping
from typing import Any

import numpy
import safetensors.numpy

from . import backend
from .tensor import Tensor

PathLike = str | os.PathLike

# safetensors dtype names that NumPy can hold, with their sizes in bytes.
_ITEMSIZE = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "U16": 2,
    "I16": 2,
    "F16": 2,
    "U32": 4,
    "I32": 4,
    "F32": 4,
    "U64": 8,
    "I64": 8,
    "F64": 8,
}
_MAX_HEADER = 100_000_000  # the limit the safetensors library itself enforces


class CheckpointError(ValueError):
    """A file that cannot be loaded: truncated, corrupt, or not a safetensors file."""


# --- saving ------------------------------------------------------------------------------


def _host_array(name: str, value: Any) -> numpy.ndarray:
    """``value`` (a Tensor, NumPy/CuPy array or number) as a contiguous NumPy array."""
    array = value.data if isinstance(value, Tensor) else value
    # order="C" copies strided arrays; numpy.ascontiguousarray would turn 0-d arrays into 1-d.
    array = numpy.asarray(backend.to_host(array), order="C")
    if array.dtype.kind not in "biuf" or array.dtype.itemsize > 8:
        raise TypeError(f"save: {name!r} has dtype {array.dtype}, which safetensors cannot store")
    return array


def _write_bytes(file: Any, data: bytes) -> None:
    file.write(data)


def _umask() -> int:
    # The only way to read the umask is to set it; nothing else runs in between.
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _temporary_file(target: str) -> tuple[int, str]:
    """Create ``.<name>.<8 random hex digits>.tmp`` next to ``target``: (descriptor, path)."""
    folder, name = os.path.split(target)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = os.path.join(folder, f".{name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, 0o600), tmp
        except FileExistsError:  # another save drew the same name: draw again
            continue
        except PermissionError as error:
            raise PermissionError(
                f"cannot save {target!r}: no permission to create files in its folder {folder!r}"
            ) from error


def _remove_stale_temporary_files(target: str, older_than: float) -> None:
    """Remove the temporary files of earlier saves of ``target`` that were killed."""
    folder, name = os.path.split(target)
    pattern = re.compile(rf"\.{re.escape(name)}\.[a-z0-9_]{{8}}\.tmp")
    for entry in os.scandir(folder):
        if pattern.fullmatch(entry.name):
            with contextlib.suppress(OSError):  # gone already, or not ours to remove
                if entry.stat(follow_symlinks=False).st_mtime < older_than:
                    os.unlink(entry.path)


def write_atomic(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` holds either the old or the new bytes.

    The data goes to a temporary file in the same folder (a rename is atomic only within one
    file system), is flushed and fsync'ed, and then ``os.replace`` swaps it in. On any error
    the temporary file is removed and ``path`` is untouched. A symbolic link is followed (the
    file it points to is replaced); an existing file keeps its permissions, and one that has
    no write permission for anyone raises PermissionError (even for root). Temporary files
    that killed saves of the same file left behind are removed after a successful save.
    """
    started = time.time()
    target = os.path.realpath(path)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    else:
        if not mode & 0o222 or not os.access(target, os.W_OK):
            raise PermissionError(
                f"cannot save {target!r}: the file is read-only (no write permission)"
            )
    fd, tmp = _temporary_file(target)
    try:
        with os.fdopen(fd, "wb") as file:
            _write_bytes(file, data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    folder = os.path.dirname(target)
    _remove_stale_temporary_files(target, started)
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable (POSIX only)
        dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def save(
    tensors: Mapping[str, Any], path: PathLike, metadata: Mapping[str, str] | None = None
) -> None:
    """Save named arrays to a safetensors file, atomically.

    Args:
        tensors: name -> Tensor or array (NumPy or CuPy; GPU arrays are copied to the host),
            e.g. ``model.state_dict()``.
        path: the file to write (replaced if it exists).
        metadata: optional strings stored in the header (``load_metadata`` reads them back).
    """
    if not isinstance(tensors, Mapping):
        raise TypeError(f"save: expected a dict of name -> array, got {type(tensors).__name__}")
    arrays = {}
    for name, value in tensors.items():
        if not isinstance(name, str):
            raise TypeError(f"save: tensor names must be strings, got {name!r}")
        arrays[name] = _host_array(name, value)
    if metadata is not None:
        bad = [k for k, v in metadata.items() if not (isinstance(k, str) and isinstance(v, str))]
        if bad:
            raise TypeError(f"save: metadata keys and values must be strings, got {bad[0]!r}")
        metadata = dict(metadata)
    write_atomic(path, safetensors.numpy.save(arrays, metadata=metadata))


# --- loading -----------------------------------------------------------------------------


def _check_header(data: bytes, path: str) -> dict[str, Any]:
    """Parse and validate a safetensors header; raise CheckpointError if anything is off."""

    def fail(reason: str) -> CheckpointError:
        return CheckpointError(f"cannot load {path!r}: {reason}")

    if len(data) == 0:
        raise fail("the file is empty")
    if len(data) < 8:
        raise fail(f"the file has only {len(data)} bytes, too short for a safetensors file")
    n = int.from_bytes(data[:8], "little")
    if n > len(data) - 8 or n > _MAX_HEADER or n < 2:
        raise fail(
            f"the header length field says {n} bytes but the file has {len(data)} bytes: "
            "it is truncated or not a safetensors file"
        )
    try:
        header = json.loads(data[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise fail(f"the header is not valid JSON ({error}): not a safetensors file") from None
    if not isinstance(header, dict):
        raise fail("the header is not a JSON object: not a safetensors file")
    metadata = header.pop("__metadata__", None)
    if metadata is not None and not (
        isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())
    ):
        raise fail("the header's __metadata__ is not a dict of strings")
    data_size = len(data) - 8 - n
    ranges = []
    for name, info in header.items():
        try:
            dtype, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
            ok = all(isinstance(d, int) and d >= 0 for d in [*shape, begin, end])
        except (TypeError, KeyError, ValueError):
            ok = False
        if not ok:
            raise fail(f"the header entry of {name!r} is malformed: {info!r}")
        if dtype not in _ITEMSIZE:
            raise fail(f"tensor {name!r} has dtype {dtype!r}, which minicnn cannot load")
        if end - begin != math.prod(shape) * _ITEMSIZE[dtype] or end > data_size:
            raise fail(
                f"tensor {name!r} (shape {shape}, {dtype}) claims bytes [{begin}, {end}) of "
                f"a {data_size}-byte data section: the file is truncated or corrupt"
            )
        ranges.append((begin, end))
    position = 0
    for begin, end in sorted(ranges):
        if begin != position:
            raise fail("the tensors' byte ranges overlap or leave gaps: the file is corrupt")
        position = end
    if position != data_size:
        raise fail(
            f"the tensors use {position} bytes but the data section has {data_size}: "
            "the file is truncated or corrupt"
        )
    return {"tensors": header, "metadata": metadata or {}}


def _read(path: PathLike) -> tuple[bytes, dict[str, Any], str]:
    path = os.fspath(path)
    with open(path, "rb") as file:
        data = file.read()
    return data, _check_header(data, path), path


def load_with_metadata(path: PathLike) -> tuple[dict[str, numpy.ndarray], dict[str, str]]:
    """Load a safetensors file: ``(name -> NumPy array, metadata dict of strings)``."""
    data, header, path = _read(path)
    try:
        tensors = safetensors.numpy.load(data)
    except Exception as error:  # the header passed our checks, so this should not happen
        raise CheckpointError(f"cannot load {path!r}: {error}") from error
    return tensors, header["metadata"]


def load(path: PathLike) -> dict[str, numpy.ndarray]:
    """Load the arrays of a safetensors file (written by ``save`` or by PyTorch).

    Returns a dict name -> NumPy array, so ``model.load_state_dict(minicnn.load(path))``
    works. Raises :class:`CheckpointError` for a file that is not a valid safetensors file.
    """
    return load_with_metadata(path)[0]


def load_metadata(path: PathLike) -> dict[str, str]:
    """The ``metadata`` strings stored in a safetensors file (without loading the arrays)."""
    return _read(path)[1]["metadata"]
