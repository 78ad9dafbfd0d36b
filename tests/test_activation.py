"""Activations: gradient checks, comparison with PyTorch, erf accuracy, stability, dtypes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minicnn
from minicnn import functional as F
from minicnn.ops import activation as A

SETTINGS = settings(max_examples=20)


small_shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)


@st.composite
def away_from_kink(draw):
    """float64 arrays with |x| > 1e-3: finite differences (eps 1e-6) never straddle 0."""
    shape = draw(small_shapes)
    x = draw(hnp.arrays(np.float64, shape, elements=st.floats(1e-3, 5)))
    signs = draw(hnp.arrays(np.bool_, shape))
    return np.where(signs, x, -x)


smooth_values = hnp.arrays(np.float64, small_shapes, elements=st.floats(-6, 6))

PIECEWISE = {
    "relu": F.relu,
    "leaky_relu": lambda t: F.leaky_relu(t, 0.2),
    "elu": lambda t: F.elu(t, 1.5),
}
SMOOTH = {
    "gelu": F.gelu,
    "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"),
    "sigmoid": F.sigmoid,
    "tanh": F.tanh,
}


@pytest.mark.parametrize("name", PIECEWISE)
@SETTINGS
@given(x=away_from_kink())
def test_piecewise_gradcheck(name, x):
    assert minicnn.gradcheck(PIECEWISE[name], [minicnn.tensor(x, requires_grad=True)])


@pytest.mark.parametrize("name", SMOOTH)
@SETTINGS
@given(x=smooth_values)
def test_smooth_gradcheck(name, x):
    assert minicnn.gradcheck(SMOOTH[name], [minicnn.tensor(x, requires_grad=True)])


@pytest.mark.parametrize("fn", [F.softmax, F.log_softmax])
@SETTINGS
@given(data=st.data())
def test_softmax_gradcheck(fn, data):
    x = data.draw(hnp.arrays(np.float64, small_shapes, elements=st.floats(-5, 5)))
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    assert minicnn.gradcheck(lambda t: fn(t, dim), [minicnn.tensor(x, requires_grad=True)])


def _torch_fns(torch):
    F = torch.nn.functional
    return {
        "relu": F.relu,
        "leaky_relu": lambda t: F.leaky_relu(t, 0.2),
        "elu": lambda t: F.elu(t, 1.5),
        "gelu": F.gelu,
        "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"),
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "softmax": lambda t: F.softmax(t, dim=1),
        "log_softmax": lambda t: F.log_softmax(t, dim=1),
        "softmax0": lambda t: F.softmax(t, dim=0),
    }


OURS = {
    **PIECEWISE,
    **SMOOTH,
    "softmax": lambda t: F.softmax(t, dim=1),
    "log_softmax": lambda t: F.log_softmax(t, dim=1),
    "softmax0": lambda t: F.softmax(t, dim=0),
}


@pytest.mark.parametrize("name", OURS)
def test_matches_torch_float64(torch, name):
    """Values and gradients on a wide range, including exact zeros (the kinks)."""
    rng = np.random.default_rng(0)
    x = np.concatenate([np.linspace(-30, 30, 241), rng.standard_normal(59), [0.0, 0.0, -0.0]])
    x = x.reshape(3, 101)
    ours, theirs = minicnn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, y_t = OURS[name](ours), _torch_fns(torch)[name](theirs)
    np.testing.assert_allclose(y.numpy(), y_t.detach().numpy(), rtol=1e-12, atol=1e-14)
    g = rng.standard_normal(x.shape)
    y.backward(g)
    y_t.backward(torch.tensor(g))
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", OURS)
def test_float32_stays_float32(name):
    x = np.random.default_rng(1).standard_normal((4, 7)).astype(np.float32) * 4
    ours = minicnn.tensor(x, requires_grad=True)
    y = OURS[name](ours)
    assert y.dtype == np.float32
    y.sum().backward()
    assert ours.grad.dtype == np.float32


@pytest.mark.parametrize("name", OURS)
def test_matches_torch_float32(torch, name):
    x = np.random.default_rng(1).standard_normal((4, 7)).astype(np.float32) * 4
    ours, theirs = minicnn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, y_t = OURS[name](ours), _torch_fns(torch)[name](theirs)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), y_t.detach().numpy(), rtol=1e-5, atol=1e-6)
    y.sum().backward()
    y_t.sum().backward()
    assert ours.grad.dtype == np.float32
    # atol 1e-5: gradients are O(1), and gelu-tanh's (1 + t) cancels near t = -1 in float32
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_gradients_at_zero_follow_torch():
    x = minicnn.tensor(np.zeros(1), requires_grad=True)
    F.relu(x).backward(np.ones(1))
    assert x.grad.item() == 0.0
    x.grad = None
    F.leaky_relu(x, 0.1).backward(np.ones(1))
    assert x.grad.item() == pytest.approx(0.1)
    x.grad = None
    F.elu(x, 2.0).backward(np.ones(1))
    assert x.grad.item() == 2.0


def test_erf_accuracy():
    """Against math.erf / math.erfc (correctly rounded to ~1 ulp) on a grid covering all three
    ranges of the approximation and both tails."""
    x = np.concatenate([np.linspace(-27, 27, 5401), [0.0, 1e-300, -1e-20, 0.5, -0.5, 4.0, -4.0]])
    erf_ref = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(A.erf(x), erf_ref, rtol=2e-15, atol=1e-300)
    erfc_ref = np.array([math.erfc(v) for v in x])
    np.testing.assert_allclose(A.erfc(x), erfc_ref, rtol=2e-14, atol=1e-300)
    assert A.erf(np.array([np.inf, -np.inf])).tolist() == [1.0, -1.0]
    assert A.erfc(np.array([np.inf, -np.inf, 40.0])).tolist() == [0.0, 2.0, 0.0]
    assert A.erf(x.astype(np.float32)).dtype == np.float32


def test_stable_for_huge_logits():
    x = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -1000.0]])
    np.testing.assert_array_equal(F.softmax(x).numpy(), [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]])
    np.testing.assert_allclose(
        F.log_softmax(x).numpy(), [[0, -2000, -1000], [-math.log(3)] * 3], rtol=1e-15
    )
    np.testing.assert_array_equal(F.sigmoid(x[0]).numpy(), [1.0, 0.0, 0.5])
    assert F.sigmoid(np.array([-700.0])).item() == pytest.approx(math.exp(-700), rel=1e-14)
    np.testing.assert_array_equal(F.gelu(x[0]).numpy(), [1000.0, -0.0, 0.0])
    np.testing.assert_array_equal(F.gelu(x[0], "tanh").numpy(), [1000.0, -0.0, 0.0])
    np.testing.assert_array_equal(F.elu(x[0]).numpy(), [1000.0, -1.0, 0.0])
    for fn in (F.softmax, F.log_softmax, F.sigmoid, F.gelu, F.elu):
        t = minicnn.tensor(x.astype(np.float32), requires_grad=True)
        fn(t).sum().backward()
        assert np.isfinite(t.grad.numpy()).all()


def test_errors():
    with pytest.raises(
        ValueError, match="gelu: approximate must be one of 'none', 'tanh', got 'erf'"
    ):
        F.gelu(np.zeros(2), approximate="erf")
    with pytest.raises(TypeError, match="leaky_relu: negative_slope must be a real number"):
        F.leaky_relu(np.zeros(2), "0.1")
    with pytest.raises(TypeError, match="elu: alpha must be a real number, got None"):
        F.elu(np.zeros(2), None)
    with pytest.raises(TypeError, match="softmax: dim must be an int, got 1.0"):
        F.softmax(np.zeros((2, 2)), dim=1.0)
    with pytest.raises(IndexError, match="softmax: dim 2 is out of range for a tensor with 2 dims"):
        F.softmax(np.zeros((2, 2)), dim=2)
    with pytest.raises(IndexError, match="log_softmax: dim -3 is out of range"):
        F.log_softmax(np.zeros((2, 2)), dim=-3)
