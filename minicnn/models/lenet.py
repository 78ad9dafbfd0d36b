"""LeNet-5 (LeCun et al., 1998): the first convolutional network to read handwritten digits.

::

    input 1x32x32 -> conv 6@5x5 -> 6x28x28 -> pool 2x2 -> 6x14x14
                  -> conv 16@5x5 -> 16x10x10 -> pool 2x2 -> 16x5x5
                  -> flatten 400 -> fc 120 -> fc 84 -> fc num_classes

61,706 parameters for 10 classes (156 + 2,416 + 48,120 + 10,164 + 850).
"""

from __future__ import annotations

from .. import nn
from ..functional._args import choice, int_pair, positive_int
from ..tensor import Tensor

#: The activations ``lenet5`` accepts, by name.
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
}

POOLS: dict[str, type[nn.Module]] = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}


class LeNet5(nn.Module):
    """LeNet-5 as two named parts: ``features`` (the convolutions, where Grad-CAM looks:
    ``features.3`` is the last convolution, ``features.4`` its activation) and ``classifier``
    (the three fully connected layers).

    ``padding`` is the first convolution's: 2 (the default) takes MNIST's 28x28 digits and pads
    them with zeros to the classic 32x32 inside the layer, exactly as padding the image would;
    ``padding=0`` takes 32x32 images. The parameters (61,706 for 10 classes) do not depend on it.
    """

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 1,
        activation: str = "relu",
        *,
        padding: int = 2,
        pool: str = "max",
    ):
        super().__init__()
        num_classes = positive_int("lenet5", "num_classes", num_classes)
        in_channels = positive_int("lenet5", "in_channels", in_channels)
        act = ACTIVATIONS[choice("lenet5", "activation", activation, ACTIVATIONS)]
        pool_layer = POOLS[choice("lenet5", "pool", pool, POOLS)]
        int_pair("lenet5", "padding", padding, minimum=0)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, kernel_size=5, padding=padding),  # C1: 6x28x28
            act(),
            pool_layer(kernel_size=2, stride=2),  # S2: 6x14x14
            nn.Conv2d(6, 16, kernel_size=5),  # C3: 16x10x10
            act(),
            pool_layer(kernel_size=2, stride=2),  # S4: 16x5x5
        )
        self.flatten = nn.Flatten()
        self.classifier = nn.Sequential(
            nn.Linear(16 * 5 * 5, 120),  # C5 (a 5x5 convolution on 5x5 maps is a linear layer)
            act(),
            nn.Linear(120, 84),  # F6
            act(),
            nn.Linear(84, num_classes),  # output: class scores (logits)
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.flatten(self.features(x)))


def lenet5(
    num_classes: int = 10,
    in_channels: int = 1,
    activation: str = "relu",
    *,
    padding: int = 2,
    pool: str = "max",
) -> LeNet5:
    """LeNet-5 for ``(N, in_channels, 28, 28)`` digits (``padding=2``, the default) or
    ``(N, in_channels, 32, 32)`` images (``padding=0``); returns ``(N, num_classes)`` logits.

    ``activation``: one of ``ACTIVATIONS`` ("relu", "tanh" as in 1998, ...); ``pool``: "max" or
    "avg" (the original's subsampling was an average).
    """
    return LeNet5(num_classes, in_channels, activation, padding=padding, pool=pool)
