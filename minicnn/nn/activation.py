"""Activation layers: elementwise nonlinearities (output shape = input shape) and softmax."""

from __future__ import annotations

from typing import Any

from .. import functional as F
from ..functional._args import choice, is_int, real
from ..functional.activation import GELU_APPROXIMATIONS, softplus_settings
from ..tensor import Tensor
from .module import Module


class ReLU(Module):
    """``max(x, 0)``; the gradient passes where x > 0."""

    def forward(self, x: Any) -> Tensor:
        return F.relu(x)


class LeakyReLU(Module):
    """``x`` for x > 0, ``negative_slope * x`` otherwise (a small gradient for negative x)."""

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        real("LeakyReLU", "negative_slope", negative_slope)
        self.negative_slope = negative_slope

    def forward(self, x: Any) -> Tensor:
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    """``x`` for x > 0, ``alpha * (exp(x) - 1)`` otherwise (smooth, saturating at -alpha)."""

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        real("ELU", "alpha", alpha)
        self.alpha = alpha

    def forward(self, x: Any) -> Tensor:
        return F.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class GELU(Module):
    """``x * Phi(x)``, Phi the standard normal CDF; ``approximate="tanh"`` uses
    ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        self.approximate = choice("GELU", "approximate", approximate, GELU_APPROXIMATIONS)

    def forward(self, x: Any) -> Tensor:
        return F.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Sigmoid(Module):
    """``1 / (1 + exp(-x))``, squashing to (0, 1)."""

    def forward(self, x: Any) -> Tensor:
        return F.sigmoid(x)


class Tanh(Module):
    """``tanh(x)``, squashing to (-1, 1)."""

    def forward(self, x: Any) -> Tensor:
        return F.tanh(x)


class SiLU(Module):
    """``x * sigmoid(x)`` (swish): smooth, with a small negative dip, unbounded above."""

    def forward(self, x: Any) -> Tensor:
        return F.silu(x)


class ReLU6(Module):
    """``min(max(x, 0), 6)``: a relu capped at 6 (MobileNets)."""

    def forward(self, x: Any) -> Tensor:
        return F.relu6(x)


class Hardswish(Module):
    """``x * relu6(x + 3) / 6``: 0 below -3, x above 3, a parabola between."""

    def forward(self, x: Any) -> Tensor:
        return F.hardswish(x)


class Softplus(Module):
    """``log(1 + exp(beta * x)) / beta``, a smooth relu; ``x`` where ``beta * x > threshold``."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        softplus_settings("Softplus", beta, threshold)
        self.beta, self.threshold = beta, threshold

    def forward(self, x: Any) -> Tensor:
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Mish(Module):
    """``x * tanh(softplus(x))``: smooth, like SiLU."""

    def forward(self, x: Any) -> Tensor:
        return F.mish(x)


def _require_dim(layer: str, dim: int | None) -> int:
    # PyTorch's Softmax() without dim guesses it from the input's rank (deprecated, with a
    # warning); guessing wrong normalises over the batch. Here the dimension must be given.
    if dim is None:
        raise TypeError(
            f"{layer}: give the dimension to normalise over, e.g. {layer}(dim=1) for "
            "(N, classes) scores (PyTorch's implicit dim choice is deprecated)"
        )
    if not is_int(dim):
        raise TypeError(f"{layer}: dim must be an int, got {dim!r}")
    return int(dim)


class Softmax(Module):
    """``exp(x) / sum(exp(x))`` along ``dim``: each slice becomes a probability distribution.

    ``dim`` is required (unlike PyTorch, where leaving it out is deprecated). For training a
    classifier, give the raw scores to ``CrossEntropyLoss`` instead (more stable).
    """

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = _require_dim("Softmax", dim)

    def forward(self, x: Any) -> Tensor:
        return F.softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """``log(softmax(x))`` along ``dim``, computed stably; pair with ``NLLLoss``.
    ``dim`` is required."""

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = _require_dim("LogSoftmax", dim)

    def forward(self, x: Any) -> Tensor:
        return F.log_softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
