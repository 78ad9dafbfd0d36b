"""What every explanation method shares: finding a layer, choosing the target class, one
recorded forward and backward pass, and turning raw maps into pictures.

Everything is read through the public hooks: a forward hook on each chosen layer keeps its
output and asks it to ``retain_grad()``; the backward pass then fills that output's ``.grad``.
The model's weights are never read here, and the model is left as it was found (its
training/evaluation mode, its parameters' ``requires_grad`` and ``.grad``).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import backend
from .. import functional as F
from ..autograd import no_grad
from ..nn import Conv2d, Module
from ..tensor import Tensor, as_tensor, tensor

Layer = Module | str
Target = int | Sequence[int] | np.ndarray | Tensor | None


class BlankMapWarning(UserWarning):
    """A map came out all zero or constant; the message says why."""


# --- layers --------------------------------------------------------------------------------


def resolve_layer(model: Module, layer: Layer, where: str) -> tuple[str, Module]:
    """``(dotted name, module)`` of ``layer``: a sub-module of ``model`` or its dotted name
    (``"features.3"``)."""
    if isinstance(layer, Module):
        for name, module in model.named_modules():
            if module is layer:
                return name or type(model).__name__, module
        raise ValueError(f"{where}: the layer {type(layer).__name__} is not part of the model")
    if not isinstance(layer, str):
        raise TypeError(
            f"{where}: a layer must be a Module of the model or its dotted name, got {layer!r}"
        )
    modules = dict(model.named_modules())
    if layer not in modules or layer == "":
        names = ", ".join(n for n in modules if n)
        raise ValueError(f"{where}: the model has no layer {layer!r}; it has: {names}")
    return layer, modules[layer]


def conv_layers(model: Module) -> list[tuple[str, Module]]:
    """Every ``Conv2d`` of ``model`` with its dotted name, in registration order."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, Conv2d)]


def resolve_layers(model: Module, layers: Any, where: str) -> dict[str, Module]:
    """The layers to sweep: every ``Conv2d`` for ``None`` or ``"all"``, else the given ones."""
    if layers is None or (isinstance(layers, str) and layers == "all"):
        found = dict(conv_layers(model))
        if not found:
            raise ValueError(f"{where}: {type(model).__name__} has no Conv2d layer; give layers=")
        return found
    if isinstance(layers, (str, Module)):
        layers = [layers]
    chosen = dict(resolve_layer(model, layer, where) for layer in layers)
    if not chosen:
        raise ValueError(f"{where}: layers is empty")
    return chosen


# --- inputs and targets --------------------------------------------------------------------


def model_device(model: Module) -> str:
    for parameter in model.parameters():
        return parameter.device
    return "cpu"


def model_dtype(model: Module) -> Any:
    for parameter in model.parameters():
        if parameter.dtype.kind == "f":
            return parameter.dtype
    return backend.float32


def as_images(model: Module, x: Any, where: str) -> Tensor:
    """``x`` (N, C, H, W), or one (C, H, W) image, as a new leaf tensor in the model's dtype
    on its device, requiring grad (the input's gradient comes with the same pass)."""
    data = x.data if isinstance(x, Tensor) else x
    if not hasattr(data, "shape"):
        data = np.asarray(data)
    if data.ndim == 3:
        data = data[None]
    if data.ndim != 4:
        raise ValueError(
            f"{where}: expected images (N, C, H, W) or one image (C, H, W), got shape "
            f"{tuple(data.shape)}"
        )
    if data.shape[0] == 0:
        raise ValueError(f"{where}: got an empty batch of images")
    if data.dtype.kind not in "biuf":
        raise TypeError(f"{where}: images must hold numbers, got dtype {data.dtype}")
    return tensor(data, dtype=model_dtype(model), device=model_device(model), requires_grad=True)


def class_scores(output: Any, where: str) -> Tensor:
    """The model's output, checked to be class scores (N, classes)."""
    if not isinstance(output, Tensor) or output.ndim != 2:
        shape = getattr(output, "shape", type(output).__name__)
        raise ValueError(
            f"{where}: the model must return class scores (N, classes), got {shape}; "
            "explanations need a classifier's pre-softmax scores"
        )
    return output


