"""Datasets, subsets and train/validation/test splits.

A dataset is anything with ``len(dataset)`` and ``dataset[i] -> (image, label)``, where
``image`` is a float32 NumPy array of shape (C, H, W) with values in [0, 1] and ``label`` an
int. Datasets may also offer ``get_batch(indices) -> (images, labels)``, which returns a whole
batch as (B, C, H, W) float32 and (B,) int64 arrays at once; the DataLoader uses it when present.
A ``TensorDataset``'s samples and batches are tuples of any number of arrays instead.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import backend
from ..tensor import Tensor

Transform = Callable[[np.ndarray], np.ndarray]


def stack_samples(dataset: Any, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Read the samples at ``indices`` one by one and stack them into a batch: (B, C, H, W)
    float32 images and (B,) int64 labels."""
    pairs = [dataset[int(i)] for i in indices]
    shapes = {np.shape(image) for image, _ in pairs}
    if len(shapes) > 1:
        raise ValueError(
            f"cannot stack images of different shapes {sorted(shapes)} into one batch; "
            "add a Resize (or RandomCrop) transform so that every image has the same size"
        )
    images = np.stack([image for image, _ in pairs]).astype(np.float32, copy=False)
    return images, np.array([label for _, label in pairs], dtype=np.int64)


def fetch_batch(dataset: Any, indices: np.ndarray) -> tuple[np.ndarray, ...]:
    """The samples at ``indices`` as (B, C, H, W) float32 images and (B,) int64 labels
    (or, for a ``TensorDataset``, the rows of each of its arrays).

    Uses the dataset's ``get_batch`` when it has one (array-backed datasets gather a whole
    batch with one indexing operation), else reads and stacks the samples one by one.
    """
    if hasattr(dataset, "get_batch"):
        return dataset.get_batch(indices)
    return stack_samples(dataset, indices)


