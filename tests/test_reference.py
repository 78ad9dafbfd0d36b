"""The fast ops (``minicnn.functional``) against the plain loops of ``minicnn.ops.reference``.

Three kinds of test: every fast op's forward and gradients (from ``.backward()`` with a random
upstream gradient) equal the reference's to rounding, in float64; every reference backward
agrees with finite differences of its forward; and a few answers worked out by hand pin the
references' forwards down. No PyTorch needed.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
import minicnn.functional as F
from minicnn.ops import reference as R
from minicnn.testing import conv2d_configs, conv_transpose2d_configs, pool2d_configs

SEEDS = st.integers(0, 2**32 - 1)
FEW = settings(max_examples=10, deadline=None)  # finite differences: two forwards per element


def _close(actual, desired, what: str = "") -> None:
    np.testing.assert_allclose(actual, desired, rtol=1e-10, atol=1e-12, err_msg=what)


def _fast(op, arrays, rng, grads=None):
    """Run ``op`` on float64 Tensors of ``arrays``, then backward a random upstream gradient.

    ``grads`` (default: all) says which arrays require grad. Returns the output, the
    upstream gradient and the gradients of the arrays that require grad.
    """
    grads = [True] * len(arrays) if grads is None else grads
    tensors = [
        None if a is None else mc.tensor(a, requires_grad=r)
        for a, r in zip(arrays, grads, strict=True)
    ]
    y = op(*tensors)
    upstream = rng.standard_normal(y.shape)
    y.backward(upstream)
    wanted = [t.grad.data for t, r in zip(tensors, grads, strict=True) if t is not None and r]
    return y.data, upstream, wanted


def _compare(fast, reference, names) -> None:
    """Outputs and gradients of the fast op and of the reference, pair by pair."""
    for got, want, name in zip(fast, reference, names[: len(fast)], strict=True):
        assert got.shape == want.shape, f"{name}: shape {got.shape}, reference {want.shape}"
        _close(got, want, name)


def _geometry(config, transposed=False):
    kwargs = dict(stride=config.stride, padding=config.padding, dilation=config.dilation)
    if transposed:
        kwargs["output_padding"] = config.output_padding
    return dict(kwargs, groups=config.groups)


def _pool_input(config, rng, ties):
    """Standard normal values, or with ``ties`` small integers: windows with several maxima."""
    if ties:
        return rng.integers(-2, 3, config.input_shape).astype(np.float64)
    return rng.standard_normal(config.input_shape)


def _distinct(shape, rng):
    """Values 0.1 apart (a shuffled ramp): each window has one maximum, even after +-eps."""
    return rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1 - 1.0


# --- the fast ops equal the references -------------------------------------------------------


@given(conv2d_configs(), st.booleans(), SEEDS)
def test_conv2d_matches_reference(config, bias, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(config.input_shape)
    w = rng.standard_normal(
        (config.out_channels, config.in_channels // config.groups, *config.kernel_size)
    )
    b = rng.standard_normal(config.out_channels) if bias else None
    geometry = _geometry(config)
    y, g, grads = _fast(lambda *t: F.conv2d(*t, **geometry), [x, w, b], rng)
    dx, dw, db = R.conv2d_backward(x, w, g, **geometry)
    reference = [R.conv2d_forward(x, w, b, **geometry), dx, dw, db][: len(grads) + 1]
    _compare([y, *grads], reference, ["y", "dx", "dw", "db"])


@given(conv_transpose2d_configs(), st.booleans(), SEEDS)
def test_conv_transpose2d_matches_reference(config, bias, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(config.input_shape)
    w = rng.standard_normal(
        (config.in_channels, config.out_channels // config.groups, *config.kernel_size)
    )
    b = rng.standard_normal(config.out_channels) if bias else None
    geometry = _geometry(config, transposed=True)
    y, g, grads = _fast(lambda *t: F.conv_transpose2d(*t, **geometry), [x, w, b], rng)
    assert y.shape == config.output_shape
    del geometry["output_padding"]  # the backward reads the output size from g
    dx, dw, db = R.conv_transpose2d_backward(x, w, g, **geometry)
    forward = R.conv_transpose2d_forward(x, w, b, output_padding=config.output_padding, **geometry)
    _compare([y, *grads], [forward, dx, dw, db][: len(grads) + 1], ["y", "dx", "dw", "db"])


@given(pool2d_configs(), st.booleans(), SEEDS)
def test_max_pool2d_matches_reference(config, ties, seed):
    rng = np.random.default_rng(seed)
    x = _pool_input(config, rng, ties)
    window = config.kwargs()
    y, g, (dx,) = _fast(lambda t: F.max_pool2d(t, **window), [x], rng)
    window = {"kernel": window.pop("kernel_size"), **window}
    reference = [R.max_pool2d_forward(x, **window), R.max_pool2d_backward(x, g, **window)]
    _compare([y, dx], reference, ["y", "dx"])


@given(pool2d_configs(), st.booleans(), SEEDS)
def test_avg_pool2d_matches_reference(config, count_include_pad, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(config.input_shape)
    window = dict(config.kwargs(), count_include_pad=count_include_pad)
    y, g, (dx,) = _fast(lambda t: F.avg_pool2d(t, **window), [x], rng)
    window = {"kernel": window.pop("kernel_size"), **window}
    reference = [R.avg_pool2d_forward(x, **window), R.avg_pool2d_backward(x, g, **window)]
    _compare([y, dx], reference, ["y", "dx"])


@st.composite
def batch_norm_shapes(draw):
    """(N, C) or (N, C, H, W) with at least two values per channel."""
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    spatial = draw(st.sampled_from([(), (1, 2), (2, 3), (3, 3)]))
    if n * int(np.prod(spatial)) < 2:
        n = 2
    return (n, c, *spatial)


@given(batch_norm_shapes(), st.sampled_from([1e-5, 0.1]), SEEDS)
def test_batch_norm_matches_reference(shape, eps, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 3 + 1
    gamma, beta = rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
    y, g, grads = _fast(
        lambda *t: F.batch_norm(t[0], None, None, t[1], t[2], training=True, eps=eps),
        [x, gamma, beta],
        rng,
    )
    reference = [
        R.batch_norm_forward(x, gamma, beta, eps),
        *R.batch_norm_backward(x, gamma, g, eps),
    ]
    _compare([y, *grads], reference, ["y", "dx", "dgamma", "dbeta"])


@given(st.integers(1, 5), st.integers(1, 6), st.sampled_from([1.0, 30.0]), SEEDS)
def test_cross_entropy_matches_reference(n, classes, scale, seed):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((n, classes)) * scale  # * 30: softmax needs its shift
    target = rng.integers(0, classes, n)
    y, g, (dlogits,) = _fast(F.cross_entropy, [logits, target], rng, grads=[True, False])
    reference = [
        np.asarray(R.cross_entropy_forward(logits, target)),
        R.cross_entropy_backward(logits, target, g),
    ]
    _compare([y, dlogits], reference, ["loss", "dlogits"])


@given(st.lists(st.floats(-40, 40), min_size=1, max_size=30), SEEDS)
def test_gelu_matches_reference(values, seed):
    """Float64 takes Cody's erfc block by block, its ranges picked by masks (see GELU)."""
    x = np.array(values)
    y, g, (dx,) = _fast(F.gelu, [x], np.random.default_rng(seed))
    _compare([y, dx], [R.gelu_forward(x), R.gelu_backward(x, g)], ["y", "dx"])


