"""Pooling options beyond the basic window: ceil_mode, dilation, divisor_override, indices,
max_unpool2d, adaptive_max_pool2d, integer and unbatched inputs, infinite gradients; all
against PyTorch (forward, indices and backward) and by finite differences in float64."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn import functional as F
from minicnn import nn
from minicnn.testing import check_layer

FEW = settings(max_examples=15)


def _distinct(shape, seed):
    """Values without ties (a shuffled ramp): one clear maximum per window, and steps of 0.1
    >> the finite-difference eps."""
    rng = np.random.default_rng(seed)
    return rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1 - 1.0


def _values(shape, seed, ties):
    """Distinct values, or (``ties``) many equal ones: small integers as floats."""
    if ties:
        return np.random.default_rng(seed).integers(0, 3, shape).astype(np.float64)
    return _distinct(shape, seed)


@st.composite
def pool_cases(draw, dilation=True):
    """(x shape, kwargs) of a valid window: 3-D or 4-D input, ints or pairs, ceil_mode, and
    (``dilation``) a dilation; H >= dilation, so that every window holds a real element."""
    kernel = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    padding = draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2))
    dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilation else (1, 1)
    stride = draw(st.none() | st.tuples(st.integers(1, 3), st.integers(1, 3)))
    size = []
    for k, p, d in zip(kernel, padding, dil, strict=True):
        smallest = max(1, d, d * (k - 1) + 1 - 2 * p)
        size.append(draw(st.integers(smallest, smallest + 4)))
    batch = draw(st.sampled_from([(), (1,), (2,)]))
    shape = (*batch, draw(st.integers(1, 2)), *size)
    kwargs = {"kernel_size": kernel, "stride": stride, "padding": padding}
    kwargs["ceil_mode"] = draw(st.booleans())
    if dilation:
        kwargs["dilation"] = dil
    return shape, kwargs


def _compare(torch, ours, theirs, x, seed=0):
    """Forward values (and indices, where a pair comes back) and input gradients of ours vs
    PyTorch's, float64."""
    a, b = mc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, y_ref = ours(a), theirs(b)
    if isinstance(y_ref, tuple):
        (y, i), (y_ref, i_ref) = y, y_ref
        assert i.dtype == np.int64 and not i.requires_grad
        np.testing.assert_array_equal(i.numpy(), i_ref.numpy())
    assert y.shape == tuple(y_ref.shape)
    np.testing.assert_allclose(y.numpy(), y_ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = np.random.default_rng(seed).standard_normal(y.shape)
    y.backward(g)
    y_ref.backward(torch.tensor(g))
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12, atol=1e-12)


# --- max_pool2d: dilation, ceil_mode, return_indices --------------------------------------------


@FEW
@given(pool_cases(), st.booleans(), st.integers(0, 1000))
def test_max_pool2d_options_match_torch(torch, case, ties, seed):
    shape, kwargs = case
    _compare(
        torch,
        lambda t: F.max_pool2d(t, **kwargs, return_indices=True),
        lambda t: torch.nn.functional.max_pool2d(t, **kwargs, return_indices=True),
        _values(shape, seed, ties),
        seed,
    )


@FEW
@given(pool_cases(), st.integers(0, 1000))
def test_max_pool2d_options_gradcheck(case, seed):
    shape, kwargs = case
    x = mc.tensor(_distinct(shape, seed), requires_grad=True)
    assert mc.gradcheck(lambda t: F.max_pool2d(t, **kwargs), [x])


def test_ceil_mode_by_hand():
    x = np.arange(25.0).reshape(1, 1, 5, 5)
    # 2x2 windows, stride 2: the third row and column of windows hold only the last input row
    y, indices = F.max_pool2d(x, 2, ceil_mode=True, return_indices=True)
    np.testing.assert_array_equal(y.numpy()[0, 0], [[6, 8, 9], [16, 18, 19], [21, 23, 24]])
    np.testing.assert_array_equal(indices.numpy()[0, 0], [[6, 8, 9], [16, 18, 19], [21, 23, 24]])
    # without ceil_mode the last row and column are dropped
    assert F.max_pool2d(x, 2).shape == (1, 1, 2, 2)
    # a window past the input averages only what it covers (count_include_pad does not count
    # positions beyond the padding)
    y = F.avg_pool2d(x, 2, ceil_mode=True).numpy()[0, 0]
    np.testing.assert_array_equal(y, [[3, 5, 6.5], [13, 15, 16.5], [20.5, 22.5, 24]])


