"""Zeiler and Fergus's deconvnet (2014): what one feature map of a layer saw in the image.

The feature map is projected back to the pixels through the layers below it, each undone in
turn from the top:

* a max pooling by max-unpooling with the *switches* of the forward pass (where each window's
  maximum was), the other positions getting zero;
* a ReLU by a ReLU (the reconstruction is kept positive, whatever the forward pass did);
* a convolution by the transposed convolution with the *same* weights (no bias).

The layers are found by forward hooks, in the order they run; the path from the input to the
layer must be a plain chain of ``Conv2d``, ``ReLU``, ``MaxPool2d`` (and layers that do nothing
in evaluation mode: ``Dropout``, ``Identity``), each taking the previous one's output.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import functional as F
from ..autograd import no_grad
from ..functional._args import boolean, is_int
from ..nn import Conv2d, Dropout, Identity, MaxPool2d, Module, ReLU
from ..tensor import Tensor, tensor
from ._core import Layer, as_images, forward_hooks, inspection_mode, resolve_layer

INVERTIBLE = (Conv2d, ReLU, MaxPool2d, Dropout, Identity)


def _undo(module: Module, x: Tensor, signal: Tensor) -> Tensor:
    """The deconvnet step of ``module`` that took ``x``: from its output's signal to its input's."""
    if isinstance(module, Conv2d):
        padding = module.padding
        if padding == "valid":
            padding = (0, 0)
        elif padding == "same":  # stride 1; odd kernels pad alike on both sides
            (dh, dw), (kh, kw) = module.dilation, module.kernel_size
            padding = (dh * (kh - 1) // 2, dw * (kw - 1) // 2)
        out = F.conv_transpose2d(
            signal, module.weight, None, module.stride, padding, 0, module.groups, module.dilation
        )
        h, w = x.shape[2:]
        if out.shape[2:] != (h, w):  # strides that dropped rows: pad with zeros at the end
            out = F.conv_transpose2d(
                signal, module.weight, None, module.stride, padding,
                (h - out.shape[2], w - out.shape[3]), module.groups, module.dilation,
            )  # fmt: skip
        return out
    if isinstance(module, ReLU):
        return F.relu(signal)
    if isinstance(module, MaxPool2d):
        _, switches = F.max_pool2d(
            x, module.kernel_size, module.stride, module.padding, module.dilation,
            module.ceil_mode, return_indices=True,
        )  # fmt: skip
        return F.max_unpool2d(
            signal, switches, module.kernel_size, module.stride, module.padding,
            output_size=x.shape[2:],
        )  # fmt: skip
    return signal  # Dropout in evaluation mode, Identity


def deconvnet(
    model: Module, x: Any, layer: Layer, channel: int, strongest_only: bool = False
) -> np.ndarray:
    """Project feature map ``channel`` of ``layer`` for each image of ``x`` back to the input:
    an array shaped like ``x`` (N, C, H, W).

    ``strongest_only``: keep only the map's largest activation (as Zeiler and Fergus show the
    top activations one at a time) instead of the whole map.
    """
    where = "deconvnet"
    name, target = resolve_layer(model, layer, where)
    strongest_only = boolean(where, "strongest_only", strongest_only)
    images = as_images(model, x, where).detach()
    calls: list[tuple[Module, Any, Any]] = []

    def keep(module: Module, inputs: tuple, output: Any) -> None:
        calls.append((module, inputs[0] if inputs else None, output))

    leaves = [m for m in model.modules() if not next(m.children(), None)]
    hooks: dict[Module, Callable] = {m: keep for m in leaves}
    if target not in hooks:
        hooks[target] = keep
    with inspection_mode(model), forward_hooks(hooks), no_grad():
        model(images)
    last = max((i for i, (m, _, _) in enumerate(calls) if m is target), default=None)
    if last is None:
        raise ValueError(f"{where}: layer {name!r} did not run in the forward pass")
    chain = calls[: last + 1]
    if target is not chain[-1][0] or next(target.children(), None) is not None:
        raise ValueError(f"{where}: layer {name!r} must be a single layer, not a container")
    for i, (module, inp, _) in enumerate(chain):
        previous = images if i == 0 else chain[i - 1][2]
        if not isinstance(module, INVERTIBLE):
            raise ValueError(
                f"{where}: cannot project back through {type(module).__name__} (below "
                f"{name!r}); deconvnet undoes Conv2d, ReLU and MaxPool2d only"
            )
        if inp is not previous:
            raise ValueError(
                f"{where}: the layers below {name!r} are not a plain chain ({type(module).__name__} "
                "does not take the previous layer's output): deconvnet needs one"
            )
    output = chain[-1][2]
    if output.ndim != 4:
        raise ValueError(f"{where}: layer {name!r} gives shape {output.shape}, not maps")
    channels = output.shape[1]
    if not is_int(channel) or not 0 <= channel < channels:
        raise ValueError(
            f"{where}: channel must be an int in [0, {channels}) for layer {name!r}, got {channel!r}"
        )
    values = output.numpy()
    signal = np.zeros_like(values)
    signal[:, channel] = values[:, channel]
    if strongest_only:
        flat = signal[:, channel].reshape(len(signal), -1)
        top = flat.argmax(axis=1)
        kept = np.zeros_like(flat)
        kept[np.arange(len(flat)), top] = flat[np.arange(len(flat)), top]
        signal[:, channel] = kept.reshape(signal[:, channel].shape)
    with no_grad():
        current = tensor(signal, device=images.device)
        for module, inp, _ in reversed(chain):
            current = _undo(module, inp, current)
    return current.numpy()
