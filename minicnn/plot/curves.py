"""Training curves: loss and accuracy per epoch, training next to validation."""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

from ..train import History
from ._figure import PathLike, finish, new_figure

PANELS = (
    ("loss", [("loss", "training"), ("val_loss", "validation")]),
    (
        "accuracy",
        [
            ("accuracy", "training"),
            ("val_accuracy", "validation"),
            ("val_balanced_accuracy", "validation, macro average"),
        ],
    ),
)


def training_curves(history: History | dict[str, Any], path: PathLike | None = None) -> Figure:
    """Loss (left) and accuracy (right) per epoch, training and validation, from ``fit``'s
    ``History`` (or a dict of per-epoch lists with the same keys).

    The training numbers are averages over each epoch's batches while the weights were still
    changing (and with augmentation and dropout), the validation numbers are measured at the
    end of the epoch: so early on validation can look better than training. A validation
    loss that rises while the training loss keeps falling is the sign of overfitting.
    """
    if isinstance(history, History):
        logs, epochs = history.logs, history.epochs
    else:
        logs = {k: list(v) for k, v in history.items() if k != "epochs"}
        epochs = list(history.get("epochs", range(1, len(next(iter(logs.values()), [])) + 1)))
    panels = [(name, [(k, label) for k, label in lines if k in logs]) for name, lines in PANELS]
    panels = [(name, lines) for name, lines in panels if lines]
    if not panels:
        raise ValueError(
            f"training_curves: the history has no loss or accuracy, only {sorted(logs)}"
        )
    figure = new_figure(5.0 * len(panels), 3.6)
    marker = "o" if len(epochs) <= 30 else None
    for axes, (name, lines) in zip(
        figure.subplots(1, len(panels), squeeze=False)[0], panels, strict=True
    ):
        for key, label in lines:
            style = "--" if "balanced" in key else "-"
            axes.plot(epochs, logs[key], style, marker=marker, markersize=3, label=label)
        axes.set_xlabel("epoch")
        axes.set_ylabel(name)
        axes.set_title(name.capitalize())
        axes.grid(alpha=0.3)
        axes.legend()
        if len(epochs) <= 20:
            axes.set_xticks(epochs)
    return finish(figure, path)