def test_ceil_mode_never_starts_a_window_in_the_bottom_padding():
    # kernel 2, stride 2, padding 1: ceil((H + 2 - 2) / 2) + 1 windows, the last starting at
    # padded row 4 = input row 3. H = 4: that is in the input, kept; H = 3: it would see only
    # the bottom padding, dropped.
    assert F.max_pool2d(np.zeros((1, 4, 4)), 2, padding=1, ceil_mode=True).shape == (1, 3, 3)
    assert F.max_pool2d(np.zeros((1, 3, 3)), 2, padding=1, ceil_mode=True).shape == (1, 2, 2)


def test_dilation_by_hand():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    # a 2x2 kernel dilated by 2 sees rows/columns i and i + 2
    y, indices = F.max_pool2d(x, 2, stride=1, dilation=2, return_indices=True)
    np.testing.assert_array_equal(y.numpy()[0, 0], [[10, 11], [14, 15]])
    np.testing.assert_array_equal(indices.numpy()[0, 0], [[10, 11], [14, 15]])


def test_window_grid_matches_torch_forward(torch):
    """Every small geometry along one axis: the same sizes accepted and refused (padding rule,
    too small inputs), the same output sizes, values and indices."""
    tf = torch.nn.functional
    for h, k, s, p, d, ceil in itertools.product(
        range(1, 8), range(1, 5), range(1, 4), range(3), range(1, 4), (False, True)
    ):
        x = np.arange(h * 2.0).reshape(1, 2, h, 1)
        kwargs = dict(kernel_size=(k, 1), stride=(s, 1), padding=(p, 0), ceil_mode=ceil)
        try:
            y_ref, i_ref = tf.max_pool2d(
                torch.tensor(x), **kwargs, dilation=(d, 1), return_indices=True
            )
        except RuntimeError:
            with pytest.raises(ValueError, match="max_pool2d: "):
                F.max_pool2d(x, **kwargs, dilation=(d, 1))
            continue
        y, i = F.max_pool2d(x, **kwargs, dilation=(d, 1), return_indices=True)
        np.testing.assert_array_equal(y.numpy(), y_ref.numpy())
        real = np.isfinite(y_ref.numpy())  # windows wholly in the padding (h < d): -inf both,
        np.testing.assert_array_equal(i.numpy()[real], i_ref.numpy()[real])  # index arbitrary
        if d != 1:
            continue
        for cip in (False, True):
            y_ref = tf.avg_pool2d(torch.tensor(x), **kwargs, count_include_pad=cip)
            y = F.avg_pool2d(x, **kwargs, count_include_pad=cip)
            np.testing.assert_allclose(y.numpy(), y_ref.numpy(), rtol=1e-12)


def test_padding_at_most_half_the_kernel_not_its_dilated_span():
    # PyTorch checks padding against kernel_size itself, even when dilated
    x = np.zeros((1, 1, 8, 8))
    assert F.max_pool2d(x, 3, padding=1, dilation=2).shape == (1, 1, 2, 2)
    with pytest.raises(ValueError, match="max_pool2d: padding must be at most half of"):
        F.max_pool2d(x, 3, padding=2, dilation=2)


# --- avg_pool2d: ceil_mode, divisor_override ----------------------------------------------------

divisors = st.sampled_from([None, -3, 1, 2, 7])


@FEW
@given(pool_cases(dilation=False), st.booleans(), divisors, st.integers(0, 1000))
def test_avg_pool2d_options_match_torch(torch, case, count_include_pad, divisor, seed):
    shape, kwargs = case
    options = dict(kwargs, count_include_pad=count_include_pad, divisor_override=divisor)
    _compare(
        torch,
        lambda t: F.avg_pool2d(t, **options),
        lambda t: torch.nn.functional.avg_pool2d(t, **options),
        np.random.default_rng(seed).standard_normal(shape),
        seed,
    )


@FEW
@given(pool_cases(dilation=False), st.booleans(), divisors, st.integers(0, 1000))
def test_avg_pool2d_options_gradcheck(case, count_include_pad, divisor, seed):
    shape, kwargs = case
    options = dict(kwargs, count_include_pad=count_include_pad, divisor_override=divisor)
    x = mc.tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)
    assert mc.gradcheck(lambda t: F.avg_pool2d(t, **options), [x])


