"""``gradcheck``: compare an op's analytic gradient with central finite differences.

For a function ``f`` of tensors, pick a random upstream gradient ``u`` (one per output) and
look at the scalar ``L(x) = sum(u * f(x))``. Its gradient is what backward computes when given
``u``; numerically, for every element ``x_i`` of every input that requires grad,

    dL/dx_i  ~=  (L(x + eps e_i) - L(x - eps e_i)) / (2 eps)

with an error of order eps**2. An element passes when
``|analytic - numerical| <= atol + rtol * |numerical|``. Use float64: in float32 the rounding
error of L, divided by 2 eps, swamps the difference.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy

from . import backend
from .autograd import no_grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """The analytic gradient of an input disagrees with the numerical one."""


def _outputs(fn: Callable, inputs: Sequence[Tensor]) -> tuple[Tensor, ...]:
    out = fn(*inputs)
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def _projected(outputs: tuple[Tensor, ...], upstream: list[Any]) -> float:
    return float(sum((o.data * u).sum() for o, u in zip(outputs, upstream, strict=True)))


def gradcheck(
    fn: Callable[..., Tensor | Sequence[Tensor]],
    inputs: Tensor | Sequence[Tensor],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    seed: int = 0,
) -> bool:
    """Check the gradients of ``fn(*inputs)`` for every input that requires grad.

    Returns True when they match. Otherwise raises ``GradcheckError`` (or returns False with
    ``raise_exception=False``) naming the input, the index of its worst element, the analytic
    and numerical values there, and the largest absolute and relative errors.
    ``fn`` must be deterministic: seed any randomness inside it.
    """
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")
    if any(inputs[i].dtype != backend.float64 for i in checked):
        warnings.warn(
            "gradcheck with non-float64 inputs: rounding errors will dominate finite "
            "differences; use .double()",
            stacklevel=2,
        )

    saved = [(inputs[i].data, inputs[i].grad) for i in checked]
    try:
        outputs = _outputs(fn, inputs)
        rng = numpy.random.default_rng(seed)
        upstream = [
            backend.asarray(rng.standard_normal(o.shape), dtype=o.dtype, device=o.device)
            for o in outputs
        ]
        for i in checked:
            inputs[i].grad = None
        for o, u in zip(outputs, upstream, strict=True):
            if o.requires_grad:
                o.backward(u, retain_graph=True)
        for i in checked:
            x = inputs[i]
            analytic = numpy.zeros(x.shape) if x.grad is None else backend.to_host(x.grad.data)
            numerical = _numerical_gradient(fn, inputs, x, upstream, eps)
            message = _mismatch(analytic, numerical, atol, rtol)
            if message:
                if raise_exception:
                    raise GradcheckError(
                        f"gradcheck failed for input {i} (shape {x.shape}): {message}"
                    )
                return False
        return True
    finally:  # the inputs leave as they came
        for i, (data, grad) in zip(checked, saved, strict=True):
            inputs[i].data, inputs[i].grad = data, grad


def _numerical_gradient(
    fn: Callable, inputs: tuple[Tensor, ...], x: Tensor, upstream: list[Any], eps: float
) -> numpy.ndarray:
    """dL/dx by central differences, perturbing one element of ``x`` at a time in place."""
    numerical = numpy.zeros(x.shape)
    x.data = x.data.copy()  # contiguous, and the caller's array is never written
    flat = x.data.reshape(-1)  # a view: writing it perturbs x
    with no_grad():
        for j in range(flat.size):
            original = flat[j].item()
            flat[j] = original + eps
            plus = _projected(_outputs(fn, inputs), upstream)
            flat[j] = original - eps
            minus = _projected(_outputs(fn, inputs), upstream)
            flat[j] = original
            numerical.flat[j] = (plus - minus) / (2 * eps)
    return numerical


def _mismatch(analytic: numpy.ndarray, numerical: numpy.ndarray, atol: float, rtol: float) -> str:
    """A description of the worst element outside the tolerance, or "" when all agree.

    Written as ``not error <= tolerance`` so that a NaN anywhere fails the check.
    """
    error = abs(analytic - numerical)
    tolerance = atol + rtol * abs(numerical)
    bad = ~(error <= tolerance)
    if not bad.any():
        return ""
    worst = numpy.where(numpy.isnan(error), numpy.inf, error - tolerance).argmax()
    index = tuple(int(k) for k in numpy.unravel_index(worst, analytic.shape))
    nonzero = numerical != 0
    relative = (error[nonzero] / abs(numerical[nonzero])).max() if nonzero.any() else numpy.nan
    return (
        f"at index {index} the analytic gradient is {analytic.flat[worst]:.8g} but the "
        f"numerical one is {numerical.flat[worst]:.8g}; max abs error {error.max():.3g}, "
        f"max rel error {relative:.3g} where the numerical gradient is nonzero "
        f"({int(bad.sum())} of {bad.size} elements outside atol={atol}, rtol={rtol})"
    )
