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

Speed. Nearly all the time goes into the three matrix products, each as large as the whole
batch, and into im2col/col2im, which move ``kh*kw`` times the input's size through memory.
The column layout (C*kh*kw, N*OH*OW) keeps every product a single contiguous BLAS call
without transposing the big matrix; only the small ``y`` and ``G`` are transposed between
(N, O, OH, OW) and (O, N*OH*OW). The columns (15-75 MB for a VGG-sized layer) are written into
one reusable buffer, :func:`minicnn.backend.workspace`, rather than a fresh array each time:
a fresh block that large is page-faulted in anew at every call, which cost a small-VGG step
as much as a fifth of its time. They are not kept for the backward, which recomputes them
from ``x`` for dW (see :class:`Conv2dFunction`). With stride 1 and no more output than input
channels, dx is computed as a convolution of G with the flipped kernel (im2col of G and one
product) instead of col2im(W^T @ G): the same arithmetic, less memory traffic (see
``_conv_input_grad``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import backend
from ..autograd import Function
from ..tensor import Tensor, as_tensor
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
    y = xp.matmul(weight.reshape(groups, o // groups, -1), cols.reshape(groups, -1, n * oh * ow))
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
    read-modify-write passes: when O <= C it is faster (dx 20-30% faster for the
    (64, 32, 28, 28) 3x3 convolution of a VGG block).
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
    product (P = N*OH*OW is the summed axis) about 25% faster on the CPU.
    """
    xp = backend.get_array_module(g_matrix, cols)
    cols = cols.reshape(groups, -1, g_matrix.shape[-1])
    dw_t = xp.matmul(cols, g_matrix.transpose(0, 2, 1))  # (g, K, O/g)
    return dw_t.transpose(0, 2, 1).reshape(weight_shape)


def _bias_grad(g: Any) -> Any:
    """db = g summed over N, OH, OW: (N, O, OH, OW) -> (O,).

    ``einsum`` makes one pass over g, 3x faster than ``g.sum(axis=(0, 2, 3))`` on the CPU.
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


# --- checking the arguments, and the public functions ----------------------------------------

IntOrPair = int | tuple[int, int]


def _pair(op: str, name: str, value: Any) -> Pair:
    """An int or a pair of ints as a pair (PyTorch accepts both for every size argument)."""
    values = value if isinstance(value, (tuple, list)) else (value, value)
    if len(values) == 2 and all(_is_int(v) for v in values):
        return int(values[0]), int(values[1])
    raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")


def _is_int(value: Any) -> bool:
    return hasattr(value, "__index__") and not isinstance(value, bool)


def _check_sizes(op: str, stride: Pair, dilation: Pair, padding: Pair | None = None) -> None:
    if min(stride) < 1:
        raise ValueError(f"{op}: stride must be positive, got {stride}")
    if min(dilation) < 1:
        raise ValueError(f"{op}: dilation must be positive, got {dilation}")
    if padding is not None and min(padding) < 0:
        raise ValueError(f"{op}: padding must be non-negative, got {padding}")


def _check_arrays(op: str, x: Tensor, weight: Tensor, bias: Tensor | None, layout: str) -> None:
    """4-D input and weight, one dtype for all."""
    if x.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D input (N, C, H, W), got shape {x.shape}")
    if weight.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D weight {layout}, got shape {weight.shape}")
    named = [("input", x), ("weight", weight)] + ([("bias", bias)] if bias is not None else [])
    if len({t.dtype for _, t in named}) > 1:
        got = ", ".join(f"{t.dtype} {name}" for name, t in named)
        raise TypeError(f"{op}: input, weight and bias must have the same dtype, got {got}")


def _check_groups(op: str, groups: Any) -> int:
    if not _is_int(groups) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    return int(groups)


def _check_bias(op: str, bias: Tensor | None, channels: int) -> None:
    if bias is not None and bias.shape != (channels,):
        raise ValueError(f"{op}: expected bias of shape ({channels},), got {bias.shape}")


def _same_padding(kernel: Pair, dilation: Pair) -> Padding:
    """PyTorch's padding="same": d*(k-1) in all, the odd one out at the bottom/right."""
    totals = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
    return tuple((t // 2, t - t // 2) for t in totals)  # type: ignore[return-value]


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


def conv2d(
    x: Any,
    weight: Any,
    bias: Any = None,
    stride: IntOrPair = 1,
    padding: IntOrPair | str = 0,
    dilation: IntOrPair = 1,
    groups: int = 1,
) -> Tensor:
    """2-D convolution (cross-correlation, as in every deep-learning framework).

    ``y[n, o, oh, ow] = b[o] + sum_{c, i, j} W[o, c, i, j] x_pad[n, g*C/groups + c,
    oh*sh + i*dh, ow*sw + j*dw]`` where ``g`` is the group of output channel ``o``.

    x (N, C, H, W); weight (O, C/groups, kh, kw); bias (O,) or None -> (N, O, OH, OW), with
    ``OH = floor((H + 2*ph - dh*(kh-1) - 1) / sh) + 1`` (likewise OW). ``stride``,
    ``padding`` and ``dilation`` are ints or (h, w) pairs; ``padding`` may also be
    ``"valid"`` (none) or ``"same"`` (output as large as the input; stride 1 only).
    ``groups`` splits the channels into independent convolutions; ``groups=C`` with
    ``O = m*C`` is a depthwise convolution.
    """
    op = "conv2d"
    x, weight = as_tensor(x), as_tensor(weight)
    bias = None if bias is None else as_tensor(bias)
    _check_arrays(op, x, weight, bias, "(out, in/groups, kh, kw)")
    groups = _check_groups(op, groups)
    stride, dilation = _pair(op, "stride", stride), _pair(op, "dilation", dilation)
    kernel = weight.shape[2:]
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0), (0, 0))
        elif padding == "same":
            if stride != (1, 1):
                raise ValueError(f"{op}: padding='same' requires stride 1, got stride {stride}")
            pads = _same_padding(kernel, dilation)
        else:
            raise ValueError(
                f"{op}: padding must be an int, a pair of ints, 'same' or 'valid', got {padding!r}"
            )
        _check_sizes(op, stride, dilation)
    else:
        pad = _pair(op, "padding", padding)
        _check_sizes(op, stride, dilation, pad)
        pads = ((pad[0], pad[0]), (pad[1], pad[1]))

    out_channels, in_per_group = weight.shape[:2]
    if out_channels % groups:
        raise ValueError(
            f"{op}: out_channels {out_channels} (weight {weight.shape}) must be divisible by "
            f"groups={groups}"
        )
    if x.shape[1] % groups:
        raise ValueError(
            f"{op}: input channels {x.shape[1]} (input {x.shape}) must be divisible by "
            f"groups={groups}"
        )
    if x.shape[1] != in_per_group * groups:
        raise ValueError(
            f"{op}: expected input with {in_per_group * groups} channels (weight "
            f"{weight.shape}, groups={groups}), got shape {x.shape}"
        )
    _check_bias(op, bias, out_channels)

    padded = [n + before + after for n, (before, after) in zip(x.shape[2:], pads, strict=True)]
    span = [d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True)]
    if span[0] > padded[0] or span[1] > padded[1]:
        raise ValueError(
            f"{op}: kernel {kernel[0]}x{kernel[1]} (dilated {span[0]}x{span[1]}) is larger "
            f"than the padded input {padded[0]}x{padded[1]}"
        )
    geometry = ConvGeometry(stride, pads, dilation, groups)
    return Conv2dFunction(geometry)(x, weight, bias)


def conv_transpose2d(
    x: Any,
    weight: Any,
    bias: Any = None,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    output_padding: IntOrPair = 0,
    groups: int = 1,
    dilation: IntOrPair = 1,
) -> Tensor:
    """2-D transposed convolution: the gradient of :func:`conv2d` with respect to its input.

    Each input pixel scatters a copy of the kernel, scaled by its value, into the output,
    ``stride`` pixels apart; overlapping copies add up; ``padding`` then crops that many rows
    and columns from each border. It maps an (H, W) map up to the size a conv2d with the
    same arguments would map back down to (H, W).

    x (N, C_in, H, W); weight (C_in, C_out/groups, kh, kw); bias (C_out,) or None ->
    (N, C_out, H_out, W_out) with ``H_out = (H-1)*sh - 2*ph + dh*(kh-1) + oph + 1``.
    ``output_padding`` adds rows/columns at the bottom/right to pick one of the input sizes
    that a strided conv2d maps to (H, W); it must be smaller than the stride or the dilation.
    """
    op = "conv_transpose2d"
    x, weight = as_tensor(x), as_tensor(weight)
    bias = None if bias is None else as_tensor(bias)
    _check_arrays(op, x, weight, bias, "(in, out/groups, kh, kw)")
    groups = _check_groups(op, groups)
    if isinstance(padding, str):
        raise TypeError(f"{op}: padding must be an int or a pair of ints, got {padding!r}")
    stride, dilation = _pair(op, "stride", stride), _pair(op, "dilation", dilation)
    pad = _pair(op, "padding", padding)
    extra = _pair(op, "output_padding", output_padding)
    _check_sizes(op, stride, dilation, pad)
    if min(extra) < 0 or any(extra[a] >= stride[a] and extra[a] >= dilation[a] for a in (0, 1)):
        raise ValueError(
            f"{op}: output_padding must be non-negative and smaller than either stride or "
            f"dilation, got output_padding {extra}, stride {stride}, dilation {dilation}"
        )

    in_channels, out_per_group = weight.shape[:2]
    if in_channels % groups:
        raise ValueError(
            f"{op}: in_channels {in_channels} (weight {weight.shape}) must be divisible by "
            f"groups={groups}"
        )
    if x.shape[1] != in_channels:
        raise ValueError(
            f"{op}: expected input with {in_channels} channels (weight {weight.shape}, "
            f"groups={groups}), got shape {x.shape}"
        )
    _check_bias(op, bias, out_per_group * groups)

    size = [
        transposed_output_size(
            x.shape[2 + a], weight.shape[2 + a], stride[a], pad[a], dilation[a], extra[a]
        )
        for a in (0, 1)
    ]
    if min(size) < 1:
        raise ValueError(
            f"{op}: output size {size[0]}x{size[1]} is too small (input {x.shape[2]}x"
            f"{x.shape[3]}, kernel {weight.shape[2]}x{weight.shape[3]}, stride {stride}, "
            f"padding {pad}, dilation {dilation}, output_padding {extra})"
        )
    geometry = ConvGeometry(stride, ((pad[0], pad[0]), (pad[1], pad[1])), dilation, groups)
    output_shape = (x.shape[0], out_per_group * groups, size[0], size[1])
    return ConvTranspose2dFunction(geometry, output_shape)(x, weight, bias)
