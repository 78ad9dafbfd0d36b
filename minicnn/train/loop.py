"""The training loop, ``fit``, and ``evaluate``: one loop for the examples, the benchmarks and
the command line.

One epoch of ``fit`` is, for every batch ``(x, y)`` of the training loader::

    loss = loss_fn(model(x), y)       # forward
    optimizer.zero_grad()
    loss.backward()                   # gradients of every parameter
    optimizer.step()                  # update

with the model in training mode (dropout on, batch norm using batch statistics), followed by
a pass over the validation loader in evaluation mode without gradients, the scheduler's step
and the callbacks. Each batch is moved to the model's device (that of its first parameter).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .. import backend
from .. import functional as F
from ..autograd import no_grad
from ..nn import Module
from ..optim import Optimizer
from ..optim.lr_scheduler import ReduceLROnPlateau
from ..tensor import Tensor, tensor
from .callbacks import Callback, ModelCheckpoint, TrainState
from .history import History

LossFn = Callable[[Tensor, Tensor], Tensor]


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite; training stopped before that batch's update."""


def model_device(model: Module) -> str:
    """The device of the model's first parameter (``"cpu"`` for a model without any)."""
    for parameter in model.parameters():
        return parameter.device
    return "cpu"


def _on(device: str, value: Any) -> Tensor:
    if isinstance(value, Tensor):
        return value.to(device)
    return tensor(value, device=device)


def _split(owner: str, batch: Any) -> tuple[Any, Any]:
    """The inputs and targets of a batch ``(x, y, ...)``."""
    if not isinstance(batch, (tuple, list)) or len(batch) < 2:
        raise TypeError(
            f"{owner}: each batch must be a tuple (inputs, targets, ...), got "
            f"{type(batch).__name__}"
            + (f" of length {len(batch)}" if isinstance(batch, (tuple, list)) else "")
        )
    return batch[0], batch[1]


class _Tally:
    """Running loss and confusion matrix of one pass: the numbers of the progress bar and
    of the epoch's logs."""

    def __init__(self) -> None:
        self.loss_sum = 0.0
        self.samples = 0
        self.counts: np.ndarray | None = None  # confusion matrix, if the task is classification
        self.start = time.perf_counter()

    def add(self, loss: float, output: Tensor, target: Any) -> np.ndarray | None:
        """Count a batch; returns the predicted classes (host array) for classification."""
        labels = backend.to_host(target.data if isinstance(target, Tensor) else target)
        n = len(labels) if labels.ndim else 1
        self.loss_sum += loss * n
        self.samples += n
        # Classification (also per pixel): integer labels, one score per class along dim 1.
        if labels.dtype.kind not in "iu" or output.ndim != labels.ndim + 1 or output.ndim < 2:
            return None
        predicted = output.argmax(dim=1).numpy()
        classes = output.shape[1]
        true, pred = labels.reshape(-1), predicted.reshape(-1)
        valid = (true >= 0) & (true < classes)  # leaves out ignore_index (e.g. -100) pixels
        counts = np.bincount(
            true[valid] * classes + pred[valid], minlength=classes * classes
        ).reshape(classes, classes)
        self.counts = counts if self.counts is None else self.counts + counts
        return predicted

    def loss(self) -> float:
        return self.loss_sum / max(self.samples, 1)

    def accuracy(self) -> float | None:
        if self.counts is None or not self.counts.sum():
            return None
        return float(np.trace(self.counts) / self.counts.sum())

    def balanced_accuracy(self) -> float | None:
        """The mean recall over the classes that occur (``metrics.balanced_accuracy``)."""
        if self.counts is None or not self.counts.sum():
            return None
        support = self.counts.sum(axis=1)
        return float(np.mean(np.diag(self.counts)[support > 0] / support[support > 0]))

    def images_per_second(self) -> float:
        return self.samples / max(time.perf_counter() - self.start, 1e-9)

    def logs(self, prefix: str = "") -> dict[str, float]:
        logs = {f"{prefix}loss": self.loss()}
        if self.counts is not None:
            logs[f"{prefix}accuracy"] = self.accuracy()
            logs[f"{prefix}balanced_accuracy"] = self.balanced_accuracy()
        return logs

    def postfix(self) -> str:
        accuracy = self.accuracy()
        shown = "" if accuracy is None else f" acc {accuracy:.4f}"
        return f"loss {self.loss():.4f}{shown} {self.images_per_second():,.0f} img/s"


