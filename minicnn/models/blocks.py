"""Building blocks shared by the models: ``DepthwiseSeparableConv`` (MobileNet) and ``CBAM``
(Woo et al., 2018: channel attention, then spatial attention)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from .. import functions, nn
from ..functional._args import int_pair, positive_int
from ..tensor import Tensor


class DepthwiseSeparableConv(nn.Sequential):
    """A ``k x k`` convolution split in two (MobileNet): ``depthwise``, a ``k x k`` convolution
    of each input channel on its own (``groups=in_channels``), then ``pointwise``, a 1x1
    convolution that mixes the channels.

    The same output shape as ``Conv2d(in_channels, out_channels, kernel_size, stride, padding)``
    with ``k*k*in + in*out`` weights instead of ``k*k*in*out`` (for 3x3 and 256 channels, 8.7
    times fewer), and as many fewer multiply-accumulates. ``norm_layer`` (e.g.
    ``nn.BatchNorm2d``) and ``activation`` (e.g. ``nn.ReLU``), when given, follow each of the
    two convolutions, as in MobileNet's block (``depthwise, bn1, act1, pointwise, bn2, act2``).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int] = 3,
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] | str = 1,
        dilation: int | tuple[int, int] = 1,
        bias: bool = True,
        *,
        norm_layer: Callable[[int], nn.Module] | None = None,
        activation: Callable[[], nn.Module] | None = None,
    ):
        in_channels = positive_int("DepthwiseSeparableConv", "in_channels", in_channels)
        out_channels = positive_int("DepthwiseSeparableConv", "out_channels", out_channels)
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        layers["depthwise"] = nn.Conv2d(
            in_channels, in_channels, kernel_size, stride, padding, dilation, in_channels, bias
        )
        if norm_layer is not None:
            layers["bn1"] = norm_layer(in_channels)
        if activation is not None:
            layers["act1"] = activation()
        layers["pointwise"] = nn.Conv2d(in_channels, out_channels, 1, bias=bias)
        if norm_layer is not None:
            layers["bn2"] = norm_layer(out_channels)
        if activation is not None:
            layers["act2"] = activation()
        super().__init__(layers)


class ChannelAttention(nn.Module):
    """Which channels matter: ``M_c = sigmoid(MLP(avgpool(x)) + MLP(maxpool(x)))``, one weight
    per channel, with the same MLP (``C -> C/reduction -> C``) for both descriptors; returns
    ``x * M_c``. ``gate`` (the sigmoid) outputs ``M_c``, shaped ``(N, C)``: hook it to see it.
    """

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        channels = positive_int("ChannelAttention", "channels", channels)
        reduction = positive_int("ChannelAttention", "reduction", reduction)
        hidden = max(channels // reduction, 1)
        self.mlp = nn.Sequential(
            nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, channels)
        )
        self.gate = nn.Sigmoid()

    def forward(self, x: Tensor) -> Tensor:
        weights = self.gate(self.mlp(x.mean((2, 3))) + self.mlp(x.amax((2, 3))))
        return x * weights.reshape(*weights.shape, 1, 1)


class SpatialAttention(nn.Module):
    """Where to look: ``M_s = sigmoid(conv_kxk([mean_c(x); max_c(x)]))``, one weight per pixel
    from the channel-wise average and maximum maps; returns ``x * M_s``. ``gate`` outputs
    ``M_s``, shaped ``(N, 1, H, W)``."""

    def __init__(self, kernel_size: int = 7):
        super().__init__()
        k = int_pair("SpatialAttention", "kernel_size", kernel_size, minimum=1)
        if k[0] % 2 == 0 or k[1] % 2 == 0:
            raise ValueError(f"SpatialAttention: kernel_size must be odd, got {kernel_size!r}")
        self.conv = nn.Conv2d(2, 1, k, padding=(k[0] // 2, k[1] // 2))
        self.gate = nn.Sigmoid()

    def forward(self, x: Tensor) -> Tensor:
        pooled = functions.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], dim=1)
        return x * self.gate(self.conv(pooled))


class CBAM(nn.Module):
    """Convolutional Block Attention Module: ``F' = M_c(F) * F``, then ``F'' = M_s(F') * F'``
    (:class:`ChannelAttention`, then :class:`SpatialAttention`). Output shape = input shape."""

    def __init__(self, channels: int, reduction: int = 16, kernel_size: int = 7):
        super().__init__()
        self.channel_attention = ChannelAttention(channels, reduction)
        self.spatial_attention = SpatialAttention(kernel_size)

    def forward(self, x: Tensor) -> Tensor:
        return self.spatial_attention(self.channel_attention(x))
