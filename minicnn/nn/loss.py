"""Loss layers: wrap the loss functions of ``minicnn.ops.loss``; called as ``loss(input, target)``.

``reduction`` is ``"mean"`` (default), ``"sum"`` or ``"none"`` (one loss per element/sample).
Class weights are buffers, as in PyTorch (saved in ``state_dict``, moved by ``to()``).
"""

from __future__ import annotations

from typing import Any

from ..ops.loss import binary_cross_entropy_with_logits, cross_entropy, mse_loss, nll_loss
from ..tensor import Tensor, as_tensor
from .module import Module

_REDUCTIONS = ("mean", "sum", "none")


class _Loss(Module):
    def __init__(self, reduction: str = "mean"):
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(
                f"{type(self).__name__}: reduction must be 'mean', 'sum' or 'none', "
                f"got {reduction!r}"
            )
        self.reduction = reduction


def _optional_tensor(value: Any) -> Tensor | None:
    return None if value is None else as_tensor(value)


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy: ``-log softmax(input)[target]``, averaged over the batch.

    ``input``: raw scores (logits) ``(N, C)`` or ``(N, C, d1, ...)``; ``target``: class indices
    ``(N,)`` / ``(N, d1, ...)`` or class probabilities shaped like ``input``. ``weight`` (C,)
    weights the classes; ``label_smoothing`` mixes the target with the uniform distribution.
    """

    def __init__(self, weight: Any = None, reduction: str = "mean", label_smoothing: float = 0.0):
        super().__init__(reduction)
        self.register_buffer("weight", _optional_tensor(weight))
        self.label_smoothing = label_smoothing

    def forward(self, input: Any, target: Any) -> Tensor:
        return cross_entropy(input, target, self.weight, self.reduction, self.label_smoothing)


class NLLLoss(_Loss):
    """Negative log-likelihood ``-input[target]`` for log-probabilities (``LogSoftmax``
    output) ``(N, C)``, and class indices ``(N,)``; ``weight`` (C,) weights the classes."""

    def __init__(self, weight: Any = None, reduction: str = "mean"):
        super().__init__(reduction)
        self.register_buffer("weight", _optional_tensor(weight))

    def forward(self, input: Any, target: Any) -> Tensor:
        return nll_loss(input, target, self.weight, self.reduction)


class MSELoss(_Loss):
    """Mean squared error ``(input - target)^2``; input and target of the same shape."""

    def forward(self, input: Any, target: Any) -> Tensor:
        return mse_loss(input, target, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on logits: ``-[t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))]``,
    computed without overflow. ``input`` and ``target`` (in [0, 1]) of the same shape;
    ``weight`` scales each element, ``pos_weight`` (e.g. one per class) the positive term."""

    def __init__(self, weight: Any = None, reduction: str = "mean", pos_weight: Any = None):
        super().__init__(reduction)
        self.register_buffer("weight", _optional_tensor(weight))
        self.register_buffer("pos_weight", _optional_tensor(pos_weight))

    def forward(self, input: Any, target: Any) -> Tensor:
        return binary_cross_entropy_with_logits(
            input, target, self.weight, self.reduction, self.pos_weight
        )