def choose_targets(target: Target, logits: np.ndarray, where: str) -> np.ndarray:
    """One class per image (int64, (N,)): the predicted class for ``None``, the same class for
    an int, or one class per image."""
    n, classes = logits.shape
    if target is None:
        return logits.argmax(axis=1).astype(np.int64)
    if isinstance(target, Tensor):
        target = target.numpy()
    values = np.asarray(target)
    if values.dtype.kind not in "iu" or values.ndim > 1:
        raise TypeError(
            f"{where}: target must be None, an int or one int per image, got {target!r}"
        )
    values = np.broadcast_to(values, (n,)) if values.ndim == 0 else values
    if values.shape != (n,):
        raise ValueError(
            f"{where}: target must give one class per image ({n}), got {values.shape[0]}"
        )
    bad = values[(values < 0) | (values >= classes)]
    if bad.size:
        raise ValueError(
            f"{where}: target class {int(bad[0])} is out of range for {classes} classes"
        )
    return values.astype(np.int64)


# --- the recorded pass ---------------------------------------------------------------------


@contextlib.contextmanager
def inspection_mode(model: Module) -> Iterator[None]:
    """Evaluation mode and frozen parameters for the duration: explanations neither change
    BatchNorm's statistics nor leave gradients in the parameters (and skip computing them)."""
    was_training = model.training
    frozen = [(p, p.requires_grad) for p in model.parameters()]
    model.eval()
    for p, _ in frozen:
        p.requires_grad = False
    try:
        yield
    finally:
        for p, flag in frozen:
            p.requires_grad = flag
        model.train(was_training)


@contextlib.contextmanager
def forward_hooks(hooks: Mapping[Module, Callable]) -> Iterator[None]:
    """Register ``hook`` on each module for the duration."""
    handles = [module.register_forward_hook(hook) for module, hook in hooks.items()]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


@dataclass
class Recording:
    """One forward and (optionally) one backward pass, as host arrays.

    ``activations[name]``: the layer's output; ``gradients[name]``: d score / d output, where
    the score is the sum over images of each image's target logit (the images do not mix in
    evaluation mode, so each image's part is the gradient of its own score); ``order``: the
    layers in the order they ran; ``input_gradient``: d score / d input.
    """

    logits: np.ndarray
    targets: np.ndarray
    order: list[str]
    input_size: tuple[int, int]
    activations: dict[str, np.ndarray] = field(default_factory=dict)
    gradients: dict[str, np.ndarray] = field(default_factory=dict)
    input_gradient: np.ndarray | None = None


def record(
    model: Module,
    x: Any,
    layers: Mapping[str, Module],
    target: Target | Callable[[np.ndarray], np.ndarray],
    where: str,
    backward: bool = True,
    relu_grad_hook: Callable[[Tensor], Tensor] | None = None,
) -> Recording:
    """Run ``model`` once on ``x`` (and backward once from the targets' scores), keeping the
    outputs of ``layers`` and their gradients.

    ``target`` may also be a function of the logits (host array) giving the classes.
    ``relu_grad_hook``: a tensor hook put on the output of every ``nn.ReLU`` call (guided
    backpropagation changes the ReLU's backward this way, without touching the model).
    A layer called more than once in a forward pass (a shared ReLU) keeps its last call.
    """
    from ..nn import ReLU

    images = as_images(model, x, where)
    outputs: dict[str, Tensor] = {}
    order: list[str] = []

    def keeper(name: str) -> Callable:
        def hook(_module: Module, _inputs: tuple, output: Any) -> None:
            if not isinstance(output, Tensor):
                raise ValueError(
                    f"{where}: layer {name!r} returns {type(output).__name__}, not a Tensor"
                )
            outputs[name] = output
            if name in order:
                order.remove(name)
            order.append(name)
            if backward and output.requires_grad:
                output.retain_grad()

        return hook

    def change_relu_backward(_module: Module, _inputs: tuple, output: Any) -> None:
        if isinstance(output, Tensor) and output.requires_grad:
            output.register_hook(relu_grad_hook)

    hooks: dict[Module, Callable] = {}
    if relu_grad_hook is not None:
        hooks = {m: change_relu_backward for m in model.modules() if isinstance(m, ReLU)}
    keepers = {module: keeper(name) for name, module in layers.items()}
    with inspection_mode(model), forward_hooks(hooks):
        with forward_hooks(keepers), contextlib.ExitStack() as stack:
            if not backward:
                stack.enter_context(no_grad())
            logits = class_scores(model(images), where)
        scores = logits.numpy()
        targets = target(scores) if callable(target) else choose_targets(target, scores, where)
        missing = [name for name in layers if name not in outputs]
        if missing:
            raise ValueError(
                f"{where}: layer(s) {', '.join(map(repr, missing))} did not run in the forward "
                "pass of the model"
            )
        if backward:
            xp = backend.get_array_module(logits.data)
            one_hot = xp.zeros(logits.shape, dtype=logits.dtype)
            rows = xp.arange(len(targets))
            one_hot[rows, backend.to_device(targets, logits.device)] = 1
            logits.backward(one_hot)
    result = Recording(scores, targets, order, tuple(images.shape[2:]))
    for name in order:
        out = outputs[name]
        result.activations[name] = out.numpy()
        if backward:
            grad = out.grad
            result.gradients[name] = (
                np.zeros_like(result.activations[name]) if grad is None else grad.numpy()
            )
    if backward and images.grad is not None:
        result.input_gradient = images.grad.numpy()
    return result


