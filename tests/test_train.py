"""minicnn.train: fit and evaluate on small problems (History, modes, devices, progress)."""

import math

import numpy as np
import pytest

import minicnn as mc
from minicnn import metrics, nn, optim
from minicnn.data import DataLoader, TensorDataset
from minicnn.train import EvalResult, History, evaluate, fit, model_device


def blobs(n=96, seed=0):
    """Three separable classes of 4 features: x float32 (n, 4), y int64 (n,)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = np.array([[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 2, 0]], dtype=np.float32)
    x = centres[y] + 0.5 * rng.standard_normal((n, 4)).astype(np.float32)
    return x, y.astype(np.int64)


def loaders(batch_size=16):
    train = DataLoader(TensorDataset(*blobs(96, 0)), batch_size=batch_size, shuffle=True, seed=0)
    val = DataLoader(TensorDataset(*blobs(40, 1)), batch_size=batch_size)
    return train, val


def linear_model(seed=0):
    mc.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


def test_fit_learns_and_logs_every_epoch():
    train, val = loaders()
    model = linear_model()
    history = fit(
        model,
        train,
        epochs=4,
        optimizer=optim.Adam(model.parameters(), lr=0.05),
        val_loader=val,
        progress=False,
    )
    assert isinstance(history, History) and history.epochs == [1, 2, 3, 4]
    assert history.keys() == [
        "loss", "accuracy", "balanced_accuracy", "val_loss", "val_accuracy",
        "val_balanced_accuracy", "lr", "seconds",
    ]  # fmt: skip
    assert all(len(history[key]) == 4 for key in history.keys())
    assert history["loss"][-1] < history["loss"][0]
    assert history["val_accuracy"][-1] > 0.9
    assert history["lr"] == [0.05] * 4
    assert not model.training  # fit leaves the model in evaluation mode


def test_epoch_numbers_are_those_of_the_batches_and_of_evaluate():
    """With lr=0 the weights never change: the training numbers (averaged over the batches
    as they come) equal evaluate's on the same loader, the validation ones too."""
    train, val = loaders(batch_size=20)  # 96 = 4 * 20 + 16: an incomplete last batch
    model = linear_model()
    history = fit(
        model,
        train,
        epochs=1,
        optimizer=optim.SGD(model.parameters(), lr=0.0),
        val_loader=val,
        progress=False,
    )
    on_train, on_val = evaluate(model, train), evaluate(model, val)
    assert math.isclose(history["loss"][0], on_train.loss, rel_tol=1e-6)
    assert history["accuracy"][0] == on_train.accuracy
    assert history["balanced_accuracy"][0] == on_train.balanced_accuracy
    assert history["val_loss"][0] == on_val.loss
    assert history["val_accuracy"][0] == on_val.accuracy
    assert history["val_balanced_accuracy"][0] == on_val.balanced_accuracy


def test_evaluate_returns_metrics_predictions_and_outputs():
    _, val = loaders()
    model = linear_model()
    model.train()
    result = evaluate(model, val)
    assert isinstance(result, EvalResult)
    x, y = blobs(40, 1)
    with mc.no_grad():
        logits = model(mc.tensor(x)).numpy()
    np.testing.assert_allclose(result.outputs, logits, rtol=1e-6)
    np.testing.assert_array_equal(result.targets, y)
    np.testing.assert_array_equal(result.predictions, logits.argmax(1))
    assert result.accuracy == metrics.accuracy(y, result.predictions)
    assert result.balanced_accuracy == metrics.balanced_accuracy(y, result.predictions)
    expected_loss = mc.functional.cross_entropy(mc.tensor(logits), mc.tensor(y)).item()
    assert math.isclose(result.loss, expected_loss, rel_tol=1e-6)
    assert set(result.metrics) == {"loss", "accuracy", "balanced_accuracy"}
    assert model.training  # restored
    assert all(p.grad is None for p in model.parameters())  # no gradients


def test_evaluate_counts_pixels_of_a_segmentation():
    """Per-pixel classes: outputs (N, C, H, W), targets (N, H, W)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 2, 5, 5)).astype(np.float32)
    y = rng.integers(0, 3, (6, 5, 5))
    mc.manual_seed(0)
    model = nn.Conv2d(2, 3, 1)
    result = evaluate(model, DataLoader(TensorDataset(x, y), batch_size=4))
    assert result.predictions.shape == (6, 5, 5)
    assert result.accuracy == metrics.accuracy(y.ravel(), result.predictions.ravel())


class ModeRecorder(nn.Module):
    """Records whether it was in training mode at each forward call."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 3)
        self.modes = []

    def forward(self, x):
        self.modes.append(self.training)
        return self.linear(x)


