"""silu, relu6, hardswish, softplus, mish and their layers: float64 gradient checks and
comparisons with PyTorch over hypothesis-generated inputs, stability for huge inputs, dtypes,
argument errors; one tanh for minicnn.tanh, F.tanh, Tensor.tanh and nn.Tanh."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minicnn
from minicnn import functional as F
from minicnn import nn
from minicnn.testing import check_layer

SETTINGS = settings(max_examples=20)

shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)

# name -> (minicnn function, PyTorch's name, the kinks where the derivative jumps)
OPS = {
    "silu": (F.silu, "silu", ()),
    "relu6": (F.relu6, "relu6", (0.0, 6.0)),
    "hardswish": (F.hardswish, "hardswish", (-3.0, 3.0)),
    "mish": (F.mish, "mish", ()),
}

softplus_settings = st.tuples(
    st.sampled_from([1.0, 0.5, 2.0, 3.0, -1.0, -2.5]), st.sampled_from([20.0, 1.0, 0.0, -2.0])
)


@st.composite
def away_from(draw, kinks, low=-10.0, high=10.0, gap=1e-3):
    """float64 arrays on [low, high], each element at least ``gap`` from every kink, so that
    finite differences (eps 1e-6) never straddle one."""
    x = draw(hnp.arrays(np.float64, draw(shapes), elements=st.floats(low, high)))
    for kink in kinks:
        near = np.abs(x - kink) < gap
        x = np.where(near, kink + np.where(x >= kink, gap, -gap), x)
    return x


@st.composite
def with_kinks(draw, kinks, low=-40.0, high=40.0):
    """float64 arrays on [low, high] that may hold the kinks themselves and exact zeros."""
    special = [0.0, -0.0, *kinks]
    elements = st.floats(low, high) | st.sampled_from(special)
    return draw(hnp.arrays(np.float64, draw(shapes), elements=elements))


def _compare(torch, ours_fn, torch_fn, x, rtol=1e-12, atol=1e-14):
    ours, theirs = minicnn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, y_t = ours_fn(ours), torch_fn(theirs)
    assert y.dtype == x.dtype
    np.testing.assert_allclose(y.numpy(), y_t.detach().numpy(), rtol=rtol, atol=atol)
    g = np.random.default_rng(0).standard_normal(x.shape).astype(x.dtype)
    y.backward(g)
    y_t.backward(torch.tensor(g))
    assert ours.grad.dtype == x.dtype
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=rtol, atol=atol)


# --- gradient checks -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", OPS)
@SETTINGS
@given(data=st.data())
def test_gradcheck(name, data):
    fn, _, kinks = OPS[name]
    x = data.draw(away_from(kinks))
    assert minicnn.gradcheck(fn, [minicnn.tensor(x, requires_grad=True)])


@SETTINGS
@given(softplus_settings, st.data())
def test_softplus_gradcheck(settings_, data):
    beta, threshold = settings_
    # away from the switch to the identity at beta * x = threshold, where y jumps a little
    x = data.draw(away_from([threshold / beta], low=-30, high=30))
    fn = lambda t: F.softplus(t, beta, threshold)  # noqa: E731
    assert minicnn.gradcheck(fn, [minicnn.tensor(x, requires_grad=True)])


# --- against PyTorch -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", OPS)
@SETTINGS
@given(data=st.data())
def test_matches_torch_float64(torch, name, data):
    """Values and gradients on a wide range, including the kinks themselves."""
    fn, torch_name, kinks = OPS[name]
    _compare(torch, fn, getattr(torch.nn.functional, torch_name), data.draw(with_kinks(kinks)))


@SETTINGS
@given(softplus_settings, st.data())
def test_softplus_matches_torch_float64(torch, settings_, data):
    beta, threshold = settings_
    x = data.draw(with_kinks([threshold / beta]))
    _compare(
        torch,
        lambda t: F.softplus(t, beta, threshold),
        lambda t: torch.nn.functional.softplus(t, beta, threshold),
        x,
    )


@pytest.mark.parametrize("name", [*OPS, "softplus"])
def test_matches_torch_float32(torch, name):
    x = (np.random.default_rng(1).standard_normal((4, 25)) * 6).astype(np.float32)
    x[0, :6] = [0, -3, 3, 6, 20, -20]
    if name == "softplus":
        fn, torch_fn = (
            lambda t: F.softplus(t, 2.0, 5.0),
            lambda t: torch.nn.functional.softplus(t, 2.0, 5.0),
        )
    else:
        fn, torch_fn = OPS[name][0], getattr(torch.nn.functional, OPS[name][1])
    _compare(torch, fn, torch_fn, x, rtol=1e-5, atol=1e-6)


HUGE = [-3e38, -1e30, -1e4, -100.0, -88.8, -20.0, 20.0, 88.8, 100.0, 1e4, 1e30, 3e38]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", [*OPS, "softplus", "softplus_beta"])
def test_huge_inputs_do_not_overflow(torch, name, dtype):
    """No overflow warnings (errors here) and PyTorch's finite values and gradients."""
    x = np.array(HUGE + [-v for v in (1e-30, 1e-45)], dtype=dtype)
    if name == "softplus_beta":
        fn = lambda t: F.softplus(t, 3.0, 30.0)  # noqa: E731
        torch_fn = lambda t: torch.nn.functional.softplus(t, 3.0, 30.0)  # noqa: E731
    elif name == "softplus":
        fn, torch_fn = F.softplus, torch.nn.functional.softplus
    else:
        fn, torch_fn = OPS[name][0], getattr(torch.nn.functional, OPS[name][1])
    ours, theirs = minicnn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = fn(ours)
        y.backward(np.ones_like(x))
    y_t = torch_fn(theirs)
    y_t.backward(torch.ones_like(y_t))
    assert y.dtype == ours.grad.dtype == dtype
    assert np.isfinite(y.numpy()).all() and np.isfinite(ours.grad.numpy()).all()
    # PyTorch's hardswish overflows to inf at 3e38 in float32 (x * 6 / 6): compare elsewhere
    finite = np.isfinite(y_t.detach().numpy())
    assert finite.sum() >= len(x) - 1
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    close = dict(rtol=rtol, atol=1e-14)
    np.testing.assert_allclose(y.numpy()[finite], y_t.detach().numpy()[finite], **close)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), **close)


