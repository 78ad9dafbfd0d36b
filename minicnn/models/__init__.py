"""The model zoo: classic architectures built from ``minicnn.nn`` layers.

Every model reads like its diagram. The torchvision twins (``vgg16``, ``resnet50``, ...) have
torchvision's module names and parameter shapes, so a torchvision ``state_dict`` (as NumPy
arrays or safetensors) loads unchanged. ``list_models()`` names them all; ``get_model(name,
**kwargs)`` builds one by name (what the command line uses).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..nn import Module
from .blocks import CBAM, ChannelAttention, DepthwiseSeparableConv, SpatialAttention
from .inception import GoogLeNetMini, InceptionBlock, googlenet_mini
from .lenet import LeNet5, lenet5
from .resnet import (
    BasicBlock,
    Bottleneck,
    CBAMBottleneck,
    ResNet,
    resnet,
    resnet18,
    resnet34,
    resnet50,
    resnet50_custom,
    resnet101,
    resnet152,
)
from .unet import UNet, unet
from .vgg import (
    VGG,
    vgg,
    vgg11,
    vgg11_bn,
    vgg13,
    vgg13_bn,
    vgg16,
    vgg16_bn,
    vgg19,
    vgg19_bn,
)

_BUILDERS: dict[str, Callable[..., Module]] = {
    "lenet5": lenet5,
    "vgg11": vgg11,
    "vgg11_bn": vgg11_bn,
    "vgg13": vgg13,
    "vgg13_bn": vgg13_bn,
    "vgg16": vgg16,
    "vgg16_bn": vgg16_bn,
    "vgg19": vgg19,
    "vgg19_bn": vgg19_bn,
    "resnet18": resnet18,
    "resnet34": resnet34,
    "resnet50": resnet50,
    "resnet101": resnet101,
    "resnet152": resnet152,
    "resnet50_custom": resnet50_custom,
    "googlenet_mini": googlenet_mini,
    "unet": unet,
}


def list_models() -> list[str]:
    """The names ``get_model`` accepts, sorted."""
    return sorted(_BUILDERS)


def get_model(name: str, **kwargs: Any) -> Module:
    """Build the model called ``name`` (see ``list_models()``) with the builder's keyword
    arguments, e.g. ``get_model("resnet18", num_classes=10)``."""
    if name not in _BUILDERS:
        raise ValueError(
            f"get_model: unknown model {name!r}; the models are: {', '.join(list_models())}"
        )
    return _BUILDERS[name](**kwargs)


__all__ = [
    "CBAM", "VGG", "BasicBlock", "Bottleneck", "CBAMBottleneck", "ChannelAttention",
    "DepthwiseSeparableConv", "GoogLeNetMini", "InceptionBlock", "LeNet5", "ResNet",
    "SpatialAttention", "UNet", "get_model", "googlenet_mini", "lenet5", "list_models", "resnet",
    "resnet18", "resnet34", "resnet50", "resnet50_custom", "resnet101", "resnet152", "unet",
    "vgg", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
]  # fmt: skip
