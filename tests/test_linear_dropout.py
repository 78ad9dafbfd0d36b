"""linear and dropout: gradient checks, PyTorch comparison, dropout statistics, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn
from minicnn.functional import dropout, linear

SETTINGS = settings(max_examples=20)


@st.composite
def linear_cases(draw):
    """x (..., in) with 0 to 2 leading dims, W (out, in), optional b (out,)."""
    lead = draw(st.lists(st.integers(1, 3), max_size=2))
    n_in, n_out = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 1000)))
    bias = rng.standard_normal(n_out) if draw(st.booleans()) else None
    return rng.standard_normal((*lead, n_in)), rng.standard_normal((n_out, n_in)), bias


@SETTINGS
@given(linear_cases())
def test_linear_gradcheck(case):
    x, w, b = (None if a is None else minicnn.tensor(a, requires_grad=True) for a in case)
    inputs = [x, w] if b is None else [x, w, b]
    assert minicnn.gradcheck(lambda *t: linear(*t), inputs)


@SETTINGS
@given(linear_cases())
def test_linear_matches_torch(torch, case):
    ours = [None if a is None else minicnn.tensor(a, requires_grad=True) for a in case]
    theirs = [None if a is None else torch.tensor(a, requires_grad=True) for a in case]
    y, y_t = linear(*ours), torch.nn.functional.linear(*theirs)
    assert y.shape == tuple(y_t.shape)
    np.testing.assert_allclose(y.numpy(), y_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = np.random.default_rng(0).standard_normal(y.shape)
    y.backward(g)
    y_t.backward(torch.tensor(g))
    for a, a_t in zip(ours, theirs, strict=True):
        if a is not None:
            np.testing.assert_allclose(a.grad.numpy(), a_t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_linear_float32_and_by_hand():
    x = minicnn.tensor([[1.0, 2.0]], requires_grad=True)
    w = minicnn.tensor([[1.0, 0.0], [0.5, -1.0], [0.0, 3.0]], requires_grad=True)
    b = minicnn.tensor([0.0, 1.0, -1.0], requires_grad=True)
    y = linear(x, w, b)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y.numpy(), [[1.0, -0.5, 5.0]])
    y.sum().backward()
    assert x.grad.dtype == w.grad.dtype == b.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), [[1.5, 2.0]])
    np.testing.assert_array_equal(w.grad.numpy(), [[1.0, 2.0]] * 3)
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0, 1.0])


def test_linear_errors():
    with pytest.raises(
        ValueError,
        match=r"linear: expected input of shape \(\.\.\., 3\) to match weight \(2, 3\), got \(4, 2\)",
    ):
        linear(np.zeros((4, 2)), np.zeros((2, 3)))
    with pytest.raises(
        ValueError, match=r"linear: expected bias of shape \(2,\) for weight \(2, 3\), got \(3,\)"
    ):
        linear(np.zeros((4, 3)), np.zeros((2, 3)), np.zeros(3))
    with pytest.raises(
        ValueError, match=r"linear: expected weight of shape \(out, in\), got \(3,\)"
    ):
        linear(np.zeros((4, 3)), np.zeros(3))


# --- dropout -----------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_statistics(p):
    minicnn.manual_seed(0)
    x = minicnn.ones(200_000, dtype=np.float64)
    y = dropout(x, p).numpy()
    kept = y != 0
    # 200k Bernoulli draws: the standard deviation of the kept fraction is < 1.2e-3
    assert abs(kept.mean() - (1 - p)) < 5e-3
    np.testing.assert_allclose(y[kept], 1 / (1 - p), rtol=1e-15)
    assert abs(y.mean() - 1.0) < 0.02  # inverted dropout preserves the mean


def test_dropout_gradient_is_mask_times_scale():
    minicnn.manual_seed(3)
    x = minicnn.tensor(np.random.default_rng(0).standard_normal((50, 40)) + 5, requires_grad=True)
    y = dropout(x, 0.3)
    g = np.random.default_rng(1).standard_normal(y.shape)
    y.backward(g)
    mask = (y.numpy() != 0) / 0.7
    np.testing.assert_allclose(y.numpy(), x.numpy() * mask, rtol=1e-15)
    np.testing.assert_allclose(x.grad.numpy(), g * mask, rtol=1e-15)


def test_dropout_gradcheck_with_fixed_seed():
    x = minicnn.tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)

    def fn(t):
        minicnn.manual_seed(7)  # the same mask on every call
        return dropout(t, 0.4)

    assert minicnn.gradcheck(fn, [x])


def test_dropout_same_seed_same_mask():
    x = minicnn.ones(1000)
    minicnn.manual_seed(42)
    first, second = dropout(x, 0.5).numpy(), dropout(x, 0.5).numpy()
    minicnn.manual_seed(42)
    again = dropout(x, 0.5).numpy()
    np.testing.assert_array_equal(first, again)
    assert (first != second).any()  # the generator moves on between calls


def test_dropout_eval_p0_p1():
    x = minicnn.randn(4, 5, requires_grad=True)
    assert dropout(x, 0.5, training=False) is x
    assert dropout(x, 0.0) is x
    y = dropout(x, 1.0)
    np.testing.assert_array_equal(y.numpy(), np.zeros((4, 5)))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((4, 5)))


def test_dropout_float32_stays_float32():
    x = minicnn.randn(10, 10, requires_grad=True)
    y = dropout(x, np.float64(0.25))  # a NumPy float p must not promote
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_errors(p):
    with pytest.raises(ValueError, match=rf"dropout: p must be a probability in \[0, 1\], got {p}"):
        dropout(minicnn.ones(3), p)
