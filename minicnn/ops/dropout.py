"""Dropout (inverted): zero each unit with probability p while training, scale the rest up."""

from __future__ import annotations

from typing import Any

from .. import backend
from ..autograd import Function


class Dropout(Function):
    """y = x * mask, mask = keep / (1 - p) with keep ~ Bernoulli(1 - p) per element;
    dx = g * mask (the same mask). Shapes: any; mask like x.

    Scaling the kept units by 1 / (1 - p) keeps E[y] = x, so evaluation is the identity.
    The mask comes from the device's seeded generator (``minicnn.manual_seed``). p = 1 drops
    everything: y = 0, dx = 0.
    """

    def __init__(self, p: float):
        self.p = float(p)  # a Python float: a NumPy float64 would promote float32 arrays

    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        if self.p == 1:
            self.mask = xp.zeros(x.shape, dtype=x.dtype)
        else:
            rng = backend.default_generator(backend.device_of(x))
            keep = rng.random(x.shape, dtype=backend.float32) >= self.p  # P(keep) = 1 - p
            self.mask = keep.astype(x.dtype) * (1 / (1 - self.p))
        return x * self.mask

    def backward(self, g: Any) -> Any:
        return g * self.mask
