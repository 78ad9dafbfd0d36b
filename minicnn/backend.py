"""The array backend: the only module that knows about NumPy *and* CuPy.

Device code (the Tensor, every op, layer and optimizer) never imports an array library.
It asks this module for the array module of the arrays it was given::

    xp = backend.get_array_module(x)      # numpy for host arrays, cupy for GPU arrays
    y = xp.maximum(x, 0)

so the same line runs on the CPU and on the GPU. CuPy is imported lazily, the first time a
GPU is asked for: minicnn imports and runs on machines without it.

Devices are named ``"cpu"`` and ``"cuda"`` (``"cuda:0"`` is accepted and means ``"cuda"``);
:func:`register_device` adds others, such as the test suite's ``"strict"`` stand-in for a GPU.
Each device has one seeded random generator; ``manual_seed(seed)`` reseeds them all.
"""

from __future__ import annotations

import functools
import math
import threading
from typing import Any

import numpy

# dtypes are plain NumPy dtypes; CuPy uses the same objects.
float16 = numpy.float16
float32 = numpy.float32
float64 = numpy.float64
int32 = numpy.int32
int64 = numpy.int64
uint8 = numpy.uint8
bool_ = numpy.bool_


@functools.cache
def _cupy() -> Any | None:
    """Import CuPy once; ``None`` when it is missing or no GPU can be used."""
    try:
        import cupy
    except ImportError:
        return None
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None
    except Exception:  # CuPy installed but no driver or no device
        return None
    return cupy


def cuda_available() -> bool:
    """Whether CuPy is installed and a CUDA device can be used."""
    return _cupy() is not None


# --- devices other than the CPU --------------------------------------------------------------

# name -> (array module, array type) of each device registered besides "cpu" and "cuda". The
# tests register "strict": NumPy arrays that, like CuPy's, refuse to become host arrays
# implicitly and count every copy between host and device (tests/strict_device.py).
_registered: dict[str, tuple[Any, type]] = {}


def register_device(name: str, module: Any, array_type: type) -> None:
    """Add a device whose arrays are ``array_type``, made and used through ``module``.

    ``module`` offers CuPy's interface: NumPy's functions on its arrays, ``asarray`` to copy
    host data in, ``random.default_rng``; its arrays have ``.get()`` to copy themselves out.
    """
    if name in ("cpu", "cuda"):
        raise ValueError(f"register_device: {name!r} is built in")
    _registered[name] = (module, array_type)


def _device_module(array: Any) -> tuple[str, Any] | None:
    """(device, array module) of an array that is not a NumPy array; None for host arrays."""
    kind = type(array)
    if kind.__module__.startswith("cupy") and _is_cupy_array(array):
        return "cuda", _cupy()
    for name, (module, array_type) in _registered.items():
        if isinstance(array, array_type):
            return name, module
    return None


def normalize_device(device: str | None) -> str:
    """The name of a device (``"cpu"``, ``"cuda"`` or a registered one), or a clear error."""
    if device is None:
        return "cpu"
    name = str(device).lower()
    if name.startswith("cuda"):
        if name not in ("cuda", "cuda:0"):
            raise ValueError(f"minicnn uses one GPU, named 'cuda' or 'cuda:0'; got {device!r}")
        if not cuda_available():
            raise RuntimeError(
                "device 'cuda' was requested but CuPy with a usable GPU is not available "
                "(install minicnn[cuda] on a machine with an NVIDIA GPU)"
            )
        return "cuda"
    if name != "cpu" and name not in _registered:
        known = ", ".join(repr(d) for d in ("cpu", "cuda", *_registered))
        raise ValueError(f"unknown device {device!r}: expected one of {known}")
    return name


def xp_for(device: str) -> Any:
    """The array module (numpy, cupy, ...) that holds arrays on ``device``."""
    device = normalize_device(device)
    if device == "cpu":
        return numpy
    return _cupy() if device == "cuda" else _registered[device][0]


def _is_cupy_array(array: Any) -> bool:
    cupy = _cupy() if type(array).__module__.startswith("cupy") else None
    return cupy is not None and isinstance(array, cupy.ndarray)


