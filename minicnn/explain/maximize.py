"""Activation maximisation: the input a unit likes best, found by gradient ascent on the pixels.

Starting from faint noise, each step rolls the image by a few random pixels (*jitter*, which
keeps the ascent from building pixel-sized noise the unit happens to respond to), computes the
unit's mean activation minus ``l2 * mean(x^2)``, and moves the pixels up its gradient (scaled
to unit root-mean-square, so that ``lr`` is a step size in pixel units), then rolls back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import backend
from ..functional._args import is_int, non_negative, positive_int
from ..nn import Module
from ..tensor import Tensor, tensor
from ._core import Layer, forward_hooks, inspection_mode, model_device, model_dtype, resolve_layer


def unit_activation(output: Tensor, channel: int) -> Tensor:
    """The mean activation of ``channel``: a feature map's mean, or one unit of a vector."""
    if output.ndim in (2, 4):
        return output[:, channel].mean()
    raise ValueError(f"expected maps (N, C, H, W) or features (N, F), got shape {output.shape}")


def activation_maximization(
    model: Module,
    layer: Layer,
    channel: int,
    steps: int = 128,
    lr: float = 0.05,
    l2: float = 1e-3,
    *,
    input_shape: Sequence[int],
    jitter: int = 2,
    clip: tuple[float, float] | None = None,
    seed: int = 0,
) -> np.ndarray:
    """The image (C, H, W) of ``input_shape`` that ``channel`` of ``layer`` responds to most,
    after ``steps`` steps of ascent (see the module doc). ``clip``: keep the pixels in
    (low, high) after each step. The same ``seed`` gives the same image."""
    where = "activation_maximization"
    name, module = resolve_layer(model, layer, where)
    steps = positive_int(where, "steps", steps)
    lr, l2 = non_negative(where, "lr", lr), non_negative(where, "l2", l2)
    if not is_int(jitter) or jitter < 0:
        raise ValueError(f"{where}: jitter must be a non-negative int, got {jitter!r}")
    jitter = int(jitter)
    shape = tuple(input_shape)
    if len(shape) != 3 or not all(is_int(s) and s > 0 for s in shape):
        raise ValueError(f"{where}: input_shape must be (C, H, W), got {input_shape!r}")
    rng = np.random.default_rng(seed)
    dtype, device = model_dtype(model), model_device(model)
    image = (0.01 * rng.standard_normal((1, *shape))).astype(dtype)
    captured: list[Tensor] = []

    def keep(_module: Module, _inputs: tuple, output: Any) -> None:
        captured.append(output)

    with inspection_mode(model), forward_hooks({module: keep}):
        for _ in range(steps):
            dy, dx = (int(v) for v in rng.integers(-jitter, jitter + 1, size=2))
            shifted = np.roll(image, (dy, dx), axis=(2, 3))
            x = tensor(shifted, requires_grad=True, device=device)
            captured.clear()
            model(x)
            if not captured:
                raise ValueError(f"{where}: layer {name!r} did not run in the forward pass")
            out = captured[-1]
            if out.ndim in (2, 4) and not (is_int(channel) and 0 <= channel < out.shape[1]):
                raise ValueError(
                    f"{where}: channel must be an int in [0, {out.shape[1]}) for layer "
                    f"{name!r}, got {channel!r}"
                )
            objective = unit_activation(out, channel) - l2 * (x * x).mean()
            objective.backward()
            grad = backend.to_host(x.grad.data)
            rms = float(np.sqrt((grad * grad).mean()))
            if rms > 0:
                shifted = shifted + (lr / rms) * grad
            if clip is not None:
                shifted = np.clip(shifted, clip[0], clip[1])
            image = np.roll(shifted, (-dy, -dx), axis=(2, 3)).astype(dtype)
    return image[0]
