"""Pooling layers: max, average, adaptive and global pooling over (H, W), and max unpooling.

Each layer checks its settings when it is built (with the checks of ``minicnn.functional``)
and calls the function of ``minicnn.functional`` in ``forward``. Inputs are ``(N, C, H, W)``
or unbatched ``(C, H, W)``, as in PyTorch (the global poolings take batches only).
"""

from __future__ import annotations

from typing import Any

from .. import functional as F
from ..functional._args import boolean, int_pair
from ..functional.pool import adaptive_output_size, check_divisor_override, window_settings
from ..tensor import Tensor
from .module import Module

IntOrPair = int | tuple[int, int]
OutputSize = int | tuple[int | None, int | None]


class _WindowPool2d(Module):
    """What max and average pooling share: checked window settings and repr.

    The settings are kept as given (an int stays an int), so that the repr reads like
    PyTorch's; ``stride`` defaults to ``kernel_size``.
    """

    def __init__(
        self, kernel_size: IntOrPair, stride: IntOrPair | None, padding: IntOrPair, dilation: Any
    ):
        super().__init__()
        window_settings(type(self).__name__, kernel_size, stride, padding, dilation)
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_WindowPool2d):
    """Largest value of each ``kernel_size`` window (taps ``dilation`` apart), windows
    ``stride`` apart (default: ``kernel_size``, i.e. non-overlapping), over the input padded
    with -inf. The gradient flows only to each window's maximum.

    Shapes: ``(N, C, H, W)`` -> ``(N, C, H_out, W_out)``,
    ``H_out = (H + 2*padding - dilation*(kernel-1) - 1) // stride + 1`` (rounded up with
    ``ceil_mode``); ``padding`` is at most half the kernel. With ``return_indices`` the layer
    returns ``(output, indices)``, the indices that :class:`MaxUnpool2d` takes.
    """

    def __init__(
        self,
        kernel_size: IntOrPair,
        stride: IntOrPair | None = None,
        padding: IntOrPair = 0,
        dilation: IntOrPair = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ):
        super().__init__(kernel_size, stride, padding, dilation)
        name = type(self).__name__
        self.dilation = dilation
        self.return_indices = boolean(name, "return_indices", return_indices)
        self.ceil_mode = boolean(name, "ceil_mode", ceil_mode)

    def forward(self, x: Any) -> Tensor | tuple[Tensor, Tensor]:
        return F.max_pool2d(
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil_mode,
            self.return_indices,
        )

    def extra_repr(self) -> str:
        s = super().extra_repr()
        if self.dilation != 1:
            s += f", dilation={self.dilation}"
        if self.ceil_mode:
            s += ", ceil_mode=True"
        if self.return_indices:
            s += ", return_indices=True"
        return s


class AvgPool2d(_WindowPool2d):
    """Mean of each ``kernel_size`` window, windows ``stride`` apart (default: ``kernel_size``),
    over the zero-padded input; ``count_include_pad=False`` divides by the number of real
    (unpadded) elements instead, ``divisor_override`` by that number.

    Shapes: ``(N, C, H, W)`` -> ``(N, C, H_out, W_out)``,
    ``H_out = (H + 2*padding - kernel) // stride + 1`` (rounded up with ``ceil_mode``);
    ``padding`` is at most half the kernel.
    """

    def __init__(
        self,
        kernel_size: IntOrPair,
        stride: IntOrPair | None = None,
        padding: IntOrPair = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ):
        super().__init__(kernel_size, stride, padding, 1)
        name = type(self).__name__
        self.ceil_mode = boolean(name, "ceil_mode", ceil_mode)
        self.count_include_pad = boolean(name, "count_include_pad", count_include_pad)
        check_divisor_override(name, divisor_override)
        self.divisor_override = divisor_override

    def forward(self, x: Any) -> Tensor:
        return F.avg_pool2d(
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )

    def extra_repr(self) -> str:
        s = super().extra_repr()
        if self.ceil_mode:
            s += ", ceil_mode=True"
        if not self.count_include_pad:
            s += ", count_include_pad=False"
        if self.divisor_override is not None:
            s += f", divisor_override={self.divisor_override}"
        return s


class MaxUnpool2d(Module):
    """The partial inverse of :class:`MaxPool2d` (built with ``return_indices=True``): puts
    each pooled value back where its maximum was, zeros elsewhere. Used to project feature
    maps back to the image (deconvnet visualisation) and in segmentation decoders.

    ``forward(x, indices, output_size=None)``; shapes ``(N, C, H, W)`` -> ``(N, C, H_out,
    W_out)`` with ``H_out = (H - 1)*stride - 2*padding + kernel_size``, or ``output_size``
    (the pooled input's size, when pooling dropped its last rows or columns).
    """

    def __init__(
        self, kernel_size: IntOrPair, stride: IntOrPair | None = None, padding: IntOrPair = 0
    ):
        super().__init__()
        name = type(self).__name__
        self.kernel_size = int_pair(name, "kernel_size", kernel_size, minimum=1)
        self.stride = (
            self.kernel_size if stride is None else int_pair(name, "stride", stride, minimum=1)
        )
        self.padding = int_pair(name, "padding", padding, minimum=0)

    def forward(self, x: Any, indices: Any, output_size: Any = None) -> Tensor:
        return F.max_unpool2d(x, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed ``output_size`` (an int or an (h, w) pair; None keeps that
    input size), whatever the input size: window ``i`` covers input rows
    ``floor(i*H/h) .. ceil((i+1)*H/h)``. Shapes: ``(N, C, H, W)`` -> ``(N, C, h, w)``.
    """

    def __init__(self, output_size: OutputSize):
        super().__init__()
        adaptive_output_size(type(self).__name__, output_size)
        self.output_size = output_size

    def forward(self, x: Any) -> Tensor:
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(Module):
    """Max pooling to a fixed ``output_size``, over the windows of :class:`AdaptiveAvgPool2d`;
    with ``return_indices`` returns ``(output, indices)``. Shapes: ``(N, C, H, W)`` ->
    ``(N, C, h, w)``.
    """

    def __init__(self, output_size: OutputSize, return_indices: bool = False):
        super().__init__()
        name = type(self).__name__
        adaptive_output_size(name, output_size)
        self.output_size = output_size
        self.return_indices = boolean(name, "return_indices", return_indices)

    def forward(self, x: Any) -> Tensor | tuple[Tensor, Tensor]:
        return F.adaptive_max_pool2d(x, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class GlobalAvgPool2d(Module):
    """Mean of each feature map: ``(N, C, H, W)`` -> ``(N, C)`` (ready for a Linear layer).

    Not in PyTorch, where one writes ``AdaptiveAvgPool2d(1)`` then ``Flatten()``.
    """

    def forward(self, x: Any) -> Tensor:
        return F.global_avg_pool2d(x)


class GlobalMaxPool2d(Module):
    """Largest value of each feature map: ``(N, C, H, W)`` -> ``(N, C)``."""

    def forward(self, x: Any) -> Tensor:
        return F.global_max_pool2d(x)
