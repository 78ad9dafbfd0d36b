"""Tensor factories: zeros, ones, full, random tensors, arange.

Random tensors draw from the device's seeded generator (``minicnn.manual_seed``).
"""

from __future__ import annotations

from typing import Any

from . import backend
from .tensor import Tensor


def _shape(shape: tuple) -> tuple[int, ...]:
    return tuple(shape[0]) if len(shape) == 1 and not isinstance(shape[0], int) else shape


def full(
    shape: Any,
    fill_value: float,
    dtype: Any = backend.float32,
    device: str = "cpu",
    requires_grad: bool = False,
) -> Tensor:
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return Tensor(
        backend.xp_for(device).full(shape, fill_value, dtype), requires_grad=requires_grad
    )


def zeros(
    *shape: Any, dtype: Any = backend.float32, device: str = "cpu", requires_grad: bool = False
) -> Tensor:
    return full(_shape(shape), 0, dtype, device, requires_grad)


def ones(
    *shape: Any, dtype: Any = backend.float32, device: str = "cpu", requires_grad: bool = False
) -> Tensor:
    return full(_shape(shape), 1, dtype, device, requires_grad)


def zeros_like(x: Tensor, requires_grad: bool = False) -> Tensor:
    return full(x.shape, 0, x.dtype, x.device, requires_grad)


def ones_like(x: Tensor, requires_grad: bool = False) -> Tensor:
    return full(x.shape, 1, x.dtype, x.device, requires_grad)


def randn(
    *shape: Any, dtype: Any = backend.float32, device: str = "cpu", requires_grad: bool = False
) -> Tensor:
    """Samples of the standard normal distribution."""
    rng = backend.default_generator(device)
    return Tensor(rng.standard_normal(_shape(shape)).astype(dtype), requires_grad=requires_grad)


def rand(
    *shape: Any, dtype: Any = backend.float32, device: str = "cpu", requires_grad: bool = False
) -> Tensor:
    """Samples of the uniform distribution on [0, 1)."""
    rng = backend.default_generator(device)
    return Tensor(rng.random(_shape(shape)).astype(dtype), requires_grad=requires_grad)


def arange(
    start: float, stop: float | None = None, step: float = 1, dtype: Any = None, device: str = "cpu"
) -> Tensor:
    if stop is None:
        start, stop = 0, start
    if dtype is None and any(isinstance(v, float) for v in (start, stop, step)):
        dtype = backend.float32  # Python floats give float32, as everywhere in minicnn
    return Tensor(backend.xp_for(device).arange(start, stop, step, dtype=dtype))
