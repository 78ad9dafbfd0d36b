"""SyntheticShapes: arrays, masks and boxes that agree, geometry per class, seeded generation."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minicnn.data import SyntheticShapes


def test_arrays_shapes_and_types():
    data = SyntheticShapes(30, image_size=20, seed=1)
    assert len(data) == 30 and data.classes == ["circle", "square", "triangle"]
    assert data.images.shape == (30, 3, 20, 20) and data.images.dtype == np.float32
    assert 0 <= data.images.min() and data.images.max() <= 1
    assert data.labels.shape == (30,) and data.labels.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(data.labels), [10, 10, 10])
    assert data.boxes.shape == (30, 4) and data.masks.shape == (30, 20, 20)
    image, label = data[4]
    np.testing.assert_array_equal(image, data.images[4])
    assert label == data.labels[4] and isinstance(label, int)
    image[:] = 0  # items are copies
    assert data.images[4].max() > 0


@given(size=st.integers(12, 40), seed=st.integers(0, 1000))
def test_masks_fill_their_boxes_tightly(size, seed):
    data = SyntheticShapes(9, image_size=size, seed=seed)
    for mask, (x0, y0, x1, y1) in zip(data.masks, data.boxes, strict=True):
        assert 0 <= x0 < x1 <= size and 0 <= y0 < y1 <= size
        inside = mask[y0:y1, x0:x1]
        assert inside.sum() == mask.sum() > 0
        assert inside[0].any() and inside[-1].any() and inside[:, 0].any() and inside[:, -1].any()


def test_each_class_has_its_geometry():
    """Fraction of its box that the shape fills: square 1, circle pi/4, triangle 1/2."""
    data = SyntheticShapes(300, image_size=32, seed=2)
    x0, y0, x1, y1 = data.boxes.T
    fill = data.masks.sum(axis=(1, 2)) / ((x1 - x0) * (y1 - y0))
    width, height = x1 - x0, y1 - y0
    circle, square, triangle = (data.labels == k for k in range(3))
    assert np.all(fill[square] == 1) and np.all(np.abs(width - height)[square] <= 1)
    assert np.all(np.abs(fill[circle] - np.pi / 4) < 0.1)
    assert np.all(np.abs(fill[triangle] - 0.5) < 0.12)
    # A triangle is wider at its base (bottom row of its box) than at its apex (top row).
    for mask, (_, top, _, bottom) in zip(data.masks[triangle], data.boxes[triangle], strict=True):
        assert mask[bottom - 1].sum() > mask[top].sum()


def test_object_stands_out_from_background():
    data = SyntheticShapes(50, image_size=24, seed=3)
    for image, mask in zip(data.images, data.masks, strict=True):
        assert np.all(image[:, mask].mean(axis=1) > image[:, ~mask].mean(axis=1) + 0.1)


def test_same_seed_same_data():
    a, b = SyntheticShapes(20, seed=7), SyntheticShapes(20, seed=7)
    c = SyntheticShapes(20, seed=8)
    for name in ("images", "labels", "boxes", "masks"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.images, c.images)


def test_transform_applies_to_each_item():
    data = SyntheticShapes(20, image_size=32, transform=lambda x: x[:1])
    image, _ = data[3]
    assert image.shape == (1, 32, 32)
    np.testing.assert_array_equal(image, data.images[3, :1])


def test_bad_arguments():
    with pytest.raises(ValueError, match="image_size >= 12"):
        SyntheticShapes(5, image_size=8)
    with pytest.raises(ValueError, match="num_samples >= 0"):
        SyntheticShapes(-1)
