"""The argument checks of every op, written once: each public function and each layer uses these.

A check names where it was called from (``conv2d``, ``MaxPool2d``), the argument, what it
expected and what it got, and returns the normalised value::

    stride = int_pair("conv2d", "stride", stride, minimum=1)     # 2 -> (2, 2)
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any

from .. import backend

Pair = tuple[int, int]


def is_int(value: Any) -> bool:
    """An int of any kind (Python, NumPy) but not a bool."""
    return hasattr(value, "__index__") and not isinstance(value, bool)


def int_pair(where: str, name: str, value: Any, minimum: int | None = None) -> Pair:
    """An int or a pair of ints (PyTorch accepts both for every size argument) as a pair."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(values) != 2 or not all(is_int(v) for v in values):
        raise TypeError(f"{where}: {name} must be an int or a pair of ints, got {value!r}")
    pair = int(values[0]), int(values[1])
    if minimum is not None and min(pair) < minimum:
        bound = {0: "non-negative", 1: "positive"}.get(minimum, f">= {minimum}")
        raise ValueError(f"{where}: {name} must be {bound}, got {pair}")
    return pair


def positive_int(where: str, name: str, value: Any) -> int:
    """A positive int (a channel count, a number of groups, a size)."""
    if not is_int(value) or value < 1:
        raise ValueError(f"{where}: {name} must be a positive int, got {value!r}")
    return int(value)


def non_negative(where: str, name: str, value: Any) -> float:
    """A number >= 0 (an epsilon, a slope, a weight decay)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        raise ValueError(f"{where}: {name} must be a non-negative number, got {value!r}")
    return value


def real(where: str, name: str, value: Any) -> float:
    """Any real number, as a Python float (a slope, a scale, a threshold)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a real number, got {value!r}")
    return float(value)


def probability(where: str, name: str, value: Any) -> float:
    """A number in [0, 1] (a dropout rate, a flip probability)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 1:
        raise ValueError(f"{where}: {name} must be a probability in [0, 1], got {value!r}")
    return float(value)


def boolean(where: str, name: str, value: Any) -> bool:
    """True or False (a flag such as ceil_mode): as in PyTorch, not 0, 1 or None."""
    if not isinstance(value, bool):
        raise TypeError(f"{where}: {name} must be True or False, got {value!r}")
    return bool(value)


def choice(where: str, name: str, value: Any, choices: Iterable[str]) -> str:
    """One of a few strings (a reduction, an interpolation mode)."""
    choices = tuple(choices)
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{where}: {name} must be one of {allowed}, got {value!r}")
    return value


def same_dtype(where: str, **tensors: Any) -> None:
    """Every given tensor (None ones skipped) has one dtype, as PyTorch requires of an op's
    input and parameters: mixing float32 weights with a float64 input is an error."""
    named = [(name, t) for name, t in tensors.items() if t is not None]
    if len({t.dtype for _, t in named}) > 1:
        got = ", ".join(f"{t.dtype} {name}" for name, t in named)
        names = list(tensors)
        listed = ", ".join(names[:-1]) + " and " + names[-1]
        first, x = named[0]
        other = next(t for _, t in named if t.dtype != x.dtype)
        raise TypeError(
            f"{where}: {listed} must have the same dtype, got {got}; convert the {first} "
            f"(x.to(minicnn.{other.dtype})) or the model (model.to(minicnn.{x.dtype}))"
        )


def values_checkable(t: Any) -> bool:
    """Whether a check may read ``t``'s values: only on the CPU. Elsewhere reading them would
    copy them to the host and wait for the device, so (as PyTorch on a GPU) value checks such
    as "labels in range" are skipped there; shapes and dtypes are always checked."""
    return backend.device_of(t.data) == "cpu"
