"""DataLoader: walk through a dataset in (shuffled) mini-batches of Tensors.

One pass over the loader is one epoch: every sample appears exactly once (with
``drop_last=True`` the incomplete last batch is skipped). With ``shuffle=True`` each epoch
(each new ``iter(loader)``) visits the samples in a new random order.

Reproducibility: with ``seed``, the loader draws the orders from its own generator, and while it
reads a batch the dataset's random transforms draw from that generator too (see
``transforms.using_generator``); so two loaders with the same seed give the same batches,
augmentation included, epoch after epoch. With ``seed=None`` both come from minicnn's default
CPU generator, which ``minicnn.manual_seed`` resets.

Resuming: ``state_dict()`` holds the loader's generator state and, in the middle of an epoch,
that epoch's order and how many batches were handed out; ``load_state_dict()`` on a new loader
over the same dataset then continues with exactly the batches the old one would have given.
``minicnn.save_checkpoint(..., loaders=loader)`` saves it with the rest of the training.
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

    A ``TensorDataset``'s batches are tuples with one Tensor per array, in its dtype.

    ``seed``: the same seed gives the same batches, shuffling and augmentation included (random
    transforms without their own ``generator`` draw from the loader's generator).
    ``device``: where the batches' Tensors are made (``"cuda"``: read on the host, then
    copied to the GPU batch by batch).
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int | None = None,
        device: str = "cpu",
    ):
        if int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.device = backend.normalize_device(device)
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.generator = np.random.default_rng(seed) if seed is not None else None
        self._order: np.ndarray | None = None  # the order of the epoch under way, if any
        self._position = 0  # how many of its batches were handed out
        self._resume = False  # the next iter() continues that epoch (after load_state_dict)

    def __len__(self) -> int:
        """The number of batches in one epoch."""
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        if self._resume:  # continue the epoch restored by load_state_dict
            self._resume = False
        else:  # the order is drawn now, when the epoch starts
            n = len(self.dataset)
            if not self.shuffle:
                self._order = np.arange(n)
            elif self.generator is not None:
                self._order = self.generator.permutation(n)
            else:
                self._order = backend.default_generator("cpu").permutation(n)
            self._position = 0
        return self._batches(self._order, self._position)

    def _batches(self, order: np.ndarray, first: int) -> Iterator[tuple[Tensor, ...]]:
        for batch in range(first, len(self)):
            start = batch * self.batch_size
            # only around the reading: the loader's generator must not leak to the caller
            with using_generator(self.generator):
                arrays = fetch_batch(self.dataset, order[start : start + self.batch_size])
            if self._order is order:  # the latest epoch: the one state_dict() describes
                self._position = batch + 1
            yield tuple(tensor(array, device=self.device) for array in arrays)

    def state_dict(self) -> dict[str, Any]:
        """What the next batches depend on: ``{"generator": state or None, "order": array or
        None, "position": int}``. ``order`` and ``position`` (the batches already handed out)
        are set only in the middle of an epoch. Without a seed the loader draws from minicnn's
        default generator, which ``save_checkpoint`` saves too."""
        pending = self._order is not None and self._position < len(self)
        return {
            "generator": None if self.generator is None else self.generator.bit_generator.state,
            "order": self._order.copy() if pending else None,
            "position": self._position if pending else 0,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore ``state_dict()``: the next ``iter(loader)`` gives the rest of the epoch that
        was under way (if any), and later ones the epochs that would have followed."""
        saved = state_dict["generator"]
        if (saved is None) != (self.generator is None):
            raise ValueError(
                f"DataLoader.load_state_dict: the state was saved from a DataLoader "
                f"{'without' if saved is None else 'with'} a seed, but this one has "
                f"{'one' if saved is None else 'none'}; create it with the same seed argument"
            )
        order = state_dict["order"]
        if order is not None and len(order) != len(self.dataset):
            raise ValueError(
                f"DataLoader.load_state_dict: the state is from an epoch over {len(order)} "
                f"samples, but the dataset has {len(self.dataset)}"
            )
        if saved is not None:
            self.generator.bit_generator.state = saved
        self._order = None if order is None else np.asarray(order, dtype=np.int64).copy()
        self._position = int(state_dict["position"]) if order is not None else 0
        self._resume = order is not None
