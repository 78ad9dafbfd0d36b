"""Guided backpropagation (Springenberg et al., 2015) and Guided Grad-CAM (Selvaraju et al.).

A ReLU's backward passes ``g * [x > 0]``: the gradient where the unit was active. Guided
backpropagation also drops the negative gradients, passing ``ReLU(g) * [x > 0]``: only what
increases the score, through units that fired. The result is a sharp picture of the input's
edges that mattered, but not class-discriminative; Guided Grad-CAM multiplies it by the
(upsampled, normalised) Grad-CAM map, which is.

The change is made through a hook, not a copy of the model: a forward hook on every
``nn.ReLU`` puts a tensor hook on its output that clamps the incoming gradient at zero; the
ReLU's own backward then applies ``[x > 0]``. ReLUs called as ``F.relu`` inside a ``forward``
are not layers and keep their ordinary backward.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..nn import Module, ReLU
from ..tensor import Tensor
from ._core import Layer, Target, record
from .cam import GradCAM


def _positive(grad: Tensor) -> Tensor:
    return grad.clip(min=0)


def guided_backprop(model: Module, x: Any, target: Target = None) -> np.ndarray:
    """Guided-backpropagation gradients (N, C, H, W) of the target scores with respect to
    ``x`` (raw values: positive and negative; scale them for display)."""
    if not any(isinstance(m, ReLU) for m in model.modules()):
        warnings.warn(
            "guided_backprop: the model has no nn.ReLU layer, so this is the plain gradient",
            UserWarning,
            stacklevel=2,
        )
    run = record(model, x, {}, target, "guided_backprop", relu_grad_hook=_positive)
    return run.input_gradient


def guided_gradcam(model: Module, x: Any, target_layer: Layer, target: Target = None) -> np.ndarray:
    """Guided Grad-CAM (N, C, H, W): guided backpropagation times the normalised Grad-CAM map
    of ``target_layer`` (the same map for every channel)."""
    cam = GradCAM(model, target_layer)
    maps = cam(x, target)
    guided = guided_backprop(model, x, cam.targets)
    return guided * maps[:, None]