def get_array_module(*arrays: Any) -> Any:
    """The array module of the given arrays: their device's (cupy for GPU arrays), else numpy."""
    for array in arrays:
        found = _device_module(array)
        if found is not None:
            return found[1]
    return numpy


def device_of(array: Any) -> str:
    """The device an array lives on: ``"cpu"`` for NumPy arrays and anything else on the host."""
    found = _device_module(array)
    return "cpu" if found is None else found[0]


def asarray(data: Any, dtype: Any = None, device: str = "cpu") -> Any:
    """Convert ``data`` (a list, scalar, NumPy or device array) to an array on ``device``.

    No copy when it is already there; a copy between host and device otherwise (explicit,
    through the device module's ``asarray`` and the array's ``get``).
    """
    return _convert(data, dtype, device, copy=False)


def array(data: Any, dtype: Any = None, device: str = "cpu") -> Any:
    """Like :func:`asarray`, but always a new array that shares no memory with ``data``."""
    return _convert(data, dtype, device, copy=True)


def _convert(data: Any, dtype: Any, device: str, copy: bool) -> Any:
    device = normalize_device(device)
    if device_of(data) not in ("cpu", device):  # from one device to another: via the host
        data = to_host(data)
    xp = xp_for(device)
    return (xp.array if copy else xp.asarray)(data, dtype=dtype)


def to_device(array: Any, device: str) -> Any:
    """Move an array to ``device`` (no copy when it is already there)."""
    return asarray(array, device=device)


def to_host(array: Any) -> numpy.ndarray:
    """A NumPy copy (or view) of an array, for host-only code: plots, files, metrics."""
    if _device_module(array) is not None:
        return array.get()
    return array if isinstance(array, numpy.ndarray) else numpy.asarray(array)


def scatter_add(target: Any, index: Any, values: Any) -> None:
    """``target[index] += values`` in place, adding repeated indices up (unlike ``+=``)."""
    if _is_cupy_array(target):
        import cupyx

        cupyx.scatter_add(target, index, values)
    else:
        get_array_module(target).add.at(target, index, values)


# --- CPU fast paths: a bounded scratch buffer, cache-sized blocks ---------------------------

# Allocating a fresh 30-75 MB array costs more than filling it: glibc gets large blocks
# straight from the operating system and returns them on free, so every page is faulted in
# again at its first write. An op whose big temporary (im2col's columns) is used and dropped
# within the op can borrow this buffer instead. One per thread, so that threads never share.
# It is kept only up to WORKSPACE_LIMIT bytes: ops that need more work in slabs that fit (see
# minicnn.ops.conv), and a larger request gets a fresh array that is freed after use, so one
# large batch never leaves a large buffer behind for the rest of the process.
# Only the CPU has one: a GPU's memory pool already reuses blocks, and a buffer kept outside
# it would hold its largest size until the process ends.
WORKSPACE_LIMIT = 32 * 2**20
_workspaces = threading.local()


def workspace(shape: tuple[int, ...], dtype: Any, device: str = "cpu") -> Any:
    """A scratch array of ``shape`` and ``dtype`` on ``device``, reusing one cached buffer.

    On the CPU the result is a view of the thread's buffer (grown when too small, up to
    ``WORKSPACE_LIMIT`` bytes; a larger request gets a fresh array that is not kept), with
    arbitrary contents; on other devices a fresh ``empty`` array.
    **Invariant:** the next call may hand out the same memory, so a caller must be done with
    the array before anything else can call :func:`workspace`, and must never return it, a
    view of it, or keep it for later (e.g. for the backward pass).
    """
    device = normalize_device(device)
    if device != "cpu":
        return xp_for(device).empty(shape, dtype=dtype)
    nbytes = math.prod(shape) * numpy.dtype(dtype).itemsize
    if nbytes > WORKSPACE_LIMIT:
        return numpy.empty(shape, dtype=dtype)
    buffer = getattr(_workspaces, "buffer", None)
    if buffer is None or buffer.size < nbytes:
        buffer = _workspaces.buffer = numpy.empty(nbytes, dtype=uint8)
    return buffer[:nbytes].view(dtype).reshape(shape)


def workspace_size() -> int:
    """Bytes held by this thread's workspace buffer (0 if it has none)."""
    buffer = getattr(_workspaces, "buffer", None)
    return 0 if buffer is None else buffer.size


