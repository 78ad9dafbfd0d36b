"""Activation functions: check the arguments, then call the op's Function
(``minicnn/ops/activation.py``, where each gradient is written down).

``tanh`` is defined here once: ``minicnn.tanh`` is this very function.
"""

from __future__ import annotations

from typing import Any

from ..ops import activation as A
from ..ops import math as M
from ..tensor import Tensor, as_tensor
from ._args import choice, is_int, real


def relu(x: Any) -> Tensor:
    """max(x, 0) elementwise."""
    return A.ReLU()(as_tensor(x))


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Tensor:
    """x for x > 0, ``negative_slope * x`` otherwise."""
    negative_slope = real("leaky_relu", "negative_slope", negative_slope)
    return A.LeakyReLU(negative_slope)(as_tensor(x))


def elu(x: Any, alpha: float = 1.0) -> Tensor:
    """x for x > 0, ``alpha * (exp(x) - 1)`` otherwise."""
    return A.ELU(real("elu", "alpha", alpha))(as_tensor(x))


GELU_APPROXIMATIONS = ("none", "tanh")


def gelu(x: Any, approximate: str = "none") -> Tensor:
    """x * Phi(x) (Gaussian error linear unit); ``approximate="tanh"`` for the tanh formula.

    float64 is exact to its rounding; float32, as in PyTorch, has Phi within 3e-7 of the
    exact value (so ``y`` is within 3e-7 |x|, not relative to a tiny y for x << 0)."""
    approximate = choice("gelu", "approximate", approximate, GELU_APPROXIMATIONS)
    return A.GELU(approximate)(as_tensor(x))


def sigmoid(x: Any) -> Tensor:
    """1 / (1 + exp(-x)), computed without overflow."""
    return A.Sigmoid()(as_tensor(x))


def tanh(x: Any) -> Tensor:
    """Hyperbolic tangent; dx = g (1 - y^2) (the op lives in minicnn.ops.math)."""
    return M.Tanh()(as_tensor(x))


def silu(x: Any) -> Tensor:
    """x * sigmoid(x) (the sigmoid linear unit, or swish)."""
    return A.SiLU()(as_tensor(x))


def relu6(x: Any) -> Tensor:
    """min(max(x, 0), 6) elementwise."""
    return A.ReLU6()(as_tensor(x))


def hardswish(x: Any) -> Tensor:
    """x * relu6(x + 3) / 6: a cheap, piecewise-quadratic silu (MobileNetV3)."""
    return A.Hardswish()(as_tensor(x))


def softplus_settings(where: str, beta: Any, threshold: Any) -> tuple[float, float]:
    """Softplus's ``beta`` (a non-zero number) and ``threshold`` (a number) as floats."""
    if real(where, "beta", beta) == 0:
        raise ValueError(f"{where}: beta must be non-zero, got {beta!r}")
    return float(beta), real(where, "threshold", threshold)


def softplus(x: Any, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta * x)) / beta, a smooth relu; x itself where ``beta * x > threshold``."""
    beta, threshold = softplus_settings("softplus", beta, threshold)
    return A.Softplus(beta, threshold)(as_tensor(x))


def mish(x: Any) -> Tensor:
    """x * tanh(softplus(x))."""
    return A.Mish()(as_tensor(x))


def softmax_axis(op: str, dim: Any, ndim: int) -> int:
    """``dim`` (negative counts from the end) as an axis of an ``ndim``-D tensor (a 0-d tensor
    takes dim 0 or -1, as in PyTorch)."""
    if not is_int(dim):
        raise TypeError(f"{op}: dim must be an int, got {dim!r}")
    rank = max(ndim, 1)
    if not -rank <= dim < rank:
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor with {ndim} dims")
    return int(dim) % rank


def softmax(x: Any, dim: int = -1) -> Tensor:
    """exp(x) normalised to sum to 1 along ``dim`` (stable for large logits)."""
    x = as_tensor(x)
    return A.Softmax(softmax_axis("softmax", dim, x.ndim))(x)


def log_softmax(x: Any, dim: int = -1) -> Tensor:
    """log(softmax(x)) along ``dim``, computed directly (stable for large logits)."""
    x = as_tensor(x)
    return A.LogSoftmax(softmax_axis("log_softmax", dim, x.ndim))(x)
