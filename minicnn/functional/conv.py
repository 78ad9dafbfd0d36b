"""``conv2d`` and ``conv_transpose2d``: check the arguments, then call the op's Function."""

from __future__ import annotations

from typing import Any

from ..ops.conv import Conv2dFunction, ConvGeometry, ConvTranspose2dFunction, transposed_output_size
from ..ops.im2col import Padding, Pair
from ..tensor import Tensor, as_tensor
from ._args import int_pair, positive_int, same_dtype

IntOrPair = int | tuple[int, int]


def _check_arrays(op: str, x: Tensor, weight: Tensor, bias: Tensor | None, layout: str) -> None:
    """4-D input and weight, 1-D bias, one dtype for all."""
    if x.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D input (N, C, H, W), got shape {x.shape}")
    if weight.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D weight {layout}, got shape {weight.shape}")
    same_dtype(op, input=x, weight=weight, bias=bias)


def _check_channels(op: str, x: Tensor, weight: Tensor, channels: int, groups: int) -> None:
    if x.shape[1] != channels:
        raise ValueError(
            f"{op}: expected input with {channels} channels (weight {weight.shape}, "
            f"groups={groups}), got shape {x.shape}"
        )


def _check_bias(op: str, bias: Tensor | None, channels: int) -> None:
    if bias is not None and bias.shape != (channels,):
        raise ValueError(f"{op}: expected bias of shape ({channels},), got {bias.shape}")


def _check_divisible(op: str, name: str, value: int, weight: Tensor, groups: int) -> None:
    if value % groups:
        raise ValueError(
            f"{op}: {name} {value} (weight {weight.shape}) must be divisible by groups={groups}"
        )


def same_padding(kernel: Pair, dilation: Pair) -> Padding:
    """PyTorch's padding="same": d*(k-1) in all, the odd one out at the bottom/right."""
    totals = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
    return tuple((t // 2, t - t // 2) for t in totals)  # type: ignore[return-value]


def conv_padding(op: str, padding: Any, stride: Pair, kernel: Pair, dilation: Pair) -> Padding:
    """``padding`` (an int, a pair, ``"valid"`` or ``"same"``) as per-side pairs."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding == "same":
            if stride != (1, 1):
                raise ValueError(f"{op}: padding='same' requires stride 1, got stride {stride}")
            return same_padding(kernel, dilation)
        raise ValueError(
            f"{op}: padding must be an int, a pair of ints, 'same' or 'valid', got {padding!r}"
        )
    ph, pw = int_pair(op, "padding", padding, minimum=0)
    return (ph, ph), (pw, pw)


def check_output_padding(op: str, output_padding: Pair, stride: Pair, dilation: Pair) -> None:
    """A transposed convolution's output_padding must be below the stride or the dilation."""
    if min(output_padding) < 0 or any(
        output_padding[a] >= max(stride[a], dilation[a]) for a in (0, 1)
    ):
        raise ValueError(
            f"{op}: output_padding must be non-negative and smaller than either stride or "
            f"dilation, "
            f"got output_padding {output_padding}, stride {stride}, dilation {dilation}"
        )


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
    groups = positive_int(op, "groups", groups)
    stride = int_pair(op, "stride", stride, minimum=1)
    dilation = int_pair(op, "dilation", dilation, minimum=1)
    kernel = weight.shape[2:]
    pads = conv_padding(op, padding, stride, kernel, dilation)
    out_channels, in_per_group = weight.shape[:2]
    _check_divisible(op, "out_channels", out_channels, weight, groups)
    if x.shape[1] % groups:
        raise ValueError(
            f"{op}: input channels {x.shape[1]} (input {x.shape}) must be divisible by "
            f"groups={groups}"
        )
    _check_channels(op, x, weight, in_per_group * groups, groups)
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
    groups = positive_int(op, "groups", groups)
    if isinstance(padding, str):
        raise TypeError(f"{op}: padding must be an int or a pair of ints, got {padding!r}")
    stride = int_pair(op, "stride", stride, minimum=1)
    dilation = int_pair(op, "dilation", dilation, minimum=1)
    pad = int_pair(op, "padding", padding, minimum=0)
    extra = int_pair(op, "output_padding", output_padding)
    check_output_padding(op, extra, stride, dilation)
    in_channels, out_per_group = weight.shape[:2]
    _check_divisible(op, "in_channels", in_channels, weight, groups)
    _check_channels(op, x, weight, in_channels, groups)
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
