"""Small helpers shared by the layers: argument checks and clear input errors."""

from __future__ import annotations

from typing import Any

from .. import backend
from ..tensor import Tensor
from .module import Module
from .parameter import Parameter


def describe(layer: Module) -> str:
    """``Linear(in_features=784, out_features=10, bias=True)``: how errors name a layer."""
    return f"{type(layer).__name__}({layer.extra_repr()})"


def pair(layer: str, name: str, value: Any, minimum: int) -> tuple[int, int]:
    """``value`` (an int or a pair of ints, each >= ``minimum``) as a pair."""
    result = (value, value) if isinstance(value, int) else value
    if not (
        isinstance(result, (tuple, list))
        and len(result) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= minimum for v in result)
    ):
        raise ValueError(
            f"{layer}: {name} must be an int or a pair of ints >= {minimum}, got {value!r}"
        )
    return tuple(result)  # type: ignore[return-value]


def positive_int(layer: str, name: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{layer}: {name} must be a positive int, got {value!r}")
    return value


def empty_parameter(shape: tuple[int, ...], device: str | None, dtype: Any) -> Parameter:
    """An uninitialised Parameter (``reset_parameters`` fills it); float32 on the CPU by default."""
    xp = backend.xp_for(device or "cpu")
    return Parameter(Tensor(xp.empty(shape, dtype=dtype or backend.float32)))


def check_input(layer: Module, ok: bool, expected: str, got: str) -> None:
    """Raise ``ValueError("<layer>: expected <expected>, got <got>")`` unless ``ok``."""
    if not ok:
        raise ValueError(f"{describe(layer)}: expected {expected}, got {got}")


def check_like_parameters(layer: Module, x: Tensor) -> None:
    """The input must have the dtype and device of the layer's floating parameters/buffers
    (as in PyTorch: mixing float32 weights with float64 inputs is an error, not a promotion)."""
    for t in [*layer._parameters.values(), *layer._buffers.values()]:
        if t is None or t.dtype.kind != "f":
            continue
        if x.device != t.device:
            raise RuntimeError(
                f"{describe(layer)}: input is on '{x.device}' but the layer is on '{t.device}'; "
                f"move one of them with .to('{t.device}') or .to('{x.device}')"
            )
        if x.dtype != t.dtype:
            raise TypeError(
                f"{describe(layer)}: input dtype {x.dtype} does not match the layer's "
                f"{t.dtype}; convert the input (x.to(minicnn.{t.dtype})) or the model "
                f"(model.to(minicnn.{x.dtype}))"
            )
        return
