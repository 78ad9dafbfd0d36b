"""``Upsample``: resize images as :func:`minicnn.functional.interpolate` does."""

from __future__ import annotations

from typing import Any

from .. import functional as F
from ..functional.interpolate import check_resize
from ..tensor import Tensor
from .module import Module


class Upsample(Module):
    """Resize (N, C, H, W) images to ``size`` or by ``scale_factor``, with ``mode``
    "nearest" or "bilinear" (see :func:`minicnn.functional.interpolate`). The settings are
    checked here, when the layer is built; they are kept as given, scale factors as floats,
    as PyTorch does."""

    def __init__(
        self,
        size: int | tuple[int, int] | None = None,
        scale_factor: float | tuple[float, float] | None = None,
        mode: str = "nearest",
        align_corners: bool | None = None,
        recompute_scale_factor: bool | None = None,
    ):
        super().__init__()
        check_resize(
            type(self).__name__, size, scale_factor, mode, align_corners, recompute_scale_factor
        )
        self.size = size
        if isinstance(scale_factor, (tuple, list)):
            self.scale_factor: Any = tuple(float(f) for f in scale_factor)
        else:
            self.scale_factor = None if scale_factor is None else float(scale_factor)
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input: Any) -> Tensor:
        return F.interpolate(
            input,
            self.size,
            self.scale_factor,
            self.mode,
            self.align_corners,
            recompute_scale_factor=self.recompute_scale_factor,
        )

    def extra_repr(self) -> str:
        # PyTorch's fields
        if self.scale_factor is not None:
            info = f"scale_factor={self.scale_factor!r}"
        else:
            info = f"size={self.size!r}"
        return info + f", mode={self.mode!r}"
