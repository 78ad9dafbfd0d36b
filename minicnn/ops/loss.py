"""Loss functions: cross-entropy, negative log-likelihood, mean squared error, and binary
cross-entropy on logits.

Each computes a per-element loss ``l`` and then reduces it: ``reduction="none"`` returns ``l``,
``"sum"`` its sum, ``"mean"`` its mean (for weighted class losses: the sum divided by the sum
of the weights of the targets, as PyTorch). The backward of the reduction is the upstream
gradient ``g`` spread back: ``g`` itself for "none" and "sum" (broadcast), ``g / divisor`` for
"mean".

Classification losses take ``input`` of shape (N, C) or (N, C, d1, d2, ...) (the class axis
is 1, e.g. per-pixel logits (N, C, H, W) of a segmentation net) and integer class indices
``target`` of shape (N,) or (N, d1, d2, ...).
"""

from __future__ import annotations

from typing import Any

from .. import backend
from ..autograd import Function
from ..tensor import Tensor, as_tensor

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(op: str, reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _reduce(xp: Any, loss: Any, reduction: str, divisor: Any, dtype: Any) -> Any:
    if reduction == "none":
        return loss
    total = loss.sum()
    return xp.asarray(total / divisor if reduction == "mean" else total, dtype=dtype)


def _per_element_grad(g: Any, reduction: str, divisor: Any) -> Any:
    """The upstream gradient of each per-element loss (broadcasts against the loss)."""
    if reduction == "none":
        return g
    return g / divisor if reduction == "mean" else g


def _class_axis_shape(ndim: int) -> tuple[int, ...]:
    """Shape that puts a (C,) vector on axis 1 of an (N, C, d1, ...) array."""
    return (1, -1) + (1,) * (ndim - 2)


def _check_class_input(op: str, input: Tensor, weight: Tensor | None) -> int:
    if input.ndim < 2:
        raise ValueError(
            f"{op}: expected input of shape (N, C) or (N, C, d1, ...), got {input.shape}"
        )
    classes = input.shape[1]
    if weight is not None and weight.shape != (classes,):
        raise ValueError(
            f"{op}: expected weight of shape ({classes},) (one per class), got {weight.shape}"
        )
    return classes


def _check_class_target(op: str, input: Tensor, target: Tensor, alternative: str = "") -> None:
    expected = (input.shape[0], *input.shape[2:])
    if target.dtype.kind not in "iu" or target.shape != expected:
        raise ValueError(
            f"{op}: expected target of integer class indices with shape {expected}{alternative} "
            f"for input {input.shape}, got {target.dtype} of shape {target.shape}"
        )
    classes = input.shape[1]
    if target.numel():
        low, high = int(target.data.min()), int(target.data.max())
        if low < 0 or high >= classes:
            raise IndexError(
                f"{op}: target class out of range: expected values in [0, {classes - 1}] for "
                f"{classes} classes, got values from {low} to {high}"
            )


class CrossEntropy(Function):
    """Softmax cross-entropy from logits, fused: l_n = -sum_c q_nc log p_nc, p = softmax(x)
    over the class axis, and its gradient dx_n = g_n (s_n p_n - q_n) with s_n = sum_c q_nc.

    q is the target distribution, weighted: q_nc = w_c ((1 - eps) t_nc + eps / C) with t the
    one-hot of the class index (or given class probabilities), eps the label smoothing and
    w the class weights (1 without). Without weights and smoothing this is the familiar
    dx = p - onehot(target). That l_n matches PyTorch's smoothed loss
    (1 - eps) * nll + eps / C * (-sum_c w_c log p_c).
    For probability targets, dtarget = -g_n (1 - eps) w log p.
    Shapes: x (N, C, *), target (N, *) indices or (N, C, *) probabilities, weight (C,).
    """

    def __init__(self, reduction: str, label_smoothing: float, probabilities: bool):
        self.reduction, self.smoothing = reduction, float(label_smoothing)
        self.probabilities = probabilities

    def forward(self, x: Any, target: Any, weight: Any) -> Any:
        xp = backend.get_array_module(x)
        classes, by_class = x.shape[1], _class_axis_shape(x.ndim)
        shifted = x - x.max(axis=1, keepdims=True)
        log_p = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
        if self.probabilities:
            t = target.astype(x.dtype, copy=False)
        else:
            t = (target[:, None] == xp.arange(classes).reshape(by_class)).astype(x.dtype)
        q = (1 - self.smoothing) * t + self.smoothing / classes if self.smoothing else t
        w = None if weight is None else weight.astype(x.dtype, copy=False).reshape(by_class)
        if w is not None:
            q = q * w
        loss = -(q * log_p).sum(axis=1)
        if w is not None and not self.probabilities:
            self.divisor = w.reshape(-1)[target].sum()  # the weights of the target classes
        else:
            self.divisor = loss.size
        self.log_p, self.q, self.w = log_p, q, w
        return _reduce(xp, loss, self.reduction, self.divisor, x.dtype)

    def backward(self, g: Any) -> tuple[Any, Any, None]:
        xp = backend.get_array_module(g)
        g_n = _per_element_grad(g, self.reduction, self.divisor)
        g_n = g_n[:, None] if self.reduction == "none" else g_n
        dx = dtarget = None
        if self.needs_input_grad[0]:
            p = xp.exp(self.log_p)
            dx = g_n * (self.q.sum(axis=1, keepdims=True) * p - self.q)
        if self.needs_input_grad[1]:
            w = 1 if self.w is None else self.w
            dtarget = -g_n * (1 - self.smoothing) * w * self.log_p
        return dx, dtarget, None


class NLLLoss(Function):
    """Negative log-likelihood of log-probabilities: l_n = -w_{t_n} x[n, t_n];
    dx[n, c] = -g_n w_{t_n} where c = t_n, else 0.
    Shapes: x (N, C, *), target (N, *) class indices, weight (C,).
    """

    def __init__(self, reduction: str):
        self.reduction = reduction

    def forward(self, x: Any, target: Any, weight: Any) -> Any:
        xp = backend.get_array_module(x)
        picked = xp.take_along_axis(x, target[:, None], axis=1)[:, 0]
        if weight is None:
            w_t = xp.ones(target.shape, dtype=x.dtype)
            self.divisor = target.size
        else:
            w_t = weight.astype(x.dtype, copy=False)[target]
            self.divisor = w_t.sum()
        self.target, self.w_t, self.classes = target, w_t, x.shape[1]
        return _reduce(xp, -w_t * picked, self.reduction, self.divisor, x.dtype)

    def backward(self, g: Any) -> tuple[Any, None, None]:
        xp = backend.get_array_module(g)
        g_n = _per_element_grad(g, self.reduction, self.divisor)
        onehot = self.target[:, None] == xp.arange(self.classes).reshape(
            _class_axis_shape(self.target.ndim + 1)
        )
        dx = xp.where(onehot, (-g_n * self.w_t)[:, None], 0).astype(self.w_t.dtype, copy=False)
        return dx, None, None


class MSELoss(Function):
    """l = (x - y)^2 elementwise;  dx = 2 (x - y) g_l,  dy = -dx. Shapes: x, y alike."""

    def __init__(self, reduction: str):
        self.reduction = reduction

    def forward(self, x: Any, y: Any) -> Any:
        xp = backend.get_array_module(x)
        self.diff = x - y
        self.divisor = x.size
        return _reduce(xp, self.diff * self.diff, self.reduction, self.divisor, x.dtype)

    def backward(self, g: Any) -> tuple[Any, Any]:
        d = 2 * self.diff * _per_element_grad(g, self.reduction, self.divisor)
        return (d if self.needs_input_grad[0] else None), (-d if self.needs_input_grad[1] else None)


class BCEWithLogits(Function):
    """Binary cross-entropy on logits x with targets y in [0, 1], weight w, pos_weight a:

        l = w [a y softplus(-x) + (1 - y) softplus(x)] = w [(1 - y) x + m softplus(-x)],
        m = (a - 1) y + 1,  softplus(z) = log(1 + e^z) = max(z, 0) + log1p(e^-|z|)

    (PyTorch's stable form: nothing overflows for any x). Gradients:
    dx = g w (m sigmoid(x) - a y),  dy = g w ((a - 1) softplus(-x) - x).
    Shapes: x, y alike; w broadcast to x; a broadcast to x (one per class: (C,)).
    """

    def __init__(self, reduction: str):
        self.reduction = reduction

    def forward(self, x: Any, y: Any, weight: Any, pos_weight: Any) -> Any:
        xp = backend.get_array_module(x)
        e = xp.exp(-xp.abs(x))
        softplus_neg = xp.maximum(-x, 0) + xp.log1p(e)
        self.sigmoid = xp.where(x >= 0, 1 / (1 + e), e / (1 + e))
        self.w = 1 if weight is None else weight.astype(x.dtype, copy=False)
        self.a = 1 if pos_weight is None else pos_weight.astype(x.dtype, copy=False)
        y = y.astype(x.dtype, copy=False)
        m = 1 if pos_weight is None else (self.a - 1) * y + 1
        loss = self.w * ((1 - y) * x + m * softplus_neg)
        self.x, self.y, self.m, self.softplus_neg = x, y, m, softplus_neg
        self.divisor = x.size
        return _reduce(xp, loss, self.reduction, self.divisor, x.dtype)

    def backward(self, g: Any) -> tuple[Any, Any, None, None]:
        g_l = _per_element_grad(g, self.reduction, self.divisor) * self.w
        dx = dy = None
        if self.needs_input_grad[0]:
            dx = g_l * (self.m * self.sigmoid - self.a * self.y)
        if self.needs_input_grad[1]:
            dy = g_l * ((self.a - 1) * self.softplus_neg - self.x)
        return dx, dy, None, None


# --- the public functions (PyTorch's names; re-exported by minicnn.functional) -------------


def cross_entropy(
    input: Any,
    target: Any,
    weight: Any = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy between softmax(input) over axis 1 and the target classes.

    ``input``: logits (N, C) or (N, C, d1, ...). ``target``: class indices (N,) or
    (N, d1, ...), or class probabilities shaped like ``input``. ``weight`` (C,): per-class
    weights; the weighted mean divides by the summed weights of the targets.
    ``label_smoothing`` eps mixes the target with the uniform distribution: (1 - eps) t + eps / C.
    """
    op = "cross_entropy"
    _check_reduction(op, reduction)
    input, target = as_tensor(input), as_tensor(target)
    weight = None if weight is None else as_tensor(weight)
    _check_class_input(op, input, weight)
    if not 0 <= label_smoothing <= 1:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
    probabilities = target.dtype.kind == "f" and target.shape == input.shape
    if not probabilities:
        _check_class_target(op, input, target, f" or floating class probabilities {input.shape}")
    return CrossEntropy(reduction, label_smoothing, probabilities)(input, target, weight)


def nll_loss(input: Any, target: Any, weight: Any = None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood: ``-input[n, target[n]]`` (times the class weight), for
    ``input`` holding log-probabilities (N, C) or (N, C, d1, ...), e.g. from log_softmax."""
    op = "nll_loss"
    _check_reduction(op, reduction)
    input, target = as_tensor(input), as_tensor(target)
    weight = None if weight is None else as_tensor(weight)
    _check_class_input(op, input, weight)
    _check_class_target(op, input, target)
    return NLLLoss(reduction)(input, target, weight)


def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Squared error (input - target)^2, reduced.

    Unlike PyTorch (which warns and broadcasts), shapes must match: broadcasting (N, 1)
    against (N,) silently computes an (N, N) loss, a classic bug.
    """
    _check_reduction("mse_loss", reduction)
    input, target = as_tensor(input), as_tensor(target)
    if input.shape != target.shape:
        raise ValueError(
            f"mse_loss: expected target of the input's shape {input.shape}, got {target.shape}"
        )
    return MSELoss(reduction)(input, target)


def _check_broadcasts(op: str, name: str, t: Tensor | None, shape: tuple[int, ...]) -> None:
    if t is None:
        return
    ok = t.ndim <= len(shape) and all(
        n in (1, m) for n, m in zip(reversed(t.shape), reversed(shape), strict=False)
    )
    if not ok:
        raise ValueError(f"{op}: {name} of shape {t.shape} does not broadcast to the input {shape}")


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
    _check_reduction(op, reduction)
    input, target = as_tensor(input), as_tensor(target)
    if target.shape != input.shape:
        raise ValueError(
            f"{op}: expected target of the input's shape {input.shape}, got {target.shape}"
        )
    weight = None if weight is None else as_tensor(weight)
    pos_weight = None if pos_weight is None else as_tensor(pos_weight)
    _check_broadcasts(op, "weight", weight, input.shape)
    _check_broadcasts(op, "pos_weight", pos_weight, input.shape)
    return BCEWithLogits(reduction)(input, target, weight, pos_weight)
