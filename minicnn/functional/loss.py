"""The losses: check the arguments, then call the op's Function (:mod:`minicnn.ops.loss`).

Arguments after ``weight`` are best given by name, as with PyTorch (whose positional slots
there hold the deprecated ``size_average`` and ``reduce``, which minicnn does not have).

Class labels. A target of class indices must have an integer dtype (TypeError otherwise). On
the CPU its values are checked too (IndexError for one outside [0, C) that is not
``ignore_index``): that costs one pass over the labels and no transfer. On another device
(a GPU) the values are not checked, since that would copy them to the host on every call: as
in PyTorch on a GPU, an out-of-range label there is not caught before the kernel runs, and
gives a wrong loss or a device error.
"""

from __future__ import annotations

from typing import Any

from ..ops.loss import BCEWithLogits, BinaryCrossEntropy, CrossEntropy, MSELoss, NLLLoss
from ..tensor import Tensor, as_tensor
from ._args import choice, is_int, probability, values_checkable

REDUCTIONS = ("mean", "sum", "none")


def check_ignore_index(where: str, value: Any) -> int:
    """``ignore_index``: an int (a label value that counts for nothing)."""
    if not is_int(value):
        raise TypeError(f"{where}: ignore_index must be an int, got {value!r}")
    return int(value)


def _check_input(op: str, input: Tensor) -> None:
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point input, got {input.dtype}")


def _like_input(op: str, input: Tensor, target: Tensor) -> Tensor:
    """A target of the input's shape, converted to the input's dtype (differentiably), so that
    a float64 target never turns a float32 loss into float64."""
    if target.shape != input.shape:
        raise ValueError(
            f"{op}: expected target of the input's shape {input.shape}, got {target.shape}"
        )
    return target if target.dtype == input.dtype else target.to(input.dtype)


def _check_class_input(op: str, input: Tensor, weight: Tensor | None) -> None:
    _check_input(op, input)
    if input.ndim < 2:
        raise ValueError(
            f"{op}: expected input of shape (N, C) or (N, C, d1, ...), got {input.shape}"
        )
    classes = input.shape[1]
    if weight is not None and weight.shape != (classes,):
        raise ValueError(
            f"{op}: expected weight of shape ({classes},) (one per class), got {weight.shape}"
        )


def _check_labels(op: str, labels: Any, classes: int, ignore_index: int) -> None:
    """Every label in [0, classes) or equal to ``ignore_index``, in one pass over a NumPy array.

    Viewed as unsigned integers of the same width, negative labels become huge, so a single
    ``max`` catches both ends; only when it fails (an error, or ignored labels) are the labels
    looked at again.
    """
    if labels.size == 0:
        return
    unsigned = labels.view(labels.dtype.str.replace("i", "u"))  # e.g. "<i8" -> "<u8"
    if int(unsigned.max()) < classes:
        return
    bad = (unsigned >= classes) & (labels != ignore_index)
    if bad.any():
        counted = labels[labels != ignore_index]
        raise IndexError(
            f"{op}: target class out of range: expected values in [0, {classes - 1}] for "
            f"{classes} classes (or ignore_index={ignore_index}), got values from "
            f"{int(counted.min())} to {int(counted.max())}"
        )


def _check_class_target(op: str, input: Tensor, target: Tensor, ignore_index: int) -> None:
    if target.dtype.kind not in "iu":
        raise TypeError(
            f"{op}: expected target of integer class indices, got {target.dtype} "
            f"(convert it with target.to(minicnn.int64))"
        )
    if values_checkable(target):
        _check_labels(op, target.data, input.shape[1], ignore_index)


def cross_entropy(
    input: Any,
    target: Any,
    weight: Any = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    ignore_index: int = -100,
) -> Tensor:
    """Cross-entropy between softmax(input) over axis 1 and the target classes.

    ``input``: logits (N, C) or (N, C, d1, ...). ``target``: class indices (N,) or
    (N, d1, ...) (e.g. an (N, H, W) mask for (N, C, H, W) logits), or class probabilities
    shaped like ``input``. ``weight`` (C,): per-class weights; the weighted mean divides by the
    summed weights of the targets. ``label_smoothing`` eps mixes the target with the uniform
    distribution: (1 - eps) t + eps / C. Targets equal to ``ignore_index`` count for nothing
    (not in the mean's divisor either); with class probabilities it must stay negative, as in
    PyTorch. Labels must be integers; on the CPU one out of range raises IndexError, on a GPU
    the values are not checked (that would copy them to the host): as in PyTorch on a GPU, an
    out-of-range label there is not caught before the kernel runs.
    """
    op = "cross_entropy"
    choice(op, "reduction", reduction, REDUCTIONS)
    probability(op, "label_smoothing", label_smoothing)
    ignore_index = check_ignore_index(op, ignore_index)
    input, target = as_tensor(input), as_tensor(target)
    weight = None if weight is None else as_tensor(weight)
    _check_class_input(op, input, weight)
    indices = (input.shape[0], *input.shape[2:])
    probabilities = target.dtype.kind == "f" and target.shape == input.shape
    if probabilities:
        if ignore_index >= 0:
            raise ValueError(
                f"{op}: ignore_index is not supported for class probabilities (a floating "
                f"target of the input's shape), got ignore_index={ignore_index}"
            )
        target = _like_input(op, input, target)
    elif target.shape != indices:
        raise ValueError(
            f"{op}: expected target of class indices with shape {indices} or class "
            f"probabilities with shape {input.shape} for input {input.shape}, got "
            f"{target.dtype} of shape {target.shape}"
        )
    else:
        _check_class_target(op, input, target, ignore_index)
    fn = CrossEntropy(reduction, label_smoothing, probabilities, ignore_index)
    return fn(input, target, weight)


