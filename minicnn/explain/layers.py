"""Grad-CAM intra-layer: a class-activation map at every convolutional layer, as if each were
the last, to see at which depth the network starts to look at the right (or wrong) place.

All the layers come from ONE forward and ONE backward pass: a forward hook keeps each layer's
output and asks it to retain its gradient, and the one backward pass from the target scores
fills them all (the gradient reaching a shallow layer passes through the deep ones anyway).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..functional._args import boolean, choice
from ..nn import Module
from ._core import Layer, Recording, Target, diagnose, finish, record, resolve_layers
from .cam import FORMULAS, GRADIENT_FREE, check_spatial


def sweep(
    model: Module,
    x: Any,
    target: Any = None,
    layers: Sequence[Layer] | Layer | None = None,
    where: str = "gradcam_layers",
) -> Recording:
    """The one recorded pass behind :func:`gradcam_layers`: activations and gradients of every
    chosen layer (every ``Conv2d`` by default), in the order the layers ran."""
    chosen = resolve_layers(model, layers, where)
    return record(model, x, chosen, target, where)


def maps_from(
    run: Recording,
    method: str = "gradcam",
    upsample: bool = True,
    normalize: bool = True,
    counterfactual: bool = False,
    where: str = "gradcam_layers",
    image_name: Callable[[int], str] = str,
) -> dict[str, np.ndarray]:
    """Each recorded layer's maps, by ``method``, shallow to deep (``image_name``: how a
    warning names image i)."""
    formula = FORMULAS[method]
    maps = {}
    for name in run.order:
        a, g = run.activations[name], run.gradients.get(name)
        check_spatial(where, name, a)
        if g is not None and counterfactual:
            g = -g
        raw, weights = formula(a, g)
        diagnose(where, name, a, g, weights, raw, run.targets, 4, image_name)
        maps[name] = finish(raw, run.input_size, upsample, normalize)
    return maps


def gradcam_layers(
    model: Module,
    x: Any,
    target: Target = None,
    layers: Sequence[Layer] | Layer | None = None,
    method: str = "gradcam",
    upsample: bool = True,
    normalize: bool = True,
    counterfactual: bool = False,
) -> dict[str, np.ndarray]:
    """Maps of ``x`` (N, C, H, W) for ``target`` at every convolutional layer (or at
    ``layers``: modules or dotted names, or ``"all"``), as ``{name: (N, H, W)}`` ordered from
    the shallowest layer to the deepest (the order they run in).

    ``method``: ``"gradcam"`` (default), ``"hirescam"``, ``"gradcam++"``, ``"layercam"``,
    ``"xgradcam"`` or ``"eigencam"``: those that need one pass (Ablation-CAM and Score-CAM
    need a pass per channel). ``target``, ``upsample``, ``normalize`` and ``counterfactual``
    are those of :class:`~minicnn.explain.GradCAM`. Without upsampling each layer keeps its
    own resolution. One forward and one backward pass in all.
    """
    where = "gradcam_layers"
    method = choice(where, "method", method, FORMULAS)
    upsample = boolean(where, "upsample", upsample)
    normalize = boolean(where, "normalize", normalize)
    counterfactual = boolean(where, "counterfactual", counterfactual)
    if method in GRADIENT_FREE:
        chosen = resolve_layers(model, layers, where)
        run = record(model, x, chosen, target, where, backward=False)
    else:
        run = sweep(model, x, target, layers, where)
    return maps_from(run, method, upsample, normalize, counterfactual, where)
