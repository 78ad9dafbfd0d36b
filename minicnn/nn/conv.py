"""Convolution layers: ``Conv2d`` and ``ConvTranspose2d``."""

from __future__ import annotations

import math
from typing import Any

from .. import functional as F
from ..functional._args import int_pair, positive_int
from ..tensor import Tensor
from . import init
from ._utils import empty_parameter
from .module import Module


class _ConvNd(Module):
    """What both convolutions share: arguments, parameters, PyTorch's initialisation, repr."""

    transposed = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any,
        padding: Any,
        dilation: Any,
        groups: int,
        bias: bool,
        output_padding: Any,
        device: str | None,
        dtype: Any,
    ):
        super().__init__()
        name = type(self).__name__
        self.in_channels = positive_int(name, "in_channels", in_channels)
        self.out_channels = positive_int(name, "out_channels", out_channels)
        self.groups = positive_int(name, "groups", groups)
        for arg, value in [("in_channels", in_channels), ("out_channels", out_channels)]:
            if value % groups:
                raise ValueError(f"{name}: {arg}={value} must be divisible by groups={groups}")
        self.kernel_size = int_pair(name, "kernel_size", kernel_size, minimum=1)
        self.stride = int_pair(name, "stride", stride, minimum=1)
        self.dilation = int_pair(name, "dilation", dilation, minimum=1)
        self.output_padding = int_pair(name, "output_padding", output_padding, minimum=0)
        if isinstance(padding, str) and self.transposed:
            raise ValueError(f"{name}: padding must be an int or a pair, got {padding!r}")
        # the same rule as F.conv2d's, checked here so that a bad setting fails at once
        F.conv.conv_padding(name, padding, self.stride, self.kernel_size, self.dilation)
        self.padding = padding if isinstance(padding, str) else int_pair(name, "padding", padding)
        if self.transposed:
            # (in, out/groups, kh, kw): the layout of the conv2d whose input gradient this is
            shape = (in_channels, out_channels // groups, *self.kernel_size)
        else:
            shape = (out_channels, in_channels // groups, *self.kernel_size)
        self.weight = empty_parameter(shape, device, dtype)
        if bias:
            self.bias = empty_parameter((out_channels,), device, dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: weight and bias uniform on [-1/sqrt(fan_in), 1/sqrt(fan_in)],
        with fan_in = weight.shape[1] * kh * kw (for ConvTranspose2d that is out/groups * kh * kw,
        exactly as PyTorch computes it)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init.fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        # the same fields, order and omissions as PyTorch's repr
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        s += f", stride={self.stride}"
        if self.padding != (0,) * len(self.padding):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.output_padding != (0, 0):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class Conv2d(_ConvNd):
    """2-D convolution (cross-correlation) of image batches with learned filters.

    ``y[n, o] = bias[o] + sum_c weight[o, c] (*) x[n, c]`` over the input channels of ``o``'s group.
    Shapes: input ``(N, in_channels, H, W)`` -> output ``(N, out_channels, H_out, W_out)`` with
    ``H_out = (H + 2*padding - dilation*(kernel-1) - 1) // stride + 1`` (likewise W_out);
    ``weight`` is ``(out_channels, in_channels/groups, kh, kw)``, ``bias`` ``(out_channels,)``.
    ``padding`` may be ``"same"`` (output as large as the input; stride 1) or ``"valid"`` (0).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] | str = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        bias: bool = True,
        *,
        device: str | None = None,
        dtype: Any = None,
    ):
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
            0, device, dtype,
        )  # fmt: skip

    def forward(self, x: Any) -> Tensor:
        return F.conv2d(
            x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )


class ConvTranspose2d(_ConvNd):
    """2-D transposed convolution ("deconvolution"): the gradient of ``Conv2d`` with respect
    to its input, used to upsample. Each input pixel adds a scaled copy of the filter to the
    output, ``stride`` pixels apart.

    Shapes: input ``(N, in_channels, H, W)`` -> output ``(N, out_channels, H_out, W_out)`` with
    ``H_out = (H-1)*stride - 2*padding + dilation*(kernel-1) + output_padding + 1``;
    ``weight`` is ``(in_channels, out_channels/groups, kh, kw)``, ``bias`` ``(out_channels,)``.
    """

    transposed = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        output_padding: int | tuple[int, int] = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: int | tuple[int, int] = 1,
        *,
        device: str | None = None,
        dtype: Any = None,
    ):
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
            output_padding, device, dtype,
        )  # fmt: skip
        F.conv.check_output_padding(
            "ConvTranspose2d", self.output_padding, self.stride, self.dilation
        )

    def forward(self, x: Any) -> Tensor:
        return F.conv_transpose2d(
            x,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self.output_padding,
            self.groups,
            self.dilation,
        )
