"""Freezing layers with requires_grad_(False): frozen weights stay put, the rest trains."""

import numpy as np
import pytest

import minicnn as mc
from minicnn import nn, optim
from minicnn.functional import cross_entropy


def small_cnn():
    return nn.Sequential(
        nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),  # block 0
        nn.Sequential(nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),  # block 1
        nn.Sequential(nn.Flatten(), nn.Linear(8 * 2 * 2, 3)),  # head
    )


def batch():
    rng = np.random.default_rng(0)
    return mc.tensor(rng.standard_normal((6, 1, 8, 8)).astype(np.float32)), mc.tensor(
        np.arange(6) % 3
    )


def train(model, opt, steps=3):
    x, y = batch()
    for _ in range(steps):
        opt.zero_grad()
        cross_entropy(model(x), y).backward()
        opt.step()


def snapshot(module):
    return {k: v.copy() for k, v in module.state_dict().items()}


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
        lambda ps: optim.AdamW(ps, lr=0.01),  # decoupled decay must not shrink frozen weights
    ],
)
def test_frozen_blocks_do_not_change_and_the_rest_trains(make):
    mc.manual_seed(0)
    model = small_cnn()
    model[0].requires_grad_(False)
    model[1].requires_grad_(False)
    before = snapshot(model)  # keys "0.0.weight" (block 0), ..., "2.1.weight" (head)
    opt = make(model.parameters())  # all parameters: the frozen ones get no gradient
    train(model, opt)
    for p in [*model[0].parameters(), *model[1].parameters()]:
        assert p.grad is None and not p.requires_grad
    now = snapshot(model)
    for key in ("0.0.weight", "0.0.bias", "1.0.weight", "1.0.bias"):
        assert np.array_equal(now[key], before[key]), f"frozen {key} changed"
    for key in ("2.1.weight", "2.1.bias"):
        assert not np.array_equal(now[key], before[key]), f"{key} did not train"

    # Unfreezing the last conv block: it trains from now on, block 0 stays frozen.
    model[1].requires_grad_(True)
    train(model, opt)
    after = snapshot(model)
    for key in ("0.0.weight", "0.0.bias"):
        assert np.array_equal(after[key], before[key]), f"frozen {key} changed"
    for key in ("1.0.weight", "1.0.bias"):
        assert not np.array_equal(after[key], now[key]), f"unfrozen {key} did not train"


def test_optimizer_over_trainable_parameters_only():
    mc.manual_seed(0)
    model = small_cnn()
    model[0].requires_grad_(False)
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert len(trainable) == 4
    before = snapshot(model[0])
    opt = optim.Adam(trainable, lr=0.01)
    train(model, opt)
    assert all(np.array_equal(model[0].state_dict()[k], v) for k, v in before.items())
    assert len(opt.state) == 4
