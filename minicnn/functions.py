"""Top-level differentiable functions: ``minicnn.exp(x)``, ``minicnn.stack([a, b])``...

Each wraps one ``Function`` from ``minicnn.ops``; Tensor methods call the same ops.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .functional.activation import tanh as tanh  # the one tanh: minicnn.tanh is F.tanh
from .ops import math as M
from .ops import shape as S
from .tensor import Tensor, as_tensor


def exp(x: Any) -> Tensor:
    return M.Exp()(as_tensor(x))


def log(x: Any) -> Tensor:
    return M.Log()(as_tensor(x))


def sqrt(x: Any) -> Tensor:
    return M.Sqrt()(as_tensor(x))


def abs(x: Any) -> Tensor:  # noqa: A001 (PyTorch's name)
    return M.Abs()(as_tensor(x))


def clip(x: Any, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
    """Limit values to [min, max]; the gradient passes where min <= x <= max."""
    return M.Clip(min, max)(as_tensor(x))


def cat(tensors: Sequence[Any], dim: int = 0) -> Tensor:
    """Join tensors along an existing dimension, as ``torch.cat``."""
    if not tensors:
        raise ValueError("cat needs at least one tensor")
    return S.Concatenate(dim)(*tensors)


def stack(tensors: Sequence[Any], dim: int = 0) -> Tensor:
    """Join same-shaped tensors along a new dimension ``dim``."""
    if not tensors:
        raise ValueError("stack needs at least one tensor")
    return S.Stack(dim)(*tensors)


def pad(x: Any, pad: Sequence[int], value: float = 0.0) -> Tensor:
    """Constant padding, as ``torch.nn.functional.pad``: ``pad = (left, right, top, bottom, ...)``
    gives (before, after) widths from the last dimension backwards."""
    return S.Pad(tuple(pad), value)(as_tensor(x))
