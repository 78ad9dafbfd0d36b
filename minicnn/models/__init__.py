"""The model zoo: classic architectures built from ``minicnn.nn`` layers.

Every model reads like its diagram. The torchvision twins (``vgg16``, ``resnet50``, ...) have
torchvision's module names and parameter shapes, so a torchvision ``state_dict`` (as NumPy
arrays or safetensors) loads unchanged. ``list_models()`` names them all; ``get_model(name,
**kwargs)`` builds one by name (what the command line uses).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..nn import Module
from .lenet import LeNet5, lenet5

_BUILDERS: dict[str, Callable[..., Module]] = {
    "lenet5": lenet5,
}


def list_models() -> list[str]:
    """The names ``get_model`` accepts, sorted."""
    return sorted(_BUILDERS)


def get_model(name: str, **kwargs: Any) -> Module:
    """Build the model called ``name`` (see ``list_models()``) with the builder's keyword
    arguments, e.g. ``get_model("resnet18", num_classes=10)``."""
    if name not in _BUILDERS:
        raise ValueError(
            f"get_model: unknown model {name!r}; the models are: {', '.join(list_models())}"
        )
    return _BUILDERS[name](**kwargs)


__all__ = ["LeNet5", "get_model", "lenet5", "list_models"]
