"""The 5,000 real MNIST digits bundled in the package, and their fixed 4,000/1,000 split."""

import numpy as np
import pytest

from minicnn.data import MNIST
from minicnn.data.mnist import SAMPLE_PATH, load_sample, sample_split


def test_bundled_file_is_uint8_digits_without_pickles():
    with np.load(SAMPLE_PATH, allow_pickle=False) as archive:
        assert sorted(archive.files) == ["images", "labels"]
        images, labels = archive["images"], archive["labels"]
    assert images.shape == (5000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (5000,) and labels.dtype == np.uint8
    assert images.min() == 0 and images.max() == 255
    np.testing.assert_array_equal(np.bincount(labels), [500] * 10)
    assert SAMPLE_PATH.stat().st_size < 1_500_000
    assert (SAMPLE_PATH.parent / "MNIST_SAMPLE_NOTICE.md").is_file()


def test_digits_are_upright():
    """A 7's bar is at the top right; a 6's loop at the bottom. A transposed, upside-down or
    mirrored sample would break one of these."""
    images, labels = load_sample()
    seven = images[labels == 7].astype(float).mean(axis=0)
    six = images[labels == 6].astype(float).mean(axis=0)
    assert seven[:14].sum() > 1.1 * seven[14:].sum()
    assert seven[:, 14:].sum() > 1.2 * seven[:, :14].sum()
    assert six[14:].sum() > 1.2 * six[:14].sum()


def test_split_is_stratified_disjoint_and_fixed():
    split = sample_split()
    train, test = split["train"], split["test"]
    assert len(train) == 4000 and len(test) == 1000
    np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(5000))
    train_set, test_set = MNIST("train"), MNIST("test")
    np.testing.assert_array_equal(np.bincount(train_set.targets), [400] * 10)
    np.testing.assert_array_equal(np.bincount(test_set.targets), [100] * 10)
    # Pinned so that a change of split (e.g. a new NumPy shuffling algorithm) is noticed.
    assert test[:5].tolist() == [8, 10, 13, 15, 16] and int(test.sum()) == 2_498_569


def test_items_are_float_images_and_transform_applies():
    data = MNIST("test", transform=lambda x: 1 - x)
    plain = MNIST("test")
    image, label = plain[10]
    assert image.shape == (1, 28, 28) and image.dtype == np.float32 and isinstance(label, int)
    assert 0 <= image.min() and image.max() <= 1
    np.testing.assert_allclose(image[0], plain.images[10, 0] / 255, rtol=1e-6)
    np.testing.assert_allclose(data[10][0], 1 - image)
    assert data.classes == [str(d) for d in range(10)]
    image[:] = 0  # changing an item must not change the dataset
    assert plain[10][0].max() > 0


def test_nearest_centroid_recognises_the_digits():
    train, test = MNIST("train"), MNIST("test")
    x_train = train.images.reshape(len(train), -1).astype(np.float64)
    x_test = test.images.reshape(len(test), -1).astype(np.float64)
    centroids = np.stack([x_train[train.targets == k].mean(axis=0) for k in range(10)])
    distances = ((x_test[:, None, :] - centroids[None]) ** 2).sum(axis=2)
    accuracy = (distances.argmin(axis=1) == test.targets).mean()
    assert accuracy > 0.75


def test_bad_arguments():
    with pytest.raises(ValueError, match="'train' or 'test'"):
        MNIST("val")
    with pytest.raises(ValueError, match="root folder"):
        MNIST("train", download=True)