def test_fit_switches_training_and_evaluation_mode():
    train, val = loaders(batch_size=48)  # 2 training and 1 validation batch per epoch
    mc.manual_seed(0)
    model = ModeRecorder()
    model.eval()
    fit(
        model,
        train,
        epochs=2,
        optimizer=optim.SGD(model.parameters(), lr=0.1),
        val_loader=val,
        progress=False,
    )
    assert model.modes == [True, True, False] * 2
    assert not model.training


def test_scheduler_steps_once_per_epoch():
    train, val = loaders(batch_size=48)
    model = linear_model()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    history = fit(model, train, epochs=3, optimizer=optimizer, scheduler=scheduler, progress=False)
    assert history["lr"] == [0.1, 0.05, 0.025]
    optimizer = optim.SGD(model.parameters(), lr=0.0)  # nothing changes: the plateau is flat
    plateau = optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=0, factor=0.5)
    history = fit(
        model,
        train,
        epochs=3,
        optimizer=optimizer,
        val_loader=val,
        scheduler=plateau,
        progress=False,
    )
    assert plateau.best == history["val_loss"][0]
    assert history["lr"] == [0.0, 0.0, 0.0] and plateau.num_bad_epochs == 0


def test_the_same_seed_gives_the_same_history():
    def run():
        train, val = loaders()
        model = linear_model(seed=3)
        history = fit(
            model,
            train,
            epochs=2,
            optimizer=optim.Adam(model.parameters(), lr=0.01),
            val_loader=val,
            progress=False,
        )
        return {k: v for k, v in history.logs.items() if k != "seconds"}

    assert run() == run()


def test_progress_bar_shows_loss_accuracy_and_images_per_second(capsys):
    train, _ = loaders(batch_size=48)
    model = linear_model()
    fit(model, train, epochs=1, optimizer=optim.SGD(model.parameters(), lr=0.1), progress=True)
    err = capsys.readouterr().err
    assert "epoch 1/1" in err and "loss " in err and "acc " in err and "img/s" in err
    fit(model, train, epochs=1, optimizer=optim.SGD(model.parameters(), lr=0.1), progress=False)
    assert capsys.readouterr() == ("", "")


def test_fit_moves_each_batch_to_the_models_device(device):
    train, val = loaders(batch_size=32)
    model = linear_model().to(device)
    assert model_device(model) == device
    history = fit(
        model,
        train,
        epochs=3,
        optimizer=optim.Adam(model.parameters(), lr=0.05),
        val_loader=val,
        progress=False,
    )
    assert history["loss"][-1] < history["loss"][0]
    if device == "strict":  # per batch: x and y to the device, the loss and predictions back
        from strict_device import TRANSFERS

        TRANSFERS.clear()
        fit(model, train, epochs=1, optimizer=optim.SGD(model.parameters(), lr=0.1), progress=False)
        assert dict(TRANSFERS) == {"to_device": 2 * len(train), "to_host": 2 * len(train)}
    result = evaluate(model, val)
    assert result.outputs.shape == (40, 3) and isinstance(result.outputs, np.ndarray)
    assert all(p.device == device for p in model.parameters())


def test_history_best_and_round_trip():
    history = History()
    for epoch, (loss, acc) in enumerate([(1.0, 0.5), (0.5, 0.7), (0.7, 0.7)], 1):
        history.append(epoch, {"val_loss": loss, "val_accuracy": acc})
    assert history.best("val_loss") == (2, 0.5)
    assert history.best("val_accuracy") == (2, 0.7)  # the first of equal values
    assert history.best("val_accuracy", mode="min") == (1, 0.5)
    again = History.from_dict(history.to_dict())
    assert again.logs == history.logs and again.epochs == [1, 2, 3]
    history.append(4, {"val_loss": 0.1})  # a missing number is NaN
    assert math.isnan(history["val_accuracy"][3]) and len(history) == 4
    with pytest.raises(KeyError, match="History has no 'accuracy'; it has: val_loss"):
        history["accuracy"]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(epochs=0), ValueError, "fit: epochs must be a positive int, got 0"),
        (dict(epochs=1.5), ValueError, "fit: epochs must be a positive int, got 1.5"),
        (dict(optimizer="adam"), TypeError, "fit: optimizer must be a minicnn.optim Optimizer"),
        (dict(callbacks=[print]), TypeError, "fit: callbacks must be Callback instances"),
    ],
)
def test_fit_bad_arguments(kwargs, error, match):
    train, _ = loaders()
    model = linear_model()
    arguments = dict(epochs=1, optimizer=optim.SGD(model.parameters(), lr=0.1), progress=False)
    with pytest.raises(error, match=match):
        fit(model, train, **{**arguments, **kwargs})


def test_batches_must_hold_inputs_and_targets():
    model = linear_model()
    loader = DataLoader(TensorDataset(blobs()[0]), batch_size=8)
    with pytest.raises(TypeError, match=r"fit: each batch must be a tuple \(inputs, targets"):
        fit(model, loader, epochs=1, optimizer=optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(ValueError, match="evaluate: the loader gave no batch"):
        evaluate(model, [])
