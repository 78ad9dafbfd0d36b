"""The confusion matrix as a heat map."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ._figure import PathLike, finish, host, new_figure


def confusion_matrix(
    matrix: Any,
    class_names: Sequence[str] | None = None,
    normalize: bool = False,
    title: str | None = None,
    path: PathLike | None = None,
) -> Figure:
    """Heat map of a confusion matrix (``minicnn.metrics.confusion_matrix``): true class on
    the y axis, predicted class on the x axis, the count written in every cell.

    The diagonal holds the correct answers; a bright cell off the diagonal is a pair of
    classes the model confuses. ``normalize=True`` divides each row by its total, so the
    cells show the fraction of each true class given each answer (the diagonal is then each
    class's recall), which makes classes of different sizes comparable.
    """
    counts = host(matrix)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise ValueError(f"confusion_matrix: expected a square matrix, got shape {counts.shape}")
    n = counts.shape[0]
    names = [str(c) for c in range(n)] if class_names is None else [str(c) for c in class_names]
    if len(names) != n:
        raise ValueError(f"confusion_matrix: {len(names)} class_names for {n} classes")
    values = counts.astype(np.float64)
    if normalize:
        totals = values.sum(axis=1, keepdims=True)
        values = np.divide(values, totals, out=np.zeros_like(values), where=totals > 0)
    size = min(12.0, 1.5 + 0.55 * n)
    figure = new_figure(size + 1.2, size)
    axes = figure.subplots()
    image = axes.imshow(values, cmap="Blues", vmin=0, vmax=max(values.max(), 1e-12))
    figure.colorbar(
        image, ax=axes, shrink=0.8, label="fraction of the row" if normalize else "count"
    )
    axes.set_xticks(range(n), names, rotation=45 if max(map(len, names)) > 3 else 0)
    axes.set_yticks(range(n), names)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    axes.set_title(
        title or ("Confusion matrix, normalised by row" if normalize else "Confusion matrix")
    )
    if n <= 30:
        threshold = values.max() / 2
        font = 9 if n <= 12 else 6
        for i in range(n):
            for j in range(n):
                text = f"{values[i, j]:.2f}" if normalize else f"{int(counts[i, j])}"
                colour = "white" if values[i, j] > threshold else "black"
                axes.text(j, i, text, ha="center", va="center", color=colour, fontsize=font)
    return finish(figure, path)
