"""At which depth does a misclassified image's map for the predicted class part from the map
for the true class? The course's question, answered layer by layer from one pass.

For each layer the two upsampled maps are compared by

* ``correlation_distance``: ``1 - r``, r the Pearson correlation of the two maps' pixels
  (0: the same picture, 1: unrelated, 2: opposite). A pair with one constant map counts 1,
  two constant maps 0 (no difference to see);
* ``peak_distance``: how far apart, in input pixels, the two maps have their maximum (NaN
  where a map is constant, having no peak).

``first_divergent_layer`` of an image is the shallowest layer whose correlation distance
exceeds ``threshold`` (default ``DIVERGENCE_THRESHOLD = 0.5``: the maps correlate less than
r = 0.5), or None: the two classes' maps agree at every depth (always so for an image that
is classified right, its two maps being the same).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import backend
from ..functional._args import choice, real
from ..nn import Module
from ..tensor import tensor
from ._core import Layer, as_images, choose_targets, record, resolve_layers
from .cam import FORMULAS, GRADIENT_FREE
from .layers import maps_from

DIVERGENCE_THRESHOLD = 0.5


@dataclass
class Divergence:
    """What :func:`divergence` finds; arrays are (layers, N) with layers shallow to deep."""

    layers: list[str]
    predicted: np.ndarray
    target_true: np.ndarray
    correlation_distance: np.ndarray
    peak_distance: np.ndarray
    maps_predicted: dict[str, np.ndarray]
    maps_true: dict[str, np.ndarray]
    threshold: float
    first_divergent_layer: list[str | None]

    def table(self) -> list[list[Any]]:
        """Rows ``[layer, mean correlation distance, mean peak distance]`` over the images."""
        rows = []
        for i, name in enumerate(self.layers):
            peaks = self.peak_distance[i]
            peak = float(np.nanmean(peaks)) if np.isfinite(peaks).any() else float("nan")
            rows.append([name, float(self.correlation_distance[i].mean()), peak])
        return rows


def correlation_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``1 - Pearson r`` of each pair of maps (N, H, W) (see the module doc for constants)."""
    a = a.reshape(len(a), -1).astype(np.float64)
    b = b.reshape(len(b), -1).astype(np.float64)
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    na, nb = np.sqrt((a * a).sum(axis=1)), np.sqrt((b * b).sum(axis=1))
    out = np.ones(len(a))
    both = (na > 0) & (nb > 0)
    out[both] = 1 - (a[both] * b[both]).sum(axis=1) / (na[both] * nb[both])
    out[(na == 0) & (nb == 0)] = 0.0
    return np.clip(out, 0.0, 2.0)


def peak_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The distance in pixels between the maxima (first in row-major order) of each pair of
    maps; NaN where either map is constant."""
    width = a.shape[2]
    pa = np.stack(np.divmod(a.reshape(len(a), -1).argmax(axis=1), width), axis=1)
    pb = np.stack(np.divmod(b.reshape(len(b), -1).argmax(axis=1), width), axis=1)
    distance = np.sqrt(((pa - pb) ** 2).sum(axis=1)).astype(np.float64)
    flat = lambda m: m.reshape(len(m), -1)  # noqa: E731
    constant = (flat(a).max(1) == flat(a).min(1)) | (flat(b).max(1) == flat(b).min(1))
    distance[constant] = np.nan
    return distance


def divergence(
    model: Module,
    x: Any,
    target_true: Any,
    layers: Sequence[Layer] | Layer | None = None,
    method: str = "gradcam",
    threshold: float = DIVERGENCE_THRESHOLD,
) -> Divergence:
    """Compare, at every convolutional layer (or ``layers``), the map of each image's predicted
    class with the map of its true class ``target_true`` (one class per image).

    One forward and one backward pass: the batch goes in twice, ``[x, x]``, the first copy
    scored for the predicted classes, the second for the true ones (in evaluation mode the
    images of a batch do not mix). ``method``: one of :func:`gradcam_layers`' methods with
    gradients. See the module doc for the measures and ``first_divergent_layer``.
    """
    where = "divergence"
    method = choice(where, "method", method, [m for m in FORMULAS if m not in GRADIENT_FREE])
    threshold = real(where, "threshold", threshold)
    images = as_images(model, x, where).detach()
    n = images.shape[0]
    xp = backend.get_array_module(images.data)
    doubled = tensor(xp.concatenate([images.data, images.data]))

    def targets(logits: np.ndarray) -> np.ndarray:
        predicted = logits[:n].argmax(axis=1).astype(np.int64)
        true = choose_targets(target_true, logits[:n], where)
        return np.concatenate([predicted, true])

    run = record(model, doubled, resolve_layers(model, layers, where), targets, where)

    def image_name(i: int) -> str:
        return f"{i} (predicted class)" if i < n else f"{i - n} (true class)"

    maps = maps_from(run, method, True, True, False, where, image_name)
    predicted, true = run.targets[:n], run.targets[n:]
    names = list(maps)
    maps_predicted = {name: m[:n] for name, m in maps.items()}
    maps_true = {name: m[n:] for name, m in maps.items()}
    corr = np.stack([correlation_distance(maps_predicted[k], maps_true[k]) for k in names])
    peaks = np.stack([peak_distance(maps_predicted[k], maps_true[k]) for k in names])
    corr[:, predicted == true] = 0.0  # the same map twice: no rounding noise
    peaks[:, predicted == true] = 0.0
    first: list[str | None] = []
    for i in range(n):
        past = np.flatnonzero(corr[:, i] > threshold)
        first.append(names[past[0]] if past.size else None)
    return Divergence(
        names, predicted, true, corr, peaks, maps_predicted, maps_true, threshold, first
    )
