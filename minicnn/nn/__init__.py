"""Layers and models, as ``torch.nn``: ``Module``, ``Parameter``, containers, layers, losses.

Layers are thin: they hold ``Parameter``s (and buffers) and call the differentiable ops of
``minicnn.ops``. Their constructor signatures, parameter shapes, ``state_dict`` keys and default
initialisation are PyTorch's, so weights can be exchanged with ``torch.nn`` models.
"""

from . import init, utils
from .activation import (
    ELU,
    GELU,
    Hardswish,
    LeakyReLU,
    LogSoftmax,
    Mish,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from .batchnorm import BatchNorm1d, BatchNorm2d, BatchNorm3d
from .container import ModuleDict, ModuleList, Sequential
from .conv import Conv2d, ConvTranspose2d
from .dropout import Dropout
from .flatten import Flatten
from .linear import Identity, Linear
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
from .module import IncompatibleKeys, Module, RemovableHandle
from .normalization import GroupNorm, LayerNorm
from .parameter import Parameter
from .pooling import (
    AdaptiveAvgPool2d,
    AdaptiveMaxPool2d,
    AvgPool2d,
    GlobalAvgPool2d,
    GlobalMaxPool2d,
    MaxPool2d,
    MaxUnpool2d,
)
from .upsampling import Upsample

__all__ = [
    "ELU",
    "GELU",
    "AdaptiveAvgPool2d",
    "AdaptiveMaxPool2d",
    "AvgPool2d",
    "BCELoss",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "BatchNorm2d",
    "BatchNorm3d",
    "Conv2d",
    "ConvTranspose2d",
    "CrossEntropyLoss",
    "Dropout",
    "Flatten",
    "GroupNorm",
    "GlobalAvgPool2d",
    "GlobalMaxPool2d",
    "Hardswish",
    "Identity",
    "IncompatibleKeys",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MSELoss",
    "MaxPool2d",
    "MaxUnpool2d",
    "Mish",
    "Module",
    "ModuleDict",
    "ModuleList",
    "NLLLoss",
    "Parameter",
    "ReLU",
    "ReLU6",
    "RemovableHandle",
    "Sequential",
    "Sigmoid",
    "SiLU",
    "Softmax",
    "Softplus",
    "Tanh",
    "Upsample",
    "init",
    "utils",
]
