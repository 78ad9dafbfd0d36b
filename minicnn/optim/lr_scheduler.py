"""Learning-rate schedules: change each parameter group's ``"lr"`` as training goes on.

Use them as in PyTorch: call ``scheduler.step()`` once per epoch, *after* the optimizer's
steps of that epoch::

    optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)   # lr × 0.7 every epoch
    for epoch in range(epochs):
        for x, y in loader:
            ...; optimizer.step()
        scheduler.step()

``last_epoch`` counts the ``step()`` calls (it is 0 after construction) and
``get_last_lr()`` returns the current rate of each group. The schedules are *chainable*:
each step changes the rate it finds in the group (``lr ← lr · γ``), so two schedulers can act
on the same optimizer. ``state_dict()`` / ``load_state_dict()`` save and restore a schedule
(plain numbers only) for resuming training; save the optimizer's state too, since the
current rates live in its groups.
"""

from __future__ import annotations

import math
import warnings
from abc import ABC, abstractmethod
from typing import Any

from .optimizer import Optimizer


class LRScheduler:
    """What every scheduler shares: its optimizer, the rates it last set, saving and resuming."""

    def __init__(self, optimizer: Optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"{type(self).__name__}: {type(optimizer).__name__} is not an Optimizer"
            )
        self.optimizer = optimizer
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rate of each parameter group, as set by the last ``step()``."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Every attribute but the optimizer (numbers and lists of numbers)."""
        return {
            key: list(value) if isinstance(value, list) else value
            for key, value in self.__dict__.items()
            if key != "optimizer"
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(
            {k: list(v) if isinstance(v, (list, tuple)) else v for k, v in state_dict.items()}
        )


class EpochLRScheduler(LRScheduler, ABC):
    """A schedule fixed in advance: ``step()`` enters the next epoch and writes ``get_lr()``.

    A subclass implements ``get_lr()``: the new rate of each group, computed from the
    current ones (``group["lr"]``), the initial ones (``self.base_lrs``) and
    ``self.last_epoch`` (already advanced to the epoch being entered).
    """

    def __init__(self, optimizer: Optimizer):
        super().__init__(optimizer)
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = -1
        self._step_count = 0
        self.step()  # enters epoch 0, leaving the rates as they are

    @abstractmethod
    def get_lr(self) -> list[float]:
        """The rate of each group for the epoch ``self.last_epoch`` is entering."""

    def step(self) -> None:
        """Advance one epoch and set each group's learning rate for it."""
        if self._step_count == 1 and self.optimizer._step_count == 0:
            warnings.warn(
                "Detected call of lr_scheduler.step() before optimizer.step(): call "
                "optimizer.step() first, or the first value of the schedule is skipped",
                UserWarning,
                stacklevel=2,
            )
        self._step_count += 1
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr(), strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]


class StepLR(EpochLRScheduler):
    r"""Multiply the learning rate by ``gamma`` every ``step_size`` epochs.

    :math:`\eta_t = \eta_0 \, \gamma^{\lfloor t / \text{step\_size} \rfloor}`; e.g.
    ``StepLR(optimizer, step_size=1, gamma=0.7)`` multiplies the rate by 0.7 every epoch.
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1):
        if isinstance(step_size, bool) or not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f"StepLR: step_size must be a positive integer, got {step_size!r}")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return lrs
        return [lr * self.gamma for lr in lrs]


class ExponentialLR(EpochLRScheduler):
    r"""Multiply the learning rate by ``gamma`` every epoch: :math:`\eta_t = \eta_0 \gamma^t`."""

    def __init__(self, optimizer: Optimizer, gamma: float):
        self.gamma = gamma
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        return lrs if self.last_epoch == 0 else [lr * self.gamma for lr in lrs]


class CosineAnnealingLR(EpochLRScheduler):
    r"""Anneal the learning rate from its initial value :math:`\eta_0` to ``eta_min`` along
    half a cosine over ``T_max`` epochs:

    .. math:: \eta_t = \eta_{min} + (\eta_0 - \eta_{min}) \, \frac{1 + \cos(\pi t / T_{max})}{2}

    Like PyTorch, each step computes the rate *recursively* from the current one,

    .. math:: \eta_{t} = \eta_{min} + (\eta_{t-1} - \eta_{min})
              \frac{1 + \cos(\pi t / T_{max})}{1 + \cos(\pi (t-1) / T_{max})},

    which equals the formula above when nothing else changes the rate, and chains with other
    schedules when something does. After ``T_max`` epochs the rate climbs back up along the
    cosine (a period of ``2 T_max``); the epoch that would divide by zero adds the first
    step's decrease back instead.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0):  # noqa: N803
        if isinstance(T_max, bool) or not isinstance(T_max, int) or T_max < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be a positive integer, got {T_max!r}")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        t, T, eta_min = self.last_epoch, self.T_max, self.eta_min  # noqa: N806
        groups = self.optimizer.param_groups
        if t == 0:
            return [group["lr"] for group in groups]
        if (t - 1 - T) % (2 * T) == 0:  # the bottom of the cosine: 1 + cos(π (t-1)/T) = 0
            return [
                group["lr"] + (base_lr - eta_min) * (1 - math.cos(math.pi / T)) / 2
                for base_lr, group in zip(self.base_lrs, groups, strict=True)
            ]
        ratio = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return [ratio * (group["lr"] - eta_min) + eta_min for group in groups]


class ReduceLROnPlateau(LRScheduler):
    """Divide the learning rate when a metric (e.g. the validation loss) stops improving.

    Call ``scheduler.step(metric)`` once per epoch. An epoch *improves* on the best value
    so far when, in ``mode="min"``, ``metric < best * (1 - threshold)``
    (``threshold_mode="rel"``) or ``metric < best - threshold`` (``"abs"``); ``"max"``
    mode mirrors this. After more than ``patience`` epochs in a row without improvement,
    each group's rate becomes ``max(lr * factor, min_lr)`` (unless that changes it by less
    than ``eps``), and the count restarts after ``cooldown`` epochs during which bad epochs
    are not counted.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | list[float] = 0,
        eps: float = 1e-8,
    ):
        super().__init__(optimizer)
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor should be < 1.0, got {factor}")
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode {mode!r} is unknown, use 'min' or 'max'")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(
                f"ReduceLROnPlateau: threshold mode {threshold_mode!r} is unknown, "
                "use 'rel' or 'abs'"
            )
        n_groups = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n_groups:
                raise ValueError(
                    f"ReduceLROnPlateau: expected {n_groups} min_lrs, got {len(min_lr)}"
                )
            self.min_lrs = list(min_lr)
        else:
            self.min_lrs = [min_lr] * n_groups
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.eps = cooldown, eps
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0

    def _is_better(self, value: float) -> bool:
        if self.mode == "min":
            if self.threshold_mode == "rel":
                return value < self.best * (1.0 - self.threshold)
            return value < self.best - self.threshold
        if self.threshold_mode == "rel":
            return value > self.best * (self.threshold + 1.0)
        return value > self.best + self.threshold

    def step(self, metrics: Any) -> None:  # type: ignore[override]
        """End an epoch whose monitored value is ``metrics`` (a number or 1-element Tensor)."""
        value = float(metrics.item() if hasattr(metrics, "item") else metrics)
        self.last_epoch += 1
        if self._is_better(value):
            self.best = value
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during the cooldown do not count
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs, strict=True):
                new_lr = max(group["lr"] * self.factor, min_lr)
                if group["lr"] - new_lr > self.eps:
                    group["lr"] = new_lr
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]
