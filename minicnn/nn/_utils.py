"""What several layers share beside the argument checks (those live in ``functional/_args.py``)."""

from __future__ import annotations

from typing import Any

from .. import backend
from ..tensor import Tensor
from .parameter import Parameter


def empty_parameter(shape: tuple[int, ...], device: str | None, dtype: Any) -> Parameter:
    """An uninitialised Parameter (``reset_parameters`` fills it); float32 on the CPU by default."""
    xp = backend.xp_for(device or "cpu")
    return Parameter(Tensor(xp.empty(shape, dtype=dtype or backend.float32)))
