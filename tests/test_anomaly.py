"""detect_anomaly: the first op with a NaN/inf output or gradient raises, naming the op, its
input shapes and the layer that called it."""

import threading

import numpy as np
import pytest

import minicnn as mc
import minicnn.functional as F
from minicnn import nn
from minicnn.anomaly import AnomalyError
from minicnn.nn.module import _running_layers


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Conv2d(3, 2, 3))
        self.head = nn.Linear(2 * 2 * 2, 3)

    def forward(self, x):
        return self.head(self.block(x).flatten(1))


class SqrtLayer(nn.Module):
    def forward(self, x):
        return mc.sqrt(x)


def test_nan_parameter_names_the_layer_op_and_shapes():
    mc.manual_seed(0)
    model = Net()
    model.block[2].weight.data[0, 0, 0, 0] = np.nan
    x = mc.randn(2, 1, 6, 6)
    with mc.detect_anomaly(), pytest.raises(AnomalyError) as info:
        model(x)
    message = str(info.value)
    assert "Conv2dFunction forward produced NaN" in message
    assert "layer 'block.2' (Conv2d(3, 2, kernel_size=(3, 3)" in message
    assert "of Net" in message
    assert "(2, 3, 4, 4) float32, (2, 3, 3, 3) float32, (2,) float32" in message
    assert "input 1 (parameter 'weight') already held NaN" in message
    assert "test_anomaly.py" in message  # the line of the user's forward
    assert _running_layers.stack == []  # the layer stack unwinds on the error


def test_the_op_that_makes_the_nan_is_named_not_a_later_one():
    model = nn.Sequential(nn.Linear(2, 2), SqrtLayer(), nn.Linear(2, 1))
    model[0].weight.data[...] = -np.eye(2, dtype=np.float32)  # both outputs negative
    model[0].bias.data[...] = 0
    x = mc.tensor([[1.0, 2.0]])
    with np.errstate(invalid="ignore"), mc.detect_anomaly():
        with pytest.raises(AnomalyError, match=r"Sqrt forward produced NaN \(2 of 2 elements\)"):
            model(x)
        try:
            model(x)
        except AnomalyError as error:
            assert "layer '1' (SqrtLayer()) of Sequential" in str(error)
            assert "already held" not in str(error)  # its input was finite: it made the NaN


def test_infinite_gradient_in_backward_names_the_layer_from_the_forward():
    model = nn.Sequential(nn.Identity(), SqrtLayer())
    x = mc.tensor([4.0, 0.0], requires_grad=True)
    with np.errstate(divide="ignore"), mc.detect_anomaly():
        y = model(x).sum()
        with pytest.raises(AnomalyError) as info:
            y.backward()
    message = str(info.value)
    assert (
        "Sqrt backward returned infinity (1 of 2 elements) in the gradient of its input 0"
        in message
    )
    assert "its inputs: (2,) float32" in message
    assert "layer '1' (SqrtLayer())" in message


def test_infinite_forward_output():
    x = mc.tensor([1.0, 1000.0])
    with np.errstate(over="ignore"), mc.detect_anomaly():
        with pytest.raises(
            AnomalyError, match=r"Exp forward produced infinity .* outside any layer"
        ):
            mc.exp(x)


def test_forward_outside_the_block_says_the_layer_is_unknown():
    x = mc.tensor([0.0], requires_grad=True)
    y = SqrtLayer()(x)
    with np.errstate(divide="ignore"), mc.detect_anomaly():
        with pytest.raises(AnomalyError, match="run forward outside detect_anomaly"):
            y.backward(mc.ones(1))


def test_finite_values_change_nothing():
    mc.manual_seed(1)
    model = Net()
    x, y = mc.randn(4, 1, 6, 6), mc.tensor([0, 1, 2, 0])
    F.cross_entropy(model(x), y).backward()
    expected = [p.grad.numpy().copy() for p in model.parameters()]
    model.zero_grad()
    with mc.detect_anomaly():
        loss = F.cross_entropy(model(x), y)
        loss.backward()
    for p, g in zip(model.parameters(), expected, strict=True):
        np.testing.assert_array_equal(p.grad.numpy(), g)


def test_mode_on_off_nesting_decorator_and_threads():
    assert not mc.is_anomaly_enabled()
    seen = []
    with mc.detect_anomaly():
        assert mc.is_anomaly_enabled()
        with mc.detect_anomaly():
            assert mc.is_anomaly_enabled()
        assert mc.is_anomaly_enabled()
        other = threading.Thread(target=lambda: seen.append(mc.is_anomaly_enabled()))
        other.start()
        other.join()
    assert not mc.is_anomaly_enabled()
    assert seen == [False]  # per thread, as grad mode

    @mc.detect_anomaly()
    def inside():
        return mc.is_anomaly_enabled()

    assert inside() and not mc.is_anomaly_enabled()


def test_off_by_default_no_check():
    x = mc.tensor([np.nan])
    assert np.isnan(mc.exp(x).item())  # no anomaly mode: NaN passes silently


def test_detect_anomaly_on_device(device):
    """The check reads its verdict explicitly (one host copy), so it works on a device whose
    arrays refuse implicit conversion; finite values pass, a NaN raises."""
    model = nn.Sequential(nn.Linear(2, 2), SqrtLayer()).to(device)
    model[0].weight.data[...] = 0
    model[0].bias.data[...] = 1
    x = mc.tensor([[1.0, 2.0]], device=device)
    with mc.detect_anomaly():
        model(x).sum().backward()
        model[0].bias.data[...] = np.nan
        with pytest.raises(AnomalyError, match="layer '0' .* of Sequential"):
            model(x)
