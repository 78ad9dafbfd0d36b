"""Transforms: functions applied to each image as it is read, for normalisation and augmentation.

A transform takes one image, a (C, H, W) float32 NumPy array, and returns the transformed
image (it never changes its input in place); ``Compose`` chains several. Augmentations are random: every time a
training image is read it is flipped, rotated, cropped or shifted differently, so the network
never sees exactly the same picture twice and has to learn what does not change.

All randomness comes from a NumPy ``Generator``: the one passed as ``generator=``, or else
``current_generator()``: the generator of the seeded ``DataLoader`` reading the current batch,
otherwise minicnn's default CPU generator (looked up at each call, so ``minicnn.manual_seed``
makes augmentation reproducible). ``mixup`` works on whole batches instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import numpy as np

from .. import backend
from ..tensor import Tensor, tensor

Transform = Callable[[np.ndarray], np.ndarray]


def _is_int(value: Any) -> bool:
    """Whether ``value`` is a whole number given as an int (``True`` and ``2.0`` are not)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _pair(size: int | Sequence[int], owner: str = "size") -> tuple[int, int]:
    """``32`` -> (32, 32); ``(24, 32)`` stays (height, width). Both must be positive ints;
    ``owner`` names the transform in the error."""
    pair = (size, size) if np.ndim(size) == 0 else tuple(size)
    if len(pair) != 2 or not all(_is_int(n) and n > 0 for n in pair):
        raise ValueError(
            f"{owner}: size must be a positive int or a (height, width) pair of positive "
            f"ints, got {size!r}"
        )
    return int(pair[0]), int(pair[1])


def _non_negative_int(owner: str, name: str, value: Any) -> int:
    if not (_is_int(value) and value >= 0):
        raise ValueError(f"{owner}: {name} must be a non-negative int, got {value!r}")
    return int(value)


def _probability(owner: str, name: str, value: Any) -> float:
    if _is_int(value) or isinstance(value, (float, np.floating)):
        if 0 <= value <= 1:  # also rejects NaN
            return float(value)
    raise ValueError(f"{owner}: {name} must be a probability in [0, 1], got {value!r}")


def _check_image(owner: str, image: Any) -> None:
    """Transforms work on one channels-first image: raise if ``image`` is not (C, H, W)."""
    if np.ndim(image) != 3:
        raise ValueError(
            f"{owner}: expected a (C, H, W) image, got shape {np.shape(image)}; "
            "a grey image (H, W) needs a channel axis: image[None]"
        )


class Compose:
    """Apply transforms one after the other: ``Compose([f, g])(x) == g(f(x))``."""

    def __init__(self, transforms: Sequence[Transform]):
        self.transforms = list(transforms)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        for transform in self.transforms:
            image = transform(image)
        return image


class Normalize:
    """Per channel c: ``(image[c] - mean[c]) / std[c]``, so that the training data has mean 0
    and standard deviation 1 in every channel (which makes the optimiser's job easier)."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]):
        self.mean = np.asarray(mean, dtype=np.float32).reshape(-1, 1, 1)
        self.std = np.asarray(std, dtype=np.float32).reshape(-1, 1, 1)
        if self.mean.shape != self.std.shape or np.any(self.std <= 0):
            raise ValueError(f"Normalize needs as many means as positive stds, got {mean}, {std}")

    def __call__(self, image: np.ndarray) -> np.ndarray:
        _check_image("Normalize", image)
        if len(self.mean) not in (1, image.shape[0]):
            raise ValueError(
                f"Normalize has {len(self.mean)} channel means but the image has shape {image.shape}"
            )
        return (image - self.mean) / self.std


def compute_mean_std(dataset: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of all pixels of all images in ``dataset``.

    Returns two (C,) float64 arrays for ``Normalize``. Give it the *training* split only,
    without augmentation: statistics taken over validation or test images would leak
    information about them into the model. The sums are accumulated in float64, which keeps the
    variance formula E[x^2] - E[x]^2 accurate for pixel values in [0, 1].
    """
    total = total_squares = 0.0
    count = 0
    for i in range(len(dataset)):
        image = np.asarray(dataset[i][0], dtype=np.float64)
        total = total + image.sum(axis=(1, 2))
        total_squares = total_squares + (image**2).sum(axis=(1, 2))
        count += image.shape[1] * image.shape[2]
    if count == 0:
        raise ValueError("compute_mean_std needs a non-empty dataset")
    mean = total / count
    return mean, np.sqrt(np.maximum(total_squares / count - mean**2, 0.0))


