"""ImageFolder: your own photos, one sub-folder per class.

::

    root/
        cat/  001.jpg  002.png ...
        dog/  001.jpg ...

gives ``.classes == ["cat", "dog"]`` (sorted), ``.class_to_idx == {"cat": 0, "dog": 1}`` and
``.samples``, the sorted list of ``(path, class index)`` pairs. Images are decoded with Pillow
only when they are asked for, so a large folder costs no memory up front.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from .dataset import Dataset, Transform

EXTENSIONS = (".png", ".jpg", ".jpeg")


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Decode an image file as RGB: a (3, H, W) float32 array with values in [0, 1]."""
    try:
        with Image.open(path) as image:
            rgb = np.asarray(image.convert("RGB"))
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise ValueError(f"{path}: cannot read it as a PNG or JPEG image: {error}") from error
    return rgb.transpose(2, 0, 1).astype(np.float32) / np.float32(255)


class ImageFolder(Dataset):
    """Images in ``root/<class name>/`` folders; ``dataset[i]`` is a (3, H, W) float32 image.

    Images of different sizes need a ``Resize`` transform before they can share a batch.
    """

    def __init__(self, root: str | os.PathLike, transform: Transform | None = None):
        root = Path(root).expanduser()
        if not root.is_dir():
            raise FileNotFoundError(f"ImageFolder root {root} is not a folder")
        self.root = root
        self.transform = transform
        # Hidden folders such as Jupyter's .ipynb_checkpoints are not classes.
        self.classes = sorted(
            entry.name
            for entry in root.iterdir()
            if entry.is_dir() and not entry.name.startswith(".")
        )
        self.class_to_idx = {name: index for index, name in enumerate(self.classes)}
        self.samples = [
            (path, self.class_to_idx[name])
            for name in self.classes
            for path in sorted((root / name).iterdir())
            if path.is_file() and path.suffix.lower() in EXTENSIONS
        ]
        if not self.samples:
            raise FileNotFoundError(
                f"no {'/'.join(EXTENSIONS)} images found in the class folders of {root} "
                "(expected root/<class name>/<image files>)"
            )
        self.targets = np.array([index for _, index in self.samples], dtype=np.int64)

    @property
    def labels(self) -> np.ndarray:
        """The (N,) int64 class indices (the same array as ``.targets``)."""
        return self.targets

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[np.ndarray, int]:
        path, label = self.samples[index]
        image = load_image(path)
        if self.transform is not None:
            image = self.transform(image)
        return image, label
