"""Pooling layers: max, average, adaptive average and global pooling over (H, W)."""

from __future__ import annotations

from typing import Any

from ..ops.pool import (
    adaptive_avg_pool2d,
    avg_pool2d,
    global_avg_pool2d,
    global_max_pool2d,
    max_pool2d,
)
from ..tensor import Tensor, as_tensor
from ._utils import check_input
from .module import Module

IntOrPair = int | tuple[int, int]


def _check_images(layer: Module, x: Tensor, batched_only: bool = False) -> None:
    if batched_only:
        ok, expected = x.ndim == 4, "a 4-D input (N, C, H, W)"
    else:
        ok, expected = x.ndim in (3, 4), "a 3-D (C, H, W) or 4-D (N, C, H, W) input"
    check_input(layer, ok, expected, f"shape {x.shape}")


class MaxPool2d(Module):
    """Largest value of each ``kernel_size`` window, windows ``stride`` apart (default:
    ``kernel_size``, i.e. non-overlapping), over the input padded with -inf.

    Shapes: ``(N, C, H, W)`` -> ``(N, C, H_out, W_out)``,
    ``H_out = (H + 2*padding - kernel) // stride + 1``. The gradient flows only to each
    window's maximum.
    """

    def __init__(
        self, kernel_size: IntOrPair, stride: IntOrPair | None = None, padding: IntOrPair = 0
    ):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        _check_images(self, x)
        return max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """Mean of each ``kernel_size`` window, windows ``stride`` apart (default: ``kernel_size``),
    over the zero-padded input; ``count_include_pad=False`` divides by the number of real
    (unpadded) elements instead.

    Shapes: ``(N, C, H, W)`` -> ``(N, C, H_out, W_out)``,
    ``H_out = (H + 2*padding - kernel) // stride + 1``.
    """

    def __init__(
        self,
        kernel_size: IntOrPair,
        stride: IntOrPair | None = None,
        padding: IntOrPair = 0,
        count_include_pad: bool = True,
    ):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.count_include_pad = count_include_pad

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        _check_images(self, x)
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.count_include_pad)

    def extra_repr(self) -> str:
        s = f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
        return s if self.count_include_pad else s + ", count_include_pad=False"


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed ``output_size`` (an int or an (h, w) pair; None keeps that
    input size), whatever the input size: window ``i`` covers input rows
    ``floor(i*H/h) .. ceil((i+1)*H/h)``. Shapes: ``(N, C, H, W)`` -> ``(N, C, h, w)``.
    """

    def __init__(self, output_size: int | tuple[int | None, int | None]):
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        _check_images(self, x)
        return adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class GlobalAvgPool2d(Module):
    """Mean of each feature map: ``(N, C, H, W)`` -> ``(N, C)`` (ready for a Linear layer).

    Not in PyTorch, where one writes ``AdaptiveAvgPool2d(1)`` then ``Flatten()``.
    """

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        _check_images(self, x, batched_only=True)
        return global_avg_pool2d(x)


class GlobalMaxPool2d(Module):
    """Largest value of each feature map: ``(N, C, H, W)`` -> ``(N, C)``."""

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        _check_images(self, x, batched_only=True)
        return global_max_pool2d(x)
