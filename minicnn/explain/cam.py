"""Class-activation maps: where in the image a layer found the evidence for a class.

For a target class c with pre-softmax score ``y_c``, a layer's activations ``A`` (K maps of
h x w) and ``G = dy_c/dA`` (one backward pass), each method weighs the K maps and keeps the
positive part (``shared/REFERENCE.md`` has the definitions):

=================  =========================================================================
``GradCAM``        ``alpha_k = mean_ij G[k]``; ``L = ReLU(sum_k alpha_k A[k])``
``HiResCAM``       ``L = ReLU(sum_k G[k] * A[k])`` (element-wise, no averaging)
``GradCAMPlusPlus`` ``w_k = sum_ij a_kij ReLU(G[k,i,j])``,
                   ``a = G^2 / (2 G^2 + sum_ab A[k,a,b] G^3)`` (0 where the denominator is 0)
``LayerCAM``       ``L = ReLU(sum_k ReLU(G[k]) * A[k])``
``XGradCAM``       ``w_k = sum_ij G[k] A[k] / sum_ij A[k]``
``EigenCAM``       the activations' first principal component (no gradient, no class)
``AblationCAM``    ``w_k = (y_c - y_c with channel k zeroed) / y_c`` (K forward passes)
``ScoreCAM``       ``w = softmax_k(y_c(x * M_k))``, ``M_k``: map k upsampled, scaled to [0, 1]
``CAM``            ``L = ReLU(sum_k W[c, k] A[k])``, W: the last linear layer's weights
=================  =========================================================================

All are called the same way, ``cam(x, target=None, upsample=True, normalize=True)``, and
return a NumPy array (N, H, W): bilinearly resized to the input's size and scaled to [0, 1]
per image (all zeros for a constant map). ``target``: None (each image's predicted class),
an int, or one class per image. The gradient methods also take ``counterfactual=True``: the
same map with ``-G``, where the evidence speaks *against* the class. After a call the object
keeps what it used, as host arrays: ``activations``, ``gradients``, ``weights``, ``targets``
and ``logits``.

Grad-CAM++ follows the paper, without the ``1e-6`` that pytorch-grad-cam adds to the
denominator (next to squared gradients often that small, it changes the maps). Where the
activations can be negative (a layer before its ReLU) the denominator ``2 G^2 + S G^3`` can
vanish or change sign for positive gradients: use the ReLU's output there.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import backend
from ..autograd import no_grad
from ..functional._args import boolean, positive_int
from ..nn import Linear, Module
from ..tensor import Tensor, tensor
from ._core import (
    Layer,
    Target,
    as_images,
    diagnose,
    finish,
    forward_hooks,
    inspection_mode,
    normalize_maps,
    record,
    relu,
    resolve_layer,
    scores_of,
    upsample,
)

Formula = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray | None]]


# --- the formulas, on host arrays A, G of shape (N, K, h, w) ------------------------------


def _weighted(weights: np.ndarray, a: np.ndarray) -> np.ndarray:
    return relu(np.einsum("nk,nkhw->nhw", weights, a))


def gradcam_formula(a: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Grad-CAM: the maps weighted by their mean gradient. Returns (maps, weights)."""
    weights = g.mean(axis=(2, 3))
    return _weighted(weights, a), weights


def hirescam_formula(a: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, None]:
    """HiResCAM: gradient times activation, summed over channels (no averaging)."""
    return relu((g * a).sum(axis=1)), None


