"""Bring torchvision's pretrained ImageNet weights (VGG16, ResNet-50, ...) into minicnn.

minicnn's ``vgg16`` and ``resnet50`` have torchvision's module names and parameter shapes, so
torchvision's ``state_dict`` loads unchanged. This script runs once where PyTorch, torchvision
and an internet connection are available: it downloads the weights (torchvision caches them in
``~/.cache/torch``), writes them as a safetensors file, loads that file into the minicnn model
and checks that both give the same scores for a random image::

    pip install torch torchvision
    python examples/export_torchvision_weights.py resnet50          # -> resnet50.safetensors
    python examples/export_torchvision_weights.py vgg16 --out vgg16.safetensors

Afterwards the file is all minicnn needs (no PyTorch)::

    model = minicnn.models.resnet50()
    model.load_state_dict(minicnn.load("resnet50.safetensors"))
    model.eval()

Preprocess images as torchvision's ImageNet models expect: resize to 256, centre-crop 224,
scale to [0, 1], subtract the mean (0.485, 0.456, 0.406) and divide by the standard deviation
(0.229, 0.224, 0.225) of each RGB channel, in (N, 3, 224, 224) layout.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

import minicnn as mc
from minicnn import models

#: The models with a torchvision twin, and their classifier's weight (it tells num_classes).
CLASSIFIER = {
    **{name: "classifier.6.weight" for name in models.list_models() if name.startswith("vgg")},
    **{f"resnet{depth}": "fc.weight" for depth in (18, 34, 50, 101, 152)},
}


def to_arrays(torch_model: Any) -> dict[str, np.ndarray]:
    """A torch module's ``state_dict`` as NumPy arrays (C-contiguous copies, shapes and dtypes
    kept: float32 weights, int64 ``num_batches_tracked`` of shape ())."""
    return {
        name: value.detach().cpu().numpy().copy(order="C")
        for name, value in torch_model.state_dict().items()
    }


def build(name: str, arrays: dict[str, np.ndarray]) -> mc.nn.Module:
    """minicnn's ``name`` with the weights in ``arrays`` (the number of classes is read from
    the classifier's weight), in evaluation mode."""
    if name not in CLASSIFIER:
        raise ValueError(f"no torchvision twin for {name!r}; choose one of {sorted(CLASSIFIER)}")
    num_classes = int(arrays[CLASSIFIER[name]].shape[0])
    model = models.get_model(name, num_classes=num_classes)
    model.load_state_dict(arrays)
    return model.eval()


def export(torch_model: Any, name: str, path: str | Path, source: str = "") -> Path:
    """Write ``torch_model``'s weights to the safetensors file ``path`` (the model's name and
    ``source`` go into the file's metadata)."""
    path = Path(path)
    mc.save(to_arrays(torch_model), path, metadata={"model": name, "source": source})
    return path


def load(path: str | Path) -> mc.nn.Module:
    """The minicnn model saved by :func:`export`, ready to evaluate."""
    arrays, metadata = mc.serialization.load_with_metadata(path)
    return build(metadata["model"], arrays)


def max_difference(torch_model: Any, model: mc.nn.Module, size: int = 224, seed: int = 0) -> float:
    """The largest difference between the two models' scores for one random image, relative to
    the largest score (both in evaluation mode)."""
    import torch

    x = np.random.default_rng(seed).standard_normal((1, 3, size, size)).astype(np.float32)
    torch_model.eval()
    with torch.no_grad():
        expected = torch_model(torch.from_numpy(x)).numpy()
    with mc.no_grad():
        got = model.eval()(mc.tensor(x)).numpy()
    return float(np.abs(got - expected).max() / np.abs(expected).max())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", choices=sorted(CLASSIFIER), help="e.g. vgg16 or resnet50")
    parser.add_argument(
        "--weights",
        default="DEFAULT",
        help="torchvision's weights name (DEFAULT: the best; none: random, no download)",
    )
    parser.add_argument("--out", help="the safetensors file (default: <model>.safetensors)")
    args = parser.parse_args(argv)

    import torchvision  # only this script needs it, never minicnn itself

    weights = None if args.weights.lower() == "none" else args.weights
    if weights is not None:
        print(f"downloading torchvision's {args.model} weights ({weights}) ...")
    torch_model = torchvision.models.get_model(args.model, weights=weights).eval()
    path = export(torch_model, args.model, args.out or f"{args.model}.safetensors", args.weights)
    print(f"wrote {path} ({path.stat().st_size / 2**20:.0f} MiB)")
    model = load(path)
    difference = max_difference(torch_model, model)
    print(f"minicnn vs torchvision, largest score difference / largest score: {difference:.1e}")
    return 0 if difference < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