# --- the reference backwards agree with finite differences -----------------------------------


class _Reference(mc.Function):
    """A reference forward/backward pair as an autograd op, for ``mc.gradcheck``."""

    def __init__(self, forward, backward):
        self.forward_fn, self.backward_fn = forward, backward

    def forward(self, *arrays):
        self.arrays = arrays
        return np.asarray(self.forward_fn(*arrays))

    def backward(self, g):
        return self.backward_fn(*self.arrays, g)


def _gradcheck(forward, backward, arrays, grads=None):
    grads = [True] * len(arrays) if grads is None else grads
    tensors = [mc.tensor(a, requires_grad=r) for a, r in zip(arrays, grads, strict=True)]
    op = lambda *t: _Reference(forward, backward)(*t)  # noqa: E731
    assert mc.gradcheck(op, tensors, atol=1e-7, rtol=1e-6)


SMALL_CONV = dict(max_batch=1, max_channels_per_group=2, max_extra_size=2)


@FEW
@given(conv2d_configs(**SMALL_CONV), SEEDS)
def test_conv2d_reference_gradcheck(config, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(config.input_shape)
    w = rng.standard_normal(
        (config.out_channels, config.in_channels // config.groups, *config.kernel_size)
    )
    b = rng.standard_normal(config.out_channels)
    geo = _geometry(config)
    _gradcheck(
        lambda x, w, b: R.conv2d_forward(x, w, b, **geo),
        lambda x, w, b, g: R.conv2d_backward(x, w, g, **geo),
        [x, w, b],
    )


@FEW
@given(conv_transpose2d_configs(**SMALL_CONV), SEEDS)
def test_conv_transpose2d_reference_gradcheck(config, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(config.input_shape)
    w = rng.standard_normal(
        (config.in_channels, config.out_channels // config.groups, *config.kernel_size)
    )
    b = rng.standard_normal(config.out_channels)
    geo = _geometry(config, transposed=True)
    extra = geo.pop("output_padding")
    _gradcheck(
        lambda x, w, b: R.conv_transpose2d_forward(x, w, b, output_padding=extra, **geo),
        lambda x, w, b, g: R.conv_transpose2d_backward(x, w, g, **geo),
        [x, w, b],
    )


@FEW
@given(pool2d_configs(), st.booleans(), SEEDS)
def test_pool2d_reference_gradcheck(config, count_include_pad, seed):
    x = _distinct(config.input_shape, np.random.default_rng(seed))
    window = dict(kernel=config.kernel_size, stride=config.stride, padding=config.padding)
    _gradcheck(
        lambda x: R.max_pool2d_forward(x, **window),
        lambda x, g: R.max_pool2d_backward(x, g, **window),
        [x],
    )
    window["count_include_pad"] = count_include_pad
    _gradcheck(
        lambda x: R.avg_pool2d_forward(x, **window),
        lambda x, g: R.avg_pool2d_backward(x, g, **window),
        [x],
    )


@FEW
@given(batch_norm_shapes(), SEEDS)
def test_batch_norm_reference_gradcheck(shape, seed):
    rng = np.random.default_rng(seed)
    x, gamma, beta = (
        rng.standard_normal(shape),
        rng.standard_normal(shape[1]),
        rng.standard_normal(shape[1]),
    )
    _gradcheck(
        lambda x, gamma, beta: R.batch_norm_forward(x, gamma, beta, 0.1),
        lambda x, gamma, beta, g: (*R.batch_norm_backward(x, gamma, g, 0.1),),
        [x, gamma, beta],
    )


@FEW
@given(st.integers(1, 4), st.integers(1, 5), SEEDS)
def test_cross_entropy_reference_gradcheck(n, classes, seed):
    rng = np.random.default_rng(seed)
    logits, target = rng.standard_normal((n, classes)) * 3, rng.integers(0, classes, n)
    _gradcheck(
        R.cross_entropy_forward,
        lambda logits, target, g: (R.cross_entropy_backward(logits, target, g), None),
        [logits, target],
        grads=[True, False],
    )


@FEW
@given(st.lists(st.floats(-6, 6), min_size=1, max_size=10))
def test_gelu_reference_gradcheck(values):
    _gradcheck(R.gelu_forward, lambda x, g: (R.gelu_backward(x, g),), [np.array(values)])


# --- answers worked out by hand --------------------------------------------------------------


def test_conv2d_reference_by_hand():
    """The example of minicnn.ops.im2col: a 3x3 image, a 2x2 kernel, y[0, 0] = w00 a + w01 b +
    w10 d + w11 e; a cross-correlation (the kernel is not flipped)."""
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)  # a..i = 1..9
    w = np.array([1.0, 10.0, 100.0, 1000.0]).reshape(1, 1, 2, 2)
    y = R.conv2d_forward(x, w, np.array([0.5]))
    np.testing.assert_array_equal(y[0, 0], [[5421.5, 6532.5], [8754.5, 9865.5]])
    dx, _, _ = R.conv2d_backward(x, np.ones((1, 1, 2, 2)), np.ones((1, 1, 2, 2)))
    np.testing.assert_array_equal(dx[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])  # windows per pixel


def test_conv_transpose2d_reference_scatters_the_kernel():
    """Two pixels, stride 3, kernel 2x2: two scaled copies of the kernel, a gap between."""
    x = np.array([[[[1.0, -2.0]]]])  # (1, 1, 1, 2)
    w = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    y = R.conv_transpose2d_forward(x, w, stride=(3, 3))
    np.testing.assert_array_equal(y[0, 0], [[1, 2, 0, -2, -4], [3, 4, 0, -6, -8]])
    y = R.conv_transpose2d_forward(x, w, stride=(3, 3), padding=(0, 1))  # crops a column a side
    np.testing.assert_array_equal(y[0, 0], [[2, 0, -2], [4, 0, -6]])


def test_pool_references_by_hand():
    x = np.array([[[[3.0, 1.0, 3.0], [0.0, 3.0, 2.0]]]])  # (1, 1, 2, 3), three tied maxima
    kernel, stride = (2, 2), (1, 1)
    np.testing.assert_array_equal(R.max_pool2d_forward(x, kernel, stride)[0, 0], [[3, 3]])
    dx = R.max_pool2d_backward(x, np.array([[[[1.0, 10.0]]]]), kernel, stride)
    np.testing.assert_array_equal(dx[0, 0], [[1, 0, 10], [0, 0, 0]])  # the first max of each
    # a corner window of 2x2 with 1 pixel of padding holds one real pixel
    y = R.avg_pool2d_forward(x, kernel, stride, (1, 1), count_include_pad=False)
    assert y[0, 0, 0, 0] == 3.0 and y.shape == (1, 1, 3, 4)
    y = R.avg_pool2d_forward(x, kernel, stride, (1, 1))
    assert y[0, 0, 0, 0] == 0.75


@pytest.mark.parametrize("n", [1, 3])
def test_cross_entropy_reference_by_hand(n):
    """Uniform logits: the loss is log C whatever the target, the gradient (1/C - onehot) / N."""
    logits, target = np.zeros((n, 4)), np.arange(n) % 4
    assert np.isclose(R.cross_entropy_forward(logits, target), np.log(4))
    expected = (np.full((n, 4), 0.25) - np.eye(4)[target]) / n
    _close(R.cross_entropy_backward(logits, target), expected)
