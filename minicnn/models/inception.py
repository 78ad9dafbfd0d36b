"""Inception (Szegedy et al., 2014, GoogLeNet): let the network choose its filter size.

An Inception block runs four branches side by side on the same input and concatenates their
outputs on the channels: a 1x1 convolution; a 1x1 "bottleneck" then a 3x3; a 1x1 bottleneck
then a 5x5; a 3x3 max pool (stride 1) then a 1x1 projection. The 1x1 bottlenecks make the large
filters affordable: on 28x28x192, a 5x5 convolution to 32 channels costs 120,422,400
multiply-accumulates, a 1x1 to 16 channels first and then the 5x5 only 12,443,648.
"""

from __future__ import annotations

from .. import functions, nn
from ..functional._args import positive_int, probability
from ..tensor import Tensor


def conv_relu(
    in_channels: int, out_channels: int, kernel_size: int, batch_norm: bool = False
) -> nn.Sequential:
    """A 'same' convolution and ReLU (with BatchNorm between, and no bias, if ``batch_norm``:
    torchvision's ``BasicConv2d``)."""
    conv = nn.Conv2d(
        in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=not batch_norm
    )
    if batch_norm:
        return nn.Sequential(conv, nn.BatchNorm2d(out_channels, eps=0.001), nn.ReLU())
    return nn.Sequential(conv, nn.ReLU())


class InceptionBlock(nn.Module):
    """Four branches on the same input, concatenated on the channels::

        branch1: 1x1 (ch1x1)
        branch2: 1x1 (ch3x3red) -> 3x3 (ch3x3)
        branch3: 1x1 (ch5x5red) -> 5x5 (ch5x5)
        branch4: maxpool 3x3, stride 1 -> 1x1 (pool_proj)

    Every branch keeps the height and width; the output has ``ch1x1 + ch3x3 + ch5x5 +
    pool_proj`` channels (the course's 28x28x192 block, ``InceptionBlock(192, 64, 96, 128, 16,
    32, 32)``, gives 28x28x256). Each convolution is followed by ReLU (and preceded by
    BatchNorm, without bias, if ``batch_norm``). The 5x5 is a true 5x5, as in the paper
    (torchvision's GoogLeNet uses a 3x3 there).
    """

    def __init__(
        self,
        in_channels: int,
        ch1x1: int,
        ch3x3red: int,
        ch3x3: int,
        ch5x5red: int,
        ch5x5: int,
        pool_proj: int,
        *,
        batch_norm: bool = False,
    ):
        super().__init__()
        for name, value in [
            ("in_channels", in_channels), ("ch1x1", ch1x1), ("ch3x3red", ch3x3red),
            ("ch3x3", ch3x3), ("ch5x5red", ch5x5red), ("ch5x5", ch5x5), ("pool_proj", pool_proj),
        ]:  # fmt: skip
            positive_int("InceptionBlock", name, value)
        bn = batch_norm
        self.branch1 = conv_relu(in_channels, ch1x1, 1, bn)
        self.branch2 = nn.Sequential(
            conv_relu(in_channels, ch3x3red, 1, bn), conv_relu(ch3x3red, ch3x3, 3, bn)
        )
        self.branch3 = nn.Sequential(
            conv_relu(in_channels, ch5x5red, 1, bn), conv_relu(ch5x5red, ch5x5, 5, bn)
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1),
            conv_relu(in_channels, pool_proj, 1, bn),
        )
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj

    def forward(self, x: Tensor) -> Tensor:
        branches = [self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)]
        return functions.cat(branches, dim=1)


class GoogLeNetMini(nn.Module):
    """A small GoogLeNet for 32x32 images (CIFAR), quick to train on a CPU::

        stem: conv 3x3 (32) -> bn -> relu                                        32x32x32
        inception3a (64), inception3b (96)                                       32x32x96
        maxpool 3x3/2                                                           16x16x96
        inception4a (128), inception4b (160)                                    16x16x160
        maxpool 3x3/2                                                             8x8x160
        inception5a (192)                                                         8x8x192
        global average pool -> dropout -> fc num_classes

    The blocks use BatchNorm (``batch_norm=True``); ``width`` scales every channel count
    (1.0: the numbers above).
    """

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 3,
        dropout: float = 0.2,
        *,
        width: float = 1.0,
    ):
        super().__init__()
        num_classes = positive_int("googlenet_mini", "num_classes", num_classes)
        in_channels = positive_int("googlenet_mini", "in_channels", in_channels)
        dropout = probability("googlenet_mini", "dropout", dropout)
        if isinstance(width, bool) or not isinstance(width, (int, float)) or not width > 0:
            raise ValueError(f"googlenet_mini: width must be a positive number, got {width!r}")

        def c(n: int) -> int:
            return max(1, round(n * width))

        def block(cin: int, *channels: int) -> InceptionBlock:
            return InceptionBlock(cin, *(c(n) for n in channels), batch_norm=True)

        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, c(32), 3, padding=1, bias=False),
            nn.BatchNorm2d(c(32)),
            nn.ReLU(),
        )
        self.inception3a = block(c(32), 16, 24, 32, 4, 8, 8)
        self.inception3b = block(self.inception3a.out_channels, 24, 32, 48, 8, 12, 12)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, padding=1)
        self.inception4a = block(self.inception3b.out_channels, 32, 32, 64, 8, 16, 16)
        self.inception4b = block(self.inception4a.out_channels, 40, 40, 80, 10, 20, 20)
        self.maxpool4 = nn.MaxPool2d(3, stride=2, padding=1)
        self.inception5a = block(self.inception4b.out_channels, 48, 48, 96, 12, 24, 24)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(self.inception5a.out_channels, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.stem(x)
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.maxpool4(self.inception4b(self.inception4a(x)))
        x = self.avgpool(self.inception5a(x)).flatten(1)
        return self.fc(self.dropout(x))


def googlenet_mini(num_classes: int = 10, in_channels: int = 3, **kwargs: object) -> GoogLeNetMini:
    """:class:`GoogLeNetMini` (``dropout``, ``width`` in ``kwargs``)."""
    return GoogLeNetMini(num_classes, in_channels, **kwargs)  # type: ignore[arg-type]
