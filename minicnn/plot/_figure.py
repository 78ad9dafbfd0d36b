"""Figures without pyplot: each plot function builds a ``matplotlib.figure.Figure`` on the Agg
canvas (no window, no global state, works on a server) and returns it."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .. import backend
from ..tensor import Tensor

PathLike = str | os.PathLike


def new_figure(width: float, height: float) -> Figure:
    """An empty Figure of ``width`` x ``height`` inches on an Agg canvas."""
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save(figure: Figure, path: PathLike, dpi: int = 120) -> Path:
    """Write ``figure`` as a PNG file (its folder is created if needed); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=dpi, format="png")
    return path


def finish(figure: Figure, path: PathLike | None) -> Figure:
    if path is not None:
        save(figure, path)
    return figure


def host(value: Any) -> np.ndarray:
    """A Tensor or array (any device) as a NumPy array."""
    return backend.to_host(value.data if isinstance(value, Tensor) else value)


def grid_shape(count: int, max_columns: int) -> tuple[int, int]:
    columns = max(1, min(count, max_columns))
    return math.ceil(count / columns), columns


def image_for_display(image: np.ndarray) -> tuple[np.ndarray, str | None]:
    """A (C, H, W) or (H, W) image as something ``imshow`` takes: (H, W) grey with the
    "gray" colour map, or (H, W, 3) colour clipped to [0, 1]."""
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 2:
        return image, "gray"
    if image.ndim != 3:
        raise ValueError(f"expected a (C, H, W) or (H, W) image, got shape {image.shape}")
    if image.shape[0] == 3:
        return np.clip(image.transpose(1, 2, 0), 0, 1), None
    return image[0], "gray"


def hide_ticks(axes: Any) -> None:
    axes.set_xticks([])
    axes.set_yticks([])
