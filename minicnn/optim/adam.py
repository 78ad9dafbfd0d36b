"""Adam and AdamW: momentum plus per-weight step sizes, with bias correction."""

from __future__ import annotations

import math
from typing import Any

from .. import backend
from .optimizer import Optimizer, ParamsT, check_non_negative, zeros_state


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015): momentum and RMSprop together, with bias correction.

    Adam keeps two running averages per weight, of the gradient (the *first moment*, a
    velocity) and of its square (the *second moment*, as in RMSprop). At step
    :math:`t = 1, 2, \dots`::

        g ← g + λ θ                               (L2 weight decay, if λ > 0)
        m ← β₁ m + (1 − β₁) g                     (m₀ = 0)
        v ← β₂ v + (1 − β₂) g²                    (v₀ = 0)
        m̂ = m / (1 − β₁ᵗ),   v̂ = v / (1 − β₂ᵗ)     (bias correction)
        θ ← θ − η m̂ / (√v̂ + ε)

    Bias correction: m and v start at zero, so early on they are too small (after one step
    m = (1 − β₁) g); dividing by 1 − βᵗ makes them unbiased estimates of the mean gradient
    and the mean squared gradient. ``amsgrad=True`` divides by the largest v̂ seen so far
    instead (Reddi et al., 2018).

    ``decoupled_weight_decay=True`` turns this into :class:`AdamW`.

    State per parameter: ``"step"`` (t), ``"exp_avg"`` (m), ``"exp_avg_sq"`` (v) and, with
    amsgrad, ``"max_exp_avg_sq"``.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        decoupled_weight_decay: bool = False,
    ):
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        name = type(self).__name__
        check_non_negative("lr", group["lr"], "learning rate")
        check_non_negative("eps", group["eps"], "epsilon value")
        check_non_negative("weight_decay", group["weight_decay"])
        betas = group["betas"]
        if len(betas) != 2:
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {betas}")
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(
                    f"Invalid beta parameter at index {i}: {beta} (need 0 <= beta < 1)"
                )

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = backend.get_array_module(param)
        lr, weight_decay = group["lr"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        ### BEGIN SOLUTION
        ### HINT: count the steps in state["step"]; keep m and v in state["exp_avg"] and
        ### HINT: state["exp_avg_sq"] (zeros_state makes them); decoupled weight decay shrinks
        ### HINT: param itself, plain weight decay adds to grad. Update param in place.
        state["step"] = t = state.get("step", 0) + 1
        if weight_decay != 0:
            if group["decoupled_weight_decay"]:
                param *= 1 - lr * weight_decay
            else:
                grad = grad + weight_decay * param
        m = zeros_state(state, "exp_avg", param)
        v = zeros_state(state, "exp_avg_sq", param)
        m *= beta1
        m += (1 - beta1) * grad
        v *= beta2
        v += (1 - beta2) * grad * grad
        if group["amsgrad"]:
            v_max = zeros_state(state, "max_exp_avg_sq", param)
            xp.maximum(v_max, v, out=v_max)
            v = v_max
        # θ ← θ − η m̂ / (√v̂ + ε), written with m and v: the corrections become scalars.
        step_size = lr / (1 - beta1**t)
        denom = xp.sqrt(v) / math.sqrt(1 - beta2**t)
        denom += group["eps"]
        param -= step_size * (m / denom)
        ### END SOLUTION


class AdamW(Adam):
    r"""AdamW (Loshchilov & Hutter, 2019): Adam with *decoupled* weight decay.

    In Adam, L2 weight decay is added to the gradient, so it is rescaled by 1/(√v̂ + ε) like
    everything else: weights with large gradients are barely decayed. AdamW shrinks the
    weights directly instead, before the Adam step::

        θ ← θ (1 − η λ)
        θ ← θ − η m̂ / (√v̂ + ε)                 (m̂, v̂ as in :class:`Adam`, from the raw g)

    The default weight decay is λ = 0.01.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
        amsgrad: bool = False,
    ):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, decoupled_weight_decay=True)