def test_divisor_override_by_hand():
    x = np.ones((1, 1, 3, 3))
    y = F.avg_pool2d(x, 2, stride=1, padding=1, divisor_override=2).numpy()[0, 0]
    # window sums: 1 at the corners, 2 on the edges, 4 inside; all divided by 2
    np.testing.assert_array_equal(
        y, [[0.5, 1, 1, 0.5], [1, 2, 2, 1], [1, 2, 2, 1], [0.5, 1, 1, 0.5]]
    )


# --- max_unpool2d --------------------------------------------------------------------------------


@FEW
@given(pool_cases(dilation=False), st.integers(0, 1000))
def test_max_unpool2d_matches_torch(torch, case, seed):
    shape, kwargs = case
    x = torch.tensor(_distinct(shape, seed))
    _, indices = torch.nn.functional.max_pool2d(x, **kwargs, return_indices=True)
    window = {k: kwargs[k] for k in ("kernel_size", "stride", "padding")}
    # overlapping windows may share a maximum, so repeat an index: give both the same value
    table = np.random.default_rng(seed).standard_normal(shape).reshape(*shape[:-2], -1)
    flat = indices.numpy().reshape(*shape[:-2], -1)
    values = np.take_along_axis(table, flat, axis=-1).reshape(indices.shape)
    _compare(
        torch,
        lambda t: F.max_unpool2d(t, indices.numpy(), **window, output_size=shape[-2:]),
        lambda t: torch.nn.functional.max_unpool2d(t, indices, **window, output_size=shape[-2:]),
        values,
        seed,
    )


@FEW
@given(pool_cases(dilation=False), st.integers(0, 1000))
def test_max_unpool2d_gradcheck(case, seed):
    shape, kwargs = case
    # windows that do not overlap, so that no index repeats (max_unpool2d knows no dilation):
    # a repeated index is written once, and the finite differences of the other copy are 0
    kwargs = dict(kwargs, stride=kwargs["kernel_size"])
    _, indices = F.max_pool2d(_distinct(shape, seed), **kwargs, return_indices=True)
    window = {k: kwargs[k] for k in ("kernel_size", "stride", "padding")}
    x = mc.tensor(np.random.default_rng(seed).standard_normal(indices.shape), requires_grad=True)
    fn = lambda t: F.max_unpool2d(t, indices, **window, output_size=shape[-2:])  # noqa: E731
    assert mc.gradcheck(fn, [x])


def test_unpool_puts_the_maxima_back_where_they_were():
    """The deconvnet's switches: unpooling the pooled maps restores each window's maximum at
    its place, zeros elsewhere; pooling that again gives the pooled maps back."""
    x = mc.tensor(_distinct((2, 3, 6, 7), 0), requires_grad=True)
    pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
    y, indices = pool(x)
    z = unpool(y, indices, output_size=x.shape)
    assert z.shape == x.shape
    window_max = x.numpy()[..., :6, :6].reshape(2, 3, 3, 2, 3, 2).max(axis=(3, 5))
    is_max = np.zeros(x.shape, dtype=bool)
    is_max[..., :6, :6] = x.numpy()[..., :6, :6] == np.repeat(
        np.repeat(window_max, 2, axis=-2), 2, axis=-1
    )
    np.testing.assert_array_equal(z.numpy(), np.where(is_max, x.numpy(), 0))
    np.testing.assert_array_equal(F.max_pool2d(z, 2).numpy(), y.numpy())
    # the gradient of sum(unpool(pool(x))) is 1 at the maxima, 0 elsewhere
    z.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), is_max.astype(float))


def test_unpool_default_size_and_unbatched():
    x = np.arange(16.0).reshape(1, 4, 4)
    y, indices = F.max_pool2d(x, 2, return_indices=True)
    z = F.max_unpool2d(y, indices, 2)
    expected = np.zeros((1, 4, 4))
    expected[0, 1::2, 1::2] = [[5, 7], [13, 15]]
    np.testing.assert_array_equal(z.numpy(), expected)
    assert F.max_unpool2d(y, indices, 2, stride=3).shape == (1, 5, 5)  # (2-1)*3 + 2


