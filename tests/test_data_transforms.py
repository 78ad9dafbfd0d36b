"""The exact effect of every transform, their seeded randomness, and mixup."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minicnn as mc
from minicnn.data import MNIST, ArrayDataset, SyntheticShapes
from minicnn.data import transforms as T


class FixedGenerator:
    """Stands in for a numpy Generator whose draws the test chooses."""

    def __init__(self, *, random=0.0, integers=0):
        self._random, self._integers = random, integers

    def random(self):
        return self._random

    def integers(self, low, high=None, size=None):
        return self._integers if size is None else np.array(self._integers)


class FixedDraws:
    """Stands in for a generator: lam = 0.3 and each example mixed with the one before it."""

    def beta(self, a, b):
        return 0.3

    def permutation(self, n):
        return np.roll(np.arange(n), 1)


def image(channels=3, height=4, width=5, seed=0):
    return np.random.default_rng(seed).random((channels, height, width), dtype=np.float32)


def test_compose_applies_in_order():
    composed = T.Compose([lambda x: x + 1, lambda x: x * 10])
    np.testing.assert_array_equal(composed(np.zeros((1, 1, 1))), [[[10.0]]])


def test_horizontal_flip():
    x = image()
    flipped = T.RandomHorizontalFlip(p=1.0)(x)
    np.testing.assert_array_equal(flipped, x[:, :, ::-1])
    assert flipped.dtype == np.float32 and flipped.flags.c_contiguous
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=0.0)(x), x)
    flip = T.RandomHorizontalFlip(generator=np.random.default_rng(0))
    flips = sum(np.array_equal(flip(x), x[:, :, ::-1]) for _ in range(200))
    assert 70 < flips < 130


def test_rotation90():
    x = np.array([[[1, 2], [3, 4]]], dtype=np.float32)
    quarter = T.RandomRotation90(generator=FixedGenerator(integers=1))
    np.testing.assert_array_equal(quarter(x), [[[2, 4], [1, 3]]])  # counter-clockwise
    y = image(height=3, width=5)
    turned = quarter(y)
    assert turned.shape == (3, 5, 3) and turned.dtype == np.float32
    np.testing.assert_array_equal(quarter(quarter(quarter(turned))), y)
    rotate = T.RandomRotation90(generator=np.random.default_rng(0))
    seen = set()
    for _ in range(40):
        out = rotate(x)
        seen |= {k for k in range(4) if np.array_equal(out, np.rot90(x, k, axes=(1, 2)))}
    assert seen == {0, 1, 2, 3}


def test_crop_with_padding():
    x = image(height=4, width=4)
    corner = T.RandomCrop(4, padding=2, generator=FixedGenerator(integers=0))(x)
    expected = np.zeros_like(x)
    expected[:, 2:, 2:] = x[:, :2, :2]
    np.testing.assert_array_equal(corner, expected)
    np.testing.assert_array_equal(T.RandomCrop(4)(x), x)
    np.testing.assert_array_equal(
        T.RandomCrop((2, 3), generator=FixedGenerator(integers=1))(x), x[:, 1:3, 1:4]
    )
    crop = T.RandomCrop(4, padding=1, generator=np.random.default_rng(1))
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    offsets = set()
    for _ in range(100):
        out = crop(x)
        assert out.shape == x.shape and out.dtype == np.float32
        offsets |= {
            (i, j)
            for i in range(3)
            for j in range(3)
            if np.array_equal(out, padded[:, i : i + 4, j : j + 4])
        }
    assert offsets == {(i, j) for i in range(3) for j in range(3)}
    with pytest.raises(ValueError, match="does not fit"):
        T.RandomCrop(7, padding=1)(x)


def test_shift():
    x = np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3)
    np.testing.assert_array_equal(T.shift(x, 1, 0), [[[0, 0, 0], [1, 2, 3], [4, 5, 6]]])
    np.testing.assert_array_equal(T.shift(x, 0, -1), [[[2, 3, 0], [5, 6, 0], [8, 9, 0]]])
    np.testing.assert_array_equal(T.shift(x, -1, 2), [[[0, 0, 4], [0, 0, 7], [0, 0, 0]]])
    np.testing.assert_array_equal(T.shift(x, 5, 0), np.zeros_like(x))
    np.testing.assert_array_equal(T.shift(x, 0, 0), x)
    shifter = T.RandomShift(2, generator=np.random.default_rng(0))
    moves = set()
    for _ in range(200):
        out = shifter(x)
        assert out.dtype == np.float32
        moves |= {
            (dy, dx)
            for dy in range(-2, 3)
            for dx in range(-2, 3)
            if np.array_equal(out, T.shift(x, dy, dx))
        }
    assert moves == {(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)}


def test_transforms_do_not_modify_their_input():
    x = image()
    before = x.copy()
    for transform in (
        T.RandomHorizontalFlip(1.0),
        T.RandomRotation90(),
        T.RandomCrop(3, padding=1),
        T.RandomShift(1),
        T.Resize(7),
        T.Normalize([0.5] * 3, [0.2] * 3),
    ):
        assert transform(x).dtype == np.float32
    np.testing.assert_array_equal(x, before)


def test_random_transforms_follow_manual_seed():
    augment = T.Compose([T.RandomShift(2), T.RandomHorizontalFlip(), T.RandomRotation90()])
    x = image(height=6, width=6)
    mc.manual_seed(5)
    first = [augment(x) for _ in range(10)]
    mc.manual_seed(5)
    second = [augment(x) for _ in range(10)]
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    assert any(not np.array_equal(a, first[0]) for a in first)


def test_using_generator_scopes_where_random_transforms_draw():
    default = mc.backend.default_generator("cpu")
    assert T.current_generator() is default
    mine = np.random.default_rng(0)
    with T.using_generator(mine):
        assert T.current_generator() is mine
        with T.using_generator(None):  # None leaves the generator as it is
            assert T.current_generator() is mine
        flip = T.RandomHorizontalFlip()
        assert flip.rng is mine
        own = np.random.default_rng(1)
        assert T.RandomShift(1, generator=own).rng is own  # its own generator wins
    assert T.current_generator() is default and flip.rng is default
    x = image()
    with T.using_generator(np.random.default_rng(4)):
        first = [T.RandomShift(2)(x) for _ in range(5)]
    with T.using_generator(np.random.default_rng(4)):
        assert all(np.array_equal(T.RandomShift(2)(x), a) for a in first)


def test_resize_known_values():
    x = np.array([[[0.0, 1.0]]], dtype=np.float32)
    np.testing.assert_allclose(T.Resize((1, 4))(x), [[[0.0, 0.25, 0.75, 1.0]]])
    y = image()
    np.testing.assert_array_equal(T.resize(y, (4, 5)), y)
    np.testing.assert_allclose(T.resize(np.ones((2, 3, 3), np.float32), 8), np.ones((2, 8, 8)))


RESIZES = dict(
    in_size=st.tuples(st.integers(1, 12), st.integers(1, 12)),
    out_size=st.tuples(st.integers(1, 12), st.integers(1, 12)),
    seed=st.integers(0, 5),
)


@given(**RESIZES)
def test_resize_shape_and_dtype(in_size, out_size, seed):
    ours = T.Resize(out_size)(image(2, *in_size, seed=seed))
    assert ours.dtype == np.float32 and ours.shape == (2, *out_size)


@given(**RESIZES)
def test_resize_matches_torch_interpolate(torch, in_size, out_size, seed):
    """torch is the reference for bilinear resizing."""
    x = image(2, *in_size, seed=seed)
    ours = T.Resize(out_size)(x)
    reference = torch.nn.functional.interpolate(
        torch.from_numpy(x)[None], size=out_size, mode="bilinear", align_corners=False
    )[0].numpy()
    assert ours.dtype == np.float32 and ours.shape == (2, *out_size)
    np.testing.assert_allclose(ours, reference, atol=1e-6)


def test_normalize_exact():
    x = np.stack([np.full((2, 2), 0.5), np.full((2, 2), 1.0)]).astype(np.float32)
    out = T.Normalize([0.25, 0.5], [0.5, 0.25])(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, np.stack([np.full((2, 2), 0.5), np.full((2, 2), 2.0)]))
    with pytest.raises(ValueError, match="2 channel means"):
        T.Normalize([0.1, 0.2], [1, 1])(np.zeros((3, 2, 2), np.float32))
    with pytest.raises(ValueError, match="positive stds"):
        T.Normalize([0.1], [0.0])


def test_compute_mean_std_exact():
    images = np.random.default_rng(0).integers(0, 256, (6, 3, 4, 5), dtype=np.uint8)
    data = ArrayDataset(images, np.zeros(6, np.int64))
    mean, std = T.compute_mean_std(data)
    pixels = images.astype(np.float64) / 255
    np.testing.assert_allclose(mean, pixels.mean(axis=(0, 2, 3)), rtol=1e-6)
    np.testing.assert_allclose(std, pixels.std(axis=(0, 2, 3)), rtol=1e-6)
    normalized = np.stack([T.Normalize(mean, std)(data[i][0]) for i in range(6)])
    np.testing.assert_allclose(normalized.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(normalized.std(axis=(0, 2, 3)), 1, atol=1e-5)
    with pytest.raises(ValueError, match="non-empty"):
        T.compute_mean_std(ArrayDataset(np.zeros((0, 1, 2, 2), np.uint8), np.zeros(0)))


def test_compute_mean_std_of_mnist_sample():
    mean, std = T.compute_mean_std(MNIST("train"))
    assert mean.shape == std.shape == (1,)
    assert 0.1 < mean[0] < 0.15 and 0.28 < std[0] < 0.33  # MNIST's well-known 0.13 and 0.31


def test_mixup():
    shapes = SyntheticShapes(8, image_size=12, seed=0)
    x, y = mc.tensor(shapes.images), mc.tensor(shapes.labels)
    mixed, soft = T.mixup(x, y, alpha=0.4, num_classes=3, generator=np.random.default_rng(9))
    assert isinstance(mixed, mc.Tensor) and mixed.dtype == np.float32 and soft.shape == (8, 3)
    np.testing.assert_allclose(soft.data.sum(axis=1), 1, rtol=1e-6)
    replay = np.random.default_rng(9)
    lam, perm = replay.beta(0.4, 0.4), replay.permutation(8)
    np.testing.assert_allclose(
        mixed.data, lam * shapes.images + (1 - lam) * shapes.images[perm], rtol=1e-5
    )
    one_hot = np.eye(3)[shapes.labels]
    np.testing.assert_allclose(soft.data, lam * one_hot + (1 - lam) * one_hot[perm], rtol=1e-5)
    arrays = T.mixup(shapes.images, shapes.labels, 1.0, 3, generator=np.random.default_rng(0))
    assert all(isinstance(a, np.ndarray) for a in arrays)
    with pytest.raises(ValueError, match="alpha > 0"):
        T.mixup(x, y, alpha=0, num_classes=3)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\)"):
        T.mixup(x, y, alpha=1, num_classes=2)


def test_mixup_infers_num_classes_from_the_labels():
    images = image(channels=6).reshape(6, 1, 4, 5)
    labels = np.array([0, 2, 1, 2, 0, 1])
    inferred = T.mixup(images, labels, 0.4, generator=np.random.default_rng(3))
    given_ = T.mixup(images, labels, 0.4, 3, generator=np.random.default_rng(3))
    assert inferred[1].shape == (6, 3) and inferred[1].dtype == np.float32
    for a, b in zip(inferred, given_, strict=True):
        np.testing.assert_array_equal(a, b)
    # a batch without the last class gets too few columns: hence num_classes is safer
    assert T.mixup(images, labels % 2, 0.4)[1].shape == (6, 2)
    assert T.mixup(images, labels % 2, 0.4, num_classes=3)[1].shape == (6, 3)
    with pytest.raises(ValueError, match="give num_classes"):
        T.mixup(images[:0], labels[:0], 0.4)
    with pytest.raises(ValueError, match="must be integers, got float64"):
        T.mixup(images, labels.astype(np.float64), 0.4)


def test_mixup_of_soft_targets_mixes_them_as_they_are():
    images = image(channels=4, height=3, width=5).reshape(4, 1, 3, 5)
    soft = np.random.default_rng(2).dirichlet(np.ones(5), size=4)
    mixed, mixed_soft = T.mixup(mc.tensor(images), mc.tensor(soft), 0.5, generator=FixedDraws())
    lam, perm = 0.3, FixedDraws().permutation(4)
    np.testing.assert_allclose(mixed_soft.data, lam * soft + (1 - lam) * soft[perm], rtol=1e-6)
    assert mixed_soft.dtype == np.float32  # like the images
    np.testing.assert_allclose(mixed.data, lam * images + (1 - lam) * images[perm], rtol=1e-6)
    labels = np.array([4, 0, 1, 2])  # one-hot targets are soft targets too
    from_labels = T.mixup(images, labels, 0.5, generator=FixedDraws())[1]
    from_one_hot = T.mixup(images, np.eye(5)[labels], 0.5, generator=FixedDraws())[1]
    np.testing.assert_allclose(from_one_hot, from_labels, rtol=1e-6)
    with pytest.raises(ValueError, match="num_classes=3 but the soft targets y have 5 columns"):
        T.mixup(images, soft, 0.5, num_classes=3)
    with pytest.raises(ValueError, match=r"expected y of shape \(B,\) .* got \(3, 5\)"):
        T.mixup(images, soft[:3], 0.5)
