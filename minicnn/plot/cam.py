"""Class-activation maps over their images: one overlay, the intra-layer grid, the gallery of
mistakes. These functions draw maps already computed (by ``minicnn.explain``).

An overlay blends the image (rescaled to [0, 1], grey images as grey) with the map in the jet
colormap: ``(1 - alpha) * image + alpha * jet(map)``; red is where the map is high.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from ._figure import PathLike, finish, hide_ticks, host, new_figure


def _rgb(image: Any) -> np.ndarray:
    """A (C, H, W) or (H, W) image as (H, W, 3) in [0, 1] (min-max rescaled)."""
    picture = np.asarray(host(image), dtype=np.float64)
    if picture.ndim == 3:
        picture = picture.transpose(1, 2, 0) if picture.shape[0] in (1, 3) else picture
        if picture.shape[2] == 1:
            picture = picture[:, :, 0]
    if picture.ndim == 2:
        picture = np.repeat(picture[:, :, None], 3, axis=2)
    if picture.ndim != 3 or picture.shape[2] != 3:
        raise ValueError(f"expected a (C, H, W) or (H, W) image, got shape {np.shape(image)}")
    low, high = picture.min(), picture.max()
    return (picture - low) / (high - low) if high > low else np.zeros_like(picture)


def overlay(image: Any, cam_map: Any, alpha: float = 0.5) -> np.ndarray:
    """The image (C, H, W) or (H, W) with ``cam_map`` (H, W, values in [0, 1]) over it in the
    jet colormap: an (H, W, 3) array in [0, 1]."""
    if not 0 <= alpha <= 1:
        raise ValueError(f"overlay: alpha must be in [0, 1], got {alpha!r}")
    picture = _rgb(image)
    heat = np.asarray(host(cam_map), dtype=np.float64)
    if heat.shape != picture.shape[:2]:
        raise ValueError(
            f"overlay: the map {heat.shape} must have the image's size {picture.shape[:2]}"
        )
    coloured = matplotlib.colormaps["jet"](np.clip(heat, 0, 1))[:, :, :3]
    return (1 - alpha) * picture + alpha * coloured


def _name(c: Any, class_names: Sequence[str] | None) -> str:
    return str(int(c)) if class_names is None else str(class_names[int(c)])


def cam_overlay(
    images: Any,
    maps: Any,
    titles: Sequence[str] | None = None,
    alpha: float = 0.5,
    columns: int = 8,
    path: PathLike | None = None,
) -> Figure:
    """A grid of images (N, C, H, W) each with its map (N, H, W) over it."""
    pictures, heat = host(images), host(maps)
    if len(pictures) != len(heat):
        raise ValueError(f"cam_overlay: {len(pictures)} images and {len(heat)} maps")
    count = len(heat)
    cols = max(1, min(count, columns))
    rows = -(-count // cols)
    figure = new_figure(1.4 * cols, 1.5 * rows)
    axes = np.atleast_1d(figure.subplots(rows, cols, squeeze=False)).ravel()
    for i, ax in enumerate(axes):
        hide_ticks(ax)
        if i >= count:
            ax.axis("off")
            continue
        ax.imshow(overlay(pictures[i], heat[i], alpha))
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=8)
    return finish(figure, path)


def intra_layer_grid(
    images: Any,
    maps_predicted: Mapping[str, Any],
    maps_true: Mapping[str, Any] | None = None,
    y_true: Any = None,
    y_pred: Any = None,
    class_names: Sequence[str] | None = None,
    first_divergent: Sequence[str | None] | None = None,
    alpha: float = 0.5,
    path: PathLike | None = None,
) -> Figure:
    """Grad-CAM intra-layer: one row per image, the image then one column per layer from
    shallow to deep (the order of ``maps_predicted``), each map over the image.

    With ``maps_true`` (and the labels), a misclassified image gets two rows: the predicted
    class's maps above the true class's. ``first_divergent`` (one layer name or None per
    image, from ``explain.divergence``) frames that layer's maps in red.
    """
    pictures = host(images)
    layers = list(maps_predicted)
    n = len(pictures)
    true = None if y_true is None else host(y_true).reshape(-1)
    pred = None if y_pred is None else host(y_pred).reshape(-1)
    rows: list[tuple[int, str, Mapping[str, Any]]] = []
    for i in range(n):
        wrong = true is not None and pred is not None and true[i] != pred[i]
        label = f"pred {_name(pred[i], class_names)}" if pred is not None else "map"
        rows.append((i, label, maps_predicted))
        if maps_true is not None and wrong:
            rows.append((i, f"true {_name(true[i], class_names)}", maps_true))
    figure = new_figure(1.25 * (len(layers) + 1) + 0.4, 1.3 * len(rows) + 0.5)
    axes = figure.subplots(len(rows), len(layers) + 1, squeeze=False)
    previous = None
    for r, (i, label, maps) in enumerate(rows):
        ax = axes[r, 0]
        hide_ticks(ax)
        if i != previous:
            ax.imshow(_rgb(pictures[i]))
            ax.set_ylabel(f"image {i}", fontsize=8)
        else:
            ax.axis("off")
        previous = i
        for c, layer in enumerate(layers):
            ax = axes[r, c + 1]
            hide_ticks(ax)
            ax.imshow(overlay(pictures[i], host(maps[layer])[i], alpha))
            if r == 0:
                ax.set_title(layer, fontsize=8)
            if c == 0:
                ax.set_ylabel(label, fontsize=8, color="firebrick" if "true" in label else "black")
            if first_divergent is not None and first_divergent[i] == layer:
                for spine in ax.spines.values():
                    spine.set_edgecolor("red")
                    spine.set_linewidth(2.5)
    figure.suptitle("Grad-CAM at each layer, shallow to deep", fontsize=10)
    return finish(figure, path)


def cam_gallery(
    images: Any,
    maps_predicted: Any,
    maps_true: Any,
    y_true: Any,
    y_pred: Any,
    confidence: Any = None,
    class_names: Sequence[str] | None = None,
    alpha: float = 0.5,
    path: PathLike | None = None,
) -> Figure:
    """Mistakes, one row each: the image, its map for the predicted class and for the true
    class (``confidence``: the probability given to the wrong answer, shown in the title)."""
    pictures, pm, tm = host(images), host(maps_predicted), host(maps_true)
    true, pred = host(y_true).reshape(-1), host(y_pred).reshape(-1)
    n = len(pictures)
    if n == 0:
        figure = new_figure(4, 1.2)
        figure.text(0.5, 0.5, "no misclassified images", ha="center", va="center")
        return finish(figure, path)
    figure = new_figure(4.2, 1.5 * n + 0.4)
    axes = figure.subplots(n, 3, squeeze=False)
    for i in range(n):
        title = f"true {_name(true[i], class_names)}\npred {_name(pred[i], class_names)}"
        if confidence is not None:
            title += f" ({float(host(confidence)[i]):.2f})"
        axes[i, 0].imshow(_rgb(pictures[i]))
        axes[i, 0].set_title(title, fontsize=7)
        axes[i, 1].imshow(overlay(pictures[i], pm[i], alpha))
        axes[i, 1].set_title(f"map for {_name(pred[i], class_names)}", fontsize=7)
        axes[i, 2].imshow(overlay(pictures[i], tm[i], alpha))
        axes[i, 2].set_title(f"map for {_name(true[i], class_names)}", fontsize=7)
        for ax in axes[i]:
            hide_ticks(ax)
    return finish(figure, path)


def divergence_curves(
    layers: Sequence[str],
    distances: Any,
    threshold: float | None = None,
    labels: Sequence[str] | None = None,
    path: PathLike | None = None,
) -> Figure:
    """How far apart the predicted and the true class's maps are at each layer: one line per
    image over the layers (shallow to deep), ``distances`` (layers, N) as
    ``explain.divergence`` gives them, and the threshold as a dashed line."""
    values = np.asarray(host(distances), dtype=np.float64)
    if values.ndim != 2 or values.shape[0] != len(layers):
        raise ValueError(
            f"divergence_curves: distances must be ({len(layers)}, N), got {values.shape}"
        )
    figure = new_figure(1.0 + 0.9 * len(layers), 3.0)
    ax = figure.subplots()
    steps = np.arange(len(layers))
    for i in range(values.shape[1]):
        ax.plot(steps, values[:, i], marker="o", label=None if labels is None else labels[i])
    if threshold is not None:
        ax.axhline(threshold, color="grey", linestyle="--", linewidth=1)
    ax.set_xticks(steps, list(layers), fontsize=8, rotation=30)
    ax.set_ylabel("1 - correlation of the maps")
    ax.set_ylim(0, max(1.05, float(np.nanmax(values)) + 0.05) if values.size else 1.05)
    if labels is not None and values.shape[1] <= 10:
        ax.legend(fontsize=7)
    return finish(figure, path)