# --- adaptive_max_pool2d ---------------------------------------------------------------------------

output_sizes = st.one_of(
    st.integers(1, 5),
    st.tuples(st.one_of(st.none(), st.integers(1, 5)), st.one_of(st.none(), st.integers(1, 5))),
)


@FEW
@given(st.integers(1, 8), st.integers(1, 8), output_sizes, st.booleans(), st.integers(0, 1000))
def test_adaptive_max_pool2d_matches_torch(torch, h, w, output_size, ties, seed):
    _compare(
        torch,
        lambda t: F.adaptive_max_pool2d(t, output_size, return_indices=True),
        lambda t: torch.nn.functional.adaptive_max_pool2d(t, output_size, return_indices=True),
        _values((2, 2, h, w), seed, ties),
        seed,
    )


@FEW
@given(st.integers(1, 6), st.integers(1, 6), output_sizes, st.integers(0, 1000))
def test_adaptive_max_pool2d_gradcheck(h, w, output_size, seed):
    x = mc.tensor(_distinct((2, 2, h, w), seed), requires_grad=True)
    assert mc.gradcheck(lambda t: F.adaptive_max_pool2d(t, output_size), [x])


def test_adaptive_max_pool2d_bins_by_hand():
    # H = 5 into 3 bins: [0, 2), [1, 4), [3, 5); the 4 is the maximum of two bins
    x = mc.tensor(np.array([0.0, 1, 4, 3, 2]).reshape(1, 1, 5, 1), requires_grad=True)
    y, indices = F.adaptive_max_pool2d(x, (3, 1), return_indices=True)
    np.testing.assert_array_equal(y.numpy().ravel(), [1, 4, 3])
    np.testing.assert_array_equal(indices.numpy().ravel(), [1, 2, 3])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy().ravel(), [0, 1, 1, 1, 0])


# --- layers ----------------------------------------------------------------------------------------


def test_layers_match_torch(torch):
    x = _distinct((2, 3, 7, 6), 1)
    _compare(
        torch,
        nn.MaxPool2d(3, 2, 1, dilation=1, return_indices=True, ceil_mode=True),
        torch.nn.MaxPool2d(3, 2, 1, dilation=1, return_indices=True, ceil_mode=True),
        x,
    )
    _compare(
        torch,
        nn.AvgPool2d(3, 2, 1, True, False, None),
        torch.nn.AvgPool2d(3, 2, 1, True, False, None),
        x,
    )
    _compare(torch, nn.AdaptiveMaxPool2d((4, 5), True), torch.nn.AdaptiveMaxPool2d((4, 5), True), x)
    _, indices = torch.nn.functional.max_pool2d(torch.tensor(x), 2, return_indices=True)
    _compare(
        torch,
        lambda t: nn.MaxUnpool2d(2)(t, indices.numpy(), (7, 6)),
        lambda t: torch.nn.MaxUnpool2d(2)(t, indices, (7, 6)),
        _distinct(tuple(indices.shape), 2),
    )


@pytest.mark.parametrize(
    "layer, input_shape",
    [
        (nn.MaxPool2d(3, 2, 1, dilation=(1, 2), ceil_mode=True), (2, 2, 6, 7)),
        (nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False), (2, 2, 6, 7)),
        (nn.AvgPool2d(2, divisor_override=3), (2, 2, 4, 5)),
        (nn.AdaptiveMaxPool2d((3, None)), (2, 2, 5, 4)),
        (nn.MaxPool2d(2), (3, 4, 4)),
    ],
)
def test_layers_gradcheck(layer, input_shape):
    check_layer(layer, input_shape)


def test_layer_reprs():
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0)"
    assert (
        repr(nn.MaxPool2d(3, 1, 1, dilation=2, return_indices=True, ceil_mode=True))
        == "MaxPool2d(kernel_size=3, stride=1, padding=1, dilation=2, ceil_mode=True, "
        "return_indices=True)"
    )
    assert (
        repr(nn.AvgPool2d(2, ceil_mode=True, divisor_override=3))
        == "AvgPool2d(kernel_size=2, stride=2, padding=0, ceil_mode=True, divisor_override=3)"
    )
    assert (
        repr(nn.MaxUnpool2d(2)) == "MaxUnpool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))"
    )
    assert repr(nn.AdaptiveMaxPool2d((2, None))) == "AdaptiveMaxPool2d(output_size=(2, None))"