def free_workspace() -> None:
    """Release this thread's workspace buffers (they are reallocated on the next use)."""
    _workspaces.__dict__.clear()


# An elementwise op made of many NumPy passes (GELU's erf: about 60) runs each pass over the
# whole array, from memory. Cut into blocks of BLOCK_BYTES, the temporaries of one block stay
# in the CPU's cache from one pass to the next. On a GPU one kernel per pass over the whole
# array is what is fast, so there is one block.
BLOCK_BYTES = 2**18


def block_slices(count: int, item_bytes: int, like: Any, block_bytes: int = 0) -> list[slice]:
    """Slices cutting ``count`` items of ``item_bytes`` each into blocks of about
    ``block_bytes`` (default ``BLOCK_BYTES``), for an op on ``like``'s device: one block off
    the CPU. At least one item per block, and one (empty) block when ``count`` is 0."""
    if device_of(like) != "cpu" or count == 0:
        return [slice(0, count)]
    step = max(1, (block_bytes or BLOCK_BYTES) // max(1, item_bytes))
    return [slice(start, min(start + step, count)) for start in range(0, count, step)]


def blocks(array: Any) -> list[slice]:
    """Slices cutting the flattened ``array`` into cache-sized blocks (one block off the CPU)."""
    return block_slices(array.size, array.itemsize, array)


def any_true(mask: Any) -> bool:
    """Whether any element of a boolean array is true, for skipping work that no element
    needs. Off the CPU it answers True without looking: reading the answer would copy it to
    the host and wait for the device, which costs more than doing the work."""
    return device_of(mask) != "cpu" or bool(mask.any())


# --- random generators, one per device -------------------------------------------------------

_generators: dict[str, Any] = {}
_seed = 0


def default_generator(device: str = "cpu") -> Any:
    """The seeded random generator of a device (a ``numpy.random.Generator`` on the CPU)."""
    device = normalize_device(device)
    if device not in _generators:
        xp = xp_for(device)
        _generators[device] = xp.random.default_rng(_seed)
    return _generators[device]


def manual_seed(seed: int) -> None:
    """Reseed the random generator of every device, as ``torch.manual_seed`` does."""
    global _seed
    _seed = int(seed)
    _generators.clear()


def get_rng_state() -> dict:
    """The CPU generator's state as a JSON-serialisable dict (for training checkpoints)."""
    return default_generator("cpu").bit_generator.state


def set_rng_state(state: dict) -> None:
    """Restore the CPU generator's state saved by :func:`get_rng_state`."""
    default_generator("cpu").bit_generator.state = state


def get_rng_states() -> dict[str, Any]:
    """The seed and the state of every device generator created so far (for checkpoints).

    ``{"seed": seed, "generators": {"cpu": state, "cuda": state}}``: the CPU state is NumPy's
    dict; CuPy's generator keeps its state in a GPU array, of which this is a copy.
    """
    generators = {}
    for device, generator in _generators.items():
        bits = generator.bit_generator
        generators[device] = bits.state if device == "cpu" else bits._state.copy()
    return {"seed": _seed, "generators": generators}


def set_rng_states(states: dict[str, Any]) -> None:
    """Restore :func:`get_rng_states`: the seed, and each generator to its saved state.

    A generator that had not been created when the states were taken is dropped, so that it
    is created from the seed on its first use, as it would have been.
    """
    global _seed
    _seed = int(states["seed"])
    _generators.clear()
    for device, state in states["generators"].items():
        if device == "cuda" and not cuda_available():
            continue  # resumed on a machine without a GPU: there is no GPU generator to set
        bits = default_generator(device).bit_generator
        if device == "cpu":
            bits.state = state
        elif tuple(state.shape) != tuple(bits._state.shape):
            raise ValueError(
                f"set_rng_states: the saved {device} generator state has {state.shape} bytes, "
                f"this GPU's has {bits._state.shape}"
            )
        else:
            bits._state[...] = asarray(state, device=device)


def array_to_string(array: Any, prefix: str) -> str:
    """Format an array's values the way NumPy prints them, aligned after ``prefix``."""
    return numpy.array2string(to_host(array), separator=", ", prefix=prefix)
