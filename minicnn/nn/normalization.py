"""Per-sample normalisation layers: ``LayerNorm`` and ``GroupNorm``.

Unlike batch normalisation they use no batch statistics, so they behave the same in training
and evaluation and work with any batch size. Their gradient is batch norm's, over other axes
(see ``minicnn/ops/norm.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import functional as F
from ..functional._args import non_negative, positive_int
from ..functional.norm import normalized_shape_tuple
from ..tensor import Tensor
from . import init
from ._utils import empty_parameter
from .module import Module


class _AffineNorm(Module):
    """What LayerNorm and GroupNorm share: an optional elementwise ``weight`` (ones) and
    ``bias`` (zeros), as in PyTorch."""

    def _affine_parameters(
        self, shape: tuple[int, ...], weight: bool, bias: bool, device: str | None, dtype: Any
    ) -> None:
        for name, wanted in [("weight", weight), ("bias", bias)]:
            self.register_parameter(name, empty_parameter(shape, device, dtype) if wanted else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)


class LayerNorm(_AffineNorm):
    """Normalise each sample over its last axes, then scale and shift elementwise:
    ``y = (x - mean) / sqrt(var + eps) * weight + bias``, mean and (biased) variance over the
    last ``len(normalized_shape)`` axes, which must be ``normalized_shape``.

    Shapes: input ``(*, *normalized_shape)`` -> output of the same shape. ``weight`` (ones) and
    ``bias`` (zeros) have shape ``normalized_shape`` if ``elementwise_affine`` (``bias=False``:
    no bias). The transformer's normalisation (one token's features at a time).
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        *,
        device: str | None = None,
        dtype: Any = None,
    ):
        super().__init__()
        self.normalized_shape = normalized_shape_tuple("LayerNorm", normalized_shape)
        self.eps = non_negative("LayerNorm", "eps", eps)
        self.elementwise_affine = affine = elementwise_affine
        self._affine_parameters(self.normalized_shape, affine, affine and bias, device, dtype)

    def forward(self, x: Any) -> Tensor:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"
        )


class GroupNorm(_AffineNorm):
    """Split the channels into ``num_groups`` groups of consecutive channels and normalise each
    group of each sample (over its channels and positions), then scale and shift per channel:
    ``y = (x - mean) / sqrt(var + eps) * weight + bias``.

    Shapes: input ``(N, num_channels, *)`` -> output of the same shape. ``weight`` (ones) and
    ``bias`` (zeros) are ``(num_channels,)`` if ``affine`` (``bias=False``: no bias).
    ``num_groups=1`` normalises each sample as a whole (LayerNorm over (C, *) with per-channel
    weights); ``num_groups=num_channels`` each channel of each sample (instance normalisation).
    """

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        *,
        device: str | None = None,
        dtype: Any = None,
        bias: bool = True,
    ):
        super().__init__()
        self.num_groups = positive_int("GroupNorm", "num_groups", num_groups)
        self.num_channels = positive_int("GroupNorm", "num_channels", num_channels)
        if num_channels % num_groups:
            raise ValueError(
                f"GroupNorm: num_channels={num_channels} must be divisible by "
                f"num_groups={num_groups}"
            )
        self.eps = non_negative("GroupNorm", "eps", eps)
        self.affine = affine
        self._affine_parameters((num_channels,), affine, affine and bias, device, dtype)

    def forward(self, x: Any) -> Tensor:
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
            f"bias={self.bias is not None}"
        )
