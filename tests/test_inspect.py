"""inspect.gradient_flow and inspect.record_activations."""

import math

import numpy as np
import pytest

import minicnn as mc
import minicnn.functional as F
from minicnn import inspect as ins
from minicnn import nn


def sigmoid_chain(depth=8, width=16):
    layers = []
    for _ in range(depth):
        layers += [nn.Linear(width, width), nn.Sigmoid()]
    return nn.Sequential(*layers, nn.Linear(width, 3))


def backward_once(model, inputs=16):
    x = mc.randn(32, inputs)
    y = mc.tensor([i % 3 for i in range(32)])
    F.cross_entropy(model(x), y).backward()


def test_sigmoid_chain_gradients_decay_towards_the_input():
    mc.manual_seed(0)
    model = sigmoid_chain()
    backward_once(model)
    flow = ins.gradient_flow(model)
    assert flow.names == [str(i) for i in range(0, 17, 2)]  # the Linear layers, input first
    means = flow.mean_abs_grads
    # each sigmoid multiplies the gradient by at most 1/4 (times the weights, |w| < 1/4 here)
    assert all(a < b / 2 for a, b in zip(means[:-1], means[1:], strict=False))
    assert means[0] < means[-1] * 1e-5


def test_relu_chain_does_not_vanish_like_the_sigmoid_one():
    mc.manual_seed(0)
    layers = []
    for _ in range(8):
        layers += [nn.Linear(16, 16), nn.ReLU()]
    model = nn.Sequential(*layers, nn.Linear(16, 3))
    for m in model:
        if isinstance(m, nn.Linear):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    backward_once(model)
    means = ins.gradient_flow(model).mean_abs_grads
    assert means[0] > means[-1] * 1e-2


def test_row_values_are_those_of_the_gradients():
    mc.manual_seed(2)
    model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 3))
    backward_once(model, inputs=4)
    row = ins.gradient_flow(model)[0]
    w, b = model[0].weight, model[0].bias
    grads = np.concatenate([w.grad.numpy().ravel(), b.grad.numpy().ravel()])
    weights = np.concatenate([w.numpy().ravel(), b.numpy().ravel()])
    assert (row.name, row.type) == ("0", "Linear")
    assert row.mean_abs_grad == pytest.approx(np.abs(grads).mean(), rel=1e-6)
    assert row.max_abs_grad == pytest.approx(np.abs(grads).max(), rel=1e-6)
    assert row.ratio == pytest.approx(np.linalg.norm(grads) / np.linalg.norm(weights), rel=1e-5)


def test_frozen_unused_and_missing_gradients():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    with pytest.raises(ValueError, match="no parameter of the model has a gradient; call loss"):
        ins.gradient_flow(model)
    model[0].requires_grad_(False)
    model(mc.randn(3, 2)).sum().backward()
    flow = ins.gradient_flow(model)
    assert flow.names == ["1"] and flow.missing == []
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    model[0](mc.randn(3, 2)).sum().backward()
    flow = ins.gradient_flow(model)
    assert flow.names == ["0"] and flow.missing == ["1"]
    assert "no gradient reached: 1" in str(flow)
    with pytest.raises(TypeError, match="gradient_flow: expected a minicnn.nn.Module, got int"):
        ins.gradient_flow(3)
    with pytest.raises(ValueError, match="no parameters that require grad"):
        ins.gradient_flow(nn.ReLU())


def test_zero_weight_ratio():
    model = nn.Linear(2, 1)
    model.weight.data[...] = 0
    model.bias.data[...] = 0
    model(mc.ones(1, 2)).sum().backward()
    assert ins.gradient_flow(model)[0].ratio == math.inf


def test_gradient_flow_table_and_plot(tmp_path):
    mc.manual_seed(0)
    model = sigmoid_chain(depth=3)
    backward_once(model)
    flow = ins.gradient_flow(model)
    text = str(flow)
    assert text.splitlines()[0].split() == ["Layer", "(type)", "mean", "|grad|", "max", "|grad|",
                                            "|grad|/|weight|"]  # fmt: skip
    assert "0 (Linear)" in text and len(text.splitlines()) == 2 + 4
    figure = flow.plot(tmp_path / "flow.png")
    assert (tmp_path / "flow.png").stat().st_size > 0
    assert [t.get_text() for t in figure.axes[0].get_xticklabels()] == flow.names


def test_record_activations_dead_relu_and_statistics():
    mc.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 36, 3))
    model[0].bias.data[:2] = -100.0  # channels 0 and 1 never fire: dead ReLUs
    x = mc.randn(5, 1, 8, 8)
    stats = ins.record_activations(model, x, keep=True)
    assert [(r.name, r.type, r.shape) for r in stats] == [
        ("0", "Conv2d", (5, 4, 6, 6)),
        ("1", "ReLU", (5, 4, 6, 6)),
        ("2", "Flatten", (5, 144)),
        ("3", "Linear", (5, 3)),
    ]
    relu = stats.row("1")
    conv_out = np.maximum(model[0](x).numpy(), 0)
    assert relu.dead_fraction == 0.5
    assert relu.zero_fraction == pytest.approx((conv_out == 0).mean())
    assert relu.mean == pytest.approx(conv_out.mean(), rel=1e-5)
    assert relu.std == pytest.approx(conv_out.std(), rel=1e-4)
    assert stats.row("0").zero_fraction == 0.0
    np.testing.assert_allclose(stats.outputs["1"], conv_out, rtol=1e-6)
    assert not x.requires_grad and all(p.grad is None for p in model.parameters())
    assert "dead units" in str(stats) and "50.0%" in str(stats)
    assert len(stats.plot().axes) == 2
    with pytest.raises(KeyError, match="no layer named 'x'"):
        stats.row("x")


def test_record_activations_leaves_hooks_and_mode_as_they_were():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    model.eval()
    stats = ins.record_activations(model, mc.randn(3, 2))
    assert not model.training and len(stats) == 2
    assert all(not m._forward_hooks for m in model.modules())
    with pytest.raises(TypeError, match="record_activations: expected a minicnn.nn.Module"):
        ins.record_activations("model", mc.randn(3, 2))


def test_gradient_flow_and_activations_on_device(device):
    mc.manual_seed(0)
    model = sigmoid_chain(depth=2).to(device)
    x = mc.randn(8, 16).to(device)
    F.cross_entropy(model(x), mc.tensor([i % 3 for i in range(8)], device=device)).backward()
    flow = ins.gradient_flow(model)
    assert flow.names == ["0", "2", "4"] and all(r.mean_abs_grad > 0 for r in flow)
    stats = ins.record_activations(model, x, keep=True)
    assert stats.row("1").zero_fraction == 0.0 and stats.outputs["1"].shape == (8, 16)
