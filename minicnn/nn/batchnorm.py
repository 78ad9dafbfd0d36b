"""Batch normalisation layers: ``BatchNorm1d``, ``BatchNorm2d`` and ``BatchNorm3d``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from .. import backend
from .. import functional as F
from ..functional._args import non_negative, positive_int, real
from ..tensor import Tensor, as_tensor
from . import init
from ._utils import empty_parameter
from .module import Module


class _BatchNorm(Module, ABC):
    """Normalise each channel to zero mean and unit variance, then scale and shift:
    ``y = (x - mean) / sqrt(var + eps) * weight + bias``.

    Training: mean and (biased) variance of the batch, over every axis but the channels, and
    the running statistics move towards them: ``running = (1 - momentum) * running +
    momentum * batch`` (the unbiased variance goes into ``running_var``); ``momentum=None``
    makes them the plain average of all batches so far. Evaluation: the running statistics.
    Buffers: ``running_mean`` (zeros), ``running_var`` (ones), ``num_batches_tracked`` (int64).
    ``weight`` (ones) and ``bias`` (zeros) are ``(num_features,)`` Parameters if ``affine``
    (``bias=False``: no bias). The gradient is derived in ``minicnn/ops/norm.py``.
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        *,
        device: str | None = None,
        dtype: Any = None,
        bias: bool = True,
    ):
        super().__init__()
        name = type(self).__name__
        self.num_features = positive_int(name, "num_features", num_features)
        non_negative(name, "eps", eps)
        if momentum is not None:
            real(name, "momentum", momentum)
        self.eps, self.momentum = eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        for param, wanted in [("weight", affine), ("bias", affine and bias)]:
            value = empty_parameter((num_features,), device, dtype) if wanted else None
            self.register_parameter(param, value)
        if track_running_stats:
            xp = backend.xp_for(device or "cpu")
            dtype = dtype or backend.float32
            self.register_buffer("running_mean", Tensor(xp.zeros(num_features, dtype=dtype)))
            self.register_buffer("running_var", Tensor(xp.ones(num_features, dtype=dtype)))
            self.register_buffer("num_batches_tracked", Tensor(xp.zeros((), dtype=backend.int64)))
        else:
            for buffer in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(buffer, None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    @abstractmethod
    def _check_input_dim(self, x: Tensor) -> None:
        """Raise a ValueError when ``x`` has the wrong number of dimensions for this layer."""

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        self._check_input_dim(x)
        # The same logic as PyTorch's _BatchNorm.forward.
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked.item())
        use_batch_stats = self.training or self.running_mean is None
        keep_stats = not self.training or self.track_running_stats
        return F.batch_norm(
            x,
            self.running_mean if keep_stats else None,
            self.running_var if keep_stats else None,
            self.weight,
            self.bias,
            use_batch_stats,
            factor,
            self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of ``(N, C)`` features or ``(N, C, L)`` sequences, per channel C
    (statistics over N, or over N and L): ``y = (x - mean) / sqrt(var + eps) * weight + bias``.
    Output shape = input shape. Batch statistics while training, running ones in eval mode.
    """

    def _check_input_dim(self, x: Tensor) -> None:
        if x.ndim not in (2, 3):
            c = self.num_features
            raise ValueError(f"expected 2-D (N, {c}) or 3-D (N, {c}, L) input, got shape {x.shape}")


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of ``(N, C, H, W)`` images, per channel C (statistics over N, H, W):
    ``y = (x - mean) / sqrt(var + eps) * weight + bias``. Output shape = input shape.
    Batch statistics while training, running ones in eval mode.
    """

    def _check_input_dim(self, x: Tensor) -> None:
        if x.ndim != 4:
            c = self.num_features
            raise ValueError(f"expected 4-D input (N, {c}, H, W), got shape {x.shape}")


class BatchNorm3d(_BatchNorm):
    """Batch normalisation of ``(N, C, D, H, W)`` volumes (or clips of frames), per channel C
    (statistics over N, D, H, W): ``y = (x - mean) / sqrt(var + eps) * weight + bias``.
    Output shape = input shape. Batch statistics while training, running ones in eval mode.
    """

    def _check_input_dim(self, x: Tensor) -> None:
        if x.ndim != 5:
            c = self.num_features
            raise ValueError(f"expected 5-D input (N, {c}, D, H, W), got shape {x.shape}")
