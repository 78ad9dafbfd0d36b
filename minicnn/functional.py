"""``minicnn.functional`` (imported as ``F``): every op as a plain function, PyTorch's names.

Each function lives in ``minicnn/ops/`` next to the ``Function`` that computes it; this module
only gathers them in one namespace::

    import minicnn.functional as F
    y = F.relu(F.conv2d(x, weight, bias, padding=1))
"""

from .ops.activation import elu, gelu, leaky_relu, log_softmax, relu, sigmoid, softmax, tanh
from .ops.conv import conv2d, conv_transpose2d
from .ops.dropout import dropout
from .ops.linear import linear
from .ops.loss import binary_cross_entropy_with_logits, cross_entropy, mse_loss, nll_loss
from .ops.norm import batch_norm
from .ops.pool import (
    adaptive_avg_pool2d,
    avg_pool2d,
    global_avg_pool2d,
    global_max_pool2d,
    max_pool2d,
)

__all__ = [
    "adaptive_avg_pool2d", "avg_pool2d", "batch_norm", "binary_cross_entropy_with_logits",
    "conv2d", "conv_transpose2d", "cross_entropy", "dropout", "elu", "gelu",
    "global_avg_pool2d", "global_max_pool2d", "leaky_relu", "linear", "log_softmax",
    "max_pool2d", "mse_loss", "nll_loss", "relu", "sigmoid", "softmax", "tanh",
]  # fmt: skip