def _bar(loader: Any, description: str, progress: bool) -> Any:
    try:
        total = len(loader)
    except TypeError:
        total = None
    return tqdm(
        total=total, desc=description, disable=not progress, unit="batch", dynamic_ncols=True
    )


@dataclass
class EvalResult:
    """What ``evaluate`` returns. ``accuracy`` and ``balanced_accuracy`` (the mean
    per-class recall) are None unless the model classifies (integer targets, class scores
    along dim 1); ``predictions`` are then the argmax classes. The arrays are on the host,
    in the loader's order."""

    loss: float
    accuracy: float | None
    balanced_accuracy: float | None
    predictions: np.ndarray | None
    targets: np.ndarray
    outputs: np.ndarray  # the model's outputs (logits for a classifier)

    @property
    def metrics(self) -> dict[str, float]:
        """``{"loss": ..., "accuracy": ..., "balanced_accuracy": ...}`` (those defined)."""
        names = ("loss", "accuracy", "balanced_accuracy")
        return {k: getattr(self, k) for k in names if getattr(self, k) is not None}


def _run_eval(
    model: Module, loader: Any, loss_fn: LossFn, keep: bool, progress: bool, owner: str
) -> tuple[_Tally, list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    device = model_device(model)
    tally, predictions, targets, outputs = _Tally(), [], [], []
    was_training = model.training
    model.eval()
    try:
        with no_grad(), _bar(loader, "evaluate", progress) as bar:
            for batch in loader:
                x, y = _split(owner, batch)
                output = model(_on(device, x))
                loss = loss_fn(output, _on(device, y)).item()
                predicted = tally.add(loss, output, y)
                if keep:
                    targets.append(backend.to_host(y.data if isinstance(y, Tensor) else y))
                    outputs.append(output.numpy())
                    if predicted is not None:
                        predictions.append(predicted)
                bar.update()
                bar.set_postfix_str(tally.postfix(), refresh=False)
    finally:
        model.train(was_training)
    return tally, predictions, targets, outputs


def evaluate(
    model: Module, loader: Any, *, loss_fn: LossFn | None = None, progress: bool = False
) -> EvalResult:
    """Run ``model`` over ``loader`` in evaluation mode without gradients: the mean loss,
    the accuracy and balanced accuracy, the predictions, targets and outputs.

    The model's training/evaluation mode is restored afterwards.
    """
    loss_fn = F.cross_entropy if loss_fn is None else loss_fn
    tally, predictions, targets, outputs = _run_eval(
        model, loader, loss_fn, True, progress, "evaluate"
    )
    if not tally.samples:
        raise ValueError("evaluate: the loader gave no batch")
    return EvalResult(
        loss=tally.loss(),
        accuracy=tally.accuracy(),
        balanced_accuracy=tally.balanced_accuracy(),
        predictions=np.concatenate(predictions) if predictions else None,
        targets=np.concatenate(targets),
        outputs=np.concatenate(outputs),
    )


def _check_fit(epochs: Any, optimizer: Any, callbacks: Any) -> list[Callback]:
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"fit: epochs must be a positive int, got {epochs!r}")
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"fit: optimizer must be a minicnn.optim Optimizer, got {optimizer!r}")
    if isinstance(callbacks, Callback):
        callbacks = [callbacks]
    callbacks = list(callbacks)
    for callback in callbacks:
        if not isinstance(callback, Callback):
            raise TypeError(f"fit: callbacks must be Callback instances, got {callback!r}")
    return callbacks


def _non_finite(loss: float, epoch: int, batch: int, batches: Any, callbacks: list) -> str:
    where = f"batch {batch}" + (f" of {batches}" if batches else "")
    saved = [c.saved() for c in callbacks if isinstance(c, ModelCheckpoint)]
    saved = [s for s in saved if s]
    advice = saved[0] if saved else "no checkpoint was saved"
    return (
        f"fit: the training loss became {loss} at epoch {epoch}, {where}; training stopped "
        f"before that batch's update. {advice[0].upper()}{advice[1:]}. A smaller learning rate "
        "(or gradient clipping) usually helps; check the data for NaN or infinite values too."
    )


