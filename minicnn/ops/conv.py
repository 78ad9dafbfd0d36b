"""2-D convolution and transposed convolution, by im2col and one matrix product per group.

Shapes: input ``x`` (N, C, H, W); conv2d weight ``W`` (O, C/g, kh, kw); output ``y``
(N, O, OH, OW), with ``g`` groups, ``K = C/g * kh * kw`` rows of columns per group and
``P = N * OH * OW`` output positions.

Forward (see :mod:`minicnn.ops.im2col` for what a column holds)::

    cols = im2col(x)                          (C*kh*kw, P) = (g, K, P)
    y    = W @ cols                           (g, O/g, K) @ (g, K, P) -> (g, O/g, P) = (O, P)
    y    = y as (N, O, OH, OW) + b

Backward, with ``G = dL/dy`` laid out like ``y`` before the last step, (O, P) = (g, O/g, P).
Every output ``y[o, p] = sum_k W[o, k] cols[k, p]`` so, by the chain rule::

    dW    = G @ cols^T                        (g, O/g, P) @ (g, P, K) -> (g, O/g, K)
    dcols = W^T @ G                           (g, K, O/g) @ (g, O/g, P) -> (g, K, P)
    dx    = col2im(dcols)                     each column entry added back to its pixel
    db    = sum of G over N, OH, OW           (O,)

**Transposed convolution** runs the convolution backwards. ``conv_transpose2d(x, W)`` is the
gradient of ``conv2d(z, W)`` with respect to its input ``z``, applied to ``x``: its forward is
``col2im(W^T @ x)``. Hence its own gradients are the other two pieces of the convolution::

    dx = conv2d(G, W)                          (the transpose of the transpose)
    dW = x @ im2col(G)^T                       the conv weight gradient, roles swapped

so both ops below share the three helpers ``_conv_forward``, ``_conv_input_grad`` and
``_conv_weight_grad``: the logic exists once. Shapes, for x (N, C_in, H, W) and weight
(C_in, C_out/g, kh, kw), i.e. a conv2d from C_out to C_in channels::

    x as a matrix  (g, C_in/g, N*H*W)             the "G" of that conv2d
    W^T @ x        (g, C_out/g*kh*kw, N*H*W)      its columns
    y = col2im     (N, C_out, H_out, W_out)       H_out = (H-1)*s - 2p + d*(kh-1) + op + 1

The plain version, for reading first, is ``conv2d_forward``/``conv2d_backward`` in
:mod:`minicnn.ops.reference` (loops over output pixels); the tests check these fast ops
against it. The fast path differs in three ways, explained below: the columns live in a
reused buffer, they are recomputed for dW instead of saved, and with stride 1 dx is a
convolution with the flipped kernel.

Speed. Nearly all the time goes into the three matrix products, each as large as the whole
batch, and into im2col/col2im, which move ``kh*kw`` times the input's size through memory.
The column layout (C*kh*kw, N*OH*OW) keeps every product a single contiguous BLAS call
without transposing the big matrix; only the small ``y`` and ``G`` are transposed between
(N, O, OH, OW) and (O, N*OH*OW). The columns (15-75 MB for a VGG-sized layer) are written into
one reusable buffer, :func:`minicnn.backend.workspace`, rather than a fresh array each time:
a fresh block that large is page-faulted in anew at every call (``benchmarks/README.md``
measures what that costs a small-VGG step). They are not kept for the backward, which recomputes them
from ``x`` for dW (see :class:`Conv2dFunction`). With stride 1 and no more output than input
channels, dx is computed as a convolution of G with the flipped kernel (im2col of G and one
product) instead of col2im(W^T @ G): the same arithmetic, less memory traffic (see
``_conv_input_grad``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .. import backend
from ..autograd import Function
from .im2col import Padding, Pair, col2im, im2col


@dataclass(frozen=True)
class ConvGeometry:
    """How a kernel slides: per-axis stride and dilation, per-side padding, channel groups."""

    stride: Pair = (1, 1)
    padding: Padding = ((0, 0), (0, 0))
    dilation: Pair = (1, 1)
    groups: int = 1


# --- the three pieces of a convolution, on raw arrays ----------------------------------------


def _as_matrix(y: Any, groups: int) -> Any:
    """(N, O, OH, OW) -> (g, O/g, N*OH*OW): channels first, the layout ``W @ cols`` produces."""
    n, o, oh, ow = y.shape
    xp = backend.get_array_module(y)
    return xp.ascontiguousarray(y.transpose(1, 0, 2, 3)).reshape(groups, o // groups, n * oh * ow)


def _columns(
    x: Any, kernel_size: Pair, geometry: ConvGeometry, output_size: Pair | None = None
) -> Any:
    """im2col with the geometry's stride, padding and dilation: (C, kh, kw, N, OH, OW).

    The columns live in the backend's workspace. **Invariant:** every caller consumes them
    (matrix products, whose results are fresh arrays) before the next ``_columns`` call, and
    never returns or saves them: nothing that leaves an op is a view of the workspace.
    """
    stride, padding, dilation = geometry.stride, geometry.padding, geometry.dilation
    return im2col(x, kernel_size, stride, padding, dilation, output_size, workspace=True)


def _conv_forward(cols: Any, weight: Any, groups: int) -> Any:
    """y = W @ cols per group: cols (C, kh, kw, N, OH, OW) -> y (N, O, OH, OW)."""
    xp = backend.get_array_module(cols, weight)
    o = weight.shape[0]
    _, _, _, n, oh, ow = cols.shape
    k = weight[0].size  # rows per group, C/g * kh * kw (spelled out: P may be 0, an empty batch)
    y = xp.matmul(weight.reshape(groups, o // groups, k), cols.reshape(groups, k, n * oh * ow))
    y = y.reshape(o, n, oh, ow).transpose(1, 0, 2, 3)  # (g, O/g, P) -> (N, O, OH, OW)
    return xp.ascontiguousarray(y)


def _conv_input_grad(
    g: Any,
    weight: Any,
    input_shape: tuple[int, ...],
    geometry: ConvGeometry,
    g_matrix: Any = None,
) -> Any:
    """dx = col2im(W^T @ G) for G = g (N, O, OH, OW); ``g_matrix``: ``_as_matrix(g)`` if known.

    With stride 1, dx is itself a convolution: dx = conv2d(g, W~) with W~ the kernel flipped
    in space, input and output channels swapped (see :func:`_flipped_kernel`), and padding
    d*(k-1) - p (see :func:`_flipped_padding`). That route copies g's columns, O*kh*kw rows,
    where the other writes W^T @ G, C*kh*kw rows, and adds them back in col2im's kh*kw
    read-modify-write passes: when O <= C it moves less memory, and is faster (see
    ``benchmarks/README.md``).
    """
    o, c_per_group, kh, kw = weight.shape
    groups = geometry.groups
    padding = _flipped_padding(geometry, (kh, kw), input_shape[2:], g.shape[2:])
    if padding is not None and o <= c_per_group * groups:
        cols = _columns(g, (kh, kw), ConvGeometry((1, 1), padding, geometry.dilation, groups))
        return _conv_forward(cols, _flipped_kernel(weight, groups), groups)

    xp = backend.get_array_module(g, weight)
    if g_matrix is None:
        g_matrix = _as_matrix(g, groups)
    w_t = weight.reshape(groups, o // groups, -1).transpose(0, 2, 1)  # (g, K, O/g), a view
    if o // groups == 1:  # one output per group (depthwise): the product is an outer product
        dcols = w_t * g_matrix  # (g, K, 1) * (g, 1, P), much faster than matmul's loop
    else:
        dcols = xp.matmul(w_t, g_matrix)  # (g, K, P)
    dcols = dcols.reshape(c_per_group * groups, kh, kw, input_shape[0], *g.shape[2:])
    return col2im(dcols, input_shape, geometry.stride, geometry.padding, geometry.dilation)


def _flipped_padding(
    geometry: ConvGeometry, kernel: Pair, input_size: Pair, output_size: Pair
) -> Padding | None:
    """The padding of the stride-1 convolution of g that gives dx; None if there is none.

    Along an axis with kernel k, dilation d and padding p_before, p_after: dx[h] gathers
    g[h + p_before - d*i] over the taps i, so g needs d*(k-1) - p_before zeros before it and
    d*(k-1) - p_after after it, plus one for every input row that no window reached
    (conv_transpose2d's output_padding): ``input_size - output_size + p_before`` in all.
    None for a stride other than 1, or for more padding than d*(k-1) (negative padding).
    """
    if geometry.stride != (1, 1):
        return None
    pads = tuple(
        (d * (k - 1) - before, n_in - n_out + before)
        for (before, _), k, d, n_in, n_out in zip(
            geometry.padding, kernel, geometry.dilation, input_size, output_size, strict=True
        )
    )
    return None if min(min(p) for p in pads) < 0 else pads  # type: ignore[return-value]


def _flipped_kernel(weight: Any, groups: int) -> Any:
    """The kernel of a convolution's stride-1 transpose: (O, C/g, kh, kw) -> (C, O/g, kh, kw).

    ``W~[c, o, i, j] = W[o, c, kh-1-i, kw-1-j]`` within each group: output pixel y[o, h, w]
    receives x[c, h + i, w + j] through W[o, c, i, j], so x[c, h, w] sends g[o, h - i, w - j]
    back through the same weight, a correlation with the kernel turned around.
    """
    o, c_per_group, kh, kw = weight.shape
    w = weight.reshape(groups, o // groups, c_per_group, kh, kw).transpose(0, 2, 1, 3, 4)
    return w.reshape(groups * c_per_group, o // groups, kh, kw)[:, :, ::-1, ::-1]


def _conv_weight_grad(g_matrix: Any, cols: Any, weight_shape: tuple[int, ...], groups: int) -> Any:
    """dW = G @ cols^T: (g, O/g, P) @ (g, P, K) -> (g, O/g, K) = (O, C/g, kh, kw).

    Computed as (cols @ G^T)^T, the same sums: BLAS runs this orientation of the long, thin
    product (P = N*OH*OW is the summed axis) faster on the CPU.
    """
    xp = backend.get_array_module(g_matrix, cols)
    cols = cols.reshape(groups, math.prod(weight_shape[1:]), g_matrix.shape[-1])
    dw_t = xp.matmul(cols, g_matrix.transpose(0, 2, 1))  # (g, K, O/g)
    return dw_t.transpose(0, 2, 1).reshape(weight_shape)


def _bias_grad(g: Any) -> Any:
    """db = g summed over N, OH, OW: (N, O, OH, OW) -> (O,).

    ``einsum`` makes one pass over g, where ``g.sum(axis=(0, 2, 3))`` makes several.
    """
    return backend.get_array_module(g).einsum("nohw->o", g)


# --- the autograd Functions ------------------------------------------------------------------


class Conv2dFunction(Function):
    """y = conv2d(x, W) + b = W @ im2col(x) + b, per group.

    dx = col2im(W^T @ G);  dW = G @ im2col(x)^T;  db = G summed over N, OH, OW.
    x (N, C, H, W), W (O, C/groups, kh, kw), b (O,) or None -> y (N, O, OH, OW).
    The geometry is already validated and normalised (see :func:`conv2d`).

    Only ``x`` is saved, not its kh*kw times larger columns: the backward runs im2col again
    for dW, trading one more memory-bound copy for less memory held between the forward and
    backward passes, as activation checkpointing does.
    """

    def __init__(self, geometry: ConvGeometry):
        self.geometry = geometry

    def forward(self, x: Any, weight: Any, bias: Any = None) -> Any:
        cols = _columns(x, weight.shape[2:], self.geometry)
        y = _conv_forward(cols, weight, self.geometry.groups)
        if bias is not None:
            y += bias.reshape(1, -1, 1, 1)
        self.x_shape, self.weight = x.shape, weight
        if self.needs_input_grad[1]:
            self.x = x  # only the weight gradient needs x, to rebuild the columns
        return y

    def backward(self, g: Any) -> tuple[Any, Any, Any]:
        geometry = self.geometry
        dx = dw = db = g_matrix = None
        if self.needs_input_grad[1]:
            g_matrix = _as_matrix(g, geometry.groups)
            cols = _columns(self.x, self.weight.shape[2:], geometry)
            dw = _conv_weight_grad(g_matrix, cols, self.weight.shape, geometry.groups)
        if self.needs_input_grad[0]:
            dx = _conv_input_grad(g, self.weight, self.x_shape, geometry, g_matrix)
        if self.needs_input_grad[2]:
            db = _bias_grad(g)
        return dx, dw, db


class ConvTranspose2dFunction(Function):
    """y = conv_transpose2d(x, W) + b = col2im(W^T @ x) + b: a conv2d's input gradient.

    dx = conv2d(G, W) = W @ im2col(G);  dW = x @ im2col(G)^T;  db = G summed over N, H, W.
    x (N, C_in, H, W), W (C_in, C_out/groups, kh, kw), b (C_out,) or None
    -> y of ``output_shape`` (N, C_out, H_out, W_out), computed and checked by the caller.
    """

    def __init__(self, geometry: ConvGeometry, output_shape: tuple[int, int, int, int]):
        self.geometry, self.output_shape = geometry, output_shape

    def forward(self, x: Any, weight: Any, bias: Any = None) -> Any:
        # x plays the part of a convolution's output gradient G ...
        x_matrix = None
        if self.needs_input_grad[1]:  # dW needs x as a matrix; col2im's route uses it too
            self.x_matrix = x_matrix = _as_matrix(x, self.geometry.groups)
        y = _conv_input_grad(x, weight, self.output_shape, self.geometry, x_matrix)
        if bias is not None:
            y += bias.reshape(1, -1, 1, 1)
        self.x_size, self.weight = x.shape[2:], weight
        return y

    def backward(self, g: Any) -> tuple[Any, Any, Any]:
        dx = dw = db = None
        if self.needs_input_grad[0] or self.needs_input_grad[1]:
            # ... and g the part of its input. Only the first (H, W) output positions have a
            # counterpart in x: windows starting in rows or columns that output_padding added
            # (possible when it is not below the stride) are left out.
            cols = _columns(g, self.weight.shape[2:], self.geometry, output_size=self.x_size)
            if self.needs_input_grad[0]:
                dx = _conv_forward(cols, self.weight, self.geometry.groups)
            if self.needs_input_grad[1]:
                groups = self.geometry.groups
                dw = _conv_weight_grad(self.x_matrix, cols, self.weight.shape, groups)
        if self.needs_input_grad[2]:
            db = _bias_grad(g)
        return dx, dw, db


def transposed_output_size(
    size: int, kernel: int, stride: int, pad: int, dilation: int, output_padding: int
) -> int:
    """Output length of a transposed convolution along one axis (``pad`` on each side)::

    (size - 1) * stride - 2 * pad + dilation * (kernel - 1) + output_padding + 1

    is the smallest input length that a convolution with these arguments maps to ``size``;
    ``output_padding`` up to ``stride - 1`` picks a larger one, which the convolution maps to
    ``size`` too (its division by the stride rounds down).
    """
    return (size - 1) * stride - 2 * pad + dilation * (kernel - 1) + output_padding + 1