class Dataset(ABC):
    """Base class: subclasses implement ``__len__`` and ``__getitem__``."""

    @abstractmethod
    def __len__(self) -> int:
        """The number of samples."""

    @abstractmethod
    def __getitem__(self, index: int) -> tuple[np.ndarray, int]:
        """Sample ``index`` as a float32 (C, H, W) image in [0, 1] and its label."""

    def get_batch(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The samples at ``indices`` as (B, C, H, W) float32 images and (B,) int64 labels."""
        return stack_samples(self, indices)


class ArrayDataset(Dataset):
    """Images held in one array with their labels.

    ``images`` has shape (N, C, H, W), channels first as everywhere in minicnn, or (N, H, W)
    for grey images (stored as (N, 1, H, W)); it is either uint8 (0..255, divided by 255 on
    access) or float32 (already in [0, 1]). ``labels`` holds N integer class labels. Keeping
    the pixels as uint8 stores them in a quarter of the memory; every access still returns
    float32 in [0, 1].
    """

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        transform: Transform | None = None,
        classes: Sequence[str] | None = None,
    ):
        name = type(self).__name__
        images, labels = np.asarray(images), np.asarray(labels)
        if images.ndim == 3:  # grey images: add the channel axis
            images = images[:, None]
        if images.ndim != 4:
            raise ValueError(
                f"{name}: images must be (N, C, H, W) or (N, H, W) for grey images, "
                f"got shape {images.shape}"
            )
        n, channels, height, width = images.shape
        if width in (1, 3, 4) and channels > 4 and height > 4:
            raise ValueError(
                f"{name}: images of shape {images.shape} look channels-last (N, H, W, C); "
                "minicnn wants channels first (N, C, H, W): pass images.transpose(0, 3, 1, 2)"
            )
        if labels.shape != (n,):
            raise ValueError(
                f"{name}: {n} images but {len(labels)} labels"
                if labels.ndim == 1
                else f"{name}: labels must have shape ({n},), got {labels.shape}"
            )
        if labels.size and labels.dtype.kind not in "iu":
            raise TypeError(
                f"{name}: labels must be integers, got {labels.dtype}; class labels that are "
                "whole numbers convert with labels.astype(numpy.int64)"
            )
        if images.dtype not in (np.uint8, np.float32):
            raise TypeError(
                f"images must be uint8 (0..255) or float32 (0..1), got {images.dtype}; "
                "convert them with .astype(numpy.float32)"
            )
        self.images = images
        self.targets = np.asarray(labels, dtype=np.int64)
        self.transform = transform
        self.classes = list(classes) if classes is not None else None

    @property
    def labels(self) -> np.ndarray:
        """The (N,) int64 class labels (the same array as ``.targets``)."""
        return self.targets

    def __len__(self) -> int:
        return len(self.targets)

    def _as_float(self, images: np.ndarray) -> np.ndarray:
        if images.dtype == np.uint8:
            return images.astype(np.float32) / np.float32(255)
        return images.copy()  # the caller may modify it without touching the dataset

    def __getitem__(self, index: int) -> tuple[np.ndarray, int]:
        image = self._as_float(self.images[index])
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.targets[index])

    def get_batch(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.transform is not None:  # transforms work on one image at a time
            return super().get_batch(indices)
        return self._as_float(self.images[indices]), self.targets[indices]


class TensorDataset(Dataset):
    """Samples that are the rows of several arrays, as in PyTorch: ``dataset[i]`` is
    ``(tensors[0][i], tensors[1][i], ...)``.

    ``TensorDataset(features, labels)`` with a DataLoader gives batches ``(x, y)`` of Tensors
    that keep the arrays' dtypes. The arrays (NumPy arrays or Tensors, which are copied to the
    host) must all have the same size in the first dimension; they are kept as NumPy arrays in
    ``.tensors``. A batch is gathered with one indexing per array.
    """

    def __init__(self, *tensors: Any):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        arrays = tuple(backend.to_host(t.data if isinstance(t, Tensor) else t) for t in tensors)
        for i, array in enumerate(arrays):
            if array.ndim == 0:
                raise ValueError(
                    f"TensorDataset: tensor {i} is a scalar; each tensor needs a first "
                    "dimension with one entry per sample"
                )
        sizes = [len(array) for array in arrays]
        if len(set(sizes)) > 1:
            raise ValueError(
                "TensorDataset: all tensors must have the same size in the first dimension "
                f"(the number of samples), got {sizes}"
            )
        self.tensors = arrays

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitem__(self, index: int) -> tuple[Any, ...]:
        return tuple(tensor[index] for tensor in self.tensors)

    def get_batch(self, indices: np.ndarray) -> tuple[np.ndarray, ...]:
        return tuple(tensor[indices] for tensor in self.tensors)


def labels_of(dataset: Any) -> np.ndarray:
    """The (N,) int64 labels of a dataset: its ``.targets`` or ``.labels`` if it has them,
    else read one sample at a time."""
    for name in ("targets", "labels"):
        labels = getattr(dataset, name, None)
        if labels is not None:
            return np.asarray(labels, dtype=np.int64)
    return np.array([dataset[i][1] for i in range(len(dataset))], dtype=np.int64)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset: Any, indices: Sequence[int] | np.ndarray):
        indices = np.asarray(indices)
        if indices.size and indices.dtype.kind not in "iu":
            raise TypeError(f"Subset: indices must be integers, got {indices.dtype}")
        indices = indices.astype(np.int64).reshape(-1)
        n = len(dataset)
        if indices.size and (indices.min() < 0 or indices.max() >= n):
            raise IndexError(
                f"subset indices must lie in [0, {n}), got {indices.min()}..{indices.max()}"
            )
        self.dataset = dataset
        self.indices = indices

    @property
    def targets(self) -> np.ndarray:
        """The labels of the subset's samples, read from the parent dataset."""
        return labels_of(self.dataset)[self.indices]

    labels = targets  # the same property under its other name

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> tuple[np.ndarray, int]:
        return self.dataset[int(self.indices[index])]

    def get_batch(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return fetch_batch(self.dataset, self.indices[indices])


def split_lengths(n: int, fractions_or_lengths: Sequence[float]) -> list[int]:
    """Turn split sizes into lengths that sum to ``n``.

    Integers are lengths and must sum to ``n``. Floats are fractions summing to 1: each split
    gets ``floor(fraction * n)`` samples, and the few left over go one each to the first
    splits, in order (as ``torch.utils.data.random_split`` does). 0.8/0.1/0.1 of 5,000 gives
    4,000/500/500; 0.5/0.5 of 5 gives 3/2.
    """
    sizes = list(fractions_or_lengths)
    if not sizes:
        raise ValueError("random_split needs at least one split size")
    if all(isinstance(s, (int, np.integer)) for s in sizes):
        if any(s < 0 for s in sizes) or sum(sizes) != n:
            raise ValueError(
                f"split lengths {sizes} must be non-negative and sum to the dataset's length {n}"
            )
        return [int(s) for s in sizes]
    if any(not 0 <= s <= 1 for s in sizes) or abs(sum(sizes) - 1) > 1e-6:
        raise ValueError(
            f"split fractions {sizes} must lie in [0, 1] and sum to 1 "
            f"(or give integer lengths summing to {n})"
        )
    lengths = [int(np.floor(s * n)) for s in sizes]
    for k in range(n - sum(lengths)):
        lengths[k % len(lengths)] += 1
    return lengths


def stratified_split_indices(
    labels: np.ndarray, lengths: Sequence[int], rng: np.random.Generator
) -> list[np.ndarray]:
    """Split ``range(len(labels))`` into parts of the given lengths, each with the class
    proportions of the whole (to within a sample or two per class).

    The indices are sorted by class (shuffled within each class) and then dealt out like cards:
    split k owns ``lengths[k]`` evenly spaced positions ``(i + 1/2) * N / lengths[k]`` along
    that sorted list. Any stretch of the list, so every class, is thus shared between the splits
    in proportion to their lengths, and the totals are exact.
    """
    labels = np.asarray(labels)
    n = len(labels)
    sorted_by_class = np.concatenate(
        [rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)]
    )
    positions = np.concatenate([(np.arange(m) + 0.5) * n / m for m in lengths if m > 0])
    owner = np.concatenate([np.full(m, k) for k, m in enumerate(lengths) if m > 0])
    owner_of_slot = owner[np.argsort(positions, kind="stable")]
    return [rng.permutation(sorted_by_class[owner_of_slot == k]) for k in range(len(lengths))]


def random_split(
    dataset: Any,
    fractions_or_lengths: Sequence[float],
    seed: int = 0,
    stratified: bool = False,
) -> list[Subset]:
    """Split a dataset into non-overlapping random ``Subset``\\ s that together cover it.

    ``random_split(data, [0.8, 0.1, 0.1])`` gives train/validation/test subsets; the same
    ``seed`` always gives the same split. With ``stratified=True`` each subset keeps the class
    proportions of the whole dataset (read from its ``.targets`` or ``.labels``), so a small
    validation set still has every class in the right amount.
    """
    n = len(dataset)
    lengths = split_lengths(n, fractions_or_lengths)
    rng = np.random.default_rng(seed)
    if stratified:
        parts = stratified_split_indices(labels_of(dataset), lengths, rng)
    else:
        parts = np.split(rng.permutation(n), np.cumsum(lengths)[:-1])
    return [Subset(dataset, part) for part in parts]
