"""DataLoader: walk through a dataset in (shuffled) mini-batches of Tensors.

One pass over the loader is one epoch: every sample appears exactly once (with
``drop_last=True`` the incomplete last batch is skipped). With ``shuffle=True`` each epoch
(each new ``iter(loader)``) visits the samples in a new random order.

Reproducibility: with ``seed``, the loader draws the orders from its own generator, and while it
reads a batch the dataset's random transforms draw from that generator too (see
``transforms.using_generator``); so two loaders with the same seed give the same batches,
augmentation included, epoch after epoch. With ``seed=None`` both come from minicnn's default
CPU generator, which ``minicnn.manual_seed`` resets.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .. import backend
from ..tensor import Tensor, tensor
from .dataset import fetch_batch
from .transforms import using_generator


class DataLoader:
    """Iterate over ``dataset`` in batches ``(x, y)``: x (B, C, H, W) float32, y (B,) int64.

    ``seed``: the same seed gives the same batches, shuffling and augmentation included (random
    transforms without their own ``generator`` draw from the loader's generator).
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int | None = None,
    ):
        if int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.generator = np.random.default_rng(seed) if seed is not None else None

    def __len__(self) -> int:
        """The number of batches in one epoch."""
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        n = len(self.dataset)
        if not self.shuffle:
            order = np.arange(n)
        elif self.generator is not None:
            order = self.generator.permutation(n)
        else:
            order = backend.default_generator("cpu").permutation(n)
        return self._batches(order)  # the order is drawn now, when the epoch starts

    def _batches(self, order: np.ndarray) -> Iterator[tuple[Tensor, Tensor]]:
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            # only around the reading: the loader's generator must not leak to the caller
            with using_generator(self.generator):
                images, labels = fetch_batch(self.dataset, order[start : start + self.batch_size])
            yield tensor(images), tensor(labels)
