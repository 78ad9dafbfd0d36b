"""Activation layers: elementwise nonlinearities (output shape = input shape) and softmax."""

from __future__ import annotations

from typing import Any

from ..ops.activation import elu, gelu, leaky_relu, log_softmax, relu, sigmoid, softmax, tanh
from ..tensor import Tensor
from .module import Module


class ReLU(Module):
    """``max(x, 0)``; the gradient passes where x > 0."""

    def forward(self, x: Any) -> Tensor:
        return relu(x)


class LeakyReLU(Module):
    """``x`` for x > 0, ``negative_slope * x`` otherwise (a small gradient for negative x)."""

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: Any) -> Tensor:
        return leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    """``x`` for x > 0, ``alpha * (exp(x) - 1)`` otherwise (smooth, saturating at -alpha)."""

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = alpha

    def forward(self, x: Any) -> Tensor:
        return elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class GELU(Module):
    """``x * Phi(x)``, Phi the standard normal CDF; ``approximate="tanh"`` uses
    ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: Any) -> Tensor:
        return gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Sigmoid(Module):
    """``1 / (1 + exp(-x))``, squashing to (0, 1)."""

    def forward(self, x: Any) -> Tensor:
        return sigmoid(x)


class Tanh(Module):
    """``tanh(x)``, squashing to (-1, 1)."""

    def forward(self, x: Any) -> Tensor:
        return tanh(x)


def _require_dim(layer: str, dim: int | None) -> int:
    # PyTorch's Softmax() without dim guesses it from the input's rank (deprecated, with a
    # warning); guessing wrong normalises over the batch. Here the dimension must be given.
    if dim is None:
        raise TypeError(
            f"{layer}: give the dimension to normalise over, e.g. {layer}(dim=1) for "
            "(N, classes) scores (PyTorch's implicit dim choice is deprecated)"
        )
    return dim


class Softmax(Module):
    """``exp(x) / sum(exp(x))`` along ``dim``: each slice becomes a probability distribution.

    ``dim`` is required (unlike PyTorch, where leaving it out is deprecated). For training a
    classifier, give the raw scores to ``CrossEntropyLoss`` instead (more stable).
    """

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = _require_dim("Softmax", dim)

    def forward(self, x: Any) -> Tensor:
        return softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """``log(softmax(x))`` along ``dim``, computed stably; pair with ``NLLLoss``.
    ``dim`` is required."""

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = _require_dim("LogSoftmax", dim)

    def forward(self, x: Any) -> Tensor:
        return log_softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