def scores_of(model: Module, x: Tensor, targets: np.ndarray) -> np.ndarray:
    """The target logit of each image (no graph), as a host array."""
    with no_grad():
        logits = model(x)
    return logits.numpy()[np.arange(len(targets)), targets]


# --- from raw maps to pictures -------------------------------------------------------------


def upsample(maps: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(N, h, w) maps resized bilinearly to ``size`` (``align_corners=False``, as PyTorch's
    ``interpolate`` and OpenCV's ``resize``)."""
    if tuple(maps.shape[1:]) == tuple(size):
        return maps
    resized = F.interpolate(as_tensor(maps[:, None]), size=tuple(size), mode="bilinear")
    return resized.numpy()[:, 0]


def normalize_maps(maps: np.ndarray) -> np.ndarray:
    """Each map scaled to [0, 1]: ``(L - min) / (max - min)``; all zeros for a constant map."""
    maps = np.asarray(maps)
    low = maps.min(axis=(1, 2), keepdims=True)
    span = maps.max(axis=(1, 2), keepdims=True) - low
    out = np.zeros_like(maps)
    np.divide(maps - low, span, out=out, where=span > 0)
    return out


def finish(maps: np.ndarray, size: tuple[int, int], upsampled: bool, normalize: bool) -> np.ndarray:
    if upsampled:
        maps = upsample(maps, size)
    return normalize_maps(maps) if normalize else maps


def relu(a: np.ndarray) -> np.ndarray:
    return np.maximum(a, 0)


# --- diagnostics ---------------------------------------------------------------------------


def diagnose(
    where: str,
    layer: str,
    activations: np.ndarray,
    gradients: np.ndarray | None,
    weights: np.ndarray | None,
    maps: np.ndarray,
    targets: np.ndarray,
    stacklevel: int = 3,
    image_name: Callable[[int], str] = str,
) -> None:
    """Warn (``BlankMapWarning``) for each image whose map is all zero or constant, saying why:
    maps of one pixel (a layer after global pooling), dead activations, no gradient, or
    channel weights that are all negative (everything found speaks against the class)."""
    flat = maps.reshape(len(maps), -1)
    blank = np.flatnonzero(flat.max(axis=1) == flat.min(axis=1))
    if not blank.size:
        return
    images = ", ".join(image_name(int(i)) for i in blank[:8]) + (" ..." if blank.size > 8 else "")
    if activations.ndim == 4 and activations.shape[2] * activations.shape[3] == 1:
        reason = (
            "its maps are 1x1 (the layer comes after global pooling, or the maps shrank to "
            "one pixel): one value cannot say where; choose an earlier convolutional layer"
        )
    else:
        reasons = []
        for i in blank:
            a = activations[i]
            if not np.any(a):
                reasons.append("its activations are all zero (dead ReLUs)")
            elif gradients is not None and not np.any(gradients[i]):
                reasons.append(
                    "the gradient of the score reaching it is zero (the score does not "
                    "depend on this layer, or every unit after it is inactive)"
                )
            elif weights is not None and np.all(weights[i] <= 0):
                reasons.append(
                    f"all its channel weights for class {int(targets[i])} are negative or zero: "
                    "what this layer found speaks against the class (counterfactual=True "
                    "shows it)"
                )
            elif maps[i].max() == 0:
                reasons.append("the weighted sum of its maps is negative everywhere")
            else:
                reasons.append("the weighted sum of its maps is constant")
        reason = "; ".join(dict.fromkeys(reasons))
    warnings.warn(
        f"{where}: the map of layer {layer!r} is blank for image(s) {images}: {reason}",
        BlankMapWarning,
        stacklevel=stacklevel,
    )
