"""Measuring maps instead of only looking at them, given where the object is.

``boxes`` are (N, 4) int ``(x0, y0, x1, y1)``, the object's pixels being
``[y0:y1, x0:x1]`` (as ``SyntheticShapes.boxes``); ``maps`` are (N, H, W) at the input's size.

* ``pointing_game``: a hit when the map's maximum (the first in row-major order) falls inside
  the box (Zhang et al., 2016, without their 15-pixel tolerance); a constant map is a miss;
* ``energy_in_box``: the share of the map's sum that lies inside the box;
* ``confidence_drop``: Grad-CAM++'s "average drop": the input multiplied by its map, how much
  of the target's softmax probability is lost, ``max(0, p - p_masked) / p``;
* ``pointing_game_by_layer``: the pointing-game accuracy of every layer's map from one pass,
  the depth at which localisation emerges.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import backend
from ..autograd import no_grad
from ..nn import Module
from ..tensor import tensor
from ._core import Layer, Target, as_images, choose_targets, inspection_mode
from .layers import gradcam_layers


def _check(maps: Any, boxes: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    maps, boxes = np.asarray(maps), np.asarray(boxes)
    if maps.ndim != 3:
        raise ValueError(f"{where}: maps must be (N, H, W), got shape {maps.shape}")
    if boxes.shape != (len(maps), 4):
        raise ValueError(
            f"{where}: boxes must be ({len(maps)}, 4) (x0, y0, x1, y1), got shape {boxes.shape}"
        )
    return maps, boxes.astype(np.int64)


def _inside(boxes: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    rows = np.arange(shape[0])[None, :, None]
    cols = np.arange(shape[1])[None, None, :]
    x0, y0, x1, y1 = (boxes[:, i, None, None] for i in range(4))
    return (rows >= y0) & (rows < y1) & (cols >= x0) & (cols < x1)


def pointing_game(maps: Any, boxes: Any) -> np.ndarray:
    """(N,) bool: whether each map's maximum lies inside its box."""
    maps, boxes = _check(maps, boxes, "pointing_game")
    flat = maps.reshape(len(maps), -1)
    row, col = np.divmod(flat.argmax(axis=1), maps.shape[2])
    x0, y0, x1, y1 = boxes.T
    hit = (row >= y0) & (row < y1) & (col >= x0) & (col < x1)
    return hit & (flat.max(axis=1) > flat.min(axis=1))


def energy_in_box(maps: Any, boxes: Any) -> np.ndarray:
    """(N,) the share of each (non-negative) map's sum inside its box (0 for an empty map)."""
    maps, boxes = _check(maps, boxes, "energy_in_box")
    if (maps < 0).any():
        raise ValueError("energy_in_box: maps must be non-negative (normalised maps are)")
    total = maps.sum(axis=(1, 2), dtype=np.float64)
    inside = np.where(_inside(boxes, maps.shape[1:]), maps, 0).sum(axis=(1, 2), dtype=np.float64)
    out = np.zeros_like(total)
    np.divide(inside, total, out=out, where=total > 0)
    return out


def _probabilities(logits: np.ndarray) -> np.ndarray:
    logits = logits.astype(np.float64)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def masked_confidence(
    model: Module, x: Any, maps: Any, target: Target = None
) -> tuple[np.ndarray, np.ndarray]:
    """The target's softmax probability on each image and on the image times its map
    ``(p, p_masked)``, each (N,). ``target``: None (the prediction on the full image)."""
    where = "confidence_drop"
    images = as_images(model, x, where).detach()
    maps = np.asarray(maps)
    if maps.shape != (images.shape[0], *images.shape[2:]):
        raise ValueError(
            f"{where}: maps must be (N, H, W) = {(images.shape[0], *images.shape[2:])}, got "
            f"{maps.shape}"
        )
    mask = backend.to_device(maps[:, None].astype(images.dtype), images.device)
    with inspection_mode(model), no_grad():
        full = model(images).numpy()
        masked = model(tensor(images.data * mask)).numpy()
    targets = choose_targets(target, full, where)
    rows = np.arange(len(targets))
    return _probabilities(full)[rows, targets], _probabilities(masked)[rows, targets]


def confidence_drop(model: Module, x: Any, maps: Any, target: Target = None) -> np.ndarray:
    """(N,) ``max(0, p - p_masked) / p``: the share of confidence lost when the model sees only
    what the map shows (Grad-CAM++'s average drop is its mean, in percent). Low is good."""
    p, masked = masked_confidence(model, x, maps, target)
    return np.maximum(p - masked, 0) / p


def pointing_game_by_layer(
    model: Module,
    x: Any,
    boxes: Any,
    target: Target = None,
    layers: Sequence[Layer] | Layer | None = None,
    method: str = "gradcam",
) -> dict[str, float]:
    """The pointing-game accuracy of each layer's maps (every ``Conv2d`` by default), shallow
    to deep, from one pass of :func:`gradcam_layers`."""
    maps = gradcam_layers(model, x, target, layers, method)
    return {name: float(pointing_game(m, boxes).mean()) for name, m in maps.items()}
