"""``minicnn.functional`` (imported as ``F``): every op as a plain function, PyTorch's names.

This is where arguments are checked, once: each function here validates its inputs and
settings (with the shared checks of ``functional/_args.py``) and then calls one ``Function``
from ``minicnn/ops/``, which computes on raw arrays and trusts what it is given. The layers of
``minicnn.nn`` hold parameters and settings and call these functions::

    import minicnn.functional as F
    y = F.relu(F.conv2d(x, weight, bias, padding=1))
"""

from .activation import (
    elu,
    gelu,
    hardswish,
    leaky_relu,
    log_softmax,
    mish,
    relu,
    relu6,
    sigmoid,
    silu,
    softmax,
    softplus,
    tanh,
)
from .conv import conv2d, conv_transpose2d
from .interpolate import interpolate
from .linear import dropout, linear
from .loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    mse_loss,
    nll_loss,
)
from .norm import batch_norm, group_norm, layer_norm
from .pool import (
    adaptive_avg_pool2d,
    adaptive_max_pool2d,
    avg_pool2d,
    global_avg_pool2d,
    global_max_pool2d,
    max_pool2d,
    max_unpool2d,
)

__all__ = [
    "adaptive_avg_pool2d", "avg_pool2d", "batch_norm", "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "conv2d", "conv_transpose2d", "cross_entropy", "dropout", "elu", "gelu",
    "interpolate",
    "global_avg_pool2d", "global_max_pool2d", "leaky_relu", "linear", "log_softmax",
    "max_pool2d", "mse_loss", "nll_loss", "relu", "sigmoid", "softmax", "tanh",
    "group_norm", "hardswish", "layer_norm", "mish", "relu6", "silu", "softplus",
    "adaptive_max_pool2d", "max_unpool2d",
]  # fmt: skip
