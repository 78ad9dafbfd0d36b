"""Gradients with respect to the input pixels: which pixels would change the score most.

* ``saliency`` (Simonyan et al., 2014): ``max_c |d y / d x[c]|`` per pixel;
* ``smoothgrad`` (Smilkov et al., 2017): the saliency averaged over noisy copies of the image,
  which removes much of the gradient's speckle;
* ``integrated_gradients`` (Sundararajan et al., 2017): ``(x - x') * mean over the path from
  a baseline x' to x of the gradient``. Its attributions add up to ``y(x) - y(x')``
  (completeness), up to the error of the ``steps``-point midpoint rule.

The score is the pre-softmax logit of the target class (each image's prediction by default).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..functional._args import boolean, non_negative, positive_int
from ..nn import Module
from ..tensor import Tensor, tensor
from ._core import Target, as_images, normalize_maps, record


def input_gradient(model: Module, x: Any, target: Target, where: str) -> tuple[np.ndarray, Any]:
    """``d y_target / d x`` (N, C, H, W) from one pass, and the targets used."""
    run = record(model, x, {}, target, where)
    return run.input_gradient, run.targets


def saliency(model: Module, x: Any, target: Target = None, normalize: bool = True) -> np.ndarray:
    """Saliency maps (N, H, W): the largest absolute input gradient over the channels."""
    normalize = boolean("saliency", "normalize", normalize)
    grad, _ = input_gradient(model, x, target, "saliency")
    maps = np.abs(grad).max(axis=1)
    return normalize_maps(maps) if normalize else maps


def smoothgrad(
    model: Module,
    x: Any,
    target: Target = None,
    samples: int = 16,
    noise: float = 0.15,
    normalize: bool = True,
    seed: int = 0,
) -> np.ndarray:
    """SmoothGrad maps (N, H, W): the saliency of ``samples`` copies of each image with
    Gaussian noise of standard deviation ``noise * (max - min)`` of that image, averaged.

    The target (None: the prediction for the clean image) is the same for every copy;
    ``seed`` makes the noise repeatable. One forward and backward pass per sample.
    """
    where = "smoothgrad"
    samples = positive_int(where, "samples", samples)
    noise = non_negative(where, "noise", noise)
    normalize = boolean(where, "normalize", normalize)
    images = as_images(model, x, where).detach()
    clean = images.numpy()
    targets = record(model, images, {}, target, where, backward=False).targets
    spread = clean.max(axis=(1, 2, 3), keepdims=True) - clean.min(axis=(1, 2, 3), keepdims=True)
    rng = np.random.default_rng(seed)
    total = np.zeros((clean.shape[0], *clean.shape[2:]), dtype=np.float64)
    for _ in range(samples):
        noisy = clean + noise * spread * rng.standard_normal(clean.shape)
        grad, _ = input_gradient(model, noisy.astype(clean.dtype), targets, where)
        total += np.abs(grad).max(axis=1)
    maps = (total / samples).astype(clean.dtype)
    return normalize_maps(maps) if normalize else maps


def integrated_gradients(
    model: Module,
    x: Any,
    target: Target = None,
    baseline: Any = None,
    steps: int = 32,
) -> np.ndarray:
    """Integrated-gradients attributions (N, C, H, W), one per input value:
    ``(x - baseline) * (1/steps) sum_k grad(baseline + a_k (x - baseline))`` with
    ``a_k = (k + 1/2) / steps`` (the midpoint rule).

    ``baseline``: an array broadcastable to ``x`` (default: zeros, a black image). The
    attributions of an image sum to about ``y(x) - y(baseline)``. One pass per step.
    """
    where = "integrated_gradients"
    steps = positive_int(where, "steps", steps)
    images = as_images(model, x, where).detach()
    xp = backend.get_array_module(images.data)
    data = images.data
    if baseline is None:
        start = xp.zeros_like(data)
    else:
        base = baseline.data if isinstance(baseline, Tensor) else baseline
        start = xp.broadcast_to(backend.asarray(base, data.dtype, images.device), data.shape)
    targets = record(model, images, {}, target, where, backward=False).targets
    total = np.zeros(images.shape, dtype=np.float64)
    for k in range(steps):
        point = start + ((k + 0.5) / steps) * (data - start)
        grad, _ = input_gradient(model, tensor(point), targets, where)
        total += grad
    difference = backend.to_host(data - start).astype(np.float64)
    return (difference * total / steps).astype(images.dtype)
