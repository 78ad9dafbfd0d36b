"""Pooling: check the arguments (PyTorch's rules), then call the op's Function.

``max_pool2d``, ``avg_pool2d``, ``max_unpool2d``, ``adaptive_avg_pool2d``,
``adaptive_max_pool2d`` take ``(N, C, H, W)`` or unbatched ``(C, H, W)`` inputs, as in
PyTorch; ``global_avg_pool2d`` and ``global_max_pool2d`` (not in PyTorch) take batches.
"""

from __future__ import annotations

from typing import Any

from .. import backend
from ..ops.pool import (
    AdaptiveAvgPool2dFunction,
    AdaptiveMaxPool2dFunction,
    AvgPool2dFunction,
    GlobalMaxPool2dFunction,
    MaxPool2dFunction,
    MaxUnpool2dFunction,
    Pair,
    PoolGeometry,
)
from ..ops.reduce import Mean
from ..tensor import Tensor, as_tensor
from ._args import boolean, int_pair, is_int, values_checkable

IntOrPair = int | tuple[int, int]
OutputSize = int | tuple[int | None, int | None]


def window_settings(
    where: str, kernel_size: Any, stride: Any, padding: Any, dilation: Any = 1
) -> tuple[Pair, Pair, Pair, Pair]:
    """kernel_size, stride (None: kernel_size), padding and dilation as pairs, checked.

    PyTorch's rule: ``padding`` at most half of ``kernel_size`` (the kernel itself, not its
    dilated span), so that every window holds at least one real element.
    """
    kernel = int_pair(where, "kernel_size", kernel_size, minimum=1)
    steps = kernel if stride is None else int_pair(where, "stride", stride, minimum=1)
    pads = int_pair(where, "padding", padding, minimum=0)
    dilations = int_pair(where, "dilation", dilation, minimum=1)
    if any(p > k // 2 for p, k in zip(pads, kernel, strict=True)):
        raise ValueError(
            f"{where}: padding must be at most half of kernel_size, got padding={padding!r} "
            f"for kernel_size={kernel_size!r}"
        )
    return kernel, steps, pads, dilations


def adaptive_output_size(where: str, output_size: Any) -> tuple[int | None, int | None]:
    """An int >= 1 or a pair of them, where None keeps that input size."""
    pair = output_size if isinstance(output_size, (tuple, list)) else (output_size, output_size)
    if len(pair) != 2 or not all(v is None or (is_int(v) and v >= 1) for v in pair):
        raise ValueError(
            f"{where}: output_size must be an int >= 1 or a pair of them (None keeps that "
            f"input size), got {output_size!r}"
        )
    return tuple(None if v is None else int(v) for v in pair)  # type: ignore[return-value]


def check_divisor_override(where: str, value: Any) -> int | None:
    """None or a non-zero int (negative ones too, as PyTorch allows)."""
    if value is None:
        return None
    if not is_int(value):
        raise TypeError(f"{where}: divisor_override must be an int or None, got {value!r}")
    if value == 0:
        raise ValueError(f"{where}: divisor_override must not be zero")
    return int(value)


def _check_input(op: str, x: Tensor, integers: bool = False) -> None:
    """A 3-D or 4-D input, C, H and W not empty (a batch may be), of a dtype the op supports:
    floating point, and integers (not bool) where ``integers``."""
    if x.ndim not in (3, 4) or 0 in x.shape[-3:]:
        raise ValueError(
            f"{op}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input with non-zero C, H, W, "
            f"got shape {x.shape}"
        )
    kind = x.dtype.kind
    if kind in "iu" and not integers:
        raise TypeError(
            f"{op}: not implemented for integer input, got {x.dtype}; convert it first (x.float())"
        )
    if kind not in "fiu":
        raise TypeError(f"{op}: not implemented for {x.dtype} input")


def _check_window(op: str, x: Tensor, geometry: PoolGeometry) -> None:
    """Every output size at least 1: the (dilated) kernel fits in the padded input."""
    out = geometry.output_size(x.shape[-2:])
    if min(out) < 1:
        spans = tuple(
            d * (k - 1) + 1 for k, d in zip(geometry.kernel, geometry.dilation, strict=True)
        )
        padded = tuple(n + 2 * p for n, p in zip(x.shape[-2:], geometry.padding, strict=True))
        dilated = "" if geometry.dilation == (1, 1) else f" (dilated: {spans})"
        raise ValueError(
            f"{op}: kernel size {geometry.kernel}{dilated} is larger than the padded input "
            f"{padded} (input {tuple(x.shape[-2:])}, padding {geometry.padding}): output "
            f"size {out}"
        )


def max_pool2d(
    x: Any,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """Max over windows of ``kernel_size`` taps ``dilation`` apart, moved by ``stride``
    (default: ``kernel_size``) over the input padded with -inf (integers: the dtype's minimum).

    ``padding`` is at most half the kernel; ``ceil_mode`` rounds the output size up (see
    :mod:`minicnn.ops.pool`). With ``return_indices`` also returns, as an int64 tensor, the
    position of each maximum in its flattened (H, W) input plane (for :func:`max_unpool2d`).
    Integer inputs keep their dtype.
    """
    op = "max_pool2d"
    kernel, stride, padding, dilation = window_settings(op, kernel_size, stride, padding, dilation)
    geometry = PoolGeometry(kernel, stride, padding, dilation, boolean(op, "ceil_mode", ceil_mode))
    return_indices = boolean(op, "return_indices", return_indices)
    x = as_tensor(x)
    _check_input(op, x, integers=True)
    _check_window(op, x, geometry)
    if not return_indices:
        return MaxPool2dFunction(geometry)(x)
    y, indices = MaxPool2dFunction(geometry, return_indices=True)(x)
    return y, indices.detach()


def avg_pool2d(
    x: Any,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Mean over windows of the zero-padded input (arguments as in :func:`max_pool2d`).

    With ``count_include_pad=False`` each window divides by its number of real (unpadded)
    elements; a ``divisor_override`` (a non-zero int) replaces every divisor.
    """
    op = "avg_pool2d"
    kernel, stride, padding, _ = window_settings(op, kernel_size, stride, padding)
    geometry = PoolGeometry(kernel, stride, padding, ceil_mode=boolean(op, "ceil_mode", ceil_mode))
    count_include_pad = boolean(op, "count_include_pad", count_include_pad)
    divisor_override = check_divisor_override(op, divisor_override)
    x = as_tensor(x)
    _check_input(op, x)
    _check_window(op, x, geometry)
    return AvgPool2dFunction(geometry, count_include_pad, divisor_override)(x)


def _unpool_output_size(
    op: str, x: Tensor, kernel: Pair, stride: Pair, padding: Pair, output_size: Any
) -> Pair:
    """The default size (H - 1) * stride - 2 * padding + kernel, or ``output_size`` ((H, W)
    or the whole (N, C, H, W) shape), which PyTorch allows within one stride of the default."""
    default = tuple(
        (n - 1) * s - 2 * p + k
        for n, k, s, p in zip(x.shape[-2:], kernel, stride, padding, strict=True)
    )
    if output_size is None:
        if min(default) < 1:
            raise ValueError(
                f"{op}: output size {default} is too small (input {tuple(x.shape[-2:])}, "
                f"kernel_size {kernel}, stride {stride}, padding {padding})"
            )
        return default  # type: ignore[return-value]
    sizes = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size,)
    if len(sizes) == 4:
        sizes = sizes[2:]
    if len(sizes) != 2 or not all(is_int(v) for v in sizes):
        raise TypeError(
            f"{op}: output_size must be (H, W) or (N, C, H, W), ints, got {output_size!r}"
        )
    for axis, (size, d, s) in enumerate(zip(sizes, default, stride, strict=True)):
        if not d - s < size < d + s:
            raise ValueError(
                f"{op}: invalid output_size {output_size!r}: dim {axis} must be strictly "
                f"between {d - s} and {d + s} (the default {d} plus or minus the stride)"
            )
    return int(sizes[0]), int(sizes[1])


def max_unpool2d(
    x: Any,
    indices: Any,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
    output_size: Any = None,
) -> Tensor:
    """The partial inverse of :func:`max_pool2d`: zeros, except each value of ``x`` at its
    position ``indices`` (the int64 indices that ``max_pool2d(..., return_indices=True)``
    returned) in its flattened output plane. Output (H - 1) * stride - 2 * padding + kernel
    rows (likewise columns), or ``output_size`` (the pooled input's size, when pooling
    dropped rows or columns)."""
    op = "max_unpool2d"
    kernel = int_pair(op, "kernel_size", kernel_size, minimum=1)
    stride = kernel if stride is None else int_pair(op, "stride", stride, minimum=1)
    padding = int_pair(op, "padding", padding, minimum=0)
    x, indices = as_tensor(x), as_tensor(indices)
    _check_input(op, x)
    if indices.dtype != backend.int64:
        raise TypeError(f"{op}: indices must be int64, got {indices.dtype}")
    if indices.shape != x.shape:
        raise ValueError(
            f"{op}: indices must have the shape of the input {x.shape}, got {indices.shape}"
        )
    if indices.device != x.device:
        raise RuntimeError(
            f"{op}: input and indices must be on one device, got {x.device} and {indices.device}"
        )
    oh, ow = _unpool_output_size(op, x, kernel, stride, padding, output_size)
    if indices.numel() and values_checkable(indices):
        low, high = int(indices.data.min()), int(indices.data.max())
        if low < 0 or high >= oh * ow:
            bad = low if low < 0 else high
            raise ValueError(
                f"{op}: index {bad} is out of range for output planes of {oh}x{ow} "
                f"(indices must be in [0, {oh * ow}))"
            )
    return MaxUnpool2dFunction(indices.data, (oh, ow))(x)


def _resolve(output_size: tuple[int | None, int | None], x: Tensor) -> Pair:
    return tuple(  # type: ignore[return-value]
        n if o is None else o for o, n in zip(output_size, x.shape[-2:], strict=True)
    )


def adaptive_avg_pool2d(x: Any, output_size: OutputSize) -> Tensor:
    """Average pooling to a fixed ``output_size`` (int or pair; None keeps that input size):
    bin i of an axis of size n covers [floor(i n / out), ceil((i + 1) n / out))."""
    op = "adaptive_avg_pool2d"
    output_size = adaptive_output_size(op, output_size)
    x = as_tensor(x)
    _check_input(op, x)
    return AdaptiveAvgPool2dFunction(_resolve(output_size, x))(x)


def adaptive_max_pool2d(
    x: Any, output_size: OutputSize, return_indices: bool = False
) -> Tensor | tuple[Tensor, Tensor]:
    """Max pooling to a fixed ``output_size``, over the bins of :func:`adaptive_avg_pool2d`;
    with ``return_indices`` also the int64 flat (H, W) index of each maximum."""
    op = "adaptive_max_pool2d"
    output_size = adaptive_output_size(op, output_size)
    return_indices = boolean(op, "return_indices", return_indices)
    x = as_tensor(x)
    _check_input(op, x)
    fn = AdaptiveMaxPool2dFunction(_resolve(output_size, x), return_indices)
    if not return_indices:
        return fn(x)
    y, indices = fn(x)
    return y, indices.detach()


def _check_batch(op: str, x: Tensor) -> None:
    if x.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D (N, C, H, W) input, got shape {x.shape}")


def global_avg_pool2d(x: Any) -> Tensor:
    """Mean of each feature map: (N, C, H, W) -> (N, C)."""
    op = "global_avg_pool2d"
    x = as_tensor(x)
    _check_batch(op, x)
    _check_input(op, x)
    return Mean(dim=(2, 3))(x)


def global_max_pool2d(x: Any) -> Tensor:
    """Max of each feature map: (N, C, H, W) -> (N, C); integer inputs keep their dtype."""
    op = "global_max_pool2d"
    x = as_tensor(x)
    _check_batch(op, x)
    _check_input(op, x, integers=True)
    return GlobalMaxPool2dFunction()(x)
