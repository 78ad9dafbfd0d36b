"""The "strict" device: a stand-in for a GPU that runs on the CPU, for tests of device code.

Its arrays hold NumPy arrays but behave like CuPy's at the host/device boundary:

* they refuse to become NumPy arrays implicitly (``numpy.asarray(a)``, mixing them with host
  arrays in one operation): copies must be asked for, with ``module.asarray`` (host to
  device) and ``a.get()`` (device to host);
* reductions give 0-d arrays, not Python or NumPy scalars, so reading a value is a copy too:
  ``a.item()``, ``float(a)``, ``bool(a)``, ``a.tolist()``;
* every such copy is counted in ``TRANSFERS``, so a test can assert that a training step
  makes none but the one it expects.

``register()`` makes it a minicnn device, ``device="strict"``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy
from numpy.lib.mixins import NDArrayOperatorsMixin

from minicnn import backend

TRANSFERS: Counter = Counter()  # "to_device" and "to_host" copies


def _refuse(what: Any) -> TypeError:
    return TypeError(
        f"strict device: {what} is a host array; copy it explicitly (asarray / .get()), as "
        f"CuPy requires"
    )


def _unwrap(value: Any) -> Any:
    """Strict arrays -> their NumPy arrays, inside tuples, lists and dicts too; a host
    NumPy array with elements is refused, as CuPy refuses one in its operations."""
    if isinstance(value, StrictArray):
        return value._a
    if isinstance(value, numpy.ndarray):
        raise _refuse(f"an argument of shape {value.shape}")
    if isinstance(value, (tuple, list)):
        return type(value)(_unwrap(v) for v in value)
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    return value


def _wrap(value: Any) -> Any:
    """NumPy arrays and scalars -> strict arrays (0-d for scalars, as CuPy's reductions)."""
    if isinstance(value, numpy.ndarray):
        return StrictArray(value)
    if isinstance(value, numpy.generic):
        return StrictArray(numpy.asarray(value))
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


class _Wrapped:
    """A NumPy function (or ufunc, with its methods such as ``add.at``) on strict arrays."""

    def __init__(self, function: Any):
        self._function = function

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _wrap(self._function(*_unwrap(args), **_unwrap(kwargs)))

    def __getattr__(self, name: str) -> Any:
        return _Wrapped(getattr(self._function, name))


def _unwrap_index(index: Any) -> Any:
    """An index may hold host arrays: CuPy copies them to the device (counted)."""
    items = index if isinstance(index, tuple) else (index,)
    if any(isinstance(i, numpy.ndarray) for i in items):
        TRANSFERS["to_device"] += 1
        items = tuple(StrictArray(i) if isinstance(i, numpy.ndarray) else i for i in items)
    unwrapped = _unwrap(items)
    return unwrapped if isinstance(index, tuple) else unwrapped[0]


_METADATA = {"shape", "dtype", "ndim", "size", "strides", "itemsize", "nbytes", "flags"}


class StrictArray(NDArrayOperatorsMixin):
    """A device array: a NumPy array behind CuPy's rules."""

    __slots__ = ("_a",)

    def __init__(self, array: numpy.ndarray):
        self._a = array

    # --- the boundary ----------------------------------------------------------------------

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        raise TypeError(
            "Implicit conversion to a NumPy array is not allowed. Please use `.get()` to "
            "construct a NumPy array explicitly."
        )

    def get(self) -> numpy.ndarray:
        TRANSFERS["to_host"] += 1
        return self._a.copy()

    def item(self) -> Any:
        TRANSFERS["to_host"] += 1
        return self._a.item()

    def tolist(self) -> Any:
        TRANSFERS["to_host"] += 1
        return self._a.tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        return bool(self.item())

    def __index__(self) -> int:
        return int(self.item())

    def __repr__(self) -> str:
        return f"strict({self._a!r})"  # for debugging: no copy counted

    # --- NumPy's functions and operators on the wrapped array --------------------------------

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        return _wrap(getattr(ufunc, method)(*_unwrap(inputs), **_unwrap(kwargs)))

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        return _wrap(func(*_unwrap(args), **_unwrap(kwargs)))

    def __getattr__(self, name: str) -> Any:
        if name == "_a":  # not set yet (copy and pickle build an empty instance first)
            raise AttributeError(name)
        value = getattr(self._a, name)
        if name in _METADATA:
            return value
        return _Wrapped(value) if callable(value) else _wrap(value)

    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self) -> Any:
        return (StrictArray(row) for row in self._a)

    def __deepcopy__(self, memo: dict) -> StrictArray:
        return StrictArray(self._a.copy())

    def __getitem__(self, index: Any) -> Any:
        return _wrap(self._a[_unwrap_index(index)])

    def __setitem__(self, index: Any, value: Any) -> None:
        if isinstance(value, numpy.ndarray) and value.size > 1:
            TRANSFERS["to_device"] += 1  # CuPy copies a host array in for an assignment
            value = StrictArray(value)
        self._a[_unwrap_index(index)] = _unwrap(value)

    @property
    def T(self) -> StrictArray:  # noqa: N802
        return StrictArray(self._a.T)


class _Generator:
    """A NumPy Generator whose results are strict arrays (CuPy's generator lives on the GPU)."""

    def __init__(self, generator: numpy.random.Generator):
        self._generator = generator
        self.bit_generator = generator.bit_generator

    def __getattr__(self, name: str) -> Any:
        return _Wrapped(getattr(self._generator, name))


class _Random:
    def default_rng(self, seed: Any = None) -> _Generator:
        return _Generator(numpy.random.default_rng(seed))


class StrictModule:
    """The array module of the strict device: NumPy's namespace, on strict arrays."""

    ndarray = StrictArray
    random = _Random()

    def asarray(self, data: Any, dtype: Any = None) -> StrictArray:
        if isinstance(data, StrictArray):
            return data if dtype is None else StrictArray(data._a.astype(dtype, copy=False))
        TRANSFERS["to_device"] += 1  # host data (an array, a list, even one number) copied in
        return StrictArray(numpy.array(data, dtype=dtype))

    def array(self, data: Any, dtype: Any = None) -> StrictArray:
        if isinstance(data, StrictArray):
            return StrictArray(numpy.array(data._a, dtype=dtype))
        return self.asarray(data, dtype)

    def __getattr__(self, name: str) -> Any:
        value = getattr(numpy, name)
        if isinstance(value, type) or not callable(value):
            return value  # dtypes (xp.float32), constants (xp.inf)
        return _Wrapped(value)


MODULE = StrictModule()


def register() -> None:
    """Make ``"strict"`` a minicnn device."""
    backend.register_device("strict", MODULE, StrictArray)
