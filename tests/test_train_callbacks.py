"""EarlyStopping, ModelCheckpoint and the NaN guard of fit."""

import math
import re

import numpy as np
import pytest
from test_train import linear_model, loaders

import minicnn as mc
from minicnn import optim
from minicnn.functional import cross_entropy
from minicnn.serialization import load_metadata
from minicnn.train import (
    Callback,
    EarlyStopping,
    History,
    ModelCheckpoint,
    NonFiniteLossError,
    TrainState,
    evaluate,
    fit,
)


def state_for(model):
    return TrainState(model, None, None, History(), epochs=10)


def run_epochs(callback, model, values, monitor="val_loss"):
    """Feed ``callback`` one epoch per value, the model's weights set to the epoch number."""
    state = state_for(model)
    callback.on_train_begin(state)
    for epoch, value in enumerate(values, 1):
        for p in model.parameters():
            p.data[...] = epoch
        state.epoch, state.logs = epoch, {monitor: value}
        callback.on_epoch_end(state)
        if state.stop:
            break
    callback.on_train_end(state)
    return state


def test_early_stopping_waits_patience_epochs_and_restores_the_best():
    model = linear_model()
    stopper = EarlyStopping("val_loss", patience=2)
    state = run_epochs(stopper, model, [3.0, 2.0, 2.5, 2.4, 1.0])
    assert state.stop and stopper.stopped_epoch == 4  # epochs 3 and 4 did not improve
    assert (stopper.best, stopper.best_epoch) == (2.0, 2)
    assert all(np.all(p.data == 2) for p in model.parameters())  # epoch 2's weights


def test_early_stopping_modes_min_delta_and_nan():
    model = linear_model()
    stopper = EarlyStopping("val_accuracy", patience=1, restore_best=False)  # auto: max
    state = run_epochs(stopper, model, [0.5, 0.6, 0.55], monitor="val_accuracy")
    assert stopper.stopped_epoch == 3 and stopper.best == 0.6
    assert all(np.all(p.data == 3) for p in model.parameters())  # not restored
    stopper = EarlyStopping("val_loss", patience=1, min_delta=0.1)
    run_epochs(stopper, model, [1.0, 0.95])  # better by less than min_delta: no improvement
    assert stopper.stopped_epoch == 2 and stopper.best == 1.0
    stopper = EarlyStopping("val_loss", patience=3)
    state = run_epochs(stopper, model, [math.nan, 1.0, math.nan, math.nan, math.nan])
    assert stopper.best_epoch == 2 and stopper.stopped_epoch == 5 and state.stop


def test_early_stopping_in_fit_stops_and_restores_the_best_epoch():
    train, val = loaders()
    model = linear_model()
    stopper = EarlyStopping("val_loss", patience=1)
    # lr=0: the validation loss never improves after the first epoch
    history = fit(
        model,
        train,
        epochs=10,
        optimizer=optim.SGD(model.parameters(), lr=0.0),
        val_loader=val,
        callbacks=[stopper],
        progress=False,
    )
    assert len(history) == 2 and stopper.stopped_epoch == 2
    # a learning model: after fit it holds the weights of its best validation epoch
    model = linear_model()
    stopper = EarlyStopping("val_loss", patience=10)
    history = fit(
        model,
        train,
        epochs=4,
        optimizer=optim.Adam(model.parameters(), lr=0.3),  # large: the loss jumps around
        val_loader=val,
        callbacks=[stopper],
        progress=False,
    )
    best_epoch, best = history.best("val_loss")
    assert stopper.best_epoch == best_epoch < 4 and stopper.stopped_epoch is None
    assert evaluate(model, val).loss == best


def test_model_checkpoint_keeps_the_best_model(tmp_path):
    train, val = loaders()
    model = linear_model()
    path = tmp_path / "runs" / "best.safetensors"
    checkpoint = ModelCheckpoint(path, metadata={"model": "linear"})  # val_balanced_accuracy
    history = fit(
        model,
        train,
        epochs=4,
        optimizer=optim.Adam(model.parameters(), lr=0.3),
        val_loader=val,
        callbacks=[checkpoint],
        progress=False,
    )
    best_epoch, best = history.best("val_balanced_accuracy")
    assert checkpoint.best_epoch == checkpoint.saved_epoch == best_epoch
    saved = linear_model(seed=1)
    saved.load_state_dict(mc.load(path))
    assert evaluate(saved, val).balanced_accuracy == best
    info = load_metadata(path)
    assert info["epoch"] == str(best_epoch) and info["model"] == "linear"
    assert info["monitor"] == "val_balanced_accuracy" and float(info["value"]) == best


