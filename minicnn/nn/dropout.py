"""``Dropout``: randomly zero activations while training (a regulariser)."""

from __future__ import annotations

from typing import Any

from .. import functional as F
from ..functional._args import probability
from ..tensor import Tensor
from .module import Module


class Dropout(Module):
    """While training, zero each element with probability ``p`` and multiply the others by
    ``1 / (1 - p)`` (so the expected value is unchanged); in eval mode, the identity.
    Any shape; output shape = input shape. The masks come from ``minicnn.manual_seed``'s
    generator.
    """

    def __init__(self, p: float = 0.5):
        super().__init__()
        self.p = probability("Dropout", "p", p)

    def forward(self, x: Any) -> Tensor:
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
