"""U-Net (Ronneberger et al., 2015): per-pixel classification (segmentation).

A contracting path (the encoder) halves the size and doubles the channels ``depth`` times;
an expanding path (the decoder) undoes it with 2x2 transposed convolutions, and at each level
concatenates the encoder's maps of that size (the skip connection: the fine detail the
pooling threw away), then applies two 3x3 convolutions. A 1x1 convolution gives the class
scores of each pixel::

    in -> [conv3x3 x2] 64 ------------------------------------------> cat -> [conv3x3 x2] 64 -> 1x1
           maxpool -> [conv3x3 x2] 128 ---------------------> cat -> [conv3x3 x2] 128 -^ up
                       maxpool -> ... -> [conv3x3 x2] 1024 (bottleneck) -^ up

The 3x3 convolutions are padded (the paper's are not and crop the skips), so the output has the
input's height and width; where a size is odd, the upsampled map is padded with zeros to its
skip's size.
"""

from __future__ import annotations

from .. import functions, nn
from ..functional._args import positive_int
from ..tensor import Tensor


class DoubleConv(nn.Sequential):
    """``(conv3x3 -> [BatchNorm] -> ReLU) x 2``, padded: the size stays."""

    def __init__(self, in_channels: int, out_channels: int, batch_norm: bool = True):
        layers: list[nn.Module] = []
        for cin in (in_channels, out_channels):
            layers.append(nn.Conv2d(cin, out_channels, 3, padding=1, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(out_channels))
            layers.append(nn.ReLU())
        super().__init__(*layers)


class UNet(nn.Module):
    """``encoder[i]`` (DoubleConv, ``base_channels * 2**i`` channels) with ``pool`` between the
    levels, ``bottleneck``, then for each level back up ``upsamplers[i]`` (2x2 transposed
    convolution, stride 2, halving the channels), concatenation with the skip, ``decoder[i]``;
    ``head``: 1x1 convolution to ``num_classes`` score maps.

    Input ``(N, in_channels, H, W)`` -> output ``(N, num_classes, H, W)``, any H, W >=
    ``2**depth``. ``batch_norm`` after each 3x3 convolution (the paper had none).
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 2,
        base_channels: int = 64,
        depth: int = 4,
        *,
        batch_norm: bool = True,
    ):
        super().__init__()
        in_channels = positive_int("unet", "in_channels", in_channels)
        num_classes = positive_int("unet", "num_classes", num_classes)
        base_channels = positive_int("unet", "base_channels", base_channels)
        self.depth = positive_int("unet", "depth", depth)
        widths = [base_channels * 2**i for i in range(depth + 1)]
        self.encoder = nn.ModuleList()
        cin = in_channels
        for w in widths[:-1]:
            self.encoder.append(DoubleConv(cin, w, batch_norm))
            cin = w
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.bottleneck = DoubleConv(widths[-2], widths[-1], batch_norm)
        self.upsamplers = nn.ModuleList()
        self.decoder = nn.ModuleList()
        for w_in, w_out in zip(widths[:0:-1], widths[-2::-1], strict=True):
            self.upsamplers.append(nn.ConvTranspose2d(w_in, w_out, kernel_size=2, stride=2))
            self.decoder.append(DoubleConv(2 * w_out, w_out, batch_norm))
        self.head = nn.Conv2d(widths[0], num_classes, kernel_size=1)

    def forward(self, x: Tensor) -> Tensor:
        if min(x.shape[-2:]) < 2**self.depth:
            raise ValueError(
                f"unet: the input's height and width must be at least 2**depth = "
                f"{2**self.depth}, got {tuple(x.shape[-2:])}"
            )
        skips = []
        for down in self.encoder:
            x = down(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottleneck(x)
        for up, conv, skip in zip(self.upsamplers, self.decoder, reversed(skips), strict=True):
            x = up(x)
            dh, dw = skip.shape[-2] - x.shape[-2], skip.shape[-1] - x.shape[-1]
            if dh or dw:  # an odd size was floored by the pool: pad back to the skip's size
                x = functions.pad(x, (dw // 2, dw - dw // 2, dh // 2, dh - dh // 2))
            x = conv(functions.cat([skip, x], dim=1))
        return self.head(x)


def unet(
    in_channels: int = 1,
    num_classes: int = 2,
    base_channels: int = 64,
    depth: int = 4,
    **kwargs: bool,
) -> UNet:
    """:class:`UNet` (``batch_norm`` in ``kwargs``); the default is the paper's size."""
    return UNet(in_channels, num_classes, base_channels, depth, **kwargs)
