"""RMSprop: gradient descent scaled by a running average of squared gradients."""

from __future__ import annotations

from typing import Any

from .. import backend
from .optimizer import Optimizer, ParamsT, check_non_negative, zeros_state


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture 6e), as PyTorch implements it.

    Each weight gets its own step size: the gradient is divided by the root of a running
    mean of its recent squares, so weights with large, noisy gradients take smaller steps
    and weights with small gradients larger ones. With smoothing constant :math:`\alpha`::

        g ← g + λ θ                                   (L2 weight decay, if λ > 0)
        s ← α s + (1 − α) g²                          (running mean of squared gradients, s₀ = 0)
        θ ← θ − η g / (√s + ε)

    ``centered=True`` also keeps a running mean of the gradients, :math:`m ← α m + (1 − α) g`,
    and divides by an estimate of their standard deviation, :math:`\sqrt{s − m^2} + ε`.
    With momentum :math:`\mu` the scaled gradient feeds a velocity::

        b ← μ b + g / (√s + ε)
        θ ← θ − η b

    State per parameter: ``"step"``, ``"square_avg"`` (s), ``"grad_avg"`` (m, centered only),
    ``"momentum_buffer"`` (b, momentum only).
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 0.01,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
    ):
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
        )
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        check_non_negative("lr", group["lr"], "learning rate")
        check_non_negative("eps", group["eps"], "epsilon value")
        check_non_negative("momentum", group["momentum"])
        check_non_negative("weight_decay", group["weight_decay"])
        check_non_negative("alpha", group["alpha"])

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = backend.get_array_module(param)
        alpha, momentum, weight_decay = group["alpha"], group["momentum"], group["weight_decay"]
        state["step"] = state.get("step", 0) + 1
        if weight_decay != 0:
            grad = grad + weight_decay * param
        square_avg = zeros_state(state, "square_avg", param)
        square_avg *= alpha
        square_avg += (1 - alpha) * grad * grad
        if group["centered"]:
            grad_avg = zeros_state(state, "grad_avg", param)
            grad_avg *= alpha
            grad_avg += (1 - alpha) * grad
            avg = xp.sqrt(square_avg - grad_avg * grad_avg)
        else:
            avg = xp.sqrt(square_avg)
        avg += group["eps"]
        if momentum > 0:
            buf = zeros_state(state, "momentum_buffer", param)
            buf *= momentum
            buf += grad / avg
            param -= group["lr"] * buf
        else:
            param -= group["lr"] * (grad / avg)
