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
against it. The fast path differs in four ways, explained below: the columns are built a
slab of output positions at a time, in a bounded reused buffer; they are recomputed for dW
unless they are small; with stride 1 dx is a convolution with the flipped kernel; and a
depthwise convolution (one filter per channel) needs no columns at all.

Speed and memory. Nearly all the time goes into the three matrix products, each as large as
the whole batch, and into im2col/col2im, which move ``kh*kw`` times the input's size through
memory. The column layout (C*kh*kw, N*OH*OW) keeps every product a single contiguous BLAS
call; only the small ``y`` and ``G`` are transposed between (N, O, OH, OW) and
(O, N*OH*OW). The columns are built for a *slab* of output positions at a time (whole images,
or bands of rows of one image, see :func:`_slabs`) so that they fit
:func:`minicnn.backend.workspace`, a buffer reused from call to call and never larger than
``backend.WORKSPACE_LIMIT``: a fresh block that large would be page-faulted in anew at every
call, and one large batch never grows the buffer for the rest of the process. They are not
kept for the backward, which recomputes them from ``x`` for dW (see :class:`Conv2dFunction`),
except when they are small (LeNet's), where the second im2col would cost more than keeping
them. With stride 1 and no more output than input channels, dx is computed as a convolution
of G with the flipped kernel (im2col of G and one product) instead of col2im(W^T @ G): the
same arithmetic, less memory traffic (see ``_conv_input_grad``). Measurements are in
``benchmarks/README.md``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .. import backend
from ..autograd import Function, is_grad_enabled
from .im2col import Padding, Pair, col2im, conv_output_size, im2col


@dataclass(frozen=True)
class ConvGeometry:
    """How a kernel slides: per-axis stride and dilation, per-side padding, channel groups."""

    stride: Pair = (1, 1)
    padding: Padding = ((0, 0), (0, 0))
    dilation: Pair = (1, 1)
    groups: int = 1


# --- slabs of output positions, and their columns ---------------------------------------------

#: Columns of at most this many bytes are kept from the forward for dW (one im2col fewer).
KEEP_COLUMNS_BYTES = 8 * 2**20

_NO_PADDING: Padding = ((0, 0), (0, 0))


def _output_size(x_shape: tuple[int, ...], kernel: Pair, geometry: ConvGeometry) -> Pair:
    """(OH, OW) of the convolution of an input of shape ``x_shape`` (N, C, H, W)."""
    return tuple(  # type: ignore[return-value]
        conv_output_size(size, k, s, sum(p), d)
        for size, k, s, p, d in zip(
            x_shape[2:], kernel, geometry.stride, geometry.padding, geometry.dilation, strict=True
        )
    )


def _slabs(n: int, oh: int, row_bytes: int) -> list[tuple[slice, slice]]:
    """(images, output rows) of each slab of the output positions (N, OH), for columns of
    ``row_bytes`` per output row: groups of whole images while an image fits the workspace,
    else bands of rows of one image (at least one row each)."""
    rows = max(1, backend.WORKSPACE_LIMIT // max(1, row_bytes))
    if rows >= oh:
        step = max(1, rows // max(1, oh))
        return [(slice(i, min(i + step, n)), slice(0, oh)) for i in range(0, max(n, 1), step)]
    return [
        (slice(i, i + 1), slice(r, min(r + rows, oh))) for i in range(n) for r in range(0, oh, rows)
    ]


def _pad(x: Any, padding: Padding) -> Any:
    """x (N, C, H, W) with zero rows and columns around it (x itself without padding)."""
    (top, bottom), (left, right) = padding
    if not (top or bottom or left or right):
        return x
    n, c, h, w = x.shape
    x_pad = backend.get_array_module(x).zeros(
        (n, c, h + top + bottom, w + left + right), dtype=x.dtype
    )
    x_pad[:, :, top : top + h, left : left + w] = x
    return x_pad


def _band(rows: slice, kernel: int, stride: int, dilation: int) -> slice:
    """The rows of the padded input that the output rows ``rows`` look at."""
    return slice(rows.start * stride, (rows.stop - 1) * stride + dilation * (kernel - 1) + 1)


def _column_slabs(
    x: Any, kernel: Pair, geometry: ConvGeometry, output_size: Pair
) -> Iterator[tuple[slice, slice, Any]]:
    """(images, rows, cols) for each slab of the output positions of size ``output_size``
    (OH, OW): im2col of the slab's windows, with the geometry's stride, padding and
    dilation, as (C, kh, kw, n, rows, OW). An ``output_size`` smaller than the
    convolution's keeps only its first rows and columns (conv_transpose2d needs that).

    The columns live in the backend's workspace. **Invariant:** every caller consumes them
    (matrix products, whose results are fresh arrays) before asking for the next slab, and
    never returns or saves them: nothing that leaves an op is a view of the workspace.
    """
    (kh, kw), (sh, _), (dh, _) = kernel, geometry.stride, geometry.dilation
    oh, ow = output_size
    x_pad = _pad(x, geometry.padding)
    for images, rows in _slabs(x.shape[0], oh, x.shape[1] * kh * kw * ow * x.itemsize):
        band = x_pad[images, :, _band(rows, kh, sh, dh)]
        size = (rows.stop - rows.start, ow)
        cols = im2col(band, kernel, geometry.stride, _NO_PADDING, geometry.dilation, size, True)
        yield images, rows, cols


# --- the three pieces of a convolution, on raw arrays ----------------------------------------


def _as_matrix(y: Any, groups: int) -> Any:
    """(N, O, OH, OW) -> (g, O/g, N*OH*OW): channels first, the layout ``W @ cols`` produces."""
    n, o, oh, ow = y.shape
    xp = backend.get_array_module(y)
    return xp.ascontiguousarray(y.transpose(1, 0, 2, 3)).reshape(groups, o // groups, n * oh * ow)


def _product(cols: Any, weight: Any, groups: int) -> Any:
    """W @ cols per group: cols (C, kh, kw, n, oh, ow) -> (n, O, oh, ow), a transposed view."""
    xp = backend.get_array_module(cols, weight)
    o = weight.shape[0]
    _, _, _, n, oh, ow = cols.shape
    k = math.prod(weight.shape[1:])  # rows per group, C/g * kh * kw (P may be 0, an empty batch)
    y = xp.matmul(weight.reshape(groups, o // groups, k), cols.reshape(groups, k, n * oh * ow))
    return y.reshape(o, n, oh, ow).transpose(1, 0, 2, 3)


def _convolve(x: Any, weight: Any, geometry: ConvGeometry, output_size: Pair | None = None) -> Any:
    """y = conv2d(x, W) without bias, slab by slab: (N, C, H, W) -> (N, O, OH, OW)."""
    xp = backend.get_array_module(x, weight)
    kernel = weight.shape[2:]
    output_size = output_size or _output_size(x.shape, kernel, geometry)
    y = xp.empty((x.shape[0], weight.shape[0], *output_size), dtype=x.dtype)
    for images, rows, cols in _column_slabs(x, kernel, geometry, output_size):
        y[images, :, rows] = _product(cols, weight, geometry.groups)
    return y


def _conv_input_grad(
    g: Any, weight: Any, input_shape: tuple[int, ...], geometry: ConvGeometry
) -> Any:
    """dx = col2im(W^T @ G) for G = g (N, O, OH, OW), slab by slab of g's positions.

    With stride 1, dx is itself a convolution: dx = conv2d(g, W~) with W~ the kernel flipped
    in space, input and output channels swapped (see :func:`_flipped_kernel`), and padding
    d*(k-1) - p (see :func:`_flipped_padding`). That route copies g's columns, O*kh*kw rows,
    where the other writes W^T @ G, C*kh*kw rows, and adds them back in col2im's kh*kw
    read-modify-write passes: when O <= C it moves less memory, and is faster (see
    ``benchmarks/README.md``).
    """
    o, c_per_group, kh, kw = weight.shape
    groups, c = geometry.groups, input_shape[1]
    padding = _flipped_padding(geometry, (kh, kw), input_shape[2:], g.shape[2:])
    if padding is not None and o <= c:
        flipped = ConvGeometry((1, 1), padding, geometry.dilation, groups)
        return _convolve(g, _flipped_kernel(weight, groups), flipped, input_shape[2:])

    xp = backend.get_array_module(g, weight)
    (top, bottom), (left, right) = geometry.padding
    n, _, h, w = input_shape
    oh, ow = g.shape[2:]
    w_t = weight.reshape(groups, o // groups, -1).transpose(0, 2, 1)  # (g, K, O/g), a view
    slabs = _slabs(n, oh, c * kh * kw * ow * g.itemsize)
    dx_pad = None
    if len(slabs) > 1:
        dx_pad = xp.zeros((n, c, h + top + bottom, w + left + right), dtype=g.dtype)
    for images, rows in slabs:
        g_matrix = _as_matrix(g[images, :, rows], groups)
        if o // groups == 1:  # one output per group (depthwise): the product is an outer product
            dcols = w_t * g_matrix  # (g, K, 1) * (g, 1, P), much faster than matmul's loop
        else:
            dcols = xp.matmul(w_t, g_matrix)  # (g, K, P)
        dcols = dcols.reshape(c, kh, kw, images.stop - images.start, rows.stop - rows.start, ow)
        if dx_pad is None:  # one slab: col2im pads and crops itself
            return col2im(dcols, input_shape, geometry.stride, geometry.padding, geometry.dilation)
        band = _band(rows, kh, geometry.stride[0], geometry.dilation[0])
        part = dx_pad[images, :, band]
        part += col2im(dcols, part.shape, geometry.stride, _NO_PADDING, geometry.dilation)
    return xp.ascontiguousarray(dx_pad[:, :, top : top + h, left : left + w])


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


def _weight_grad_part(g: Any, cols: Any, weight_shape: tuple[int, ...], groups: int) -> Any:
    """One slab's share of dW = G @ cols^T, as (g, K, O/g) = (G @ cols^T)^T.

    Computed in that orientation, the same sums: BLAS runs this form of the long, thin product
    (P = N*OH*OW is the summed axis) faster on the CPU.
    """
    xp = backend.get_array_module(g, cols)
    g_matrix = _as_matrix(g, groups)  # (g, O/g, P)
    cols = cols.reshape(groups, math.prod(weight_shape[1:]), g_matrix.shape[-1])
    return xp.matmul(cols, g_matrix.transpose(0, 2, 1))


def _conv_weight_grad(
    g: Any, x: Any, weight_shape: tuple[int, ...], geometry: ConvGeometry, cols: Any = None
) -> Any:
    """dW = G @ im2col(x)^T, summed slab by slab: (O, C/g, kh, kw). ``g`` (N, O, OH, OW) holds
    the gradients of the convolution's outputs; ``cols``, if given, are all of x's columns."""
    groups = geometry.groups
    if cols is not None:
        dw_t = _weight_grad_part(g, cols, weight_shape, groups)
    else:
        dw_t = 0
        for images, rows, slab in _column_slabs(x, weight_shape[2:], geometry, g.shape[2:]):
            dw_t = dw_t + _weight_grad_part(g[images, :, rows], slab, weight_shape, groups)
    return dw_t.transpose(0, 2, 1).reshape(weight_shape)


def _bias_grad(g: Any) -> Any:
    """db = g summed over N, OH, OW: (N, O, OH, OW) -> (O,).

    ``einsum`` makes one pass over g, where ``g.sum(axis=(0, 2, 3))`` makes several.
    """
    return backend.get_array_module(g).einsum("nohw->o", g)


# --- depthwise convolution: shifted slices, no columns ---------------------------------------


def _is_depthwise(channels: int, weight: Any, groups: int, stride: Pair) -> bool:
    """One filter per input channel, one output per filter (groups = C = O), with the same
    stride both ways (what :class:`_Taps` needs; other strides take the grouped route)."""
    return groups == channels == weight.shape[0] > 1 and stride[0] == stride[1]


class _Taps:
    """Where each kernel tap (i, j) of a depthwise convolution reads the padded input.

    With the padded images' rows laid end to end (``width`` values each) and one stride s
    both ways, tap (i, j) at output pixel (oh, ow) reads value
    (oh s + i dh) width + ow s + j dw = offset + s p, with p = oh width + ow: one 1-D slice
    of step s per tap. Viewed as (OH, width) it is the tap's grid, of which ``kept`` columns
    are used: OW for stride > 1, and for stride 1 all ``width``: a *wide* output whose
    columns from OW on are junk (cropped, or given zero gradient), because then each
    multiply-add runs over whole images in one long loop, where NumPy is much faster than
    over OH short rows of OW values.
    """

    def __init__(self, x_shape: tuple[int, ...], kernel: Pair, geometry: ConvGeometry):
        (top, bottom), (left, right) = geometry.padding
        self.stride, self.kernel, self.dilation = geometry.stride[0], kernel, geometry.dilation
        self.out = _output_size(x_shape, kernel, geometry)
        self.width = x_shape[3] + left + right
        self.kept = self.width if self.stride == 1 else self.out[1]
        # s more zero rows at the bottom: the last value a slice reaches,
        # offset + s (OH width - 1) < (rows + s) width, since width > dw (kw - 1)
        self.padding = ((top, bottom + self.stride), (left, right))
        self.rows = x_shape[2] + top + bottom + self.stride

    def flatten(self, x_pad: Any) -> Any:
        """(n, C, rows, width) -> (n, C, rows * width), the rows laid end to end."""
        return x_pad.reshape(x_pad.shape[0], x_pad.shape[1], self.rows * self.width)

    def __iter__(self) -> Iterator[tuple[int, int, slice]]:
        """(i, j, the tap's slice of the flattened rows)."""
        (dh, dw), s, positions = self.dilation, self.stride, self.out[0] * self.width
        for i in range(self.kernel[0]):
            for j in range(self.kernel[1]):
                offset = i * dh * self.width + j * dw
                yield i, j, slice(offset, offset + s * positions, s)

    def view(self, flat: Any, tap: slice) -> Any:
        """The tap's grid (n, C, OH, kept) in the flattened padded images ``flat``: a view
        (only an axis is split), so writing into it writes into ``flat``."""
        grid = flat[:, :, tap].reshape(flat.shape[0], flat.shape[1], self.out[0], self.width)
        return grid[:, :, :, : self.kept]


def _image_blocks(shape: tuple[int, ...], like: Any) -> list[slice]:
    """Blocks of images of (N, C, H, W) ``shape`` of about backend.BLOCK_BYTES (at least one
    image): the kh*kw passes over a block then find it in the CPU's cache."""
    return backend.block_slices(shape[0], math.prod(shape[1:]) * like.itemsize, like)


def _depthwise_forward(x: Any, weight: Any, geometry: ConvGeometry) -> Any:
    """y[n, c] = sum over taps (i, j) of W[c, 0, i, j] * x_pad[n, c, tap (i, j)'s grid].

    kh*kw multiply-adds of the taps' views of the padded input (:class:`_Taps`), a block of
    images at a time: no columns (im2col would copy x kh*kw times for very little arithmetic).
    """
    xp = backend.get_array_module(x, weight)
    taps, w = _Taps(x.shape, weight.shape[2:], geometry), weight[:, 0, :, :, None, None]
    (oh, ow), c = taps.out, x.shape[1]
    y = xp.empty((x.shape[0], c, oh, ow), dtype=x.dtype)
    for images in _image_blocks(x.shape, x):
        flat = taps.flatten(_pad(x[images], taps.padding))
        wide = xp.empty((len(flat), c, oh, taps.kept), dtype=x.dtype)
        term = xp.empty_like(wide)
        for k, (i, j, tap) in enumerate(taps):
            xp.multiply(taps.view(flat, tap), w[:, i, j], out=wide if k == 0 else term)
            if k:
                wide += term
        y[images] = wide[:, :, :, :ow]
    return y


def _depthwise_backward(
    g: Any, x: Any, weight: Any, x_shape: tuple[int, ...], geometry: ConvGeometry, need_dx: bool
) -> tuple[Any, Any]:
    """dx: each tap sends g * W[c, 0, i, j] back to the pixels it read (added into a padded dx,
    then cropped); dW[c, 0, i, j] = sum over n, h, w of g * that tap's slice of x_pad.
    dx goes over the taps' wide views (:class:`_Taps`) with zeros in the junk columns; dW
    over the columns the output has, so that junk inputs (an inf there) never reach it.
    ``x`` is None when dW is not wanted."""
    xp = backend.get_array_module(g, weight)
    taps, w = _Taps(x_shape, weight.shape[2:], geometry), weight[:, 0, :, :, None, None]
    (top, _), (left, _) = geometry.padding
    _, c, h, width = x_shape
    (oh, ow), kept = taps.out, taps.kept
    dx = xp.empty(x_shape, dtype=g.dtype) if need_dx else None
    dw = None if x is None else xp.zeros(weight.shape, dtype=weight.dtype)
    for images in _image_blocks(x_shape, g):
        g_block = g[images]
        if dx is not None:
            dx_flat = xp.zeros((len(g_block), c, taps.rows * taps.width), dtype=g.dtype)
            term = xp.zeros((len(g_block), c, oh, kept), dtype=g.dtype)  # junk columns stay 0
        if dw is not None:
            flat = taps.flatten(_pad(x[images], taps.padding))
        for i, j, tap in taps:
            if dx is not None:
                xp.multiply(g_block, w[:, i, j], out=term[:, :, :, :ow])
                taps.view(dx_flat, tap)[...] += term
            if dw is not None:
                grid = taps.view(flat, tap)[:, :, :, :ow]
                dw[:, 0, i, j] += xp.einsum("nchw,nchw->c", g_block, grid)
        if dx is not None:
            dx_pad = dx_flat.reshape(len(g_block), c, taps.rows, taps.width)
            dx[images] = dx_pad[:, :, top : top + h, left : left + width]
    return dx, dw


# --- the autograd Functions ------------------------------------------------------------------


class Conv2dFunction(Function):
    """y = conv2d(x, W) + b = W @ im2col(x) + b, per group.

    dx = col2im(W^T @ G);  dW = G @ im2col(x)^T;  db = G summed over N, OH, OW.
    x (N, C, H, W), W (O, C/groups, kh, kw), b (O,) or None -> y (N, O, OH, OW).
    The geometry is already validated and normalised (see :func:`conv2d`).

    Only ``x`` is saved, not its kh*kw times larger columns: the backward runs im2col again
    for dW, trading one more memory-bound copy for less memory held between the forward and
    backward passes, as activation checkpointing does. Columns of at most
    ``KEEP_COLUMNS_BYTES`` are kept instead: for them the copy costs more than the memory.
    A depthwise convolution takes its own route (``_depthwise_forward``/``_backward``).
    """

    def __init__(self, geometry: ConvGeometry):
        self.geometry = geometry

    def forward(self, x: Any, weight: Any, bias: Any = None) -> Any:
        geometry, kernel = self.geometry, weight.shape[2:]
        self.depthwise = _is_depthwise(x.shape[1], weight, geometry.groups, geometry.stride)
        out = _output_size(x.shape, kernel, geometry)
        nbytes = x.shape[0] * x.shape[1] * math.prod(kernel) * math.prod(out) * x.itemsize
        cols = None
        if self.depthwise:
            y = _depthwise_forward(x, weight, geometry)
        elif self.needs_input_grad[1] and is_grad_enabled() and nbytes <= KEEP_COLUMNS_BYTES:
            cols = im2col(x, kernel, geometry.stride, geometry.padding, geometry.dilation)
            y = backend.get_array_module(x).ascontiguousarray(
                _product(cols, weight, geometry.groups)
            )
        else:
            y = _convolve(x, weight, geometry, out)
        if bias is not None:
            y += bias.reshape(1, -1, 1, 1)
        self.x_shape, self.weight, self.cols = x.shape, weight, cols
        if self.needs_input_grad[1]:
            self.x = x  # for dW's columns (unless kept), and the in-place version check
        return y

    def backward(self, g: Any) -> tuple[Any, Any, Any]:
        geometry = self.geometry
        dx = dw = db = None
        if self.depthwise:
            x = self.x if self.needs_input_grad[1] else None
            dx, dw = _depthwise_backward(
                g, x, self.weight, self.x_shape, geometry, self.needs_input_grad[0]
            )
        else:
            if self.needs_input_grad[1]:
                dw = _conv_weight_grad(g, self.x, self.weight.shape, geometry, self.cols)
            if self.needs_input_grad[0]:
                dx = _conv_input_grad(g, self.weight, self.x_shape, geometry)
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
        y = _conv_input_grad(x, weight, self.output_shape, self.geometry)
        if bias is not None:
            y += bias.reshape(1, -1, 1, 1)
        self.weight = weight
        if self.needs_input_grad[1]:
            self.x = x  # dW is x @ im2col(G)^T
        self.x_size = x.shape[2:]
        return y

    def backward(self, g: Any) -> tuple[Any, Any, Any]:
        # ... and g the part of its input. Only the first (H, W) output positions have a
        # counterpart in x: windows starting in rows or columns that output_padding added
        # (possible when it is not below the stride) are left out.
        xp = backend.get_array_module(g)
        geometry, weight, (need_dx, need_dw, need_db) = (
            self.geometry,
            self.weight,
            self.needs_input_grad,
        )
        dx = dw = db = None
        if need_dx:
            dx = xp.empty((g.shape[0], weight.shape[0], *self.x_size), dtype=g.dtype)
        if need_dx or need_dw:
            dw_t = 0
            for images, rows, cols in _column_slabs(g, weight.shape[2:], geometry, self.x_size):
                if need_dx:
                    dx[images, :, rows] = _product(cols, weight, geometry.groups)
                if need_dw:
                    x_slab = self.x[images, :, rows]
                    dw_t = dw_t + _weight_grad_part(x_slab, cols, weight.shape, geometry.groups)
            if need_dw:
                dw = dw_t.transpose(0, 2, 1).reshape(weight.shape)
        if need_db:
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
