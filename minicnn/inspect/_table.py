"""Shared pieces of the inspect tables: text tables, host scalars, empty figures."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .. import backend


def scalar(value: Any) -> float:
    """A 0-d array (any device) as a Python float."""
    return float(backend.to_host(value))


def number(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    return f"{value:.3e}" if abs(value) < 1e-3 or abs(value) >= 1e4 else f"{value:.4f}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, the first left-aligned, the others right-aligned."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        parts = [cells[0].ljust(widths[0])]
        parts += [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join(parts).rstrip()

    rule = "-" * len(line(header))
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def new_figure(width: float, height: float) -> Any:
    """An empty matplotlib Figure on the Agg canvas (no window, no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure
