"""Loss functions: cross-entropy, negative log-likelihood, mean squared error, and binary
cross-entropy on probabilities and on logits. The public functions with their argument checks
are in :mod:`minicnn.functional.loss`; these Functions trust what they are given.

Each computes a per-element loss ``l`` and then reduces it: ``reduction="none"`` returns ``l``,
``"sum"`` its sum, ``"mean"`` its mean (for class losses with weights or ignored targets: the
sum divided by the summed weights of the targets that count, as PyTorch). The backward of the
reduction is the upstream gradient ``g`` spread back: ``g`` itself for "none" and "sum"
(broadcast), ``g / divisor`` for "mean".

Classification losses take ``x`` of shape (N, C) or (N, C, d1, d2, ...) (the class axis is 1,
e.g. per-pixel logits (N, C, H, W) of a segmentation net) and integer class indices ``target``
of shape (N,) or (N, d1, d2, ...). A target equal to ``ignore_index`` contributes nothing: no
loss, no gradient, no weight in the mean's divisor (all ignored: the mean is 0/0 = nan, as in
PyTorch).
"""

from __future__ import annotations

import contextlib
from typing import Any

from .. import backend
from ..autograd import Function


def _quiet(xp: Any) -> Any:
    """Silence NumPy's warnings for 0/0 and log(0): PyTorch returns nan and -inf quietly, and
    so must we (CuPy never warns)."""
    errstate = getattr(xp, "errstate", None)
    return errstate(divide="ignore", invalid="ignore") if errstate else contextlib.nullcontext()


def _reduce(xp: Any, loss: Any, reduction: str, divisor: Any, dtype: Any) -> Any:
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "mean":
        with _quiet(xp):
            total = total / divisor
    return xp.asarray(total, dtype=dtype)


def _per_element_grad(xp: Any, g: Any, reduction: str, divisor: Any, counts: Any = None) -> Any:
    """The upstream gradient of each per-element loss (it broadcasts against the loss).

    ``counts`` (bool, the loss's shape) marks the elements that are not ignored; for the mean
    the others get 0, not g / 0 when nothing counts.
    """
    if reduction != "mean":
        return g
    with _quiet(xp):
        share = g / divisor
    return share if counts is None else xp.where(counts, share, 0).astype(share.dtype, copy=False)


# PyTorch's BCE gradient keeps x (1 - x) >= 1e-12 as a float: this is that float's value
_EPSILON = 9.999999960041972e-13


def _class_axis_shape(ndim: int) -> tuple[int, ...]:
    """Shape that puts a (C,) vector on axis 1 of an (N, C, d1, ...) array."""
    return (1, -1) + (1,) * (ndim - 2)


class CrossEntropy(Function):
    """Softmax cross-entropy from logits, fused: l_n = -sum_c q_nc log p_nc, p = softmax(x)
    over the class axis, and its gradient dx_n = g_n (s_n p_n - q_n) with s_n = sum_c q_nc.
    (The plain version, one-hot targets and a mean, is ``cross_entropy_forward``/``_backward``
    in :mod:`minicnn.ops.reference`; this one adds weights, smoothing and ignored targets.)

    q is the target distribution, weighted: q_nc = w_c ((1 - eps) t_nc + eps / C) with t the
    one-hot of the class index (or given class probabilities), eps the label smoothing and
    w the class weights (1 without); q_n = 0 for an ignored target. Without weights and
    smoothing this is the familiar dx = p - onehot(target). That l_n matches PyTorch's smoothed
    loss (1 - eps) * nll + eps / C * (-sum_c w_c log p_c).
    For probability targets, dtarget = -g_n (1 - eps) w log p.
    Shapes: x (N, C, *), target (N, *) indices or (N, C, *) probabilities, weight (C,).
    """

    def __init__(
        self, reduction: str, label_smoothing: float, probabilities: bool, ignore_index: int
    ):
        self.reduction, self.smoothing = reduction, float(label_smoothing)
        self.probabilities, self.ignore_index = probabilities, ignore_index

    def forward(self, x: Any, target: Any, weight: Any) -> Any:
        xp = backend.get_array_module(x)
        classes, by_class = x.shape[1], _class_axis_shape(x.ndim)
        shifted = x - x.max(axis=1, keepdims=True)
        log_p = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
        w = None if weight is None else weight.astype(x.dtype, copy=False).reshape(by_class)
        self.counts = None
        if self.probabilities:
            t = target.astype(x.dtype, copy=False)
            divisor = t.size // classes  # the number of losses, as PyTorch (not the weights)
        else:
            counts = target != self.ignore_index
            onehot = (target[:, None] == xp.arange(classes).reshape(by_class)) & counts[:, None]
            t = onehot.astype(x.dtype)
            if w is None:
                divisor = counts.sum(dtype=x.dtype)
            else:  # the weights of the target classes that count
                divisor = (t * w).sum(dtype=x.dtype)
            self.counts = counts
        q = t
        if self.smoothing:
            uniform = self.smoothing / classes
            if self.counts is not None:
                uniform = uniform * self.counts[:, None].astype(x.dtype)
            q = (1 - self.smoothing) * t + uniform
        if w is not None:
            q = q * w
        loss = -(q * log_p).sum(axis=1)
        self.log_p, self.q, self.w, self.divisor = log_p, q, w, divisor
        return _reduce(xp, loss, self.reduction, divisor, x.dtype)

    def backward(self, g: Any) -> tuple[Any, Any, None]:
        xp = backend.get_array_module(g)
        g_n = _per_element_grad(xp, g, self.reduction, self.divisor, self.counts)
        g_n = g_n[:, None] if g_n.ndim else g_n  # "none" and counted means: (N, 1, *)
        dx = dtarget = None
        with _quiet(xp):  # nothing weighs (all class weights 0): nan gradients, as PyTorch
            if self.needs_input_grad[0]:
                p = xp.exp(self.log_p)
                dx = g_n * (self.q.sum(axis=1, keepdims=True) * p - self.q)
            if self.needs_input_grad[1]:
                w = 1 if self.w is None else self.w
                dtarget = -g_n * (1 - self.smoothing) * w * self.log_p
        return dx, dtarget, None


