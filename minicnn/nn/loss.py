"""Loss layers: call the loss functions of ``minicnn.functional``; used as ``loss(input, target)``.

``reduction`` is ``"mean"`` (default), ``"sum"`` or ``"none"`` (one loss per element/sample).
Settings are checked when the layer is built. Class weights are buffers, as in PyTorch (saved in
``state_dict``, moved by ``to()``).
"""

from __future__ import annotations

from typing import Any

from .. import functional as F
from ..functional._args import choice, probability
from ..functional.loss import REDUCTIONS, check_ignore_index
from ..tensor import Tensor, as_tensor
from .module import Module


class _Loss(Module):
    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = choice(type(self).__name__, "reduction", reduction, REDUCTIONS)


def _optional_tensor(value: Any) -> Tensor | None:
    return None if value is None else as_tensor(value)


def _class_weight(where: str, weight: Any) -> Tensor | None:
    """Class weights: None or a 1-D tensor (its length is checked against C in the call)."""
    weight = _optional_tensor(weight)
    if weight is not None and weight.ndim != 1:
        raise ValueError(
            f"{where}: weight must be a 1-D tensor of class weights, got shape {weight.shape}"
        )
    return weight


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy: ``-log softmax(input)[target]``, averaged over the batch.

    ``input``: raw scores (logits) ``(N, C)`` or ``(N, C, d1, ...)``; ``target``: class indices
    ``(N,)`` / ``(N, d1, ...)`` or class probabilities shaped like ``input``. ``weight`` (C,)
    weights the classes; ``label_smoothing`` mixes the target with the uniform distribution;
    targets equal to ``ignore_index`` count for nothing (e.g. unlabelled pixels of a mask).
    """

    def __init__(
        self,
        weight: Any = None,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
        ignore_index: int = -100,
    ):
        super().__init__(reduction)
        name = type(self).__name__
        self.register_buffer("weight", _class_weight(name, weight))
        self.label_smoothing = probability(name, "label_smoothing", label_smoothing)
        self.ignore_index = check_ignore_index(name, ignore_index)

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.cross_entropy(
            input,
            target,
            self.weight,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
            ignore_index=self.ignore_index,
        )


class NLLLoss(_Loss):
    """Negative log-likelihood ``-input[target]`` for log-probabilities (``LogSoftmax``
    output) ``(N, C)`` or ``(N, C, d1, ...)``, and class indices ``(N,)`` / ``(N, d1, ...)``;
    ``weight`` (C,) weights the classes; targets equal to ``ignore_index`` count for nothing."""

    def __init__(self, weight: Any = None, reduction: str = "mean", ignore_index: int = -100):
        super().__init__(reduction)
        name = type(self).__name__
        self.register_buffer("weight", _class_weight(name, weight))
        self.ignore_index = check_ignore_index(name, ignore_index)

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.nll_loss(
            input, target, self.weight, reduction=self.reduction, ignore_index=self.ignore_index
        )


class MSELoss(_Loss):
    """Mean squared error ``(input - target)^2``; input and target of the same shape."""

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class BCELoss(_Loss):
    """Binary cross-entropy ``-[t log p + (1 - t) log(1 - p)]`` of probabilities ``input``
    (e.g. after ``Sigmoid``) and targets in [0, 1] of the same shape; ``weight`` scales each
    element. ``BCEWithLogitsLoss`` on the logits is the stable choice."""

    def __init__(self, weight: Any = None, reduction: str = "mean"):
        super().__init__(reduction)
        self.register_buffer("weight", _optional_tensor(weight))

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.binary_cross_entropy(input, target, self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on logits: ``-[t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))]``,
    computed without overflow. ``input`` and ``target`` (in [0, 1]) of the same shape;
    ``weight`` scales each element, ``pos_weight`` (e.g. one per class) the positive term."""

    def __init__(self, weight: Any = None, reduction: str = "mean", pos_weight: Any = None):
        super().__init__(reduction)
        self.register_buffer("weight", _optional_tensor(weight))
        self.register_buffer("pos_weight", _optional_tensor(pos_weight))

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.binary_cross_entropy_with_logits(
            input, target, self.weight, reduction=self.reduction, pos_weight=self.pos_weight
        )
