"""Misclassification analysis: figures for a report, the command line and a notebook.

* ``explain_figures``: the intra-layer grid of some images (the predicted class's maps, and
  the true class's where a label says the prediction is wrong) and, for mistakes, the curves
  of how far the two maps are apart at each layer: PNG files and their captions;
* ``misclassification_report_figures``: the same for the first mistakes of a test set (the
  Grad-CAM section of the demo's report);
* ``misclassification_gallery``: the dataset-level view, the most confident mistakes of a
  loader with their maps for the predicted and the true class.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import backend
from ..autograd import no_grad
from ..nn import Module
from ..tensor import Tensor, tensor
from ._core import Layer, as_images, conv_layers, inspection_mode, resolve_layer
from .divergence import divergence
from .layers import gradcam_layers

Figures = list[tuple[str, str]]
TITLES = {
    "gradcam": "Grad-CAM",
    "hirescam": "HiResCAM",
    "gradcam++": "Grad-CAM++",
    "layercam": "LayerCAM",
    "xgradcam": "XGradCAM",
    "eigencam": "EigenCAM",
}


def _host(value: Any) -> np.ndarray:
    return backend.to_host(value.data if isinstance(value, Tensor) else np.asarray(value))


def _name(c: int, class_names: Sequence[str] | None) -> str:
    return str(int(c)) if class_names is None else str(class_names[int(c)])


def explain_figures(
    model: Module,
    images: Any,
    out_dir: str | os.PathLike,
    labels: Any = None,
    layers: Sequence[Layer] | Layer | None = None,
    class_names: Sequence[str] | None = None,
    method: str = "gradcam",
    prefix: str = "gradcam",
) -> Figures:
    """Write ``{prefix}_layers.png`` (the intra-layer grid of ``images``) and, when ``labels``
    show mistakes, ``{prefix}_divergence.png``; returns ``[(file name, caption), ...]``.

    For a misclassified image the grid has the predicted class's maps above the true class's,
    the first divergent layer framed in red (see :mod:`minicnn.explain.divergence`). One
    forward and one backward pass in all.
    """
    from .. import plot  # matplotlib is loaded only when figures are drawn

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pictures = as_images(model, images, "explain_figures").detach()
    shown = pictures.numpy()
    layers_file, curves_file = f"{prefix}_layers.png", f"{prefix}_divergence.png"
    if labels is None:
        maps = gradcam_layers(model, pictures, None, layers, method)
        with inspection_mode(model), no_grad():
            predicted = model(pictures).numpy().argmax(axis=1)
        plot.intra_layer_grid(shown, maps, y_pred=predicted, class_names=class_names,
                              path=out / layers_file)  # fmt: skip
        answers = ", ".join(f"image {i}: {_name(p, class_names)}" for i, p in enumerate(predicted))
        caption = (
            f"{TITLES.get(method, method)} at every convolutional layer (columns, shallow to "
            "deep) for the "
            f"predicted class ({answers})."
        )
        return [(layers_file, caption)]
    truth = _host(labels).reshape(-1).astype(np.int64)
    result = divergence(model, pictures, truth, layers, method)
    plot.intra_layer_grid(
        shown, result.maps_predicted, result.maps_true, truth, result.predicted, class_names,
        result.first_divergent_layer, path=out / layers_file,
    )  # fmt: skip
    wrong = np.flatnonzero(result.predicted != truth)
    notes = []
    for i in wrong:
        first = result.first_divergent_layer[i]
        where = f"first diverge at {first}" if first else "agree at every layer"
        notes.append(
            f"image {i} (a {_name(truth[i], class_names)} read as "
            f"{_name(result.predicted[i], class_names)}): the maps {where}"
        )
    caption = (
        f"{TITLES.get(method, method)} at every convolutional layer (columns, shallow to deep). "
        "For each "
        "misclassified image the upper row shows the map for the predicted class, the lower "
        "row the map for the true class; a red frame marks the first layer where the two "
        f"correlate less than r = {1 - result.threshold:g}."
    )
    if notes:
        caption += " " + "; ".join(notes) + "."
    figures = [(layers_file, caption)]
    if wrong.size:
        labels_text = [
            f"image {i}: {_name(truth[i], class_names)} as {_name(result.predicted[i], class_names)}"
            for i in wrong
        ]
        plot.divergence_curves(
            result.layers, result.correlation_distance[:, wrong], result.threshold,
            labels_text, path=out / curves_file,
        )  # fmt: skip
        figures.append(
            (
                curves_file,
                "How far apart the maps for the predicted and the true class are at each layer "
                "(1 - Pearson correlation; 0: the same picture, 1: unrelated). The dashed line "
                "is the threshold of the first divergent layer: where a curve crosses it, the "
                "network starts to look at other evidence for its wrong answer.",
            )
        )
    return figures


def misclassification_report_figures(
    model: Module,
    images: Any,
    labels: Any,
    predictions: Any,
    out_dir: str | os.PathLike,
    max_images: int = 6,
    layers: Sequence[Layer] | Layer | None = None,
    class_names: Sequence[str] | None = None,
    method: str = "gradcam",
) -> Figures:
    """The Grad-CAM section of a report: :func:`explain_figures` for the first
    ``max_images`` images whose ``predictions`` differ from ``labels`` (an empty list when
    there is none). ``images`` (N, C, H, W) in the order of the labels."""
    truth = _host(labels).reshape(-1)
    guess = _host(predictions).reshape(-1)
    pictures = _host(images)
    if not len(pictures) == len(truth) == len(guess):
        raise ValueError(
            f"misclassification_report_figures: {len(pictures)} images, {len(truth)} labels "
            f"and {len(guess)} predictions; they must be as many"
        )
    wrong = np.flatnonzero(truth != guess)[: max(int(max_images), 0)]
    if not wrong.size:
        return []
    return explain_figures(
        model, pictures[wrong], out_dir, truth[wrong], layers, class_names, method
    )


def misclassification_gallery(
    model: Module,
    loader: Any,
    target_layer: Layer | None = None,
    max_images: int = 8,
    class_names: Sequence[str] | None = None,
    method: str = "gradcam",
    path: str | os.PathLike | None = None,
) -> Any:
    """The most confident mistakes over ``loader`` (batches ``(x, y, ...)``), each with its
    map for the predicted and for the true class at ``target_layer`` (default: the last
    ``Conv2d``): a matplotlib Figure (written as PNG to ``path`` if given).

    Confident mistakes are the instructive ones: a network sure of a wrong answer found
    evidence for it somewhere, and the map shows where.
    """
    from .. import plot

    if target_layer is None:
        convs = conv_layers(model)
        if not convs:
            raise ValueError(
                "misclassification_gallery: the model has no Conv2d; give target_layer"
            )
        target_layer = convs[-1][0]
    layer_name, _ = resolve_layer(model, target_layer, "misclassification_gallery")
    xs, ys, logits = [], [], []
    device = next((p.device for p in model.parameters()), "cpu")
    with inspection_mode(model), no_grad():
        for batch in loader:
            x, y = batch[0], batch[1]
            x = x if isinstance(x, Tensor) else tensor(np.asarray(x))
            logits.append(model(x.to(device)).numpy())
            xs.append(x.numpy())
            ys.append(_host(y).reshape(-1))
    images, truth, scores = np.concatenate(xs), np.concatenate(ys), np.concatenate(logits)
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    probabilities = e / e.sum(axis=1, keepdims=True)
    predicted = scores.argmax(axis=1)
    wrong = np.flatnonzero(predicted != truth)
    confidence = probabilities[wrong, predicted[wrong]]
    chosen = wrong[np.argsort(-confidence, kind="stable")][: max(int(max_images), 0)]
    if not chosen.size:
        return plot.cam_gallery(images[:0], [], [], [], [], path=path)
    result = divergence(model, images[chosen], truth[chosen], [layer_name], method)
    return plot.cam_gallery(
        images[chosen], result.maps_predicted[layer_name], result.maps_true[layer_name],
        truth[chosen], result.predicted, probabilities[chosen, predicted[chosen]], class_names,
        path=path,
    )  # fmt: skip