class NLLLoss(Function):
    """Negative log-likelihood of log-probabilities: l_n = -w_{t_n} x[n, t_n] (0 for an ignored
    target); dx[n, c] = -g_n w_{t_n} where c = t_n, else 0.
    Shapes: x (N, C, *), target (N, *) class indices, weight (C,).
    """

    def __init__(self, reduction: str, ignore_index: int):
        self.reduction, self.ignore_index = reduction, ignore_index

    def forward(self, x: Any, target: Any, weight: Any) -> Any:
        xp = backend.get_array_module(x)
        counts = target != self.ignore_index
        safe = xp.where(counts, target, 0)  # an index for every position, even ignored ones
        picked = xp.take_along_axis(x, safe[:, None], axis=1)[:, 0]
        picked = xp.where(counts, picked, 0).astype(x.dtype)
        if weight is None:
            w_t = counts.astype(x.dtype)
        else:
            w_t = xp.where(counts, weight.astype(x.dtype, copy=False)[safe], 0).astype(x.dtype)
        self.divisor = w_t.sum()
        self.target, self.w_t, self.counts, self.classes = target, w_t, counts, x.shape[1]
        return _reduce(xp, -w_t * picked, self.reduction, self.divisor, x.dtype)

    def backward(self, g: Any) -> tuple[Any, None, None]:
        xp = backend.get_array_module(g)
        g_n = _per_element_grad(xp, g, self.reduction, self.divisor, self.counts)
        onehot = self.target[:, None] == xp.arange(self.classes).reshape(
            _class_axis_shape(self.target.ndim + 1)
        )
        with _quiet(xp):
            share = (-g_n * self.w_t)[:, None]
        dx = xp.where(onehot, share, 0).astype(self.w_t.dtype, copy=False)
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
        xp = backend.get_array_module(g)
        d = 2 * self.diff * _per_element_grad(xp, g, self.reduction, self.divisor)
        return (d if self.needs_input_grad[0] else None), (-d if self.needs_input_grad[1] else None)


class BinaryCrossEntropy(Function):
    """Binary cross-entropy of probabilities x in [0, 1] with targets y, weight w:

        l = -w [y max(log x, -100) + (1 - y) max(log(1 - x), -100)]

    (PyTorch clamps each log at -100, so x = 0 or 1 gives a finite loss). Gradients, as PyTorch
    computes them: dx = g w (x - y) / max(x (1 - x), 1e-12), the derivative of l inside (0, 1)
    with its denominator kept off 0; dy = g w (log(1 - x) - log x) = -g w logit(x).
    Shapes: x, y alike; w broadcast to x.
    """

    def __init__(self, reduction: str):
        self.reduction = reduction

    def forward(self, x: Any, y: Any, weight: Any) -> Any:
        xp = backend.get_array_module(x)
        with _quiet(xp):
            log_x, log_1mx = xp.log(x), xp.log1p(-x)
        loss = (y - 1) * xp.maximum(log_1mx, -100) - y * xp.maximum(log_x, -100)
        self.w = 1 if weight is None else weight.astype(x.dtype, copy=False)
        loss = loss * self.w if weight is not None else loss
        self.x, self.y, self.divisor = x, y, x.size
        return _reduce(xp, loss, self.reduction, self.divisor, x.dtype)

    def backward(self, g: Any) -> tuple[Any, Any, None]:
        xp = backend.get_array_module(g)
        g_l = _per_element_grad(xp, g, self.reduction, self.divisor) * self.w
        x, dx, dy = self.x, None, None
        if self.needs_input_grad[0]:
            dx = g_l * (x - self.y) / xp.maximum((1 - x) * x, _EPSILON)
        if self.needs_input_grad[1]:
            with _quiet(xp):
                dy = -g_l * xp.log(x / (1 - x))
        return dx, dy, None


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
        m = 1 if pos_weight is None else (self.a - 1) * y + 1
        loss = self.w * ((1 - y) * x + m * softplus_neg)
        self.x, self.y, self.m, self.softplus_neg = x, y, m, softplus_neg
        self.divisor = x.size
        return _reduce(xp, loss, self.reduction, self.divisor, x.dtype)

    def backward(self, g: Any) -> tuple[Any, Any, None, None]:
        xp = backend.get_array_module(g)
        g_l = _per_element_grad(xp, g, self.reduction, self.divisor) * self.w
        dx = dy = None
        if self.needs_input_grad[0]:
            dx = g_l * (self.m * self.sigmoid - self.a * self.y)
        if self.needs_input_grad[1]:
            dy = g_l * ((self.a - 1) * self.softplus_neg - self.x)
        return dx, dy, None, None
