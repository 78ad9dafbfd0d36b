"""DataLoader batching and shuffling, Subset and random_split."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minicnn as mc
from minicnn import backend
from minicnn.data import (
    MNIST,
    ArrayDataset,
    DataLoader,
    Subset,
    SyntheticShapes,
    random_split,
)
from minicnn.data import transforms as T
from minicnn.data.dataset import split_lengths


def numbered(n: int, num_classes: int = 3) -> ArrayDataset:
    """n one-pixel images whose value is their own index, labelled index % num_classes."""
    images = np.arange(n, dtype=np.float32).reshape(n, 1, 1, 1)
    return ArrayDataset(images, np.arange(n) % num_classes)


class ListDataset:
    """A minimal dataset: only __len__ and __getitem__, no arrays."""

    def __init__(self, n: int):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.full((2, 3, 3), i, dtype=np.float64), i % 2


def epoch_indices(loader) -> list[int]:
    return [int(v) for x, _ in loader for v in x.data[:, 0, 0, 0]]


# --- DataLoader ---------------------------------------------------------------------------------


def test_batches_are_tensors_of_the_right_types():
    x, y = next(iter(DataLoader(MNIST("test"), batch_size=8)))
    assert isinstance(x, mc.Tensor) and isinstance(y, mc.Tensor)
    assert x.shape == (8, 1, 28, 28) and x.dtype == np.float32
    assert y.shape == (8,) and y.dtype == np.int64
    np.testing.assert_array_equal(y.data, MNIST("test").targets[:8])


@given(
    n=st.integers(1, 40),
    batch_size=st.integers(1, 12),
    drop_last=st.booleans(),
    shuffle=st.booleans(),
)
def test_every_sample_once_per_epoch(n, batch_size, drop_last, shuffle):
    loader = DataLoader(numbered(n), batch_size, shuffle=shuffle, drop_last=drop_last, seed=1)
    sizes = [len(y.data) for _, y in loader]
    assert len(sizes) == len(loader) == (n // batch_size if drop_last else -(-n // batch_size))
    assert all(size == batch_size for size in sizes[:-1])
    indices = epoch_indices(loader)
    if drop_last:
        assert sizes == [batch_size] * (n // batch_size)
        assert len(set(indices)) == len(indices) == n - n % batch_size
    else:
        assert sorted(indices) == list(range(n))
    if not shuffle:
        assert indices == list(range(len(indices)))
    for x, y in loader:  # labels travel with their images
        np.testing.assert_array_equal(y.data, x.data[:, 0, 0, 0].astype(np.int64) % 3)


def test_shuffle_is_seeded_and_differs_between_epochs():
    a = DataLoader(numbered(50), batch_size=7, shuffle=True, seed=3)
    b = DataLoader(numbered(50), batch_size=7, shuffle=True, seed=3)
    c = DataLoader(numbered(50), batch_size=7, shuffle=True, seed=4)
    first, second = epoch_indices(a), epoch_indices(a)
    assert first != second and sorted(first) == sorted(second) == list(range(50))
    assert epoch_indices(b) == first and epoch_indices(b) == second
    assert epoch_indices(c) != first


def test_without_seed_manual_seed_makes_shuffling_reproducible():
    loader = DataLoader(numbered(30), batch_size=4, shuffle=True)
    mc.manual_seed(11)
    first = epoch_indices(loader)
    mc.manual_seed(11)
    assert epoch_indices(loader) == first
    assert epoch_indices(loader) != first


def test_plain_dataset_and_transforms_are_stacked():
    x, y = next(iter(DataLoader(ListDataset(5), batch_size=5)))
    assert x.shape == (5, 2, 3, 3) and x.dtype == np.float32
    np.testing.assert_array_equal(x.data[:, 0, 0, 0], np.arange(5))
    np.testing.assert_array_equal(y.data, [0, 1, 0, 1, 0])
    transformed = ArrayDataset(
        np.zeros((4, 1, 2, 2), np.uint8), np.zeros(4, np.int64), transform=lambda i: i + 2
    )
    x, _ = next(iter(DataLoader(transformed, batch_size=4)))
    np.testing.assert_array_equal(x.data, np.full((4, 1, 2, 2), 2, np.float32))


def test_different_image_sizes_explain_the_fix():
    class Ragged(ListDataset):
        def __getitem__(self, i):
            return np.zeros((3, 4 + i, 4)), 0

    with pytest.raises(ValueError, match="different shapes.*Resize"):
        next(iter(DataLoader(Ragged(3), batch_size=3)))


def test_batches_on_the_device(device):
    """``device=``: the batches' Tensors are made there (``--device strict``: the stand-in
    GPU, whose arrays refuse implicit host copies), with the same values as on the CPU."""
    on_cpu = next(iter(DataLoader(MNIST("test"), batch_size=8)))
    on_device = next(iter(DataLoader(MNIST("test"), batch_size=8, device=device)))
    for a, b in zip(on_cpu, on_device, strict=True):
        assert b.device == device and b.dtype == a.dtype
        np.testing.assert_array_equal(b.numpy(), a.numpy())


def test_unknown_device_raises_at_once():
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        DataLoader(numbered(3), device="tpu")


def test_bad_batch_size():
    for bad in (0, -1, 2.5):
        with pytest.raises(ValueError, match="batch_size"):
            DataLoader(numbered(3), batch_size=bad)


def test_shuffled_mnist_epoch_covers_the_sample():
    loader = DataLoader(MNIST("train"), batch_size=64, shuffle=True, seed=0)
    labels = np.concatenate([y.data for _, y in loader])
    assert len(labels) == 4000
    np.testing.assert_array_equal(np.bincount(labels), np.bincount(MNIST("train").targets))


# --- seeded augmentation ------------------------------------------------------------------------


def augmented(n: int = 12) -> SyntheticShapes:
    augment = T.Compose([T.RandomShift(3), T.RandomHorizontalFlip(), T.RandomRotation90()])
    return SyntheticShapes(n, image_size=12, seed=0, transform=augment)


def epochs(loader, count: int = 2) -> list[np.ndarray]:
    return [np.concatenate([x.data for x, _ in loader]) for _ in range(count)]


@pytest.mark.parametrize("shuffle", [False, True])
def test_same_seed_same_augmented_batches(shuffle):
    a = DataLoader(augmented(), batch_size=5, shuffle=shuffle, seed=3)
    b = DataLoader(augmented(), batch_size=5, shuffle=shuffle, seed=3)
    mc.manual_seed(1)
    first = epochs(a)
    mc.manual_seed(2)  # the default generator plays no part
    second = epochs(b)
    for x, y in zip(first, second, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(first[0], first[1])  # a new augmentation every epoch
    assert not np.array_equal(first[0], epochs(DataLoader(augmented(), 5, shuffle, seed=4), 1)[0])
    if not shuffle:  # the images really were augmented
        assert not np.array_equal(first[0], SyntheticShapes(12, image_size=12, seed=0).images)


def test_seeded_loaders_iterated_together_stay_reproducible():
    a = DataLoader(augmented(), batch_size=4, shuffle=True, seed=7)
    alone = epochs(a, 1)[0]
    a = DataLoader(augmented(), batch_size=4, shuffle=True, seed=7)
    b = DataLoader(augmented(), batch_size=4, shuffle=True, seed=8)
    together = [xa.data for (xa, _), _ in zip(a, b, strict=True)]
    np.testing.assert_array_equal(np.concatenate(together), alone)


def test_seeded_loader_does_not_leak_its_generator():
    loader = iter(DataLoader(augmented(), batch_size=4, seed=0))
    next(loader)  # suspended between two batches
    assert T.current_generator() is backend.default_generator("cpu")


def test_without_seed_manual_seed_makes_augmentation_reproducible():
    loader = DataLoader(augmented(), batch_size=5, shuffle=True)
    mc.manual_seed(5)
    first = epochs(loader, 1)[0]
    mc.manual_seed(5)
    np.testing.assert_array_equal(epochs(loader, 1)[0], first)
    mc.manual_seed(6)
    assert not np.array_equal(epochs(loader, 1)[0], first)


# --- Subset and random_split --------------------------------------------------------------------


def test_subset_maps_indices():
    data = numbered(10)
    subset = Subset(data, [7, 2, 9])
    assert len(subset) == 3 and subset[1][0][0, 0, 0] == 2 and subset[1][1] == 2
    np.testing.assert_array_equal(subset.targets, [1, 2, 0])
    np.testing.assert_array_equal(subset.labels, subset.targets)
    nested = Subset(subset, [2, 0])
    x, y = nested.get_batch(np.array([0, 1]))
    np.testing.assert_array_equal(x[:, 0, 0, 0], [9, 7])
    np.testing.assert_array_equal(y, [0, 1])
    plain = Subset(ListDataset(4), [3, 1])
    np.testing.assert_array_equal(plain.targets, [1, 1])
    np.testing.assert_array_equal(plain.get_batch(np.array([1]))[0][:, 0, 0, 0], [1])
    for bad in ([10], [-1]):
        with pytest.raises(IndexError, match=r"\[0, 10\)"):
            Subset(data, bad)


def test_split_lengths():
    assert split_lengths(5000, [0.8, 0.1, 0.1]) == [4000, 500, 500]
    assert split_lengths(11, [0.8, 0.1, 0.1]) == [9, 1, 1]  # floor gives 8, 1, 1; 1 left over
    assert split_lengths(5, [0.5, 0.5]) == [3, 2]
    assert split_lengths(4, [0.25, 0.25, 0.25, 0.25]) == [1, 1, 1, 1]
    assert split_lengths(7, [3, 4]) == [3, 4]
    with pytest.raises(ValueError, match="sum to the dataset's length 7"):
        split_lengths(7, [3, 3])
    with pytest.raises(ValueError, match="sum to 1"):
        split_lengths(7, [0.5, 0.4])
    with pytest.raises(ValueError, match="sum to 1"):
        split_lengths(7, [1.5, -0.5])


@given(
    n=st.integers(1, 60),
    fractions=st.lists(st.integers(1, 10), min_size=1, max_size=4),
    stratified=st.booleans(),
    seed=st.integers(0, 3),
)
def test_random_split_is_disjoint_and_covering(n, fractions, stratified, seed):
    weights = [f / sum(fractions) for f in fractions]
    parts = random_split(numbered(n), weights, seed=seed, stratified=stratified)
    assert [len(p) for p in parts] == split_lengths(n, weights)
    everything = np.concatenate([p.indices for p in parts])
    assert sorted(everything.tolist()) == list(range(n))
    again = random_split(numbered(n), weights, seed=seed, stratified=stratified)
    assert all(np.array_equal(p.indices, q.indices) for p, q in zip(parts, again, strict=True))


@given(
    class_sizes=st.lists(st.integers(1, 40), min_size=1, max_size=5),
    fractions=st.lists(st.integers(1, 10), min_size=2, max_size=3),
    seed=st.integers(0, 3),
)
def test_stratified_split_keeps_class_proportions(class_sizes, fractions, seed):
    labels = np.repeat(np.arange(len(class_sizes)), class_sizes)
    data = ArrayDataset(np.zeros((len(labels), 1, 1, 1), np.float32), labels)
    weights = [f / sum(fractions) for f in fractions]
    parts = random_split(data, weights, seed=seed, stratified=True)
    for part in parts:
        counts = np.bincount(part.targets, minlength=len(class_sizes))
        expected = np.array(class_sizes) * len(part) / len(labels)
        assert np.all(np.abs(counts - expected) < 2)


def test_stratified_split_of_imbalanced_classes():
    labels = np.repeat([0, 1, 2], [700, 200, 100])
    data = ArrayDataset(np.zeros((1000, 1, 1, 1), np.float32), labels)
    train, val, test = random_split(data, [0.8, 0.1, 0.1], seed=5, stratified=True)
    assert np.bincount(train.targets).tolist() == [560, 160, 80]
    assert np.bincount(val.targets).tolist() == [70, 20, 10]
    assert np.bincount(test.targets).tolist() == [70, 20, 10]
    plain_val = random_split(data, [0.8, 0.1, 0.1], seed=5)[1]
    assert not np.array_equal(np.sort(plain_val.indices), np.sort(val.indices))


def test_different_seeds_give_different_splits():
    a = random_split(numbered(100), [0.5, 0.5], seed=0)[0].indices
    b = random_split(numbered(100), [0.5, 0.5], seed=1)[0].indices
    assert not np.array_equal(np.sort(a), np.sort(b))


# --- DataLoader.state_dict: resuming the order and the augmentation ----------------------------


@pytest.mark.parametrize("batches_read", [0, 2, 3])
def test_loader_state_dict_resumes_between_and_within_epochs(batches_read):
    """A loader restored from state_dict() continues with exactly the batches (order and
    augmentation) that the original would have given next, also in the middle of an epoch."""
    loader = DataLoader(augmented(), batch_size=4, shuffle=True, seed=5)  # 3 batches an epoch
    epochs(loader, 1)
    batches = iter(loader)
    for _ in range(batches_read):
        next(batches)
    state = loader.state_dict()
    rest = [x.data for x, _ in batches] + [x.data for x, _ in loader]

    restored = DataLoader(augmented(), batch_size=4, shuffle=True, seed=5)
    restored.load_state_dict(state)
    again = [x.data for x, _ in restored] + [x.data for x, _ in restored]
    if batches_read == 3:  # the epoch was over: restored starts the next one
        again = again[:3]
    assert len(rest) == {0: 6, 2: 4, 3: 3}[batches_read]
    for a, b in zip(rest, again, strict=True):
        np.testing.assert_array_equal(a, b)


def test_loader_state_dict_is_a_snapshot():
    loader = DataLoader(numbered(10), batch_size=3, shuffle=True, seed=0)
    state = loader.state_dict()
    first = epoch_indices(loader)
    assert epoch_indices(loader) != first
    loader.load_state_dict(state)
    assert epoch_indices(loader) == first


def test_loader_load_state_dict_mismatches_raise():
    seeded = DataLoader(numbered(10), batch_size=3, shuffle=True, seed=0)
    unseeded = DataLoader(numbered(10), batch_size=3, shuffle=True)
    with pytest.raises(ValueError, match="saved from a DataLoader with a seed"):
        unseeded.load_state_dict(seeded.state_dict())
    with pytest.raises(ValueError, match="saved from a DataLoader without a seed"):
        seeded.load_state_dict(unseeded.state_dict())
    batches = iter(seeded)
    next(batches)
    with pytest.raises(ValueError, match="epoch over 10 samples, but the dataset has 12"):
        DataLoader(numbered(12), batch_size=3, shuffle=True, seed=0).load_state_dict(
            seeded.state_dict()
        )
    unseeded.load_state_dict(unseeded.state_dict())  # no seed: nothing of its own to restore