def nll_loss(
    input: Any,
    target: Any,
    weight: Any = None,
    reduction: str = "mean",
    ignore_index: int = -100,
) -> Tensor:
    """Negative log-likelihood: ``-input[n, target[n]]`` (times the class weight), for
    ``input`` holding log-probabilities (N, C) or (N, C, d1, ...), e.g. from log_softmax, and
    class indices (N,) or (N, d1, ...). Targets equal to ``ignore_index`` count for nothing.
    Labels are checked as in :func:`cross_entropy` (their values on the CPU only)."""
    op = "nll_loss"
    choice(op, "reduction", reduction, REDUCTIONS)
    ignore_index = check_ignore_index(op, ignore_index)
    input, target = as_tensor(input), as_tensor(target)
    weight = None if weight is None else as_tensor(weight)
    _check_class_input(op, input, weight)
    indices = (input.shape[0], *input.shape[2:])
    if target.shape != indices:
        raise ValueError(
            f"{op}: expected target of class indices with shape {indices} for input "
            f"{input.shape}, got {target.dtype} of shape {target.shape}"
        )
    _check_class_target(op, input, target, ignore_index)
    return NLLLoss(reduction, ignore_index)(input, target, weight)


def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Squared error (input - target)^2, reduced.

    Unlike PyTorch (which warns and broadcasts), shapes must match: broadcasting (N, 1)
    against (N,) silently computes an (N, N) loss, a classic bug. The target is converted to
    the input's dtype.
    """
    op = "mse_loss"
    choice(op, "reduction", reduction, REDUCTIONS)
    input, target = as_tensor(input), as_tensor(target)
    _check_input(op, input)
    target = _like_input(op, input, target)
    return MSELoss(reduction)(input, target)


def _check_broadcasts(op: str, name: str, t: Tensor | None, shape: tuple[int, ...]) -> None:
    if t is None:
        return
    ok = t.ndim <= len(shape) and all(
        n in (1, m) for n, m in zip(reversed(t.shape), reversed(shape), strict=False)
    )
    if not ok:
        raise ValueError(f"{op}: {name} of shape {t.shape} does not broadcast to the input {shape}")


def _check_unit_interval(op: str, name: str, t: Tensor) -> None:
    """Values in [0, 1] (nan fails too); on the CPU only, like the label check."""
    if t.numel() == 0 or not values_checkable(t):
        return
    low, high = t.data.min(), t.data.max()
    if not (low >= 0 and high <= 1):
        raise ValueError(f"{op}: expected {name} values in [0, 1], got values from {low} to {high}")


def binary_cross_entropy(
    input: Any, target: Any, weight: Any = None, reduction: str = "mean"
) -> Tensor:
    """Binary cross-entropy ``-[t log p + (1 - t) log(1 - p)]`` of probabilities ``input``
    (e.g. from sigmoid) with targets ``target`` in [0, 1], each log clamped at -100 as in
    PyTorch. ``weight`` (broadcast to the input) scales each element. Both input and target
    must lie in [0, 1]; that is checked on the CPU only (as labels are: see the module
    docstring). Prefer :func:`binary_cross_entropy_with_logits` on the logits: it is stable
    where sigmoid saturates."""
    op = "binary_cross_entropy"
    choice(op, "reduction", reduction, REDUCTIONS)
    input, target = as_tensor(input), as_tensor(target)
    _check_input(op, input)
    target = _like_input(op, input, target)
    weight = None if weight is None else as_tensor(weight)
    _check_broadcasts(op, "weight", weight, input.shape)
    _check_unit_interval(op, "input", input)
    _check_unit_interval(op, "target", target)
    return BinaryCrossEntropy(reduction)(input, target, weight)


def binary_cross_entropy_with_logits(
    input: Any,
    target: Any,
    weight: Any = None,
    reduction: str = "mean",
    pos_weight: Any = None,
) -> Tensor:
    """Binary cross-entropy between sigmoid(input) and ``target`` in [0, 1], computed from the
    logits without overflow. ``weight`` scales each element; ``pos_weight`` (e.g. one per class,
    broadcast along the last axis) scales the positive term."""
    op = "binary_cross_entropy_with_logits"
    choice(op, "reduction", reduction, REDUCTIONS)
    input, target = as_tensor(input), as_tensor(target)
    _check_input(op, input)
    target = _like_input(op, input, target)
    weight = None if weight is None else as_tensor(weight)
    pos_weight = None if pos_weight is None else as_tensor(pos_weight)
    _check_broadcasts(op, "weight", weight, input.shape)
    _check_broadcasts(op, "pos_weight", pos_weight, input.shape)
    return BCEWithLogits(reduction)(input, target, weight, pos_weight)
