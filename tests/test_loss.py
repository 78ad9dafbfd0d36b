"""Losses: gradient checks, comparison with PyTorch, stability, dtypes, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn
from minicnn.functional import binary_cross_entropy_with_logits, cross_entropy, mse_loss, nll_loss

SETTINGS = settings(max_examples=20)
reductions = st.sampled_from(["mean", "sum", "none"])


@st.composite
def class_cases(draw):
    """logits (N, C) or (N, C, H, W), integer targets, optional class weights, a seed."""
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    spatial = draw(st.sampled_from([(), (2, 3), (1, 1)]))
    rng = np.random.default_rng(draw(st.integers(0, 1000)))
    x = rng.standard_normal((n, c, *spatial)) * 2
    target = rng.integers(0, c, (n, *spatial))
    weight = rng.uniform(0.2, 2.0, c) if draw(st.booleans()) else None
    return x, target, weight, rng


@SETTINGS
@given(class_cases(), reductions, st.sampled_from([0.0, 0.1, 0.5]))
def test_cross_entropy_gradcheck(case, reduction, smoothing):
    x, target, weight, _ = case
    logits = minicnn.tensor(x, requires_grad=True)
    fn = lambda t: cross_entropy(t, target, weight, reduction, smoothing)  # noqa: E731
    assert minicnn.gradcheck(fn, [logits])


@SETTINGS
@given(class_cases(), reductions, st.sampled_from([0.0, 0.2]))
def test_cross_entropy_probability_target_gradcheck(case, reduction, smoothing):
    x, _, weight, rng = case
    probs = np.moveaxis(rng.dirichlet(np.ones(x.shape[1]), size=(x.shape[0], *x.shape[2:])), -1, 1)
    inputs = [minicnn.tensor(x, requires_grad=True), minicnn.tensor(probs, requires_grad=True)]
    fn = lambda t, p: cross_entropy(t, p, weight, reduction, smoothing)  # noqa: E731
    assert minicnn.gradcheck(fn, inputs)


@SETTINGS
@given(class_cases(), reductions)
def test_nll_loss_gradcheck(case, reduction):
    x, target, weight, _ = case
    fn = lambda t: nll_loss(t, target, weight, reduction)  # noqa: E731
    assert minicnn.gradcheck(fn, [minicnn.tensor(x, requires_grad=True)])


@SETTINGS
@given(class_cases(), reductions)
def test_mse_loss_gradcheck(case, reduction):
    x, _, _, rng = case
    inputs = [
        minicnn.tensor(x, requires_grad=True),
        minicnn.tensor(rng.standard_normal(x.shape), requires_grad=True),
    ]
    assert minicnn.gradcheck(lambda a, b: mse_loss(a, b, reduction), inputs)


@SETTINGS
@given(class_cases(), reductions, st.booleans(), st.booleans())
def test_bce_with_logits_gradcheck(case, reduction, use_weight, use_pos_weight):
    x, _, _, rng = case
    y = rng.uniform(0, 1, x.shape)
    weight = rng.uniform(0.5, 2, x.shape[-1]) if use_weight else None
    pos_weight = rng.uniform(0.5, 3, x.shape[-1]) if use_pos_weight else None
    inputs = [minicnn.tensor(x, requires_grad=True), minicnn.tensor(y, requires_grad=True)]
    fn = lambda a, b: binary_cross_entropy_with_logits(a, b, weight, reduction, pos_weight)  # noqa: E731
    assert minicnn.gradcheck(fn, inputs)


def _compare(torch, ours_fn, torch_fn, arrays, grads, seed=0):
    """Values and gradients (of the arrays flagged in ``grads``) of ours vs PyTorch, float64."""
    ours = [
        None if a is None else minicnn.tensor(a, requires_grad=r)
        for a, r in zip(arrays, grads, strict=True)
    ]
    theirs = [
        None if a is None else torch.tensor(a, requires_grad=r)
        for a, r in zip(arrays, grads, strict=True)
    ]
    y, y_t = ours_fn(*ours), torch_fn(*theirs)
    assert y.shape == tuple(y_t.shape)
    close = dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(y.numpy(), y_t.detach().numpy(), **close)
    g = np.random.default_rng(seed).standard_normal(y.shape)
    y.backward(g)
    y_t.backward(torch.tensor(g))
    for a, a_t, r in zip(ours, theirs, grads, strict=True):
        if r:
            np.testing.assert_allclose(a.grad.numpy(), a_t.grad.numpy(), **close)


@given(class_cases(), reductions, st.sampled_from([0.0, 0.1, 0.7]))
def test_cross_entropy_matches_torch(torch, case, reduction, smoothing):
    x, target, weight, _ = case
    _compare(
        torch,
        lambda a, t, w: cross_entropy(a, t, w, reduction, smoothing),
        lambda a, t, w: torch.nn.functional.cross_entropy(
            a, t, w, reduction=reduction, label_smoothing=smoothing
        ),
        [x, target, weight],
        [True, False, False],
    )


@SETTINGS
@given(class_cases(), reductions, st.sampled_from([0.0, 0.3]))
def test_cross_entropy_probability_target_matches_torch(torch, case, reduction, smoothing):
    x, _, weight, rng = case
    probs = np.moveaxis(rng.dirichlet(np.ones(x.shape[1]), size=(x.shape[0], *x.shape[2:])), -1, 1)
    _compare(
        torch,
        lambda a, t, w: cross_entropy(a, t, w, reduction, smoothing),
        lambda a, t, w: torch.nn.functional.cross_entropy(
            a, t, w, reduction=reduction, label_smoothing=smoothing
        ),
        [x, probs, weight],
        [True, True, False],
    )


@SETTINGS
@given(class_cases(), reductions)
def test_nll_loss_matches_torch(torch, case, reduction):
    x, target, weight, _ = case
    _compare(
        torch,
        lambda a, t, w: nll_loss(a, t, w, reduction),
        lambda a, t, w: torch.nn.functional.nll_loss(a, t, w, reduction=reduction),
        [x, target, weight],
        [True, False, False],
    )


@SETTINGS
@given(class_cases(), reductions)
def test_mse_loss_matches_torch(torch, case, reduction):
    x, _, _, rng = case
    _compare(
        torch,
        lambda a, b: mse_loss(a, b, reduction),
        lambda a, b: torch.nn.functional.mse_loss(a, b, reduction=reduction),
        [x, rng.standard_normal(x.shape)],
        [True, True],
    )


@SETTINGS
@given(class_cases(), reductions, st.booleans(), st.booleans())
def test_bce_with_logits_matches_torch(torch, case, reduction, use_weight, use_pos_weight):
    x, _, _, rng = case
    x = x * 10  # also saturated logits
    weight = rng.uniform(0.5, 2, x.shape[-1]) if use_weight else None
    pos_weight = rng.uniform(0.5, 3, x.shape[-1]) if use_pos_weight else None
    _compare(
        torch,
        lambda a, b, w, p: binary_cross_entropy_with_logits(a, b, w, reduction, p),
        lambda a, b, w, p: torch.nn.functional.binary_cross_entropy_with_logits(
            a, b, w, reduction=reduction, pos_weight=p
        ),
        [x, rng.uniform(0, 1, x.shape), weight, pos_weight],
        [True, True, False, False],
    )


def test_cross_entropy_by_hand():
    # weighted mean divides by the summed weights of the targets
    x = np.log(np.array([[1.0, 1.0, 2.0], [1.0, 3.0, 0.0 + 1e-300]]))
    target = np.array([2, 1])
    loss = cross_entropy(x, target, weight=np.array([1.0, 3.0, 1.0]))
    expected = (1 * -math.log(0.5) + 3 * -math.log(0.75)) / (1 + 3)
    assert loss.item() == pytest.approx(expected, rel=1e-14)


def test_cross_entropy_gradient_is_softmax_minus_onehot():
    x = np.random.default_rng(0).standard_normal((3, 4))
    target = np.array([0, 3, 1])
    logits = minicnn.tensor(x, requires_grad=True)
    cross_entropy(logits, target, reduction="sum").backward()
    p = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(logits.grad.numpy(), p - np.eye(4)[target], rtol=1e-14)


def test_stable_for_huge_logits():
    x = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 1000.0]])
    target = np.array([1, 2])
    np.testing.assert_array_equal(
        cross_entropy(x, target, reduction="none").numpy(), [2000.0, math.log(2)]
    )
    np.testing.assert_array_equal(nll_loss(x, target, reduction="none").numpy(), [1000.0, -1000.0])
    y = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.5]])
    bce = binary_cross_entropy_with_logits(x, y, reduction="none").numpy()
    np.testing.assert_allclose(
        bce, [[1000.0, 1000.0, math.log(2)], [1000.0, 1000.0, 500.0]], rtol=1e-15
    )
    for fn in (
        lambda t: cross_entropy(t, target, label_smoothing=0.1),
        lambda t: binary_cross_entropy_with_logits(
            t, y.astype(np.float32), pos_weight=np.full(3, 2.0, np.float32)
        ),
    ):
        t = minicnn.tensor(x.astype(np.float32), requires_grad=True)
        loss = fn(t)
        assert np.isfinite(loss.item())
        loss.backward()
        assert np.isfinite(t.grad.numpy()).all()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_float32_stays_float32(reduction):
    rng = np.random.default_rng(0)
    x32 = rng.standard_normal((2, 3, 2, 2)).astype(np.float32)
    target = rng.integers(0, 3, (2, 2, 2))
    w32 = np.ones(3, np.float32)
    losses = [
        lambda t: cross_entropy(t, target, w32, reduction, 0.1),
        lambda t: nll_loss(t, target, w32, reduction),
        lambda t: mse_loss(t, np.zeros_like(x32), reduction),
        lambda t: binary_cross_entropy_with_logits(t, np.ones_like(x32), None, reduction, w32[:2]),
    ]
    for fn in losses:
        t = minicnn.tensor(x32, requires_grad=True)
        loss = fn(t)
        assert loss.dtype == np.float32
        loss.backward(np.ones(loss.shape, np.float32))
        assert t.grad.dtype == np.float32


def test_errors():
    x = np.zeros((2, 3))
    with pytest.raises(
        IndexError,
        match=r"cross_entropy: target class out of range: expected values in \[0, 2\] for 3 "
        r"classes \(or ignore_index=-100\), got values from 0 to 3",
    ):
        cross_entropy(x, np.array([0, 3]))
    with pytest.raises(
        IndexError, match=r"nll_loss: target class out of range: expected values in \[0, 2\]"
    ):
        nll_loss(x, np.array([-1, 0]))
    with pytest.raises(
        TypeError, match="cross_entropy: expected target of integer class indices, got float64"
    ):
        cross_entropy(x, np.array([0.0, 1.0]))
    with pytest.raises(TypeError, match="nll_loss: expected target of integer class indices"):
        nll_loss(x, np.array([True, False]))
    with pytest.raises(
        ValueError,
        match=r"cross_entropy: expected target of class indices with shape \(2,\) or class "
        r"probabilities with shape \(2, 3\) for input \(2, 3\), got float64 of shape \(3,\)",
    ):
        cross_entropy(x, np.zeros(3))
    with pytest.raises(
        ValueError, match=r"nll_loss: expected target of class indices with shape \(2, 4\)"
    ):
        nll_loss(np.zeros((2, 3, 4)), np.array([0, 1]))
    with pytest.raises(
        ValueError,
        match=r"cross_entropy: expected weight of shape \(3,\) \(one per class\), got \(2,\)",
    ):
        cross_entropy(x, np.array([0, 1]), weight=np.ones(2))
    with pytest.raises(
        ValueError,
        match="cross_entropy: reduction must be one of 'mean', 'sum', 'none', got 'avg'",
    ):
        cross_entropy(x, np.array([0, 1]), reduction="avg")
    with pytest.raises(ValueError, match=r"cross_entropy: expected input of shape \(N, C\)"):
        cross_entropy(np.zeros(3), np.array(1))
    with pytest.raises(
        TypeError, match="cross_entropy: expected a floating-point input, got int64"
    ):
        cross_entropy(np.zeros((2, 3), np.int64), np.array([0, 1]))
    with pytest.raises(
        ValueError, match=r"cross_entropy: label_smoothing must be a probability in \[0, 1\]"
    ):
        cross_entropy(x, np.array([0, 1]), label_smoothing=1.5)
    with pytest.raises(
        ValueError, match=r"mse_loss: expected target of the input's shape \(2, 1\), got \(2,\)"
    ):
        mse_loss(np.zeros((2, 1)), np.zeros(2))
    with pytest.raises(
        ValueError, match=r"binary_cross_entropy_with_logits: expected target of the input's shape"
    ):
        binary_cross_entropy_with_logits(x, np.zeros(3))
    with pytest.raises(
        ValueError, match=r"pos_weight of shape \(2,\) does not broadcast to the input \(2, 3\)"
    ):
        binary_cross_entropy_with_logits(x, x, pos_weight=np.ones(2))
    with pytest.raises(ValueError, match="mse_loss: reduction must be one of"):
        mse_loss(x, x, reduction=None)
