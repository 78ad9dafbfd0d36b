"""batch_norm: gradient checks, comparison with PyTorch (outputs, gradients, running stats)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn
from minicnn.functional import batch_norm

SETTINGS = settings(max_examples=20)


shapes = st.one_of(
    st.tuples(st.integers(2, 5), st.integers(1, 3)),  # (N, C)
    st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)).filter(
        lambda s: s[0] * s[2] * s[3] > 1  # more than one value per channel
    ),
    st.tuples(st.integers(1, 2), st.integers(1, 2), *[st.integers(1, 2)] * 3).filter(
        lambda s: s[0] * s[2] * s[3] * s[4] > 1  # (N, C, D, H, W)
    ),
)


def _params(c: int, rng: np.random.Generator):
    return (
        rng.standard_normal(c),
        rng.standard_normal(c),
        rng.standard_normal(c),
        rng.uniform(0.5, 2, c),
    )


@SETTINGS
@given(shapes, st.booleans(), st.booleans(), st.integers(0, 1000))
def test_batch_norm_gradcheck(shape, training, affine, seed):
    rng = np.random.default_rng(seed)
    weight, bias, mean, var = _params(shape[1], rng)
    x = minicnn.tensor(rng.standard_normal(shape) * 2 + 1, requires_grad=True)
    inputs = [x]
    if affine:
        inputs += [
            minicnn.tensor(weight, requires_grad=True),
            minicnn.tensor(bias, requires_grad=True),
        ]

    def fn(x, weight=None, bias=None):
        # fresh running statistics each call: the forward passes of gradcheck update them
        rm, rv = minicnn.tensor(mean.copy()), minicnn.tensor(var.copy())
        return batch_norm(x, rm, rv, weight, bias, training=training, eps=1e-3)

    assert minicnn.gradcheck(fn, inputs)


@SETTINGS
@given(shapes, st.booleans(), st.booleans(), st.floats(0.0, 1.0), st.integers(0, 1000))
def test_batch_norm_matches_torch(torch, shape, training, affine, momentum, seed):
    rng = np.random.default_rng(seed)
    weight, bias, mean, var = _params(shape[1], rng)
    x = rng.standard_normal(shape) * 3 - 1
    ours = [minicnn.tensor(a, requires_grad=True) for a in (x, weight, bias)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, weight, bias)]
    rm, rv = minicnn.tensor(mean.copy()), minicnn.tensor(var.copy())
    rm_t, rv_t = torch.tensor(mean.copy()), torch.tensor(var.copy())
    w, b = (ours[1], ours[2]) if affine else (None, None)
    w_t, b_t = (theirs[1], theirs[2]) if affine else (None, None)

    y = batch_norm(ours[0], rm, rv, w, b, training, momentum, 1e-5)
    y_t = torch.nn.functional.batch_norm(theirs[0], rm_t, rv_t, w_t, b_t, training, momentum, 1e-5)
    close = dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(y.numpy(), y_t.detach().numpy(), **close)
    np.testing.assert_allclose(rm.numpy(), rm_t.numpy(), **close)
    np.testing.assert_allclose(rv.numpy(), rv_t.numpy(), **close)
    g = rng.standard_normal(shape)
    y.backward(g)
    y_t.backward(torch.tensor(g))
    for a, a_t in zip(ours if affine else ours[:1], theirs, strict=False):
        np.testing.assert_allclose(a.grad.numpy(), a_t.grad.numpy(), **close)


def test_running_stats_update_by_hand():
    x = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 16.0]])  # per channel: mean 3, 12; var(unb) 4, 12
    rm, rv = minicnn.zeros(2, dtype=np.float64), minicnn.ones(2, dtype=np.float64)
    array_before = rm.data
    batch_norm(x, rm, rv, training=True, momentum=0.5)
    np.testing.assert_allclose(rm.numpy(), [1.5, 6.0])
    np.testing.assert_allclose(rv.numpy(), [2.5, 6.5])
    assert rm.data is array_before  # updated in place


def test_eval_uses_running_stats_and_leaves_them_alone():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    rm, rv = minicnn.tensor(np.array([1.0, -1.0])), minicnn.tensor(np.array([4.0, 0.25]))
    y = batch_norm(x, rm, rv, training=False, eps=0.0)
    np.testing.assert_allclose(y.numpy(), [[0.0, 6.0], [1.0, 10.0]])
    np.testing.assert_array_equal(rm.numpy(), [1.0, -1.0])
    np.testing.assert_array_equal(rv.numpy(), [4.0, 0.25])


def test_no_running_stats_uses_batch_stats_even_in_eval(torch):
    x = np.random.default_rng(0).standard_normal((4, 3, 2, 2))
    expected = torch.nn.functional.batch_norm(torch.tensor(x), None, None, training=True)
    for training in (True, False):
        y = batch_norm(x, None, None, training=training)
        np.testing.assert_allclose(y.numpy(), expected.numpy(), rtol=1e-10, atol=1e-12)


def test_normalised_output_has_zero_mean_unit_variance():
    x = np.random.default_rng(0).standard_normal((8, 3, 4, 4)) * 5 + 2
    y = batch_norm(x, None, None, training=True, eps=0.0).numpy()
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, rtol=1e-12)


@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 4, 5), (2, 3, 2, 2, 2)])
@pytest.mark.parametrize("training", [True, False])
def test_float32_stays_float32(shape, training):
    x = minicnn.randn(*shape, requires_grad=True)
    w, b = minicnn.ones(3, requires_grad=True), minicnn.zeros(3, requires_grad=True)
    rm, rv = minicnn.zeros(3), minicnn.ones(3)
    y = batch_norm(x, rm, rv, w, b, training=training)
    assert y.dtype == np.float32
    assert rm.dtype == np.float32 and rv.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == w.grad.dtype == b.grad.dtype == np.float32


def test_errors():
    with pytest.raises(
        ValueError, match="batch_norm: Expected more than 1 value per channel when training"
    ):
        batch_norm(minicnn.zeros(1, 3), minicnn.zeros(3), minicnn.ones(3), training=True)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        batch_norm(np.zeros((1, 3, 1, 1)), None, None, training=False)
    batch_norm(minicnn.zeros(1, 3), minicnn.zeros(3), minicnn.ones(3), training=False)  # eval
    with pytest.raises(
        ValueError,
        match=r"batch_norm: expected weight of shape \(3,\) for an input with 3 channels, got \(4,\)",
    ):
        batch_norm(np.zeros((2, 3)), None, None, weight=np.ones(4), training=True)
    with pytest.raises(ValueError, match=r"expected running_var of shape \(3,\)"):
        batch_norm(np.zeros((2, 3)), minicnn.zeros(3), minicnn.ones(2))
    with pytest.raises(ValueError, match="give both running_mean and running_var"):
        batch_norm(np.zeros((2, 3)), minicnn.zeros(3), None)
    with pytest.raises(ValueError, match=r"batch_norm: expected an input of shape \(N, C, \*\)"):
        batch_norm(np.zeros(3), None, None, training=True)
    with pytest.raises(
        TypeError,
        match="batch_norm: input, weight, bias, running_mean and running_var must have the same "
        "dtype, got float64 input, float32 running_mean, float32 running_var",
    ):
        batch_norm(np.zeros((2, 3)), minicnn.zeros(3), minicnn.ones(3))
    with pytest.raises(
        TypeError, match="batch_norm: running_var must be a Tensor .updated in place. or None"
    ):
        batch_norm(np.zeros((2, 3)), minicnn.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match="batch_norm: eps must be a non-negative number, got -1"):
        batch_norm(np.zeros((2, 3)), None, None, training=True, eps=-1)
    with pytest.raises(TypeError, match="batch_norm: momentum must be a real number, got 'a'"):
        batch_norm(np.zeros((2, 3)), None, None, training=True, momentum="a")