def gradcam_plus_plus_formula(a: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Grad-CAM++ (Chattopadhay et al., 2018, eq. 19), without an epsilon."""
    g2 = g * g
    denominator = 2 * g2 + a.sum(axis=(2, 3), keepdims=True) * g2 * g
    alpha = np.zeros_like(g2)
    np.divide(g2, denominator, out=alpha, where=denominator != 0)
    weights = (alpha * relu(g)).sum(axis=(2, 3))
    return _weighted(weights, a), weights


def layercam_formula(a: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, None]:
    """LayerCAM: each activation weighted by its own positive gradient."""
    return relu((relu(g) * a).sum(axis=1)), None


def xgradcam_formula(a: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """XGradCAM: gradients averaged with the activations as weights (0 for an empty map)."""
    total = a.sum(axis=(2, 3))
    weights = np.zeros_like(total)
    np.divide((g * a).sum(axis=(2, 3)), total, out=weights, where=total != 0)
    return _weighted(weights, a), weights


def eigencam_formula(a: np.ndarray, g: np.ndarray | None = None) -> tuple[np.ndarray, None]:
    """EigenCAM: the projection of each pixel's K activations on their first principal
    component (activations centred per channel). An eigenvector's sign is arbitrary; it is
    chosen so that the projection grows with the summed activation."""
    n, k, h, w = a.shape
    maps = np.empty((n, h * w), dtype=a.dtype)
    for i in range(n):
        pixels = a[i].reshape(k, h * w).T  # (pixels, channels)
        centred = pixels - pixels.mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        projection = centred @ vt[0]
        total = pixels.sum(axis=1)
        if projection @ (total - total.mean()) < 0:
            projection = -projection
        maps[i] = projection
    return relu(maps.reshape(n, h, w)), None


#: The methods that need only one forward and one backward pass, by name.
FORMULAS: dict[str, Formula] = {
    "gradcam": gradcam_formula,
    "hirescam": hirescam_formula,
    "gradcam++": gradcam_plus_plus_formula,
    "layercam": layercam_formula,
    "xgradcam": xgradcam_formula,
    "eigencam": eigencam_formula,
}
GRADIENT_FREE = {"eigencam"}


def check_spatial(where: str, layer: str, a: np.ndarray) -> None:
    if a.ndim != 4:
        raise ValueError(
            f"{where}: layer {layer!r} gives an output of shape {a.shape}, not maps "
            "(N, channels, height, width); choose a convolutional layer (or its activation)"
        )


# --- the classes ---------------------------------------------------------------------------


class _CAMBase:
    """A target layer of a model; calling it on images gives their maps."""

    def __init__(self, model: Module, target_layer: Layer):
        if not isinstance(model, Module):
            raise TypeError(f"{type(self).__name__}: model must be a Module, got {model!r}")
        self.model = model
        self.layer_name, self.layer = resolve_layer(model, target_layer, type(self).__name__)
        self.activations: np.ndarray | None = None
        self.gradients: np.ndarray | None = None
        self.weights: np.ndarray | None = None
        self.targets: np.ndarray | None = None
        self.logits: np.ndarray | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(target_layer={self.layer_name!r})"

    def _check_flags(self, upsample: Any, normalize: Any) -> tuple[bool, bool]:
        name = type(self).__name__
        return boolean(name, "upsample", upsample), boolean(name, "normalize", normalize)

    def _output(
        self, maps: np.ndarray, size: tuple[int, int], up: bool, norm: bool, grads: Any
    ) -> np.ndarray:
        diagnose(
            type(self).__name__, self.layer_name, self.activations, grads, self.weights, maps,
            self.targets, stacklevel=4,
        )  # fmt: skip
        return finish(maps, size, up, norm)


class _GradientCAM(_CAMBase):
    formula: Formula

    def __call__(
        self,
        x: Any,
        target: Target = None,
        upsample: bool = True,
        normalize: bool = True,
        counterfactual: bool = False,
    ) -> np.ndarray:
        """The maps (N, H, W) of ``x`` (N, C, H, W) for ``target`` (see the module doc)."""
        name = type(self).__name__
        up, norm = self._check_flags(upsample, normalize)
        counterfactual = boolean(name, "counterfactual", counterfactual)
        run = record(self.model, x, {self.layer_name: self.layer}, target, name)
        a = run.activations[self.layer_name]
        check_spatial(name, self.layer_name, a)
        g = run.gradients[self.layer_name]
        self.activations, self.gradients = a, g
        self.targets, self.logits = run.targets, run.logits
        maps, self.weights = type(self).formula(a, -g if counterfactual else g)
        return self._output(maps, run.input_size, up, norm, g)


class GradCAM(_GradientCAM):
    """Grad-CAM (Selvaraju et al., 2017): ``ReLU(sum_k mean(G[k]) A[k])``."""

    formula = staticmethod(gradcam_formula)


class HiResCAM(_GradientCAM):
    """HiResCAM (Draelos and Carin, 2020): ``ReLU(sum_k G[k] * A[k])``, faithful to the score
    of networks that end in a linear layer."""

    formula = staticmethod(hirescam_formula)


class GradCAMPlusPlus(_GradientCAM):
    """Grad-CAM++ (Chattopadhay et al., 2018): per-pixel weights of the positive gradients,
    better for several instances of a class (see the module doc on its denominator)."""

    formula = staticmethod(gradcam_plus_plus_formula)


class LayerCAM(_GradientCAM):
    """LayerCAM (Jiang et al., 2021): ``ReLU(sum_k ReLU(G[k]) * A[k])``, sharp maps at
    shallow layers too."""

    formula = staticmethod(layercam_formula)


class XGradCAM(_GradientCAM):
    """XGradCAM (Fu et al., 2020): ``w_k = sum G[k] A[k] / sum A[k]``."""

    formula = staticmethod(xgradcam_formula)


class EigenCAM(_CAMBase):
    """EigenCAM (Muhammad and Yeasin, 2020): the first principal component of the layer's
    activations, one forward pass, no gradient. It does not depend on the class: ``target``
    is accepted (and recorded) for the common call only."""

    def __call__(
        self, x: Any, target: Target = None, upsample: bool = True, normalize: bool = True
    ) -> np.ndarray:
        name = type(self).__name__
        up, norm = self._check_flags(upsample, normalize)
        run = record(self.model, x, {self.layer_name: self.layer}, target, name, backward=False)
        a = run.activations[self.layer_name]
        check_spatial(name, self.layer_name, a)
        self.activations, self.gradients, self.weights = a, None, None
        self.targets, self.logits = run.targets, run.logits
        maps, _ = eigencam_formula(a)
        return self._output(maps, run.input_size, up, norm, None)


class _PerturbationCAM(_CAMBase, ABC):
    """The gradient-free methods that weigh each channel by forward passes of the model;
    each says how in ``_weights``."""

    def __init__(self, model: Module, target_layer: Layer, batch_size: int = 32):
        super().__init__(model, target_layer)
        self.batch_size = positive_int(type(self).__name__, "batch_size", batch_size)

    def __call__(
        self, x: Any, target: Target = None, upsample: bool = True, normalize: bool = True
    ) -> np.ndarray:
        name = type(self).__name__
        up, norm = self._check_flags(upsample, normalize)
        run = record(self.model, x, {self.layer_name: self.layer}, target, name, backward=False)
        a = run.activations[self.layer_name]
        check_spatial(name, self.layer_name, a)
        self.activations, self.gradients = a, None
        self.targets, self.logits = run.targets, run.logits
        images = as_images(self.model, x, name).detach()
        with inspection_mode(self.model):
            self.weights = self._weights(images, a, run.targets)
        maps = _weighted(self.weights.astype(a.dtype), a)
        return self._output(maps, run.input_size, up, norm, None)

    @abstractmethod
    def _weights(self, images: Tensor, a: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """The weight (N, K) of each of the K channels of the activations ``a`` (N, K, h, w)."""

    def _chunks(self, count: int) -> list[range]:
        return [range(s, min(s + self.batch_size, count)) for s in range(0, count, self.batch_size)]


def _zero_channels(keep: Tensor) -> Callable:
    """A forward hook that multiplies the layer's output by ``keep`` (zeros and ones)."""

    def ablate(_module: Module, _inputs: tuple, output: Tensor) -> Tensor:
        return output * keep

    return ablate


class AblationCAM(_PerturbationCAM):
    """Ablation-CAM (Desai and Ramaswamy, 2020): channel k weighs the relative drop of the
    score when its map is set to zero, ``(y_c - y_c^k) / y_c`` (``y_c - y_c^k`` where the
    score is 0). One forward pass per channel and image, ``batch_size`` at a time.

    The channel is always set to zero, as in the paper; pytorch-grad-cam does so only where
    the layer's output contains a zero (after a ReLU) and uses -1e7 elsewhere."""

    def _weights(self, images: Tensor, a: np.ndarray, targets: np.ndarray) -> np.ndarray:
        n, k = a.shape[:2]
        weights = np.empty((n, k), dtype=np.float64)
        original = scores_of(self.model, images, targets).astype(np.float64)
        xp = backend.get_array_module(images.data)
        for i in range(n):
            for chunk in self._chunks(k):
                keep = xp.ones((len(chunk), k, 1, 1), dtype=images.dtype)
                keep[xp.arange(len(chunk)), xp.asarray(list(chunk))] = 0
                batch = images[i : i + 1].data.repeat(len(chunk), axis=0)
                with forward_hooks({self.layer: _zero_channels(tensor(keep))}):
                    scores = scores_of(self.model, tensor(batch), np.full(len(chunk), targets[i]))
                weights[i, chunk.start : chunk.stop] = original[i] - scores
            if original[i] != 0:
                weights[i] /= original[i]
        return weights


class ScoreCAM(_PerturbationCAM):
    """Score-CAM (Wang et al., 2020), gradient-free: each map, upsampled to the input's size
    and scaled to [0, 1], masks the input; channel k weighs ``softmax_k`` of the target's
    score on the masked inputs (the softmax over channels makes a baseline score drop out, so
    this is the score change of the paper). One forward pass per channel and image.

    The masks are upsampled as the maps are (bilinear, ``align_corners=False``);
    pytorch-grad-cam uses ``align_corners=True`` for them."""

    def _weights(self, images: Tensor, a: np.ndarray, targets: np.ndarray) -> np.ndarray:
        n, k = a.shape[:2]
        size = images.shape[2:]
        weights = np.empty((n, k), dtype=np.float64)
        for i in range(n):
            masks = normalize_maps(upsample(a[i], size))  # (K, H, W)
            scores = np.empty(k, dtype=np.float64)
            for chunk in self._chunks(k):
                m = backend.to_device(masks[chunk.start : chunk.stop, None], images.device)
                batch = images[i : i + 1].data * m
                scores[chunk.start : chunk.stop] = scores_of(
                    self.model, tensor(batch), np.full(len(chunk), targets[i])
                )
            e = np.exp(scores - scores.max())
            weights[i] = e / e.sum()
        return weights


class CAM(_CAMBase):
    """CAM (Zhou et al., 2016) for networks that end in global average pooling of
    ``target_layer``'s maps and one linear layer ``fc_layer``: ``L = ReLU(sum_k W[c, k] A[k])``
    (the ReLU, as for every map here, keeps the evidence for the class).

    On such a network ``dy_c/dA[k, i, j] = W[c, k] / (h w)``, so Grad-CAM's map is CAM's
    divided by ``h w``: after normalisation the two are identical."""

    def __init__(self, model: Module, target_layer: Layer, fc_layer: Layer):
        super().__init__(model, target_layer)
        self.fc_name, self.fc = resolve_layer(model, fc_layer, "CAM")
        if not isinstance(self.fc, Linear):
            raise TypeError(f"CAM: fc_layer must be a Linear layer, got {type(self.fc).__name__}")

    def __call__(
        self, x: Any, target: Target = None, upsample: bool = True, normalize: bool = True
    ) -> np.ndarray:
        up, norm = self._check_flags(upsample, normalize)
        run = record(self.model, x, {self.layer_name: self.layer}, target, "CAM", backward=False)
        a = run.activations[self.layer_name]
        check_spatial("CAM", self.layer_name, a)
        with no_grad():
            w = self.fc.weight.numpy()
        if w.shape[1] != a.shape[1]:
            raise ValueError(
                f"CAM: fc_layer {self.fc_name!r} takes {w.shape[1]} features, but layer "
                f"{self.layer_name!r} has {a.shape[1]} channels: CAM needs global average "
                "pooling between the two"
            )
        self.activations, self.gradients = a, None
        self.targets, self.logits = run.targets, run.logits
        self.weights = w[run.targets].astype(a.dtype)
        maps = _weighted(self.weights, a)
        return self._output(maps, run.input_size, up, norm, None)
