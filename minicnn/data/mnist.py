"""MNIST handwritten digits: a 5,000-digit sample bundled with minicnn, or the full set.

``MNIST("train")`` needs no download: it uses the 5,000 real MNIST digits shipped inside the
package (500 of each digit, see ``assets/MNIST_SAMPLE_NOTICE.md``), split into 4,000 training
and 1,000 test digits, 400 and 100 of each class. The split is fixed (a seeded, class-
stratified shuffle), so every machine trains and tests on the same digits.

``MNIST("train", root="~/data/mnist")`` reads the official 60,000/10,000 digits from the four
IDX files in ``root`` (plain or ``.gz``); ``download=True`` fetches the missing ones first and
checks their SHA-256 checksums.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

from .dataset import ArrayDataset, Transform, stratified_split_indices
from .download import download as download_file
from .idx import read_idx

SAMPLE_PATH = Path(__file__).with_name("assets") / "mnist_sample.npz"
SAMPLE_SPLIT_SEED = 0
SAMPLE_TRAIN_SIZE = 4000

FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


@functools.cache
def load_sample() -> tuple[np.ndarray, np.ndarray]:
    """The bundled 5,000 digits: images (5000, 28, 28) uint8 and labels (5000,) uint8.

    The arrays are read once and shared, so they are made read-only.
    """
    with np.load(SAMPLE_PATH, allow_pickle=False) as archive:
        images, labels = archive["images"], archive["labels"]
    if images.shape != (5000, 28, 28) or labels.shape != (5000,) or images.dtype != np.uint8:
        raise ValueError(
            f"{SAMPLE_PATH}: expected images (5000, 28, 28) uint8 and labels (5000,), "
            f"got {images.shape} {images.dtype} and {labels.shape}"
        )
    images.flags.writeable = labels.flags.writeable = False
    return images, labels


@functools.cache
def sample_split() -> dict[str, np.ndarray]:
    """Indices of the bundled sample's fixed 4,000/1,000 class-stratified train/test split."""
    _, labels = load_sample()
    rng = np.random.default_rng(SAMPLE_SPLIT_SEED)
    train, test = stratified_split_indices(
        labels, [SAMPLE_TRAIN_SIZE, len(labels) - SAMPLE_TRAIN_SIZE], rng
    )
    return {"train": np.sort(train), "test": np.sort(test)}


def find_file(root: Path, name: str) -> Path:
    """``root/name`` or, if only that exists, ``root/name.gz``."""
    for candidate in (root / name, root / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"MNIST file {name} (or {name}.gz) not found in {root}; "
        "pass download=True to fetch it, or root=None to use the bundled 5,000-digit sample"
    )


def read_mnist_split(root: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The official IDX files of a split: images (N, 28, 28) uint8 and labels (N,) uint8."""
    images_path, labels_path = (find_file(root, name) for name in FILES[split])
    images, labels = read_idx(images_path, ndim=3), read_idx(labels_path, ndim=1)
    if images.dtype != np.uint8 or images.shape[1:] != (28, 28):
        raise ValueError(
            f"{images_path}: expected uint8 images of 28x28 pixels, "
            f"got {images.dtype} images of shape {images.shape[1:]}"
        )
    if labels.dtype != np.uint8 or len(labels) != len(images):
        raise ValueError(
            f"{labels_path}: expected {len(images)} uint8 labels (one per image in "
            f"{images_path.name}), got {len(labels)} {labels.dtype} labels"
        )
    if labels.size and labels.max() > 9:
        raise ValueError(f"{labels_path}: labels must be digits 0..9, got {labels.max()}")
    return images, labels


class MNIST(ArrayDataset):
    """28x28 grey-scale digits 0-9; ``dataset[i]`` is a (1, 28, 28) float32 image and its digit.

    ``.images`` holds the raw pixels as (N, 1, 28, 28) uint8 and ``.targets``/``.labels`` the
    (N,) int64 digits.
    """

    mirrors = [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ]
    sha256 = {
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    }

    def __init__(
        self,
        split: str = "train",
        root: str | os.PathLike | None = None,
        transform: Transform | None = None,
        download: bool = False,
        mirror: str | None = None,
        sha256: dict[str, str] | None = None,
    ):
        if split not in FILES:
            raise ValueError(f"MNIST split must be 'train' or 'test', got {split!r}")
        if root is None:
            if download:
                raise ValueError("MNIST(download=True) needs a root folder to download into")
            images, labels = load_sample()
            indices = sample_split()[split]
            images, labels = images[indices], labels[indices]
        else:
            root = Path(root).expanduser()
            if download:
                self._download(root, split, mirror, sha256 if sha256 is not None else self.sha256)
            images, labels = read_mnist_split(root, split)
        super().__init__(images[:, None], labels, transform, classes=[str(d) for d in range(10)])

    def _download(self, root: Path, split: str, mirror: str | None, sha256: dict[str, str]) -> None:
        """Fetch the split's missing ``.gz`` files, trying each mirror until one answers."""
        mirrors = [mirror] if mirror is not None else self.mirrors
        for name in FILES[split]:
            if (root / name).is_file() or (root / f"{name}.gz").is_file():
                continue
            filename = f"{name}.gz"
            if filename not in sha256:
                raise KeyError(f"no known SHA-256 checksum for {filename}; refusing to download it")
            failures = []
            for base in mirrors:
                url = base.rstrip("/") + "/" + filename
                try:
                    download_file(url, root / filename, sha256[filename])
                    break
                except OSError as error:  # unreachable mirror or network error: try the next one
                    failures.append(f"{url}: {error}")
            else:
                raise RuntimeError(f"could not download {filename}:\n  " + "\n  ".join(failures))
