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
from ._utils import check_input, describe, pair
from .module import Module

IntOrPair = int | tuple[int, int]


def _check_batch(layer: Module, x: Tensor) -> None:
    """Pooling layers take batches of images, like Conv2d (the ops also take one (C, H, W))."""
    check_input(layer, x.ndim == 4, "input of shape (N, C, H, W)", str(x.shape))


class _WindowPool2d(Module):
    """What max and average pooling share: checked window settings, input checks, repr.

    The settings are checked here, when the layer is built; they are kept as given (an int
    stays an int), so that the repr reads like PyTorch's.
    """

    def __init__(self, kernel_size: IntOrPair, stride: IntOrPair | None, padding: IntOrPair):
        super().__init__()
        name = type(self).__name__
        self._kernel = pair(name, "kernel_size", kernel_size, 1)
        self._stride = self._kernel if stride is None else pair(name, "stride", stride, 1)
        self._padding = pair(name, "padding", padding, 0)
        if any(p > k // 2 for p, k in zip(self._padding, self._kernel, strict=True)):
            raise ValueError(
                f"{name}: padding must be at most half of kernel_size, "
                f"got padding={padding!r} for kernel_size={kernel_size!r}"
            )
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding

    def _check(self, x: Tensor) -> None:
        _check_batch(self, x)
        (kh, kw), (ph, pw) = self._kernel, self._padding
        h, w = x.shape[2:]
        if kh > h + 2 * ph or kw > w + 2 * pw:
            raise ValueError(
                f"{describe(self)}: input of size {h}x{w} is too small: padded to "
                f"{h + 2 * ph}x{w + 2 * pw}, it is smaller than the kernel {kh}x{kw}"
            )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_WindowPool2d):
    """Largest value of each ``kernel_size`` window, windows ``stride`` apart (default:
    ``kernel_size``, i.e. non-overlapping), over the input padded with -inf.

    Shapes: ``(N, C, H, W)`` -> ``(N, C, H_out, W_out)``,
    ``H_out = (H + 2*padding - kernel) // stride + 1``; ``padding`` is at most half the kernel.
    The gradient flows only to each window's maximum.
    """

    def __init__(
        self, kernel_size: IntOrPair, stride: IntOrPair | None = None, padding: IntOrPair = 0
    ):
        super().__init__(kernel_size, stride, padding)

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        self._check(x)
        return max_pool2d(x, self._kernel, self._stride, self._padding)


class AvgPool2d(_WindowPool2d):
    """Mean of each ``kernel_size`` window, windows ``stride`` apart (default: ``kernel_size``),
    over the zero-padded input; ``count_include_pad=False`` divides by the number of real
    (unpadded) elements instead.

    Shapes: ``(N, C, H, W)`` -> ``(N, C, H_out, W_out)``,
    ``H_out = (H + 2*padding - kernel) // stride + 1``; ``padding`` is at most half the kernel.
    """

    def __init__(
        self,
        kernel_size: IntOrPair,
        stride: IntOrPair | None = None,
        padding: IntOrPair = 0,
        count_include_pad: bool = True,
    ):
        super().__init__(kernel_size, stride, padding)
        self.count_include_pad = count_include_pad

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        self._check(x)
        return avg_pool2d(x, self._kernel, self._stride, self._padding, self.count_include_pad)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s if self.count_include_pad else s + ", count_include_pad=False"


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed ``output_size`` (an int or an (h, w) pair; None keeps that
    input size), whatever the input size: window ``i`` covers input rows
    ``floor(i*H/h) .. ceil((i+1)*H/h)``. Shapes: ``(N, C, H, W)`` -> ``(N, C, h, w)``.
    """

    def __init__(self, output_size: int | tuple[int | None, int | None]):
        super().__init__()
        sizes = (output_size, output_size) if isinstance(output_size, int) else output_size
        if not (
            isinstance(sizes, (tuple, list))
            and len(sizes) == 2
            and all(
                v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 1)
                for v in sizes
            )
        ):
            raise ValueError(
                "AdaptiveAvgPool2d: output_size must be an int >= 1 or a pair of them "
                f"(None keeps that input size), got {output_size!r}"
            )
        self.output_size = output_size

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        _check_batch(self, x)
        return adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class GlobalAvgPool2d(Module):
    """Mean of each feature map: ``(N, C, H, W)`` -> ``(N, C)`` (ready for a Linear layer).

    Not in PyTorch, where one writes ``AdaptiveAvgPool2d(1)`` then ``Flatten()``.
    """

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        _check_batch(self, x)
        return global_avg_pool2d(x)


class GlobalMaxPool2d(Module):
    """Largest value of each feature map: ``(N, C, H, W)`` -> ``(N, C)``."""

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        _check_batch(self, x)
        return global_max_pool2d(x)
