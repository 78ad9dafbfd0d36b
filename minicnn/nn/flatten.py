"""``Flatten``: merge dimensions, e.g. feature maps into one vector per sample."""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor, as_tensor
from .module import Module


class Flatten(Module):
    """Merge dimensions ``start_dim..end_dim`` into one (a reshape; the gradient is reshaped
    back). Default: ``(N, C, H, W)`` -> ``(N, C*H*W)``, keeping the batch dimension."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Any) -> Tensor:
        return as_tensor(x).flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
