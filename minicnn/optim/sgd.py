"""Stochastic gradient descent, with momentum."""

from __future__ import annotations

from typing import Any

from .optimizer import Optimizer, ParamsT, check_non_negative


class SGD(Optimizer):
    r"""Stochastic gradient descent with optional momentum, Nesterov momentum and weight decay.

    For a parameter :math:`\theta` with gradient :math:`g`, learning rate :math:`\eta`,
    momentum :math:`\mu`, dampening :math:`\tau` and weight decay :math:`\lambda`::

        g ← g + λ θ                        (L2 weight decay, if λ > 0)
        θ ← θ − η g                        (plain SGD, μ = 0)

    With momentum the step follows a *velocity* :math:`v`, a running sum of past gradients
    that keeps moving in directions where the gradients agree and cancels noise where they
    do not::

        v ← g                              (first step)
        v ← μ v + (1 − τ) g                (later steps)
        θ ← θ − η v                        (classical momentum)
        θ ← θ − η (g + μ v)                (Nesterov: look ahead along the velocity)

    This is PyTorch's formulation (the learning rate multiplies the velocity, unlike
    Sutskever et al., where it is inside it; the two agree when η is constant).

    Args:
        params: parameters (Tensors) or parameter groups (dicts) to optimize.
        lr: learning rate η.
        momentum: momentum factor μ (0 turns momentum off).
        dampening: dampening τ of the gradient added to the velocity.
        weight_decay: L2 penalty λ.
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening 0).

    State per parameter: ``"momentum_buffer"`` (the velocity v) when momentum is used.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
    ):
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
        )
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        check_non_negative("lr", group["lr"], "learning rate")
        check_non_negative("momentum", group["momentum"])
        check_non_negative("weight_decay", group["weight_decay"])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        lr, momentum, weight_decay = group["lr"], group["momentum"], group["weight_decay"]
        ### BEGIN SOLUTION
        ### HINT: the update of the class docstring, in place on ``param`` (param -= ...); keep the
        ### HINT: velocity in state["momentum_buffer"], a copy of the first gradient at step one.
        ### HINT: Never change ``grad`` in place: write grad = grad + ... instead.
        if weight_decay != 0:
            grad = grad + weight_decay * param
        if momentum != 0:
            velocity = state.get("momentum_buffer")
            if velocity is None:
                velocity = state["momentum_buffer"] = grad.astype(param.dtype, copy=True)
            else:
                velocity *= momentum
                velocity += (1 - group["dampening"]) * grad
            grad = grad + momentum * velocity if group["nesterov"] else velocity
        param -= lr * grad
        ### END SOLUTION