def test_model_checkpoint_every_epoch(tmp_path):
    train, _ = loaders()
    model = linear_model()
    checkpoint = ModelCheckpoint(tmp_path / "last.safetensors", "loss", save_best_only=False)
    fit(
        model,
        train,
        epochs=2,
        optimizer=optim.SGD(model.parameters(), lr=0.0),  # the loss never improves
        callbacks=[checkpoint],
        progress=False,
    )
    assert checkpoint.saved_epoch == 2 and checkpoint.best_epoch == 1
    assert load_metadata(tmp_path / "last.safetensors")["epoch"] == "2"


class NanAt:
    """cross_entropy, but NaN from the ``call``-th call on."""

    def __init__(self, call):
        self.call, self.calls = call, 0

    def __call__(self, output, target):
        self.calls += 1
        loss = cross_entropy(output, target)
        return loss * math.nan if self.calls >= self.call else loss


def test_a_nan_loss_stops_training_and_the_checkpoint_stays(tmp_path):
    train, _ = loaders(batch_size=16)  # 6 batches per epoch
    model = linear_model()
    path = tmp_path / "best.safetensors"
    checkpoint = ModelCheckpoint(path, "loss")
    with pytest.raises(
        NonFiniteLossError,
        match=(
            r"fit: the training loss became nan at epoch 2, batch 3 of 6; training stopped "
            r"before that batch's update\. The last good checkpoint \(epoch 1, loss \d\.\d{4}\) "
            f"is {re.escape(str(path))}"
        ),
    ):
        fit(
            model,
            train,
            epochs=3,
            optimizer=optim.SGD(model.parameters(), lr=0.1),
            loss_fn=NanAt(6 + 3),
            callbacks=[checkpoint],
            progress=False,
        )
    assert load_metadata(path)["epoch"] == "1"
    assert all(np.isfinite(p.data).all() for p in model.parameters())  # no NaN update


def test_an_infinite_loss_without_checkpoint():
    train, _ = loaders(batch_size=16)
    model = linear_model()

    def infinite(output, target):
        return cross_entropy(output, target) * math.inf

    with pytest.raises(NonFiniteLossError, match="became inf at epoch 1, batch 1 of 6.*No check"):
        fit(
            model,
            train,
            epochs=1,
            optimizer=optim.SGD(model.parameters(), lr=0.1),
            loss_fn=infinite,
            progress=False,
        )


def test_a_callback_sees_every_epoch_and_can_stop():
    class StopAtTwo(Callback):
        def __init__(self):
            self.seen = []

        def on_train_begin(self, state):
            self.seen.append("begin")

        def on_epoch_end(self, state):
            self.seen.append((state.epoch, sorted(state.logs)))
            state.stop = state.epoch == 2

        def on_train_end(self, state):
            self.seen.append("end")

    train, _ = loaders()
    model = linear_model()
    callback = StopAtTwo()
    history = fit(
        model,
        train,
        epochs=5,
        optimizer=optim.SGD(model.parameters(), lr=0.1),
        callbacks=[callback],
        progress=False,
    )
    keys = ["accuracy", "balanced_accuracy", "loss", "lr", "seconds"]
    assert callback.seen == ["begin", (1, keys), (2, keys), "end"] and len(history) == 2


def test_a_monitor_that_is_not_logged():
    train, _ = loaders()
    model = linear_model()
    with pytest.raises(
        ValueError,
        match=r"EarlyStopping: monitor 'val_loss' is not logged; fit logged: loss, accuracy, "
        r"balanced_accuracy, lr, seconds \(the val_ numbers need a val_loader\)",
    ):
        fit(
            model,
            train,
            epochs=1,
            optimizer=optim.SGD(model.parameters(), lr=0.1),
            callbacks=[EarlyStopping()],
            progress=False,
        )


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: EarlyStopping(patience=-1), "EarlyStopping: patience must be a non-negative int"),
        (lambda: EarlyStopping(mode="up"), 'EarlyStopping: mode must be "auto", "min" or "max"'),
        (lambda: EarlyStopping(min_delta=-1.0), "EarlyStopping: min_delta"),
        (lambda: ModelCheckpoint("x", mode="best"), "ModelCheckpoint: mode must be"),
    ],
)
def test_bad_callback_settings(build, match):
    with pytest.raises(ValueError, match=match):
        build()
