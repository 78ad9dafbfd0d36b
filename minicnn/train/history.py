"""History: the numbers ``fit`` logs at the end of every epoch."""

from __future__ import annotations

import math
from typing import Any

#: What ``fit`` logs, by key (the validation numbers only with a ``val_loader``).
KEYS = {
    "loss": "mean training loss over the epoch's batches (weighted by batch size)",
    "accuracy": "training accuracy, from the outputs of the training steps",
    "balanced_accuracy": "training mean per-class recall (macro average accuracy)",
    "val_loss": "mean validation loss",
    "val_accuracy": "validation accuracy",
    "val_balanced_accuracy": "validation mean per-class recall (macro average accuracy)",
    "lr": "learning rate of the first parameter group during the epoch",
    "seconds": "wall time of the epoch, validation included",
}


def monitor_mode(owner: str, monitor: str, mode: str) -> str:
    """``"min"`` or ``"max"``: ``mode``, or for ``"auto"`` min for losses, max for the rest."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f'{owner}: mode must be "auto", "min" or "max", got {mode!r}')
    if mode == "auto":
        return "min" if "loss" in monitor else "max"
    return mode


def improves(value: float, best: float | None, mode: str, min_delta: float = 0.0) -> bool:
    """Whether ``value`` beats ``best`` by more than ``min_delta`` (NaN never does)."""
    if math.isnan(value):
        return False
    if best is None:
        return True
    return value < best - min_delta if mode == "min" else value > best + min_delta


class History:
    """Per-epoch logs: ``history["val_loss"]`` is the list of validation losses, one per
    epoch, and ``history.epochs`` the epoch numbers (1, 2, ...) they belong to.

    ``history.logs`` is the dict of all those lists (``KEYS`` says what each one is).
    """

    def __init__(self, logs: dict[str, list[float]] | None = None, epochs: list[int] | None = None):
        self.logs: dict[str, list[float]] = {k: list(v) for k, v in (logs or {}).items()}
        self.epochs: list[int] = list(epochs or [])

    def append(self, epoch: int, logs: dict[str, float]) -> None:
        """Add the numbers of one epoch."""
        for key, value in logs.items():
            self.logs.setdefault(key, [math.nan] * len(self.epochs)).append(float(value))
        for key, values in self.logs.items():
            if key not in logs:
                values.append(math.nan)
        self.epochs.append(int(epoch))

    def __getitem__(self, key: str) -> list[float]:
        if key not in self.logs:
            raise KeyError(
                f"History has no {key!r}; it has: {', '.join(self.logs) or 'nothing yet'}"
            )
        return self.logs[key]

    def __contains__(self, key: str) -> bool:
        return key in self.logs

    def __len__(self) -> int:
        return len(self.epochs)

    def keys(self) -> list[str]:
        return list(self.logs)

    def best(self, monitor: str, mode: str = "auto") -> tuple[int, float]:
        """``(epoch, value)`` of the best ``monitor`` value (the first of equal ones)."""
        mode = monitor_mode("History.best", monitor, mode)
        best_epoch, best = None, None
        for epoch, value in zip(self.epochs, self[monitor], strict=True):
            if improves(value, best, mode):
                best_epoch, best = epoch, value
        if best_epoch is None:
            raise ValueError(f"History.best: {monitor!r} has no value that is not NaN")
        return best_epoch, best

    def to_dict(self) -> dict[str, Any]:
        """``{"epochs": [...], "logs": {key: [...]}}``, for JSON; ``History.from_dict`` reads it."""
        return {"epochs": list(self.epochs), "logs": {k: list(v) for k, v in self.logs.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        return cls(data["logs"], data["epochs"])

    def __repr__(self) -> str:
        return f"History(epochs={len(self)}, keys={self.keys()})"
