"""VGG (Simonyan and Zisserman, 2014): stacks of 3x3 convolutions, halved by 2x2 max pools.

Two 3x3 convolutions see a 5x5 window and three see 7x7, with fewer parameters and more
nonlinearities than one large filter. The configurations list the channels of each 3x3
convolution (padding 1, so only the pools change the size) and ``"M"`` for each max pool::

    vgg16: 64 64 M 128 128 M 256 256 256 M 512 512 512 M 512 512 512 M
           -> adaptive average pool 7x7 -> fc 4096 -> fc 4096 -> fc num_classes

``vgg11`` ... ``vgg19`` and ``vgg16_bn`` are torchvision's: the same module names
(``features.0.weight``, ``classifier.6.bias``), shapes and initialisation, so torchvision's
weights load unchanged. ``vgg(cfg, ...)`` builds small variants, e.g. for 32x32 images::

    vgg([32, "M", 64, "M", 128, "M"], num_classes=10, hidden=256, pool_size=1)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import nn
from ..functional._args import positive_int, probability
from ..nn import init
from ..tensor import Tensor

#: torchvision's configurations, by its letters (A = VGG11, B = VGG13, D = VGG16, E = VGG19).
CFGS: dict[str, list[int | str]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [
        64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
        512, 512, 512, 512, "M", 512, 512, 512, 512, "M",
    ],
}  # fmt: skip


def make_layers(
    cfg: Sequence[int | str], batch_norm: bool = False, in_channels: int = 3
) -> nn.Sequential:
    """The ``features`` of a VGG: for each number a 3x3 convolution (padding 1) to that many
    channels, then BatchNorm if ``batch_norm``, then ReLU; for each ``"M"`` a 2x2 max pool."""
    layers: list[nn.Module] = []
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        v = positive_int("vgg", "cfg entries (channels or 'M')", v)
        layers.append(nn.Conv2d(in_channels, v, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(v))
        layers.append(nn.ReLU())
        in_channels = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """``features`` (convolutions and pools) -> ``avgpool`` (adaptive, to ``pool_size``) ->
    flatten -> ``classifier`` (Linear, ReLU, Dropout, Linear, ReLU, Dropout, Linear).

    The adaptive pool makes the classifier independent of the input size: a 32x32 image gives
    1x1 maps that the pool repeats to 7x7. ``init_weights`` applies torchvision's
    initialisation (Kaiming normal, fan_out, for convolutions; N(0, 0.01) for linear layers;
    zero biases).
    """

    def __init__(
        self,
        features: nn.Module,
        num_classes: int = 1000,
        init_weights: bool = True,
        dropout: float = 0.5,
        *,
        hidden: int = 4096,
        pool_size: int = 7,
    ):
        super().__init__()
        num_classes = positive_int("VGG", "num_classes", num_classes)
        dropout = probability("VGG", "dropout", dropout)
        hidden = positive_int("VGG", "hidden", hidden)
        pool_size = positive_int("VGG", "pool_size", pool_size)
        channels = [m.out_channels for m in features.modules() if isinstance(m, nn.Conv2d)]
        if not channels:
            raise ValueError("VGG: features must contain at least one Conv2d")
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((pool_size, pool_size))
        self.classifier = nn.Sequential(
            nn.Linear(channels[-1] * pool_size * pool_size, hidden),
            nn.ReLU(),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, num_classes),
        )
        if init_weights:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                    if m.bias is not None:
                        init.zeros_(m.bias)
                elif isinstance(m, nn.BatchNorm2d):
                    init.ones_(m.weight)
                    init.zeros_(m.bias)
                elif isinstance(m, nn.Linear):
                    init.normal_(m.weight, 0.0, 0.01)
                    init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        return self.classifier(x.flatten(1))


def vgg(
    cfg: Sequence[int | str] | str,
    num_classes: int = 1000,
    *,
    batch_norm: bool = False,
    in_channels: int = 3,
    **kwargs: Any,
) -> VGG:
    """A VGG from a configuration: a list of channels and ``"M"``s, or a letter of ``CFGS``.
    ``kwargs`` go to :class:`VGG` (``init_weights``, ``dropout``, ``hidden``, ``pool_size``)."""
    if isinstance(cfg, str):
        if cfg not in CFGS:
            raise ValueError(f"vgg: cfg must be a list or one of {', '.join(CFGS)}, got {cfg!r}")
        cfg = CFGS[cfg]
    in_channels = positive_int("vgg", "in_channels", in_channels)
    return VGG(make_layers(cfg, batch_norm, in_channels), num_classes, **kwargs)


def vgg11(num_classes: int = 1000, **kwargs: Any) -> VGG:
    """VGG11 (configuration A): 8 convolutions and 3 linear layers, 132,863,336 parameters."""
    return vgg("A", num_classes, **kwargs)


def vgg11_bn(num_classes: int = 1000, **kwargs: Any) -> VGG:
    """VGG11 with BatchNorm after each convolution."""
    return vgg("A", num_classes, batch_norm=True, **kwargs)


def vgg13(num_classes: int = 1000, **kwargs: Any) -> VGG:
    """VGG13 (configuration B): 133,047,848 parameters."""
    return vgg("B", num_classes, **kwargs)


def vgg13_bn(num_classes: int = 1000, **kwargs: Any) -> VGG:
    """VGG13 with BatchNorm after each convolution."""
    return vgg("B", num_classes, batch_norm=True, **kwargs)


def vgg16(num_classes: int = 1000, **kwargs: Any) -> VGG:
    """VGG16 (configuration D): 13 convolutions and 3 linear layers, 138,357,544 parameters."""
    return vgg("D", num_classes, **kwargs)


def vgg16_bn(num_classes: int = 1000, **kwargs: Any) -> VGG:
    """VGG16 with BatchNorm after each convolution: 138,365,992 parameters."""
    return vgg("D", num_classes, batch_norm=True, **kwargs)


def vgg19(num_classes: int = 1000, **kwargs: Any) -> VGG:
    """VGG19 (configuration E): 143,667,240 parameters."""
    return vgg("E", num_classes, **kwargs)


def vgg19_bn(num_classes: int = 1000, **kwargs: Any) -> VGG:
    """VGG19 with BatchNorm after each convolution."""
    return vgg("E", num_classes, batch_norm=True, **kwargs)
