"""CIFAR-10: 60,000 32x32 colour photos in 10 classes, read from the official binary files.

Download "CIFAR-10 binary version (suitable for C programs)" from
https://www.cs.toronto.edu/~kriz/cifar.html and unpack it; ``root`` may be the folder that
holds ``data_batch_1.bin`` ... ``data_batch_5.bin`` and ``test_batch.bin`` or the folder above
``cifar-10-batches-bin/``. The Python version of CIFAR-10 is pickled, and unpickling a file can
run arbitrary code, so minicnn never reads it.

Each binary file is a sequence of 3,073-byte records: one label byte (0..9), then the 1,024
red, 1,024 green and 1,024 blue pixel bytes of the image, row by row; that is exactly a
(3, 32, 32) channel-first array.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .dataset import ArrayDataset, Transform

RECORD_BYTES = 1 + 3 * 32 * 32
TRAIN_FILES = [f"data_batch_{k}.bin" for k in range(1, 6)]
TEST_FILES = ["test_batch.bin"]
CLASSES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]


def read_cifar_binary(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 binary file: images (N, 3, 32, 32) uint8 and labels (N,) uint8."""
    data = np.fromfile(path, dtype=np.uint8)
    if data.size == 0 or data.size % RECORD_BYTES:
        raise ValueError(
            f"{path}: expected a whole number of {RECORD_BYTES}-byte CIFAR-10 records, "
            f"got {data.size} bytes (truncated or not a CIFAR-10 binary file?)"
        )
    records = data.reshape(-1, RECORD_BYTES)
    labels = records[:, 0]
    if labels.max() > 9:
        bad = int(np.argmax(labels > 9))
        raise ValueError(f"{path}: record {bad} has label {labels[bad]}, expected 0..9")
    return records[:, 1:].reshape(-1, 3, 32, 32), labels


class CIFAR10(ArrayDataset):
    """CIFAR-10 photos; ``dataset[i]`` is a (3, 32, 32) float32 image in [0, 1] and its class.

    ``.images`` holds the raw pixels as (N, 3, 32, 32) uint8, ``.targets``/``.labels`` the
    (N,) int64 classes and ``.classes`` their names.
    """

    def __init__(
        self, root: str | os.PathLike, train: bool = True, transform: Transform | None = None
    ):
        root = Path(root).expanduser()
        if (root / "cifar-10-batches-bin").is_dir():
            root = root / "cifar-10-batches-bin"
        names = TRAIN_FILES if train else TEST_FILES
        missing = [name for name in names if not (root / name).is_file()]
        if missing:
            raise FileNotFoundError(
                f"CIFAR-10 binary files {missing} not found in {root}; download the binary "
                "version from https://www.cs.toronto.edu/~kriz/cifar.html and unpack it there"
            )
        parts = [read_cifar_binary(root / name) for name in names]
        images = np.concatenate([images for images, _ in parts])
        labels = np.concatenate([labels for _, labels in parts])
        super().__init__(images, labels, transform, classes=CLASSES)
