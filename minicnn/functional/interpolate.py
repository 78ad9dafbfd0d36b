"""``interpolate``: check the arguments, then call the op's Function
(:mod:`minicnn.ops.interpolate`, where the source coordinates are explained)."""

from __future__ import annotations

import math
import numbers
from typing import Any

from ..ops.interpolate import Interpolate2d
from ..tensor import Tensor, as_tensor
from ._args import Pair, choice, int_pair

MODES = ("nearest", "bilinear")
Factors = tuple[float, float]


def _scale_pair(where: str, value: Any) -> Factors:
    """A positive finite number or a pair of them, as two floats."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    ok = len(values) == 2 and all(
        isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) and v > 0
        for v in values
    )
    if not ok:
        raise ValueError(
            f"{where}: scale_factor must be a positive number or a pair of them, got {value!r}"
        )
    return float(values[0]), float(values[1])


def check_resize(
    where: str,
    size: Any,
    scale_factor: Any,
    mode: str,
    align_corners: bool | None,
    recompute_scale_factor: bool | None,
) -> tuple[Pair | None, Factors | None, str, bool]:
    """The settings of a resize, as (size pair or None, scale pair or None, mode,
    align_corners); shared by :func:`interpolate` and ``nn.Upsample``."""
    mode = choice(where, "mode", mode, MODES)
    if mode == "nearest" and align_corners is not None:
        raise ValueError(
            f"{where}: align_corners can only be set with mode='bilinear', got "
            f"align_corners={align_corners!r} with mode='nearest'"
        )
    if align_corners is not None and not isinstance(align_corners, bool):
        raise TypeError(
            f"{where}: align_corners must be True, False or None, got {align_corners!r}"
        )
    if recompute_scale_factor is not None and not isinstance(recompute_scale_factor, bool):
        raise TypeError(
            f"{where}: recompute_scale_factor must be True, False or None, got "
            f"{recompute_scale_factor!r}"
        )
    if (size is None) == (scale_factor is None):
        raise ValueError(
            f"{where}: give exactly one of size and scale_factor, got size={size!r} and "
            f"scale_factor={scale_factor!r}"
        )
    if size is not None:
        if recompute_scale_factor:
            raise ValueError(
                f"{where}: recompute_scale_factor is not meaningful with an explicit size"
            )
        return int_pair(where, "size", size, minimum=1), None, mode, bool(align_corners)
    return None, _scale_pair(where, scale_factor), mode, bool(align_corners)


def interpolate(
    input: Any,
    size: int | tuple[int, int] | None = None,
    scale_factor: float | tuple[float, float] | None = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
) -> Tensor:
    """Resize a batch of images (N, C, H, W) to ``size`` (an int or (h, w)), or by
    ``scale_factor`` (a number or (h, w); output sizes floor(H * factor), floor(W * factor)).

    ``mode="nearest"`` copies, for output pixel o, input pixel floor(o * in / out) (PyTorch's
    "nearest"); ``"bilinear"`` weighs the two nearest pixels along each axis. ``align_corners``
    (bilinear only; None means False) maps the corner pixels onto each other instead of the
    pixel edges. As in PyTorch, a given ``scale_factor`` also sets the coordinate mapping
    (source = output / scale_factor), unless ``recompute_scale_factor=True``, which maps with
    in / out of the computed output size instead; the two differ when in * scale_factor is not
    a whole number. (PyTorch's ``antialias`` and its other modes are not implemented.)
    """
    op = "interpolate"
    size, factors, mode, align_corners = check_resize(
        op, size, scale_factor, mode, align_corners, recompute_scale_factor
    )
    x = as_tensor(input)
    if x.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D input (N, C, H, W), got shape {x.shape}")
    if mode == "bilinear" and x.dtype.kind != "f":
        raise TypeError(f"{op}: mode='bilinear' needs a floating-point input, got {x.dtype}")
    coordinates: tuple[float | None, float | None] = (None, None)
    if factors is not None:
        h, w = x.shape[2:]
        size = int(h * factors[0]), int(w * factors[1])  # PyTorch's truncation
        if min(size) < 1:
            raise ValueError(
                f"{op}: input {h}x{w} with scale_factor {scale_factor!r} gives an empty output "
                f"{size[0]}x{size[1]}"
            )
        if not recompute_scale_factor:
            coordinates = factors
    return Interpolate2d(size, coordinates, mode, align_corners)(x)
