"""The benchmarked models: minicnn's model zoo, and PyTorch twins with the same module names.

Each entry of :data:`MODELS` builds a minicnn model; :func:`torch_twin` builds the same
architecture in PyTorch (torchvision is not needed) and loads the minicnn model's weights
into it, so that both frameworks compute the same function from the same numbers
(``tests/test_benchmarks.py`` checks that they do).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import minicnn
from minicnn import models
from minicnn.models.vgg import CFGS

SMALL_VGG = [64, 64, "M", 128, 128, "M"]  # VGG's 64->64 and 128->128 3x3 convolutions at 32x32


@dataclass(frozen=True)
class Model:
    """How to build a benchmarked model, and the input it is timed on."""

    build: Callable[[], Any]  # -> a minicnn model
    torch_spec: tuple  # the arguments of the PyTorch twin (see torch_twin)
    input_shape: tuple[int, ...]  # (N, C, H, W)
    num_classes: int


MODELS: dict[str, Model] = {
    "lenet5": Model(lambda: models.lenet5(padding=0), ("lenet5", 0), (64, 1, 32, 32), 10),
    "small-vgg": Model(
        lambda: models.vgg(SMALL_VGG, 10, batch_norm=True, hidden=256, pool_size=1),
        ("vgg", SMALL_VGG, True, 10, 256, 1),
        (32, 3, 32, 32),
        10,
    ),
    "small-resnet18": Model(
        lambda: models.resnet18(num_classes=10, small_input=True),
        ("resnet", "basic", [2, 2, 2, 2], 10, True, 64),
        (32, 3, 32, 32),
        10,
    ),
    "vgg16": Model(models.vgg16, ("vgg", CFGS["D"], False, 1000, 4096, 7), (1, 3, 224, 224), 1000),
    "resnet50": Model(
        lambda: models.resnet50(),
        ("resnet", "bottleneck", [3, 4, 6, 3], 1000, False, 64),
        (1, 3, 224, 224),
        1000,
    ),
}


def build_minicnn(name: str, seed: int = 0) -> Any:
    """The minicnn model ``name``, initialised from ``seed``."""
    minicnn.manual_seed(seed)
    return MODELS[name].build()


def torch_twin(torch: Any, name: str, weights: dict[str, np.ndarray]) -> Any:
    """The PyTorch model of the same architecture as ``MODELS[name]``, with ``weights``."""
    kind, *args = MODELS[name].torch_spec
    model = {"lenet5": _lenet5, "vgg": _vgg, "resnet": _resnet}[kind](torch.nn, *args)
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in weights.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    # PyTorch's BatchNorm counts its batches in a buffer that minicnn does not keep
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise RuntimeError(f"{name}: missing {missing}, unexpected {unexpected}")
    return model


# --- the PyTorch twins (torchvision's module names, which minicnn's models share) -----------


def _lenet5(nn: Any, padding: int) -> Any:
    class LeNet5(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, 6, 5, padding=padding), nn.ReLU(), nn.MaxPool2d(2, 2),
                nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
            )  # fmt: skip
            self.flatten = nn.Flatten()
            self.classifier = nn.Sequential(
                nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10)
            )

        def forward(self, x):
            return self.classifier(self.flatten(self.features(x)))

    return LeNet5()


def _vgg(nn: Any, cfg: list, batch_norm: bool, num_classes: int, hidden: int, pool: int) -> Any:
    layers, channels = [], 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
            continue
        layers.append(nn.Conv2d(channels, v, 3, padding=1))
        layers += [nn.BatchNorm2d(v)] if batch_norm else []
        layers.append(nn.ReLU())
        channels = v

    class VGG(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(*layers)
            self.avgpool = nn.AdaptiveAvgPool2d((pool, pool))
            self.classifier = nn.Sequential(
                nn.Linear(channels * pool * pool, hidden), nn.ReLU(), nn.Dropout(0.5),
                nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(0.5),
                nn.Linear(hidden, num_classes),
            )  # fmt: skip

        def forward(self, x):
            return self.classifier(self.avgpool(self.features(x)).flatten(1))

    return VGG()


def _resnet(
    nn: Any, block: str, layers: list, num_classes: int, small_input: bool, base: int
) -> Any:
    def bn_conv(cin, cout, k, stride=1):
        return nn.Conv2d(cin, cout, k, stride, padding=k // 2, bias=False)

    class BasicBlock(nn.Module):
        expansion = 1

        def __init__(self, inplanes, planes, stride, downsample):
            super().__init__()
            self.conv1, self.bn1 = bn_conv(inplanes, planes, 3, stride), nn.BatchNorm2d(planes)
            self.relu = nn.ReLU()
            self.conv2, self.bn2 = bn_conv(planes, planes, 3), nn.BatchNorm2d(planes)
            self.downsample = downsample

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            return self.relu(self.bn2(self.conv2(out)) + identity)

    class Bottleneck(nn.Module):
        expansion = 4

        def __init__(self, inplanes, planes, stride, downsample):
            super().__init__()
            self.conv1, self.bn1 = bn_conv(inplanes, planes, 1), nn.BatchNorm2d(planes)
            self.conv2, self.bn2 = bn_conv(planes, planes, 3, stride), nn.BatchNorm2d(planes)
            self.conv3 = bn_conv(planes, planes * 4, 1)
            self.bn3 = nn.BatchNorm2d(planes * 4)
            self.relu = nn.ReLU()
            self.downsample = downsample

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.relu(self.bn2(self.conv2(out)))
            return self.relu(self.bn3(self.conv3(out)) + identity)

    kind = BasicBlock if block == "basic" else Bottleneck

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            if small_input:
                self.conv1 = bn_conv(3, base, 3)
            else:
                self.conv1 = nn.Conv2d(3, base, 7, 2, padding=3, bias=False)
            self.bn1, self.relu = nn.BatchNorm2d(base), nn.ReLU()
            self.maxpool = nn.Identity() if small_input else nn.MaxPool2d(3, 2, padding=1)
            inplanes = base
            for i, count in enumerate(layers):
                planes, stride = base * 2**i, 1 if i == 0 else 2
                downsample = None
                if stride != 1 or inplanes != planes * kind.expansion:
                    downsample = nn.Sequential(
                        bn_conv(inplanes, planes * kind.expansion, 1, stride),
                        nn.BatchNorm2d(planes * kind.expansion),
                    )
                blocks = [kind(inplanes, planes, stride, downsample)]
                inplanes = planes * kind.expansion
                blocks += [kind(inplanes, planes, 1, None) for _ in range(1, count)]
                setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(inplanes, num_classes)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(self.avgpool(x).flatten(1))

    return ResNet()
