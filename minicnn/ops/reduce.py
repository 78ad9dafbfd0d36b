"""Reductions over dimensions: sum, mean, max, min.

``dim`` is ``None`` (all dimensions), an int or a tuple of ints, negative counting from the
end; ``keepdim`` keeps the reduced dimensions with size 1, as in PyTorch. Each backward first
restores the reduced dimensions (size 1) so that the gradient broadcasts against the input.
"""

from __future__ import annotations

from typing import Any

from .. import backend
from ..autograd import Function


def normalize_dims(dim: int | tuple[int, ...] | None, ndim: int) -> tuple[int, ...]:
    """``dim`` as a sorted tuple of non-negative axes; all axes for ``None``."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    rank = max(ndim, 1)  # a 0-d tensor accepts dim 0 and -1, as in PyTorch
    for d in dims:
        if not -rank <= d < rank:
            raise IndexError(f"dimension {d} is out of range for a tensor with {ndim} dims")
    return tuple(sorted({d % rank for d in dims} - ({0} if ndim == 0 else set())))


class _Reduction(Function):
    def __init__(self, dim: int | tuple[int, ...] | None = None, keepdim: bool = False):
        self.dim, self.keepdim = dim, keepdim

    def _prepare(self, x: Any) -> tuple[int, ...]:
        self.x_shape = x.shape
        self.axes = normalize_dims(self.dim, x.ndim)
        return self.axes

    def _expand(self, g: Any) -> Any:
        """Reinsert the reduced axes (size 1) that ``keepdim=False`` removed."""
        if self.keepdim:
            return g
        return g.reshape([1 if i in self.axes else n for i, n in enumerate(self.x_shape)])


class Sum(_Reduction):
    """y = sum of x over dims;  dx = g broadcast back over the summed dims."""

    def forward(self, x: Any) -> Any:
        return x.sum(axis=self._prepare(x), keepdims=self.keepdim)

    def backward(self, g: Any) -> Any:
        xp = backend.get_array_module(g)
        return xp.broadcast_to(self._expand(g), self.x_shape).copy()


class Mean(_Reduction):
    """y = mean of x over dims (n elements each);  dx = g / n, broadcast back."""

    def forward(self, x: Any) -> Any:
        return x.mean(axis=self._prepare(x), keepdims=self.keepdim)

    def backward(self, g: Any) -> Any:
        xp = backend.get_array_module(g)
        count = 1
        for axis in self.axes:
            count *= self.x_shape[axis]
        return xp.broadcast_to(self._expand(g) / count, self.x_shape).copy()


class _Extremum(_Reduction):
    """Shared backward of max and min: g goes to the extreme elements, split evenly among ties."""

    def _select(self, x: Any, y: Any) -> Any:
        self.x_shape = x.shape
        hits = x == (y if self.keepdim else self._expand(y))
        self.share = hits / hits.sum(axis=self.axes, keepdims=True).astype(x.dtype)
        return y

    def backward(self, g: Any) -> Any:
        return (self.share * self._expand(g)).astype(g.dtype, copy=False)


class Max(_Extremum):
    """y = max of x over dims;  dx = g at the maxima (shared evenly among ties), 0 elsewhere."""

    def forward(self, x: Any) -> Any:
        return self._select(x, x.max(axis=self._prepare(x), keepdims=self.keepdim))


class Min(_Extremum):
    """y = min of x over dims;  dx = g at the minima (shared evenly among ties), 0 elsewhere."""

    def forward(self, x: Any) -> Any:
        return self._select(x, x.min(axis=self._prepare(x), keepdims=self.keepdim))


class TakeAlongDim(Function):
    """y = x at ``indices`` along ``dim`` (the values of ``max(dim)``, ``min(dim)``);
    dx = g put back at those indices, 0 elsewhere.

    ``indices`` has x's shape with size 1 along ``dim``; ``keepdim=False`` drops that axis.
    """

    def __init__(self, indices: Any, dim: int, keepdim: bool):
        self.indices, self.dim, self.keepdim = indices, dim, keepdim

    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        self.x_shape = x.shape
        y = xp.take_along_axis(x, self.indices, axis=self.dim)
        return y if self.keepdim else y.squeeze(self.dim)

    def backward(self, g: Any) -> Any:
        xp = backend.get_array_module(g)
        dx = xp.zeros(self.x_shape, dtype=g.dtype)
        g = g if self.keepdim else xp.expand_dims(g, self.dim)
        xp.put_along_axis(dx, self.indices, g, axis=self.dim)
        return dx