@pytest.mark.parametrize(
    "build, error, message",
    [
        (
            lambda: nn.MaxPool2d(2, ceil_mode=1),
            TypeError,
            "MaxPool2d: ceil_mode must be True or False",
        ),
        (
            lambda: nn.MaxPool2d(2, return_indices=None),
            TypeError,
            "MaxPool2d: return_indices must be True or False, got None",
        ),
        (lambda: nn.MaxPool2d(2, dilation=0), ValueError, "MaxPool2d: dilation must be positive"),
        (
            lambda: nn.MaxPool2d(3, padding=2, dilation=2),
            ValueError,
            "MaxPool2d: padding must be at most half of kernel_size, got padding=2",
        ),
        (lambda: nn.AvgPool2d(2, divisor_override=0), ValueError, "AvgPool2d: divisor_override"),
        (
            lambda: nn.AvgPool2d(2, divisor_override=1.5),
            TypeError,
            "AvgPool2d: divisor_override must be an int or None, got 1.5",
        ),
        (lambda: nn.AdaptiveMaxPool2d(0), ValueError, "AdaptiveMaxPool2d: output_size must be"),
        (lambda: nn.MaxUnpool2d(0), ValueError, "MaxUnpool2d: kernel_size must be positive"),
        (lambda: nn.MaxUnpool2d(2, padding=-1), ValueError, "MaxUnpool2d: padding must be"),
    ],
)
def test_layer_settings_are_checked_when_built(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_layer_names_itself_in_input_errors():
    with pytest.raises(
        TypeError,
        match=r"AvgPool2d\(kernel_size=2, stride=2, padding=0\): avg_pool2d: not implemented "
        "for integer input, got int64",
    ):
        nn.AvgPool2d(2)(np.zeros((1, 1, 4, 4), dtype=np.int64))
    with pytest.raises(ValueError, match=r"MaxUnpool2d\(.*\): max_unpool2d: invalid output_size"):
        nn.MaxUnpool2d(2)(mc.zeros(1, 1, 2, 2), mc.zeros(1, 1, 2, 2, dtype=mc.int64), (7, 7))


# --- integer, unbatched and special inputs -------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8, np.int8])
def test_integer_max_pooling_pads_with_the_dtype_minimum(dtype):
    x = (-np.arange(1, 26) if np.dtype(dtype).kind == "i" else np.arange(25)).reshape(1, 1, 5, 5)
    x = x.astype(dtype)
    y, indices = F.max_pool2d(x, 3, 2, 1, ceil_mode=True, return_indices=True)
    assert y.dtype == dtype
    exact = F.max_pool2d(x.astype(np.float64), 3, 2, 1, ceil_mode=True, return_indices=True)
    np.testing.assert_array_equal(y.numpy(), exact[0].numpy())
    np.testing.assert_array_equal(indices.numpy(), exact[1].numpy())
    assert F.global_max_pool2d(x).dtype == dtype


def test_integer_max_pooling_matches_torch(torch):
    big = np.array([2**62 + 1, 2**62, -(2**63), 5], dtype=np.int64)  # beyond float precision
    x = np.random.default_rng(0).choice(big, (2, 3, 5, 6))
    x[0, 0] = np.iinfo(np.int64).min  # every value equals the padding: the first real wins
    for kwargs in [dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), dict(kernel_size=2)]:
        y, i = F.max_pool2d(x, **kwargs, return_indices=True)
        y_ref, i_ref = torch.nn.functional.max_pool2d(
            torch.tensor(x), **kwargs, return_indices=True
        )
        np.testing.assert_array_equal(y.numpy(), y_ref.numpy())
        np.testing.assert_array_equal(i.numpy(), i_ref.numpy())


def test_ties_with_the_padding_value_pick_the_first_real_element(torch):
    x = np.full((1, 1, 3, 3), -np.inf)
    x[0, 0, 2, 2] = np.nan
    _compare(
        torch,
        lambda t: F.max_pool2d(t, 3, 2, 1, return_indices=True),
        lambda t: torch.nn.functional.max_pool2d(t, 3, 2, 1, return_indices=True),
        x,
    )
    _, indices = F.max_pool2d(np.full((1, 1, 2, 2), -np.inf), 2, 1, 1, return_indices=True)
    np.testing.assert_array_equal(indices.numpy()[0, 0], [[0, 0, 1], [0, 0, 1], [2, 2, 3]])


