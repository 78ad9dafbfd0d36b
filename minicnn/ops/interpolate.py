"""Resizing images: nearest-neighbour and bilinear interpolation (``F.interpolate``).

Both modes are separable and linear in x: along each axis, every output row (column) is a fixed
combination of input rows (columns), written as an (out, in) matrix A. For every (n, c)

    y = A_h x A_w^T        and so        dx = A_h^T g A_w

(the gradient of a linear map is its transpose), as in adaptive average pooling.

* nearest: output o copies input src(o), so A[o, src(o)] = 1. The forward is that copy (two
  gathers, exact for any dtype); the backward A^T g adds each g into its source pixel.
* bilinear: output o lies at a real source coordinate r between pixels i0 = floor(r) and
  i1 = i0 + 1 (i0 itself at the last pixel), so A[o, i0] = 1 - l and A[o, i1] = l with
  l = r - i0. The forward and the backward are the two matrix products.

Source coordinates are PyTorch's, computed in the same precision. With ``scale`` the ratio
in/out along the axis (or 1 / scale_factor when a scale factor is given and not recomputed):

* nearest (PyTorch's legacy "nearest"): src = min(floor(o * scale), in - 1), in float32, with
  PyTorch's shortcuts src = o for out == in and src = o // 2 for out == 2 in (its ``nearest_idx``).
* bilinear, align_corners=False: r = max(scale (o + 0.5) - 0.5, 0) (pixel centres line up);
  align_corners=True: r = o (in - 1) / (out - 1) (the corner pixels line up). In the input's
  dtype, except that PyTorch floors r as a float32, which is kept here too. out == in copies.

Shapes: x (N, C, H, W) -> y (N, C, out_h, out_w).
"""

from __future__ import annotations

from typing import Any

from .. import backend
from ..autograd import Function


def nearest_source(xp: Any, size: int, out: int, scale_factor: float | None) -> Any:
    """The input index each of the ``out`` outputs copies, along an axis of ``size``."""
    if out == size:
        return xp.arange(out)
    if out == 2 * size:
        return xp.arange(out) // 2
    f32 = xp.float32
    scale = f32(1.0 / scale_factor) if scale_factor else f32(size) / f32(out)
    source = xp.floor(xp.arange(out, dtype=f32) * scale).astype(xp.int64)
    return xp.minimum(source, size - 1)


def nearest_matrix(xp: Any, source: Any, size: int, dtype: Any) -> Any:
    """The (out, size) 0/1 matrix of a nearest resize: row o has its 1 at ``source[o]``."""
    return (source[:, None] == xp.arange(size)[None, :]).astype(dtype)


def linear_matrix(
    xp: Any, size: int, out: int, scale_factor: float | None, align_corners: bool, dtype: Any
) -> Any:
    """The (out, size) matrix of a linear resize along one axis (two weights per row)."""
    if out == size:
        return xp.eye(size, dtype=dtype)
    o = xp.arange(out).astype(dtype)
    as_dtype = xp.dtype(dtype).type  # a scalar of that precision, for its divisions
    if align_corners:
        scale = as_dtype(size - 1) / as_dtype(out - 1) if out > 1 else as_dtype(0)
        real = scale * o
    else:
        scale = as_dtype(1.0 / scale_factor) if scale_factor else as_dtype(size) / as_dtype(out)
        real = xp.maximum(scale * (o + 0.5) - 0.5, 0)
    i0 = xp.minimum(xp.floor(real.astype(xp.float32)).astype(xp.int64), size - 1)
    i1 = xp.minimum(i0 + 1, size - 1)
    lam = xp.clip(real - i0.astype(dtype), 0, 1)
    rows = xp.arange(out)
    matrix = xp.zeros((out, size), dtype=dtype)
    matrix[rows, i0] = 1 - lam
    matrix[rows, i1] += lam  # at the last pixel i1 == i0: both weights land there
    return matrix


class Interpolate2d(Function):
    """y = A_h x A_w^T per (n, c), dx = A_h^T g A_w (see the module docstring for A).

    ``size`` is the output (out_h, out_w); ``scale_factors`` the (h, w) factors that set the
    source coordinates (None each for in/out); ``mode`` "nearest" or "bilinear".
    """

    def __init__(
        self,
        size: tuple[int, int],
        scale_factors: tuple[float | None, float | None],
        mode: str,
        align_corners: bool,
    ):
        self.size, self.scale_factors = size, scale_factors
        self.mode, self.align_corners = mode, align_corners

    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        self.in_size = x.shape[2:]
        axes = list(zip(self.in_size, self.size, self.scale_factors, strict=True))
        if self.mode == "nearest":
            self.sources = [nearest_source(xp, n, out, s) for n, out, s in axes]
            return x.take(self.sources[0], axis=2).take(self.sources[1], axis=3)
        self.a_h, self.a_w = (
            linear_matrix(xp, n, out, s, self.align_corners, x.dtype) for n, out, s in axes
        )
        return self.a_h @ x @ self.a_w.T

    def backward(self, g: Any) -> Any:
        xp = backend.get_array_module(g)
        if self.mode == "nearest":
            a_h, a_w = (
                nearest_matrix(xp, s, n, g.dtype)
                for s, n in zip(self.sources, self.in_size, strict=True)
            )
        else:
            a_h, a_w = self.a_h, self.a_w
        return a_h.T @ g @ a_w
