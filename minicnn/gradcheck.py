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

    outputs = _outputs(fn, inputs)
    rng = numpy.random.default_rng(seed)
    upstream = [
        backend.asarray(rng.standard_normal(o.shape), dtype=o.dtype, device=o.device)
        for o in outputs
    ]
    for i in checked:
        inputs[i].grad = None
    differentiable = [(o, u) for o, u in zip(outputs, upstream, strict=True) if o.requires_grad]
    for o, u in differentiable:
        o.backward(u, retain_graph=True)

    for i in checked:
        x = inputs[i]
        shape = x.shape
        analytic = numpy.zeros(shape) if x.grad is None else backend.to_host(x.grad.data)
        numerical = numpy.zeros(shape)
        if not x.data.flags.c_contiguous:
            x.data = x.data.copy()
        flat = x.data.reshape(-1)  # a view of a contiguous array: writing it perturbs x
        with no_grad():
            for j in range(flat.size):
                original = flat[j].item()
                flat[j] = original + eps
                plus = _projected(_outputs(fn, inputs), upstream)
                flat[j] = original - eps
                minus = _projected(_outputs(fn, inputs), upstream)
                flat[j] = original
                numerical.flat[j] = (plus - minus) / (2 * eps)
        error = abs(analytic - numerical)
        bad = error > atol + rtol * abs(numerical)
        if bad.any():
            worst = (error - rtol * abs(numerical)).argmax()
            index = tuple(int(k) for k in numpy.unravel_index(worst, x.shape))
            relative = error / (abs(numerical) + 1e-300)
            message = (
                f"gradcheck failed for input {i} (shape {x.shape}): at index {index} the "
                f"analytic gradient is {analytic.reshape(-1)[worst]:.8g} but the numerical one is "
                f"{numerical.reshape(-1)[worst]:.8g}; max abs error {error.max():.3g}, "
                f"max rel error {relative.max():.3g} ({int(bad.sum())} of {bad.size} elements "
                f"outside atol={atol}, rtol={rtol})"
            )
            if raise_exception:
                raise GradcheckError(message)
            return False
    return True
