"""Pictures of images and of what a network computes: misclassified images, the first
layer's filters, the activation maps of a layer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from .. import backend
from ..autograd import no_grad
from ..nn import Conv2d, Module
from ..tensor import tensor
from ._figure import PathLike, finish, grid_shape, hide_ticks, host, image_for_display, new_figure


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def misclassified(
    images: Any,
    y_true: Any,
    y_pred: Any,
    class_names: Sequence[str] | None = None,
    logits: Any = None,
    max_images: int = 32,
    columns: int = 8,
    path: PathLike | None = None,
) -> Figure:
    """A grid of the images whose prediction is wrong, each titled with its true and
    predicted class (and, given the model's ``logits``, the probability it gave its answer).

    ``images``: (N, C, H, W) or (N, H, W), in the order of the labels; the first
    ``max_images`` mistakes are shown. Looking at them tells what a model gets wrong: badly
    written digits that people would get wrong too, or a systematic blind spot.
    """
    pictures, true, pred = host(images), host(y_true).reshape(-1), host(y_pred).reshape(-1)
    if not len(pictures) == len(true) == len(pred):
        raise ValueError(
            f"misclassified: {len(pictures)} images, {len(true)} true and {len(pred)} predicted "
            "labels; they must be as many"
        )
    probabilities = None if logits is None else _softmax(host(logits).astype(np.float64))
    wrong = np.flatnonzero(true != pred)[: max(int(max_images), 0)]

    def name(c: int) -> str:
        return str(c) if class_names is None else str(class_names[c])

    if not len(wrong):
        figure = new_figure(4, 1.2)
        figure.text(0.5, 0.5, "no misclassified images", ha="center", va="center")
        return finish(figure, path)
    rows, cols = grid_shape(len(wrong), columns)
    figure = new_figure(1.3 * cols, 1.55 * rows)
    axes = np.atleast_1d(figure.subplots(rows, cols, squeeze=False)).ravel()
    for ax, index in zip(axes, wrong, strict=False):
        picture, cmap = image_for_display(pictures[index])
        ax.imshow(picture, cmap=cmap)
        title = f"true {name(true[index])}\npred {name(pred[index])}"
        if probabilities is not None:
            title += f" ({probabilities[index, pred[index]]:.2f})"
        ax.set_title(title, fontsize=8, color="firebrick")
        hide_ticks(ax)
    for ax in axes[len(wrong) :]:
        ax.axis("off")
    return finish(figure, path)


def first_conv(model: Module) -> Conv2d:
    """The first ``Conv2d`` of ``model`` (in registration order)."""
    for module in model.modules():
        if isinstance(module, Conv2d):
            return module
    raise ValueError(f"{type(model).__name__} has no Conv2d layer")


def filters(model_or_weight: Any, max_filters: int = 64, path: PathLike | None = None) -> Figure:
    """The first convolution's filters, one small picture each.

    Give a model (its first ``Conv2d`` is used) or a weight (out, in, kH, kW). Filters with 3
    input channels are shown in colour, others channel by channel averaged to grey; red-blue
    shows the sign for grey filters (red positive, blue negative, white zero). Trained first
    layers usually look like edge and blob detectors.
    """
    weight = model_or_weight
    if isinstance(model_or_weight, Module):
        weight = first_conv(model_or_weight).weight
    weight = host(weight).astype(np.float64)
    if weight.ndim != 4:
        raise ValueError(f"filters: expected a weight (out, in, kH, kW), got shape {weight.shape}")
    weight = weight[: max(int(max_filters), 1)]
    rows, cols = grid_shape(len(weight), 8)
    figure = new_figure(1.2 * cols, 1.25 * rows + 0.4)
    axes = np.atleast_1d(figure.subplots(rows, cols, squeeze=False)).ravel()
    for k, (ax, w) in enumerate(zip(axes, weight, strict=False)):
        if w.shape[0] == 3:
            low, high = w.min(), w.max()
            ax.imshow(((w - low) / (high - low + 1e-12)).transpose(1, 2, 0))
        else:
            grey = w.mean(axis=0)
            limit = np.abs(grey).max() + 1e-12
            ax.imshow(grey, cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_title(str(k), fontsize=8)
        hide_ticks(ax)
    for ax in axes[len(weight) :]:
        ax.axis("off")
    figure.suptitle(f"First-layer filters {tuple(weight.shape[1:])}")
    return finish(figure, path)


def _layer(model: Module, layer: Module | str) -> tuple[str, Module]:
    if isinstance(layer, Module):
        for name, module in model.named_modules():
            if module is layer:
                return name or type(model).__name__, module
        raise ValueError("activation_maps: the layer is not part of the model")
    modules = dict(model.named_modules())
    if layer not in modules:
        names = ", ".join(n for n in modules if n)
        raise ValueError(f"activation_maps: the model has no layer {layer!r}; it has: {names}")
    return layer, modules[layer]


def activation_maps(
    model: Module,
    layer: Module | str,
    image: Any,
    max_maps: int = 32,
    columns: int = 8,
    path: PathLike | None = None,
) -> Figure:
    """The output channels of ``layer`` (a sub-module, or its name such as ``"features.0"``)
    for one ``image`` (C, H, W), one map each, next to the image itself.

    The model runs once in evaluation mode without gradients (its mode is restored); a
    forward hook reads the layer's output. Bright pixels are where a channel's feature was
    found: early layers respond to edges, later ones to larger parts.
    """
    name, module = _layer(model, layer)
    picture = host(image)
    if picture.ndim == 4 and picture.shape[0] == 1:
        picture = picture[0]
    if picture.ndim != 3:
        raise ValueError(
            f"activation_maps: expected one (C, H, W) image, got shape {picture.shape}"
        )
    captured = []
    handle = module.register_forward_hook(lambda _m, _inputs, output: captured.append(output))
    device = next((p.device for p in model.parameters()), "cpu")
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            model(tensor(picture[None].astype(np.float32), device=device))
    finally:
        handle.remove()
        model.train(was_training)
    maps = backend.to_host(captured[0].data)
    if maps.ndim != 4:
        raise ValueError(
            f"activation_maps: layer {name!r} gives an output of shape {maps.shape}, not "
            "(1, channels, height, width) maps; choose a convolution, activation or pooling layer"
        )
    maps = maps[0, : max(int(max_maps), 1)]
    rows, cols = grid_shape(len(maps) + 1, columns)
    figure = new_figure(1.3 * cols, 1.35 * rows + 0.4)
    axes = np.atleast_1d(figure.subplots(rows, cols, squeeze=False)).ravel()
    shown, cmap = image_for_display(picture)
    axes[0].imshow(shown, cmap=cmap)
    axes[0].set_title("input", fontsize=8)
    for k, (ax, activation) in enumerate(zip(axes[1:], maps, strict=False)):
        ax.imshow(activation, cmap="viridis")
        ax.set_title(f"channel {k}", fontsize=7)
    for ax in axes:
        hide_ticks(ax)
    for ax in axes[len(maps) + 1 :]:
        ax.axis("off")
    figure.suptitle(f"Activation maps of {name} ({type(module).__name__}), {tuple(maps.shape[1:])}")
    return finish(figure, path)
