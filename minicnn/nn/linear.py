"""``Linear`` (fully connected) and ``Identity``."""

from __future__ import annotations

import math
from typing import Any

from .. import functional as F
from ..functional._args import positive_int
from ..tensor import Tensor
from . import init
from ._utils import empty_parameter
from .module import Module


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. to remove a layer from a model)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__()

    def forward(self, x: Any) -> Any:
        return x


class Linear(Module):
    """Fully connected layer: ``y = x W^T + b``.

    Shapes: input ``(*, in_features)`` -> output ``(*, out_features)``;
    ``weight`` is ``(out_features, in_features)``, ``bias`` is ``(out_features,)``.
    Initialisation as in PyTorch: both uniform on ``[-1/sqrt(in_features), 1/sqrt(in_features)]``
    (``kaiming_uniform_`` with ``a=sqrt(5)`` for the weight).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        device: str | None = None,
        dtype: Any = None,
    ):
        super().__init__()
        self.in_features = positive_int("Linear", "in_features", in_features)
        self.out_features = positive_int("Linear", "out_features", out_features)
        self.weight = empty_parameter((out_features, in_features), device, dtype)
        if bias:
            self.bias = empty_parameter((out_features,), device, dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init.fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Any) -> Tensor:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )
