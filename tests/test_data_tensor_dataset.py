"""TensorDataset: samples are the rows of several arrays or Tensors, batched in one indexing."""

import numpy as np
import pytest

import minicnn as mc
from minicnn.data import DataLoader, Subset, TensorDataset, random_split


def features_and_labels(n=10):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    return x, np.arange(n) % 4


def test_samples_are_tuples_of_rows():
    x, y = features_and_labels()
    data = TensorDataset(mc.tensor(x), y)
    assert len(data) == 10
    row, label = data[7]
    np.testing.assert_array_equal(row, x[7])
    assert label == 3
    assert isinstance(data.tensors, tuple) and len(data.tensors) == 2
    assert all(isinstance(t, np.ndarray) for t in data.tensors)


def test_the_loader_batches_every_tensor_with_its_dtype():
    x, y = features_and_labels()
    weights = np.linspace(0, 1, 10)
    loader = DataLoader(TensorDataset(x, y, weights), batch_size=4, shuffle=True, seed=0)
    seen = []
    for xb, yb, wb in loader:
        assert isinstance(xb, mc.Tensor) and xb.dtype == np.float32 and xb.shape[1:] == (3,)
        assert yb.dtype == y.dtype and wb.dtype == np.float64
        rows = (xb.data[:, 0] // 3).astype(np.int64)  # which samples were drawn
        np.testing.assert_array_equal(yb.data, y[rows])
        np.testing.assert_array_equal(wb.data, weights[rows])
        seen += list(rows)
    assert sorted(seen) == list(range(10)) and len(loader) == 3


def test_one_tensor_gives_one_element_batches():
    (xb,) = next(iter(DataLoader(TensorDataset(np.arange(6.0)), batch_size=6)))
    np.testing.assert_array_equal(xb.data, np.arange(6.0))
    assert TensorDataset(np.arange(6.0))[2] == (2.0,)


def test_batches_are_gathered_in_one_indexing_per_tensor():
    class Counting(np.ndarray):
        reads = 0

        def __getitem__(self, index):
            Counting.reads += 1
            return super().__getitem__(index)

    x = np.zeros((12, 2)).view(Counting)
    data = TensorDataset(x, np.arange(12))
    data.tensors = (x, data.tensors[1])  # keep the counting array
    list(DataLoader(data, batch_size=4))
    assert Counting.reads == 3  # one per batch, not one per sample


def test_subsets_and_splits_of_a_tensor_dataset():
    x, y = features_and_labels()
    data = TensorDataset(x, y)
    xb, yb = Subset(data, [4, 1]).get_batch(np.array([0, 1]))
    np.testing.assert_array_equal(xb, x[[4, 1]])
    np.testing.assert_array_equal(yb, y[[4, 1]])
    train, test = random_split(data, [0.8, 0.2], stratified=True)
    assert len(train) == 8 and len(test) == 2


def test_errors():
    with pytest.raises(ValueError, match="TensorDataset needs at least one tensor"):
        TensorDataset()
    with pytest.raises(
        ValueError, match=r"TensorDataset: .* same size in the first dimension .*got \[10, 9\]"
    ):
        TensorDataset(np.zeros((10, 3)), np.zeros(9))
    with pytest.raises(ValueError, match=r"TensorDataset: tensor 1 is a scalar"):
        TensorDataset(np.zeros(3), np.float32(1.0))
