"""Gradient clipping, as in ``torch.nn.utils``: ``clip_grad_norm_`` and ``clip_grad_value_``.

Both change the gradients in place, where they are: the total norm is computed and applied as
an array on the parameters' device and returned as a Tensor there, so a training step on the
GPU copies nothing to the host for it (``error_if_nonfinite=True`` is the one exception: the
test on the norm must read it, as in PyTorch).
"""

from __future__ import annotations

import contextlib
import math
import numbers
from collections.abc import Iterable
from typing import Any

from .. import backend
from ..functional._args import non_negative
from ..tensor import Tensor

Parameters = Tensor | Iterable[Tensor]


def _grads(parameters: Parameters) -> list[Tensor]:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p.grad for p in params if p.grad is not None]


def _norm_type(value: Any) -> float:
    """A real p (inf and -inf too, also as the strings "inf" and "-inf")."""
    if isinstance(value, str) and value.strip().lower() in ("inf", "+inf", "-inf"):
        return float(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
        raise ValueError(f"clip_grad_norm_: norm_type must be a number or 'inf', got {value!r}")
    return float(value)


def _vector_norm(xp: Any, a: Any, p: float) -> Any:
    """``torch.linalg.vector_norm(a, p)`` of all the elements of ``a``, as an array of its dtype:
    (sum |a|^p)^(1/p); max |a| for p = inf, min |a| for p = -inf, the count of non-zeros for 0."""
    a = xp.abs(a)
    if a.size == 0:
        return xp.zeros((), dtype=a.dtype)
    if p == math.inf:
        return a.max()
    if p == -math.inf:
        return a.min()
    if p == 0:
        return (a != 0).sum(dtype=a.dtype)
    if p == 1:
        return a.sum()
    if p == 2:
        return xp.sqrt((a * a).sum())
    return (a**p).sum() ** (1 / p)


def clip_grad_norm_(
    parameters: Parameters,
    max_norm: float,
    norm_type: float | str = 2.0,
    error_if_nonfinite: bool = False,
) -> Tensor:
    """Scale the gradients of ``parameters`` (a Tensor or an iterable of them; those without a
    gradient are skipped) so that their total ``norm_type``-norm is at most ``max_norm``.

    The total norm is the norm of the vector of every gradient's norm (the norm of all the
    gradients together); the gradients are multiplied by min(max_norm / (total + 1e-6), 1),
    as in PyTorch. Returns the total norm before clipping, a 0-d Tensor on the gradients'
    device (0.0 when no parameter has a gradient). A non-finite total raises RuntimeError with
    ``error_if_nonfinite=True``; otherwise the gradients are scaled by it anyway (becoming nan).
    """
    max_norm = non_negative("clip_grad_norm_", "max_norm", max_norm)
    p = _norm_type(norm_type)
    grads = _grads(parameters)
    if not grads:
        return Tensor(backend.asarray(0.0, backend.float32))
    xp = backend.get_array_module(grads[0].data)
    device = grads[0].device
    norms = [backend.to_device(_vector_norm(xp, g.data, p), device) for g in grads]
    total = _vector_norm(xp, xp.stack(norms), p)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {p} of the gradients is non-finite, so "
            f"they cannot be clipped; to scale them by it anyway, set error_if_nonfinite=False"
        )
    coefficient = xp.minimum(max_norm / (total + 1e-6), 1.0)
    errstate = getattr(xp, "errstate", None)  # NumPy's: inf * 0 is nan, quietly as in PyTorch
    with errstate(invalid="ignore") if errstate else contextlib.nullcontext():
        for g in grads:
            g.data *= coefficient.astype(g.dtype)
    return Tensor(total)


def clip_grad_value_(parameters: Parameters, clip_value: float) -> None:
    """Clamp every gradient of ``parameters`` to [-clip_value, clip_value], in place."""
    clip_value = float(non_negative("clip_grad_value_", "clip_value", clip_value))
    for g in _grads(parameters):
        xp = backend.get_array_module(g.data)
        xp.clip(g.data, -clip_value, clip_value, out=g.data)