def fit(
    model: Module,
    train_loader: Iterable,
    *,
    epochs: int,
    optimizer: Optimizer,
    loss_fn: LossFn | None = None,
    val_loader: Iterable | None = None,
    scheduler: Any = None,
    callbacks: Sequence[Callback] = (),
    progress: bool = True,
) -> History:
    """Train ``model`` for ``epochs`` epochs over ``train_loader``; returns the ``History``.

    Args:
        model: the network; each batch ``(x, y, ...)`` is moved to its device.
        train_loader: gives the training batches, e.g. a shuffling ``DataLoader``.
        epochs: the number of passes over ``train_loader`` (fewer if a callback stops).
        optimizer: updates the parameters after each batch's backward pass.
        loss_fn: ``loss_fn(output, y)`` -> a scalar Tensor; default ``F.cross_entropy``.
        val_loader: evaluated after every epoch (the ``val_`` numbers of the logs).
        scheduler: stepped once per epoch; ``ReduceLROnPlateau`` gets the validation loss
            (the training loss without ``val_loader``).
        callbacks: ``EarlyStopping``, ``ModelCheckpoint`` or your own ``Callback``\\ s.
        progress: a tqdm progress bar per epoch with the loss, accuracy and images/s.

    The model ends in evaluation mode. A loss that becomes NaN or infinite raises
    :class:`NonFiniteLossError` naming the epoch and batch, before that batch's update; the
    file of a ``ModelCheckpoint`` then still holds the best model saved so far.
    """
    callbacks = _check_fit(epochs, optimizer, callbacks)
    loss_fn = F.cross_entropy if loss_fn is None else loss_fn
    device = model_device(model)
    history = History()
    state = TrainState(model, optimizer, scheduler, history, int(epochs))
    for callback in callbacks:
        callback.on_train_begin(state)
    for epoch in range(1, int(epochs) + 1):
        state.epoch = epoch
        start = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]
        tally = _Tally()
        model.train()
        with _bar(train_loader, f"epoch {epoch}/{epochs}", progress) as bar:
            for index, batch in enumerate(train_loader, 1):
                x, y = _split("fit", batch)
                output = model(_on(device, x))
                loss = loss_fn(output, _on(device, y))
                value = loss.item()
                if not math.isfinite(value):
                    raise NonFiniteLossError(_non_finite(value, epoch, index, bar.total, callbacks))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                tally.add(value, output, y)
                bar.update()
                bar.set_postfix_str(tally.postfix(), refresh=False)
            if not tally.samples:
                raise ValueError("fit: the training loader gave no batch")
            logs = tally.logs()
            if val_loader is not None:
                val, *_ = _run_eval(model, val_loader, loss_fn, False, False, "fit (validation)")
                logs.update(val.logs("val_"))
            logs["lr"] = lr
            logs["seconds"] = time.perf_counter() - start
            bar.set_postfix_str(_summary(logs, tally.images_per_second()))
        if isinstance(scheduler, ReduceLROnPlateau):
            scheduler.step(logs.get("val_loss", logs["loss"]))
        elif scheduler is not None:
            scheduler.step()
        history.append(epoch, logs)
        state.logs = logs
        for callback in callbacks:
            callback.on_epoch_end(state)
        if state.stop:
            break
    for callback in callbacks:
        callback.on_train_end(state)
    model.eval()
    return history


def _summary(logs: dict[str, float], images_per_second: float) -> str:
    """The epoch's numbers for the end of its progress bar."""
    parts = [f"loss {logs['loss']:.4f}"]
    if "accuracy" in logs:
        parts.append(f"acc {logs['accuracy']:.4f}")
    if "val_loss" in logs:
        parts.append(f"val_loss {logs['val_loss']:.4f}")
    if "val_accuracy" in logs:
        parts.append(f"val_acc {logs['val_accuracy']:.4f}")
    parts.append(f"{images_per_second:,.0f} img/s")
    return " ".join(parts)