def test_nan_is_the_maximum_like_torch(torch):
    x = _distinct((2, 2, 5, 6), 6)
    x.reshape(-1)[np.random.default_rng(6).choice(x.size, 12, replace=False)] = np.nan
    tf = torch.nn.functional
    for ours, theirs in [
        (
            lambda t: F.max_pool2d(t, 3, 1, 1, ceil_mode=True, return_indices=True),
            lambda t: tf.max_pool2d(t, 3, 1, 1, ceil_mode=True, return_indices=True),
        ),
        (
            lambda t: F.adaptive_max_pool2d(t, (3, 4), return_indices=True),
            lambda t: tf.adaptive_max_pool2d(t, (3, 4), return_indices=True),
        ),
    ]:
        a, b = mc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        (y, i), (y_ref, i_ref) = ours(a), theirs(b)
        np.testing.assert_array_equal(y.numpy(), y_ref.detach().numpy())  # NaN where NaN
        np.testing.assert_array_equal(i.numpy(), i_ref.numpy())
        g = np.random.default_rng(0).standard_normal(y.shape)
        y.backward(g)
        y_ref.backward(torch.tensor(g))
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: F.avg_pool2d(x, 2),
        lambda x: F.adaptive_avg_pool2d(x, 2),
        lambda x: F.adaptive_max_pool2d(x, 2),
        lambda x: F.global_avg_pool2d(x),
    ],
)
def test_integer_averages_are_refused_like_torch(fn):
    with pytest.raises(TypeError, match="not implemented for integer input, got int32"):
        fn(np.zeros((1, 1, 4, 4), dtype=np.int32))


def test_bool_input_is_refused():
    with pytest.raises(TypeError, match="max_pool2d: not implemented for bool input"):
        F.max_pool2d(np.zeros((1, 1, 4, 4), dtype=bool), 2)


def test_unbatched_inputs_match_torch(torch):
    x = _distinct((3, 7, 6), 4)
    tf = torch.nn.functional
    cases = [
        (lambda t: F.max_pool2d(t, 3, 2, 1, 2, True, True), lambda t: tf.max_pool2d(t, 3, 2, 1, 2, True, True)),
        (lambda t: F.avg_pool2d(t, 3, 2, 1, True, False), lambda t: tf.avg_pool2d(t, 3, 2, 1, True, False)),
        (lambda t: F.adaptive_max_pool2d(t, (4, 2), True), lambda t: tf.adaptive_max_pool2d(t, (4, 2), True)),
        (lambda t: F.adaptive_avg_pool2d(t, (4, 2)), lambda t: tf.adaptive_avg_pool2d(t, (4, 2))),
    ]  # fmt: skip
    for ours, theirs in cases:
        _compare(torch, ours, theirs, x)


def test_empty_batch():
    x = np.zeros((0, 2, 4, 4))
    assert F.max_pool2d(x, 2, return_indices=True)[1].shape == (0, 2, 2, 2)
    assert F.avg_pool2d(x, 2).shape == (0, 2, 2, 2)
    assert F.adaptive_max_pool2d(x, 3).shape == (0, 2, 3, 3)


@pytest.mark.parametrize("stride", [2, 1])  # non-overlapping (assigned) and overlapping (added)
def test_infinite_gradient_like_torch(torch, stride):
    x = _distinct((1, 2, 4, 4), 5)
    size = 2 if stride == 2 else 3
    g = np.random.default_rng(0).standard_normal((1, 2, size, size))
    g[0, 0, 0, 0], g[0, 1, 1, 1], g[0, 1, 0, 1] = np.inf, -np.inf, np.nan
    ours, theirs = mc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    F.max_pool2d(ours, 2, stride).backward(g)
    torch.nn.functional.max_pool2d(theirs, 2, stride).backward(torch.tensor(g))
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())  # NaN where NaN


