"""Ops that move elements without changing them: reshape, permute, indexing, joining, padding.

Their backward moves the gradient back the same way: reshape it back, permute it back, write
it into the indexed positions, split it, or crop the padding away.
"""

from __future__ import annotations

from typing import Any

from .. import backend
from ..autograd import Function


class Reshape(Function):
    """y = x viewed with a new shape;  dx = g reshaped to x's shape."""

    def __init__(self, shape: tuple[int, ...]):
        self.shape = shape

    def forward(self, x: Any) -> Any:
        self.x_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, g: Any) -> Any:
        return g.reshape(self.x_shape)


class View(Reshape):
    """y = x seen with a new shape, sharing its memory;  dx = g reshaped to x's shape.

    Unlike ``Reshape``, it never copies: a shape that the memory layout cannot give without a
    copy (a transposed array flattened, say) is an error, as in PyTorch.
    """

    def forward(self, x: Any) -> Any:
        y = super().forward(x)
        if y.size and not backend.get_array_module(x).may_share_memory(x, y):
            raise RuntimeError(
                f"view: shape {self.shape} is not compatible with the memory layout of the "
                f"input of shape {x.shape} (strides {x.strides}) without a copy; use "
                f".reshape(...) instead"
            )
        return y


class Permute(Function):
    """y = x with its dimensions reordered by ``dims``;  dx = g permuted by the inverse order."""

    def __init__(self, dims: tuple[int, ...]):
        self.dims = dims

    def forward(self, x: Any) -> Any:
        if sorted(d % max(x.ndim, 1) for d in self.dims) != list(range(x.ndim)):
            raise ValueError(f"permute: {self.dims} is not an order of {x.ndim} dimensions")
        return x.transpose(self.dims)

    def backward(self, g: Any) -> Any:
        inverse = [0] * len(self.dims)
        for position, d in enumerate(self.dims):
            inverse[d % len(self.dims)] = position
        return g.transpose(inverse)


def _has_array_index(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return any(hasattr(p, "shape") or isinstance(p, list) for p in parts)


class GetItem(Function):
    """y = x[index] (ints, slices with steps, None, Ellipsis, integer or boolean arrays).

    dx = zeros like x with g written at x[index]. With integer arrays an element can be picked
    more than once, so the gradient is scatter-added: repeated picks add up.
    """

    def __init__(self, index: Any):
        self.index = index

    def forward(self, x: Any) -> Any:
        self.x_shape, self.x_dtype = x.shape, x.dtype
        return x[self.index]

    def backward(self, g: Any) -> Any:
        xp = backend.get_array_module(g)
        dx = xp.zeros(self.x_shape, dtype=self.x_dtype)
        if _has_array_index(self.index):
            backend.scatter_add(dx, self.index, g)
        else:  # basic indexing picks each element at most once
            dx[self.index] = g
        return dx


class Concatenate(Function):
    """y = the inputs joined along ``dim``;  each dx_i = the slice of g that x_i occupies."""

    def __init__(self, dim: int = 0):
        self.dim = dim

    def forward(self, *xs: Any) -> Any:
        xp = backend.get_array_module(*xs)
        self.sizes = [x.shape[self.dim] for x in xs]
        return xp.concatenate(xs, axis=self.dim)

    def backward(self, g: Any) -> tuple[Any, ...]:
        xp = backend.get_array_module(g)
        bounds = [sum(self.sizes[: i + 1]) for i in range(len(self.sizes) - 1)]
        return tuple(xp.split(g, bounds, axis=self.dim))


class Stack(Function):
    """y = the inputs stacked along a new dimension ``dim``;  dx_i = g[..., i, ...] on that dim."""

    def __init__(self, dim: int = 0):
        self.dim = dim

    def forward(self, *xs: Any) -> Any:
        xp = backend.get_array_module(*xs)
        y = xp.stack(xs, axis=self.dim)
        self.axis = self.dim % y.ndim
        return y

    def backward(self, g: Any) -> tuple[Any, ...]:
        return tuple(g.take(i, axis=self.axis) for i in range(g.shape[self.axis]))


class Pad(Function):
    """Constant padding, PyTorch's convention: ``pad = (left, right, top, bottom, ...)`` pairs
    from the last dimension backwards. dx = g with the padding cropped away.
    """

    def __init__(self, pad: tuple[int, ...], value: float = 0.0):
        if len(pad) % 2 or any(p < 0 for p in pad):
            raise ValueError(f"pad must be non-negative (before, after) pairs, got {pad}")
        self.pad, self.value = tuple(pad), value

    def forward(self, x: Any) -> Any:
        pairs = len(self.pad) // 2
        if pairs > x.ndim:
            raise ValueError(f"pad {self.pad} pads {pairs} dimensions of a {x.ndim}-d tensor")
        widths = [(0, 0)] * (x.ndim - pairs)
        widths += [(self.pad[2 * i], self.pad[2 * i + 1]) for i in reversed(range(pairs))]
        self.crop = tuple(
            slice(before, before + n) for (before, _), n in zip(widths, x.shape, strict=True)
        )
        xp = backend.get_array_module(x)
        return xp.pad(x, widths, mode="constant", constant_values=self.value)

    def backward(self, g: Any) -> Any:
        return g[self.crop]
