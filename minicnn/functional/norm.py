"""``batch_norm``, ``layer_norm`` and ``group_norm``: check the arguments, then call the op's
Function (``minicnn/ops/norm.py``, where the gradients are derived)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..ops.norm import BatchNorm, GroupNorm, LayerNorm
from ..tensor import Tensor, as_tensor
from ._args import is_int, non_negative, positive_int, real, same_dtype


def _optional(t: Any) -> Tensor | None:
    return None if t is None else as_tensor(t)


def _check_shape(op: str, name: str, t: Tensor | None, shape: tuple[int, ...], what: str) -> None:
    if t is not None and t.shape != shape:
        raise ValueError(f"{op}: expected {name} of shape {shape} for {what}, got {t.shape}")


def batch_norm(
    x: Any,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Any = None,
    bias: Any = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalisation of ``x`` (N, C, *) per channel, over all axes but the channels.

    Training, or no running statistics given: normalise with the batch mean and biased
    variance, and (if given) update the running statistics in place,
    ``running = (1 - momentum) * running + momentum * batch``, with the unbiased batch variance
    (times M / (M - 1)) for ``running_var``, as PyTorch does. Evaluation: normalise with
    ``running_mean`` and ``running_var``. ``weight`` and ``bias`` (C,) are optional.
    """
    op = "batch_norm"
    x, weight, bias = as_tensor(x), _optional(weight), _optional(bias)
    if x.ndim < 2:
        raise ValueError(f"{op}: expected an input of shape (N, C, *), got {x.shape}")
    for name, t in [("running_mean", running_mean), ("running_var", running_var)]:
        if t is not None and not isinstance(t, Tensor):
            raise TypeError(
                f"{op}: {name} must be a Tensor (updated in place) or None, got {type(t).__name__}"
            )
    channels = x.shape[1]
    what = f"an input with {channels} channels"
    for name, t in [
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    ]:
        _check_shape(op, name, t, (channels,), what)
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{op}: give both running_mean and running_var, or neither")
    same_dtype(
        op, input=x, weight=weight, bias=bias, running_mean=running_mean, running_var=running_var
    )
    momentum = real(op, "momentum", momentum)
    eps = float(non_negative(op, "eps", eps))

    use_batch_stats = training or running_mean is None
    if use_batch_stats and x.numel() // max(channels, 1) <= 1:
        raise ValueError(
            f"{op}: Expected more than 1 value per channel when training, got input size {x.shape}"
        )
    if use_batch_stats:
        fn = BatchNorm(True, momentum, eps)
        if training and running_mean is not None:
            fn = BatchNorm(True, momentum, eps, running_mean.data, running_var.data)
    else:
        fn = BatchNorm(False, momentum, eps, running_mean.data, running_var.data)
    return fn(x, weight, bias)


def layer_norm(
    x: Any,
    normalized_shape: int | Sequence[int],
    weight: Any = None,
    bias: Any = None,
    eps: float = 1e-5,
) -> Tensor:
    """Layer normalisation: each sample's last ``len(normalized_shape)`` axes (which must be
    ``normalized_shape``) normalised to zero mean and unit variance, then scaled by ``weight``
    and shifted by ``bias`` (each of shape ``normalized_shape``, optional), elementwise.
    """
    op = "layer_norm"
    shape = normalized_shape_tuple(op, normalized_shape)
    x, weight, bias = as_tensor(x), _optional(weight), _optional(bias)
    if x.shape[x.ndim - len(shape) :] != shape:
        raise ValueError(
            f"{op}: expected an input of shape (*, {', '.join(map(str, shape))}) for "
            f"normalized_shape={shape}, got {x.shape}"
        )
    what = f"normalized_shape={shape}"
    _check_shape(op, "weight", weight, shape, what)
    _check_shape(op, "bias", bias, shape, what)
    same_dtype(op, input=x, weight=weight, bias=bias)
    eps = float(non_negative(op, "eps", eps))
    return LayerNorm(shape, eps)(x, weight, bias)


def normalized_shape_tuple(where: str, value: Any) -> tuple[int, ...]:
    """``normalized_shape`` (an int or a non-empty sequence of positive ints) as a tuple."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if not values or not all(is_int(v) and v >= 1 for v in values):
        raise ValueError(
            f"{where}: normalized_shape must be a positive int or a non-empty sequence of "
            f"them, got {value!r}"
        )
    return tuple(int(v) for v in values)


def group_norm(
    x: Any, num_groups: int, weight: Any = None, bias: Any = None, eps: float = 1e-5
) -> Tensor:
    """Group normalisation: the C channels of ``x`` (N, C, *) split into ``num_groups`` groups
    of consecutive channels, each group of each sample normalised to zero mean and unit
    variance (over its channels and positions), then scaled by ``weight`` and shifted by
    ``bias`` (C,), per channel. ``num_groups=1`` normalises each sample as a whole;
    ``num_groups=C`` each channel of each sample (instance normalisation).
    """
    op = "group_norm"
    num_groups = positive_int(op, "num_groups", num_groups)
    x, weight, bias = as_tensor(x), _optional(weight), _optional(bias)
    if x.ndim < 2:
        raise ValueError(f"{op}: expected an input of shape (N, C, *), got {x.shape}")
    channels = x.shape[1]
    if channels % num_groups:
        raise ValueError(
            f"{op}: input channels {channels} (input {x.shape}) must be divisible by "
            f"num_groups={num_groups}"
        )
    what = f"an input with {channels} channels"
    _check_shape(op, "weight", weight, (channels,), what)
    _check_shape(op, "bias", bias, (channels,), what)
    same_dtype(op, input=x, weight=weight, bias=bias)
    eps = float(non_negative(op, "eps", eps))
    # PyTorch's rule, batch_norm's for an (N * C/G, G, *) input: more than 1 value per "channel"
    if x.shape[0] * (channels // num_groups) * math.prod(x.shape[2:]) == 1:
        raise ValueError(
            f"{op}: expected N * C/num_groups * (spatial size) > 1, as PyTorch does, got input "
            f"size {x.shape} with num_groups={num_groups}"
        )
    return GroupNorm(num_groups, eps)(x, weight, bias)