def test_values_by_hand():
    x = np.array([-4.0, -3.0, -1.0, 0.0, 1.0, 3.0, 6.0, 7.0])
    np.testing.assert_allclose(F.relu6(x).numpy(), [0, 0, 0, 0, 1, 3, 6, 6])
    np.testing.assert_allclose(
        F.hardswish(x).numpy(), [0, 0, -1 * 2 / 6, 0, 1 * 4 / 6, 3, 6, 7], atol=1e-15
    )
    np.testing.assert_allclose(F.silu(x).numpy(), x / (1 + np.exp(-x)), rtol=1e-15)
    np.testing.assert_allclose(F.softplus(x).numpy(), np.log1p(np.exp(x)), rtol=1e-15)
    mish = x * np.tanh(np.log1p(np.exp(x)))
    np.testing.assert_allclose(F.mish(x).numpy(), mish, rtol=1e-14, atol=1e-300)
    # linear above the threshold: beta * x = 6 > 5
    assert F.softplus(np.array([3.0]), beta=2, threshold=5).item() == 3.0


# --- layers ----------------------------------------------------------------------------------------

LAYERS = [
    ("SiLU", {}, ()),
    ("ReLU6", {}, (0.0, 6.0)),
    ("Hardswish", {}, (-3.0, 3.0)),
    ("Mish", {}, ()),
    ("Softplus", {}, (20.0,)),
    ("Softplus", {"beta": 2, "threshold": 3.0}, (1.5,)),
]


@pytest.mark.parametrize("name, kwargs, kinks", LAYERS)
@SETTINGS
@given(data=st.data())
def test_layer_gradcheck_and_float32(name, kwargs, kinks, data):
    layer = getattr(nn, name)(**kwargs)
    if kinks:
        x = data.draw(away_from(kinks))
        assert minicnn.gradcheck(layer, [minicnn.tensor(x, requires_grad=True)])
    else:
        check_layer(layer, data.draw(shapes), seed=data.draw(st.integers(0, 2**16)))
    assert layer(minicnn.randn(2, 3)).dtype == np.float32


@pytest.mark.parametrize("name, kwargs, kinks", LAYERS)
@SETTINGS
@given(data=st.data())
def test_layer_matches_torch(torch, name, kwargs, kinks, data):
    ours, theirs = getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == []
    _compare(torch, ours, theirs, data.draw(with_kinks(kinks)))


# --- one tanh ----------------------------------------------------------------------------------------


def test_one_tanh():
    assert F.tanh is minicnn.tanh
    assert not hasattr(minicnn, "sigmoid") or minicnn.sigmoid is F.sigmoid
    x = minicnn.tensor(np.linspace(-5, 5, 11), requires_grad=True)
    y = minicnn.tanh(x)
    np.testing.assert_array_equal(y.numpy(), np.tanh(x.numpy()))
    np.testing.assert_array_equal(x.tanh().numpy(), y.numpy())
    np.testing.assert_array_equal(nn.Tanh()(x).numpy(), y.numpy())
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 1 - np.tanh(x.numpy()) ** 2, rtol=1e-15)


# --- errors ------------------------------------------------------------------------------------------


def raises(error, message):
    return pytest.raises(error, match=re.escape(message))


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: F.softplus(np.zeros(2), beta=0), ValueError, "softplus: beta must be non-zero"),
        (
            lambda: F.softplus(np.zeros(2), beta="1"),
            TypeError,
            "softplus: beta must be a real number, got '1'",
        ),
        (
            lambda: F.softplus(np.zeros(2), threshold=None),
            TypeError,
            "softplus: threshold must be a real number, got None",
        ),
        (lambda: nn.Softplus(beta=0.0), ValueError, "Softplus: beta must be non-zero, got 0.0"),
        (lambda: nn.Softplus(threshold=True), TypeError, "Softplus: threshold must be a real"),
        (lambda: nn.LeakyReLU("0.1"), TypeError, "LeakyReLU: negative_slope must be a real"),
        (lambda: nn.ELU(None), TypeError, "ELU: alpha must be a real number, got None"),
        (lambda: nn.Softmax(dim=1.5), TypeError, "Softmax: dim must be an int, got 1.5"),
        (
            lambda: nn.LogSoftmax(dim=2)(minicnn.zeros(2, 2)),
            IndexError,
            "log_softmax: dim 2 is out of range for a tensor with 2 dims",
        ),
    ],
)
def test_errors(call, error, message):
    with raises(error, message):
        call()
