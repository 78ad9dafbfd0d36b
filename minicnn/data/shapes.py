"""SyntheticShapes: coloured circles, squares and triangles on a noisy background.

A dataset that is generated in a fraction of a second, needs no download, and comes with
the ground truth that real photos lack: every image has a box and a pixel mask around its
object. It serves three lessons: classification (which shape is it?), explanation (does a
Grad-CAM heat map point at the object, i.e. inside its mask?) and segmentation (a U-Net
predicts the mask).

Each shape has a random centre (cx, cy) and a random half-width r between 0.15 and 0.3 of the
image size, chosen so that it lies entirely inside the image. A pixel (row i, column j) belongs
to the shape when its centre (x, y) = (j + 1/2, i + 1/2) satisfies, with dx = x - cx and
dy = y - cy (y grows downwards):

* circle (label 0):   dx^2 + dy^2 <= r^2
* square (label 1):   |dx| <= r and |dy| <= r
* triangle (label 2): dy <= r and |dx| <= (dy + r) / 2   (apex at the top, base at the bottom)
"""

from __future__ import annotations

import numpy as np

from .dataset import ArrayDataset, Transform
from .transforms import _is_int

MIN_SIZE = 12
NOISE_STD = 0.05


class SyntheticShapes(ArrayDataset):
    """``num_samples`` images of shape (3, image_size, image_size), the same for the same seed.

    Attributes:
        images: (N, 3, H, W) float32 in [0, 1].
        labels: (N,) int64: 0 circle, 1 square, 2 triangle (each a third of the samples).
        boxes:  (N, 4) int64 (x0, y0, x1, y1): the object's pixels are exactly those of
                ``masks[n, y0:y1, x0:x1]``, i.e. the box runs along the pixels' outer edges.
        masks:  (N, H, W) bool, True on the object's pixels.
    """

    def __init__(
        self,
        num_samples: int,
        image_size: int = 32,
        seed: int = 0,
        transform: Transform | None = None,
    ):
        if not _is_int(num_samples):
            raise ValueError(
                f"SyntheticShapes: num_samples must be a non-negative int, got {num_samples!r}"
            )
        if not _is_int(image_size):
            raise ValueError(
                f"SyntheticShapes: image_size must be an int >= {MIN_SIZE}, got {image_size!r}"
            )
        if num_samples < 0 or image_size < MIN_SIZE:
            raise ValueError(
                f"SyntheticShapes needs num_samples >= 0 and image_size >= {MIN_SIZE}, "
                f"got {num_samples} and {image_size}"
            )
        rng = np.random.default_rng(seed)
        n, size = num_samples, image_size
        labels = rng.permutation(np.arange(n) % 3)
        radius = rng.uniform(0.15 * size, 0.3 * size, n)
        cx = rng.uniform(radius, size - radius)
        cy = rng.uniform(radius, size - radius)
        object_colour = rng.uniform(0.4, 1.0, (n, 3)).astype(np.float32)
        background_colour = rng.uniform(0.0, 0.3, (n, 3)).astype(np.float32)
        noise = NOISE_STD * rng.standard_normal((n, 3, size, size), dtype=np.float32)

        # One array dimension per sample, row and column: (N, 1, 1) against (1, H, 1) and (1, 1, W).
        centres = np.arange(size) + 0.5
        dx = centres[None, None, :] - cx[:, None, None]
        dy = centres[None, :, None] - cy[:, None, None]
        r = radius[:, None, None]
        circle = dx**2 + dy**2 <= r**2
        square = (np.abs(dx) <= r) & (np.abs(dy) <= r)
        triangle = (dy <= r) & (np.abs(dx) <= (dy + r) / 2)
        label = labels[:, None, None]
        self.masks = np.where(label == 0, circle, np.where(label == 1, square, triangle))

        images = np.where(
            self.masks[:, None],
            object_colour[:, :, None, None],
            background_colour[:, :, None, None],
        )
        images = np.clip(images + noise, 0.0, 1.0)
        super().__init__(images, labels, transform, classes=["circle", "square", "triangle"])
        self.boxes = self._bounding_boxes(self.masks)

    @staticmethod
    def _bounding_boxes(masks: np.ndarray) -> np.ndarray:
        """(x0, y0, x1, y1) per mask: the first and one past the last column/row it touches."""
        columns, rows = masks.any(axis=1), masks.any(axis=2)
        width, height = masks.shape[2], masks.shape[1]
        x0, x1 = columns.argmax(axis=1), width - columns[:, ::-1].argmax(axis=1)
        y0, y1 = rows.argmax(axis=1), height - rows[:, ::-1].argmax(axis=1)
        return np.stack([x0, y0, x1, y1], axis=1).astype(np.int64)
