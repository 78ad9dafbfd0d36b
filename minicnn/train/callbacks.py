"""Callbacks: code that ``fit`` runs at the start, at the end of every epoch and at the end.

A callback subclasses :class:`Callback` and overrides any of ``on_train_begin``,
``on_epoch_end`` and ``on_train_end``; each receives the :class:`TrainState`, whose ``logs``
are the numbers of the epoch just finished (``history.KEYS``). Setting ``state.stop = True``
ends training after this epoch.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..functional._args import non_negative
from ..serialization import save
from .history import History, improves, monitor_mode


@dataclass
class TrainState:
    """What callbacks see: the objects being trained and where training stands."""

    model: Any
    optimizer: Any
    scheduler: Any
    history: History
    epochs: int  # how many epochs fit was asked for
    epoch: int = 0  # the epoch under way (1, 2, ...)
    logs: dict[str, float] = field(default_factory=dict)  # the numbers of the last epoch
    stop: bool = False  # set by a callback: no further epoch


class Callback:
    """Base class: every hook does nothing."""

    def on_train_begin(self, state: TrainState) -> None:
        """Before the first epoch."""

    def on_epoch_end(self, state: TrainState) -> None:
        """After each epoch (validation included), with the epoch's numbers in ``state.logs``."""

    def on_train_end(self, state: TrainState) -> None:
        """After the last epoch (not when training fails with an error)."""


def _logged(owner: str, monitor: str, logs: dict[str, float]) -> float:
    if monitor not in logs:
        raise ValueError(
            f"{owner}: monitor {monitor!r} is not logged; fit logged: {', '.join(logs)} "
            "(the val_ numbers need a val_loader)"
        )
    return logs[monitor]


class EarlyStopping(Callback):
    """Stop training when ``monitor`` has not improved for ``patience`` epochs in a row.

    Improving means beating the best value so far by more than ``min_delta`` (lower for a
    loss, higher for an accuracy: ``mode="auto"``; or say ``"min"`` / ``"max"``). With
    ``restore_best=True`` the model gets back, when training ends, the weights of its best
    epoch (a copy of the ``state_dict`` is kept in memory each time it improves).

    After training: ``best`` and ``best_epoch``, and ``stopped_epoch`` (None if it ran all
    epochs).
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 5,
        restore_best: bool = True,
        *,
        min_delta: float = 0.0,
        mode: str = "auto",
    ):
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(
                f"EarlyStopping: patience must be a non-negative int, got {patience!r}"
            )
        self.monitor = monitor
        self.mode = monitor_mode("EarlyStopping", monitor, mode)
        self.patience = patience
        self.min_delta = non_negative("EarlyStopping", "min_delta", min_delta)
        self.restore_best = restore_best
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.stopped_epoch: int | None = None
        self.wait = 0
        self._best_state: dict[str, Any] | None = None

    def on_train_begin(self, state: TrainState) -> None:
        self.best = self.best_epoch = self.stopped_epoch = self._best_state = None
        self.wait = 0

    def on_epoch_end(self, state: TrainState) -> None:
        value = _logged("EarlyStopping", self.monitor, state.logs)
        if improves(value, self.best, self.mode, self.min_delta):
            self.best, self.best_epoch, self.wait = value, state.epoch, 0
            if self.restore_best:  # copies on the parameters' device
                self._best_state = {k: v.copy() for k, v in state.model.state_dict().items()}
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = state.epoch
            state.stop = True

    def on_train_end(self, state: TrainState) -> None:
        if self.restore_best and self._best_state is not None:
            state.model.load_state_dict(self._best_state)

    def __repr__(self) -> str:
        return (
            f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience}, "
            f"restore_best={self.restore_best})"
        )


class ModelCheckpoint(Callback):
    """Save the model's ``state_dict`` to the safetensors file ``path`` whenever ``monitor``
    reaches its best value so far (every epoch with ``save_best_only=False``).

    The default keeps the model with the best validation macro average accuracy
    (``"val_balanced_accuracy"``, the mean per-class recall), as the course does. The file is
    written atomically (``minicnn.save``), so it always holds a whole good model, also when a
    later epoch fails; load it with ``model.load_state_dict(minicnn.load(path))``. Its
    metadata records ``epoch``, ``monitor`` and ``value``, plus the strings in ``metadata``.

    After training: ``best`` and ``best_epoch``, ``saved_epoch`` (the epoch in the file)
    and ``path``.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        monitor: str = "val_balanced_accuracy",
        *,
        mode: str = "auto",
        save_best_only: bool = True,
        metadata: dict[str, str] | None = None,
    ):
        self.path = Path(path)
        self.monitor = monitor
        self.mode = monitor_mode("ModelCheckpoint", monitor, mode)
        self.save_best_only = save_best_only
        self.metadata = dict(metadata or {})
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.saved_epoch: int | None = None
        self._saved_value: float | None = None

    def on_train_begin(self, state: TrainState) -> None:
        self.best = self.best_epoch = self.saved_epoch = self._saved_value = None
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def on_epoch_end(self, state: TrainState) -> None:
        value = _logged("ModelCheckpoint", self.monitor, state.logs)
        improved = improves(value, self.best, self.mode)
        if improved:
            self.best, self.best_epoch = value, state.epoch
        if improved or not self.save_best_only:
            info = {"epoch": str(state.epoch), "monitor": self.monitor, "value": repr(value)}
            save(state.model.state_dict(), self.path, metadata={**self.metadata, **info})
            self.saved_epoch, self._saved_value = state.epoch, value

    def saved(self) -> str | None:
        """A sentence naming the file and its epoch, if this training saved one."""
        if self.saved_epoch is None or not self.path.is_file():
            return None
        value = self._saved_value
        shown = "" if value is None or math.isnan(value) else f", {self.monitor} {value:.4f}"
        return f"the last good checkpoint (epoch {self.saved_epoch}{shown}) is {self.path}"

    def __repr__(self) -> str:
        return f"ModelCheckpoint({str(self.path)!r}, monitor={self.monitor!r})"