# Set only while a seeded DataLoader reads a batch (see ``using_generator``).
_loader_generator: ContextVar[np.random.Generator | None] = ContextVar(
    "minicnn_loader_generator", default=None
)


def current_generator() -> np.random.Generator:
    """The generator that random transforms without their own ``generator`` draw from: the one
    of ``using_generator`` (a seeded DataLoader reading a batch), else minicnn's default CPU
    generator. Custom random transforms should draw from it too, to be reproducible alike."""
    generator = _loader_generator.get()
    return backend.default_generator("cpu") if generator is None else generator


@contextmanager
def using_generator(generator: np.random.Generator | None) -> Iterator[None]:
    """Within the block, ``current_generator()`` is ``generator`` (None: left unchanged).

    A seeded ``DataLoader`` wraps the reading of each batch in it, so that the augmentation
    of its batches follows its seed. The previous generator is restored on leaving.
    """
    if generator is None:
        yield
        return
    token = _loader_generator.set(generator)
    try:
        yield
    finally:
        _loader_generator.reset(token)


class RandomTransform:
    """Base class of random transforms: holds the generator their random choices come from
    (None: ``current_generator()``, looked up at each call)."""

    def __init__(self, generator: np.random.Generator | None = None):
        self.generator = generator

    @property
    def rng(self) -> np.random.Generator:
        return current_generator() if self.generator is None else self.generator


class RandomHorizontalFlip(RandomTransform):
    """Mirror the image left-right with probability ``p``."""

    def __init__(self, p: float = 0.5, generator: np.random.Generator | None = None):
        super().__init__(generator)
        self.p = _probability("RandomHorizontalFlip", "p", p)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        _check_image("RandomHorizontalFlip", image)
        if self.rng.random() < self.p:
            return np.ascontiguousarray(image[:, :, ::-1])
        return image


class RandomRotation90(RandomTransform):
    """Rotate the image by 0, 90, 180 or 270 degrees counter-clockwise, each equally likely.

    Exact (no interpolation); a non-square image turned by 90 or 270 degrees becomes (C, W, H).
    """

    def __call__(self, image: np.ndarray) -> np.ndarray:
        _check_image("RandomRotation90", image)
        quarter_turns = int(self.rng.integers(4))
        return np.ascontiguousarray(np.rot90(image, quarter_turns, axes=(1, 2)))


class RandomCrop(RandomTransform):
    """Pad the image with ``padding`` zero pixels on every side, then cut out a random
    ``size`` window (an int for a square, or (height, width))."""

    def __init__(
        self,
        size: int | Sequence[int],
        padding: int = 0,
        generator: np.random.Generator | None = None,
    ):
        super().__init__(generator)
        self.size = _pair(size, "RandomCrop")
        self.padding = _non_negative_int("RandomCrop", "padding", padding)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        _check_image("RandomCrop", image)
        p = self.padding
        padded = np.pad(image, ((0, 0), (p, p), (p, p)))
        (height, width), (out_h, out_w) = padded.shape[1:], self.size
        if out_h > height or out_w > width:
            raise ValueError(
                f"RandomCrop of size {self.size} does not fit in a {image.shape[1:]} image "
                f"padded by {p}"
            )
        top = int(self.rng.integers(height - out_h + 1))
        left = int(self.rng.integers(width - out_w + 1))
        return np.ascontiguousarray(padded[:, top : top + out_h, left : left + out_w])