def test_infinite_gradient_reaches_only_the_maxima():
    # 0 * inf = NaN: a gradient routed by multiplying with a 0/1 mask would spread NaN
    x = np.arange(16.0).reshape(1, 1, 4, 4)  # each 2x2 window's maximum is its bottom right
    g = np.array([[[[np.inf, 1.0], [-np.inf, np.nan]]]])
    expected = np.zeros((4, 4))
    expected[1::2, 1::2] = g[0, 0]
    for fn in [lambda t: F.max_pool2d(t, 2), lambda t: F.adaptive_max_pool2d(t, 2)]:
        ours = mc.tensor(x, requires_grad=True)
        fn(ours).backward(g)
        np.testing.assert_array_equal(ours.grad.numpy()[0, 0], expected)


@pytest.mark.parametrize(
    "fn",
    [
        lambda t: F.max_pool2d(t, 3, 2, 1, dilation=(1, 2), ceil_mode=True),
        lambda t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=True),
        lambda t: F.avg_pool2d(t, 2, divisor_override=3),
        lambda t: F.adaptive_max_pool2d(t, (3, 4)),
        lambda t: F.max_unpool2d(t, np.zeros(t.shape, dtype=np.int64), 2),
    ],
)
def test_float32_stays_float32(fn):
    x = mc.tensor(
        np.random.default_rng(0).standard_normal((2, 3, 5, 6)).astype(np.float32),
        requires_grad=True,
    )
    y = fn(x)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


# --- argument errors -----------------------------------------------------------------------------


def test_argument_errors():
    x = np.zeros((1, 1, 4, 4))
    y, indices = F.max_pool2d(x, 2, return_indices=True)
    cases = [
        (lambda: F.max_pool2d(x, 2, ceil_mode=1), TypeError, "max_pool2d: ceil_mode must be True"),
        (lambda: F.max_pool2d(x, 2, dilation=0), ValueError, r"max_pool2d: dilation must be positive, got \(0, 0\)"),
        (lambda: F.avg_pool2d(x, 2, divisor_override=0), ValueError, "avg_pool2d: divisor_override must not be zero"),
        (lambda: F.avg_pool2d(x, 2, count_include_pad=None), TypeError, "avg_pool2d: count_include_pad must be"),
        (lambda: F.adaptive_max_pool2d(x, 2, return_indices=1), TypeError, "adaptive_max_pool2d: return_indices"),
        (lambda: F.adaptive_max_pool2d(x, (2, 0)), ValueError, "adaptive_max_pool2d: output_size must be"),
        (lambda: F.max_unpool2d(y, indices.numpy().astype(np.int32), 2), TypeError, "max_unpool2d: indices must be int64, got int32"),
        (lambda: F.max_unpool2d(y, indices.numpy()[..., :1], 2), ValueError, r"max_unpool2d: indices must have the shape of the input \(1, 1, 2, 2\), got \(1, 1, 2, 1\)"),
        (lambda: F.max_unpool2d(y, indices.numpy() + 16, 2), ValueError, r"max_unpool2d: index 26 is out of range for output planes of 4x4 \(indices must be in \[0, 16\)\)"),
        (lambda: F.max_unpool2d(y, indices.numpy() - 6, 2), ValueError, "max_unpool2d: index -6 is out of range"),
        (lambda: F.max_unpool2d(y, indices, 2, output_size=(6, 6)), ValueError, r"max_unpool2d: invalid output_size \(6, 6\): dim 0 must be strictly between 2 and 6"),
        (lambda: F.max_unpool2d(y, indices, 2, output_size=(1, 5, 5)), TypeError, r"max_unpool2d: output_size must be \(H, W\) or \(N, C, H, W\)"),
        (lambda: F.max_unpool2d(y, indices, 2, output_size=(3, 3)), ValueError, "max_unpool2d: index 10 is out of range for output planes of 3x3"),
        (lambda: F.max_unpool2d(np.zeros((2, 2)), np.zeros((2, 2), dtype=np.int64), 2), ValueError, r"max_unpool2d: expected a 3-D \(C, H, W\) or 4-D"),
        (lambda: F.max_unpool2d(y, indices, 1, padding=1), ValueError, r"max_unpool2d: output size \(0, 0\) is too small"),
    ]  # fmt: skip
    for call, error, message in cases:
        with pytest.raises(error, match=message):
            call()
    # (N, C, H, W) output sizes are accepted, as in PyTorch: only H and W are used
    assert F.max_unpool2d(y, indices, 2, output_size=(1, 1, 5, 5)).shape == (1, 1, 5, 5)
