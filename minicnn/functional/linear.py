"""``linear`` and ``dropout``: check the arguments, then call the op's Function."""

from __future__ import annotations

from typing import Any

from ..ops.dropout import Dropout
from ..ops.linear import Linear
from ..tensor import Tensor, as_tensor
from ._args import probability, same_dtype


def linear(x: Any, weight: Any, bias: Any = None) -> Tensor:
    """y = x W^T + b for x (..., in), weight (out, in), optional bias (out,)."""
    x, weight = as_tensor(x), as_tensor(weight)
    bias = None if bias is None else as_tensor(bias)
    if weight.ndim != 2:
        raise ValueError(f"linear: expected weight of shape (out, in), got {weight.shape}")
    out_features, in_features = weight.shape
    if x.ndim < 1 or x.shape[-1] != in_features:
        raise ValueError(
            f"linear: expected input of shape (..., {in_features}) to match weight "
            f"{weight.shape}, got {x.shape}"
        )
    same_dtype("linear", input=x, weight=weight, bias=bias)
    if bias is not None and bias.shape != (out_features,):
        raise ValueError(
            f"linear: expected bias of shape ({out_features},) for weight {weight.shape}, "
            f"got {bias.shape}"
        )
    return Linear()(x, weight, bias)


def dropout(x: Any, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout: while training, zero each element with probability ``p`` and scale the
    others by 1 / (1 - p); the identity in evaluation (``training=False``) or for p = 0."""
    probability("dropout", "p", p)
    x = as_tensor(x)
    if not training or p == 0:
        return x
    return Dropout(p)(x)