def shift(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Move the image content ``dy`` pixels down and ``dx`` right; uncovered pixels are 0."""
    _, height, width = image.shape
    dy, dx = int(np.clip(dy, -height, height)), int(np.clip(dx, -width, width))
    out = np.zeros_like(image)
    out[:, max(dy, 0) : height + min(dy, 0), max(dx, 0) : width + min(dx, 0)] = image[
        :, max(-dy, 0) : height - max(dy, 0), max(-dx, 0) : width - max(dx, 0)
    ]
    return out


class RandomShift(RandomTransform):
    """Translate the image by a random whole number of pixels in [-max_pixels, max_pixels],
    independently down and right, filling the uncovered border with zeros."""

    def __init__(self, max_pixels: int, generator: np.random.Generator | None = None):
        super().__init__(generator)
        self.max_pixels = _non_negative_int("RandomShift", "max_pixels", max_pixels)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        _check_image("RandomShift", image)
        dy, dx = self.rng.integers(-self.max_pixels, self.max_pixels + 1, size=2)
        return shift(image, int(dy), int(dx))


def _bilinear_weights(out_size: int, in_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each output position: the two input positions it lies between, and the weight of
    the second. With ``align_corners=False`` pixel *edges* line up: output pixel i's centre
    sits at input coordinate (i + 1/2) * in/out - 1/2 (clamped at 0, as PyTorch does)."""
    source = np.maximum((np.arange(out_size) + 0.5) * (in_size / out_size) - 0.5, 0.0)
    first = np.minimum(np.floor(source).astype(np.int64), in_size - 1)
    second = np.minimum(first + 1, in_size - 1)
    return first, second, source - first


def resize(image: np.ndarray, size: int | Sequence[int]) -> np.ndarray:
    """Bilinear resize of a (C, H, W) image to (C, *size), like PyTorch's
    ``F.interpolate(mode="bilinear", align_corners=False)``.

    Bilinear interpolation is linear interpolation along the rows followed by linear
    interpolation along the columns, so it is done as two vectorised 1-D steps.
    """
    _check_image("resize", image)
    out_h, out_w = _pair(size, "resize")
    y0, y1, wy = _bilinear_weights(out_h, image.shape[1])
    x0, x1, wx = _bilinear_weights(out_w, image.shape[2])
    wy, wx = wy.astype(image.dtype)[:, None], wx.astype(image.dtype)
    rows = image[:, y0, :] * (1 - wy) + image[:, y1, :] * wy
    return rows[:, :, x0] * (1 - wx) + rows[:, :, x1] * wx


class Resize:
    """Resize every image to ``size`` (an int for a square, or (height, width)), bilinearly."""

    def __init__(self, size: int | Sequence[int]):
        self.size = _pair(size, "Resize")

    def __call__(self, image: np.ndarray) -> np.ndarray:
        _check_image("Resize", image)
        return resize(image, self.size)


def mixup(
    x: Any,
    y: Any,
    alpha: float,
    num_classes: int | None = None,
    generator: np.random.Generator | None = None,
) -> tuple[Any, Any]:
    """Mixup (Zhang et al., 2018): blend each example of a batch with another one.

    With lam ~ Beta(alpha, alpha) (one draw per batch) and a random permutation ``perm``::

        mixed_x = lam * x + (1 - lam) * x[perm]
        soft_y  = lam * one_hot(y) + (1 - lam) * one_hot(y[perm])     # (B, num_classes)

    Training on such in-between examples against their in-between targets makes the network
    less over-confident. ``x`` (B, C, H, W) may be a Tensor (the results are then Tensors on
    its device) or an array. ``y`` holds integer labels (B,), or targets that are already
    soft or one-hot (B, K), mixed as they are. Without ``num_classes``, integer labels have
    ``int(y.max()) + 1`` classes: one too few when the batch happens to miss the last class,
    so passing ``num_classes`` is safer. Small ``alpha`` (0.2) mostly keeps lam near 0 or 1;
    ``alpha = 1`` draws lam uniformly. Randomness: ``generator``, else ``current_generator()``.
    """
    if alpha <= 0:
        raise ValueError(f"mixup needs alpha > 0, got {alpha}")
    rng = current_generator() if generator is None else generator
    images = x.data if isinstance(x, Tensor) else x
    labels = y.data if isinstance(y, Tensor) else y
    if labels.shape[:1] != images.shape[:1] or labels.ndim not in (1, 2):
        raise ValueError(
            f"mixup: expected y of shape (B,) (labels) or (B, K) (soft targets) for x of shape "
            f"{tuple(images.shape)}, got {tuple(labels.shape)}"
        )
    xp = backend.get_array_module(images)
    if labels.ndim == 2:
        if num_classes is not None and labels.shape[1] != num_classes:
            raise ValueError(
                f"mixup: num_classes={num_classes} but the soft targets y have "
                f"{labels.shape[1]} columns"
            )
        targets = labels.astype(images.dtype)
    else:
        if labels.dtype.kind not in "iu":
            raise ValueError(f"mixup: labels y of shape (B,) must be integers, got {labels.dtype}")
        if num_classes is None:
            if not labels.size:
                raise ValueError("mixup: give num_classes: it cannot be inferred from no labels")
            num_classes = int(labels.max()) + 1
        if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError(
                f"mixup labels must lie in [0, {num_classes}), got {labels.min()}..{labels.max()}"
            )
        targets = xp.eye(num_classes, dtype=images.dtype)[labels]
    lam = float(rng.beta(alpha, alpha))
    perm = xp.asarray(rng.permutation(len(images)))
    mixed = lam * images + (1 - lam) * images[perm]
    soft = lam * targets + (1 - lam) * targets[perm]
    if isinstance(x, Tensor):
        device = backend.device_of(mixed)
        return tensor(mixed, device=device), tensor(soft, device=device)
    return mixed, soft
