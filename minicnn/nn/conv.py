"""Convolution layers: ``Conv2d`` and ``ConvTranspose2d``."""

from __future__ import annotations

import math
from typing import Any

from ..ops.conv import conv2d, conv_transpose2d
from ..tensor import Tensor, as_tensor
from . import init
from ._utils import (
    check_input,
    check_like_parameters,
    describe,
    empty_parameter,
    pair,
    positive_int,
)
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
        self.kernel_size = pair(name, "kernel_size", kernel_size, 1)
        self.stride = pair(name, "stride", stride, 1)
        self.dilation = pair(name, "dilation", dilation, 1)
        self.output_padding = pair(name, "output_padding", output_padding, 0)
        if isinstance(padding, str):
            if self.transposed or padding not in ("same", "valid"):
                allowed = (
                    "an int or a pair" if self.transposed else "an int, a pair, 'same' or 'valid'"
                )
                raise ValueError(f"{name}: padding must be {allowed}, got {padding!r}")
            if padding == "same" and self.stride != (1, 1):
                raise ValueError(
                    f"{name}: padding='same' is not supported for strided convolutions "
                    f"(stride={self.stride})"
                )
            self.padding = padding
        else:
            self.padding = pair(name, "padding", padding, 0)
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

    def _check(self, x: Tensor) -> None:
        check_input(
            self,
            x.ndim == 4 and x.shape[1] == self.in_channels,
            f"input of shape (N, {self.in_channels}, H, W)",
            str(x.shape),
        )
        check_like_parameters(self, x)

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
        x = as_tensor(x)
        self._check(x)
        if isinstance(self.padding, tuple):  # "same" always fits; "valid" is padding 0
            padding = self.padding
        else:
            padding = (0, 0) if self.padding == "valid" else None
        if padding is not None:
            size = [n + 2 * p for n, p in zip(x.shape[2:], padding, strict=True)]
            span = [d * (k - 1) + 1 for k, d in zip(self.kernel_size, self.dilation, strict=True)]
            if span[0] > size[0] or span[1] > size[1]:
                raise ValueError(
                    f"{describe(self)}: input of size {x.shape[2]}x{x.shape[3]} is too small: "
                    f"padded to {size[0]}x{size[1]}, it is smaller than the (dilated) kernel "
                    f"{span[0]}x{span[1]}"
                )
        return conv2d(
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
        for a in (0, 1):
            if self.output_padding[a] >= max(self.stride[a], self.dilation[a]):
                raise ValueError(
                    f"ConvTranspose2d: output_padding must be smaller than either stride or "
                    f"dilation, got output_padding={self.output_padding}, "
                    f"stride={self.stride}, dilation={self.dilation}"
                )

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        self._check(x)
        return conv_transpose2d(
            x,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self.output_padding,
            self.groups,
            self.dilation,
        )
