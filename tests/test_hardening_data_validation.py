"""Datasets and transforms reject wrong layouts, label types and arguments with clear errors."""

import numpy as np
import pytest

from minicnn.data import ArrayDataset, DataLoader, Subset, SyntheticShapes
from minicnn.data import transforms as T

# --- image layout and label types ----------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_channels_last_images_are_rejected_with_the_fix(channels):
    images = np.zeros((5, 28, 28, channels), np.uint8)
    with pytest.raises(ValueError, match=r"channels-last.*images\.transpose\(0, 3, 1, 2\)"):
        ArrayDataset(images, np.zeros(5, np.int64))


def test_channels_first_and_grey_images_are_accepted():
    colour = ArrayDataset(np.zeros((5, 3, 32, 32), np.uint8), np.zeros(5, np.int64))
    assert colour[0][0].shape == (3, 32, 32)
    assert ArrayDataset(np.zeros((2, 1, 1, 1), np.float32), [0, 1])[1][0].shape == (1, 1, 1)
    grey = ArrayDataset(np.zeros((4, 28, 28), np.uint8), np.arange(4))  # (N, H, W): one channel
    assert grey.images.shape == (4, 1, 28, 28) and grey[0][0].shape == (1, 28, 28)
    x, _ = next(iter(DataLoader(grey, batch_size=4)))
    assert x.shape == (4, 1, 28, 28)


@pytest.mark.parametrize("shape", [(5,), (5, 28), (5, 1, 28, 28, 1)])
def test_images_of_other_ranks_are_rejected(shape):
    with pytest.raises(ValueError, match=r"ArrayDataset: images must be \(N, C, H, W\) or"):
        ArrayDataset(np.zeros(shape, np.float32), np.zeros(5, np.int64))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.bool_])
def test_non_integer_labels_are_rejected(dtype):
    labels = np.array([0.0, 1.7, 2.2, 0.0, 1.0]).astype(dtype)
    with pytest.raises(
        TypeError, match=f"ArrayDataset: labels must be integers, got {np.dtype(dtype)}"
    ):
        ArrayDataset(np.zeros((5, 1, 4, 4), np.float32), labels)


def test_labels_must_be_one_per_image():
    with pytest.raises(ValueError, match=r"labels must have shape \(5,\), got \(5, 2\)"):
        ArrayDataset(np.zeros((5, 1, 4, 4), np.float32), np.zeros((5, 2), np.int64))
    with pytest.raises(ValueError, match=r"5 images but 4 labels"):
        ArrayDataset(np.zeros((5, 1, 4, 4), np.float32), np.zeros(4, np.int64))
    empty = ArrayDataset(np.zeros((0, 1, 4, 4), np.float32), [])  # no labels: no dtype to check
    assert len(empty) == 0


def test_subset_indices_must_be_integers():
    data = ArrayDataset(np.zeros((4, 1, 2, 2), np.float32), np.arange(4))
    with pytest.raises(TypeError, match="Subset: indices must be integers, got float64"):
        Subset(data, [0.5, 1.9])
    with pytest.raises(TypeError, match="Subset: indices must be integers, got bool"):
        Subset(data, np.array([True, False, True, False]))
    assert len(Subset(data, [])) == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_samples": 2.5}, "SyntheticShapes: num_samples must be a non-negative int, got 2.5"),
        ({"num_samples": 3, "image_size": 16.5}, "SyntheticShapes: image_size must be an int"),
    ],
)
def test_synthetic_shapes_arguments_are_ints(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SyntheticShapes(**kwargs)


# --- transform arguments -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: T.RandomHorizontalFlip(p=2),
            r"RandomHorizontalFlip: p must be .* \[0, 1\], got 2",
        ),
        (lambda: T.RandomHorizontalFlip(p=-0.1), r"RandomHorizontalFlip: p .* got -0.1"),
        (lambda: T.RandomHorizontalFlip(p=float("nan")), r"RandomHorizontalFlip: p .* got nan"),
        (lambda: T.Resize(0), r"Resize: size must be .*positive.*, got 0"),
        (lambda: T.Resize((28, -1)), r"Resize: size must be .*, got \(28, -1\)"),
        (lambda: T.Resize(2.5), r"Resize: size must be .*, got 2.5"),
        (lambda: T.Resize((1, 2, 3)), r"Resize: size must be .*, got \(1, 2, 3\)"),
        (lambda: T.RandomCrop(0), r"RandomCrop: size must be .*, got 0"),
        (
            lambda: T.RandomCrop(8, padding=-2),
            r"RandomCrop: padding must be a non-negative int, got -2",
        ),
        (lambda: T.RandomCrop(8, padding=1.5), r"RandomCrop: padding must be .*, got 1.5"),
        (lambda: T.RandomShift(-1), r"RandomShift: max_pixels must be a non-negative int, got -1"),
        (lambda: T.RandomShift(True), r"RandomShift: max_pixels must be .*, got True"),
    ],
)
def test_transform_arguments_are_checked_where_they_are_given(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_valid_edge_arguments_are_accepted():
    image = np.random.default_rng(0).random((3, 4, 5), dtype=np.float32)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=0)(image), image)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1)(image), image[:, :, ::-1])
    np.testing.assert_array_equal(T.RandomShift(0)(image), image)
    np.testing.assert_array_equal(T.RandomCrop((4, 5), padding=0)(image), image)
    assert T.Resize(np.int64(7))(image).shape == (3, 7, 7)
    assert T.Resize([2, 3])(image).shape == (3, 2, 3)


@pytest.mark.parametrize(
    "transform",
    [
        T.RandomHorizontalFlip(),
        T.RandomRotation90(),
        T.RandomCrop(2),
        T.RandomShift(1),
        T.Resize(3),
        T.Normalize([0.5], [0.2]),
    ],
    ids=lambda t: type(t).__name__,
)
def test_transforms_want_a_channels_first_image(transform):
    with pytest.raises(
        ValueError,
        match=rf"{type(transform).__name__}: expected a \(C, H, W\) image, got shape \(4, 4\)",
    ):
        transform(np.zeros((4, 4), np.float32))
