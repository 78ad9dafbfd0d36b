"""F.interpolate and nn.Upsample: nearest and bilinear against PyTorch, gradient checks, the
coordinate rules by hand, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn
from minicnn import nn
from minicnn.functional import interpolate
from minicnn.testing import check_layer

FEW = settings(max_examples=15)
# whole and fractional factors, and ones whose products with small sizes are not whole numbers
FACTORS = [0.3, 0.5, 0.75, 1.0, 1.2, 1.5, 1.7, 2.0, 2.3, 2.5, 3.0, 1 / 3, 2 / 3, 3.5]


@st.composite
def resize_cases(draw):
    """``(shape, kwargs)``: an input shape (N, C, H, W) and interpolate's keyword arguments."""
    h, w = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), h, w)
    mode = draw(st.sampled_from(["nearest", "bilinear"]))
    kwargs = dict(mode=mode)
    if mode == "bilinear":
        kwargs["align_corners"] = draw(st.sampled_from([None, False, True]))
    if draw(st.booleans()):
        size = (draw(st.integers(1, 24)), draw(st.integers(1, 24)))
        kwargs["size"] = size if draw(st.booleans()) else size[0]
    else:
        fh = draw(st.sampled_from([f for f in FACTORS if int(h * f) >= 1]))
        fw = draw(st.sampled_from([f for f in FACTORS if int(w * f) >= 1]))
        kwargs["scale_factor"] = (fh, fw) if fh != fw else fh
        kwargs["recompute_scale_factor"] = draw(st.sampled_from([None, False, True]))
    return shape, kwargs


def _compare(torch, shape, kwargs, dtype, close):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    ours = minicnn.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    y, y_t = interpolate(ours, **kwargs), torch.nn.functional.interpolate(theirs, **kwargs)
    assert y.shape == tuple(y_t.shape) and y.dtype == dtype
    np.testing.assert_allclose(y.numpy(), y_t.detach().numpy(), **close)
    g = rng.standard_normal(y.shape).astype(dtype)
    y.backward(g)
    y_t.backward(torch.tensor(g))
    assert ours.grad.dtype == dtype
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), **close)


@given(resize_cases())
def test_interpolate_matches_torch(torch, case):
    _compare(torch, *case, np.float64, dict(rtol=1e-12, atol=1e-13))


@FEW
@given(resize_cases())
def test_interpolate_float32_matches_torch(torch, case):
    # float32 rounding of sums of a few O(1) terms, which may cancel: an absolute tolerance
    _compare(torch, *case, np.float32, dict(rtol=1e-5, atol=1e-5))


@FEW
@given(resize_cases())
def test_interpolate_gradcheck(case):
    shape, kwargs = case
    x = minicnn.tensor(np.random.default_rng(1).standard_normal(shape), requires_grad=True)
    assert minicnn.gradcheck(lambda t: interpolate(t, **kwargs), [x])


@FEW
@given(resize_cases())
def test_upsample_layer(torch, case):
    shape, kwargs = case
    ours = nn.Upsample(**kwargs)
    theirs = torch.nn.Upsample(**kwargs)
    assert repr(ours) == repr(theirs)
    x = np.random.default_rng(2).standard_normal(shape)
    np.testing.assert_allclose(
        ours(minicnn.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy(), rtol=1e-12, atol=1e-13
    )
    check_layer(ours, shape)


def test_nearest_by_hand():
    x = np.arange(3.0).reshape(1, 1, 1, 3)
    # PyTorch's legacy nearest: source floor(o * in / out) = floor(o * 0.6)
    np.testing.assert_array_equal(interpolate(x, size=(1, 5)).numpy()[0, 0, 0], [0, 0, 1, 1, 2])
    np.testing.assert_array_equal(interpolate(x, size=(1, 2)).numpy()[0, 0, 0], [0, 1])
    np.testing.assert_array_equal(
        interpolate(x, scale_factor=2).numpy()[0, 0], [[0, 0, 1, 1, 2, 2]] * 2
    )
    # the backward adds each output gradient into its source pixel
    t = minicnn.tensor(x, requires_grad=True)
    interpolate(t, size=(2, 5)).backward(np.ones((1, 1, 2, 5)))
    np.testing.assert_array_equal(t.grad.numpy()[0, 0, 0], [4, 4, 2])
    # any dtype: masks stay integers
    mask = np.array([[[[0, 1], [2, 3]]]], np.uint8)
    up = interpolate(mask, scale_factor=2)
    assert up.dtype == np.uint8
    np.testing.assert_array_equal(up.numpy()[0, 0], np.kron([[0, 1], [2, 3]], np.ones((2, 2))))


def test_bilinear_by_hand():
    x = np.array([[[[0.0, 1.0]]]])  # one row, two pixels
    # align_corners=False: r = (o + 0.5) / 2 - 0.5, clamped at 0 -> 0, 0.25, 0.75, 1 (clamped)
    y = interpolate(x, size=(1, 4), mode="bilinear").numpy()[0, 0, 0]
    np.testing.assert_allclose(y, [0.0, 0.25, 0.75, 1.0], rtol=1e-15)
    # align_corners=True: r = o * (2 - 1) / (4 - 1): the corners line up
    y = interpolate(x, size=(1, 4), mode="bilinear", align_corners=True).numpy()[0, 0, 0]
    np.testing.assert_allclose(y, [0.0, 1 / 3, 2 / 3, 1.0], rtol=1e-15)
    # the gradient is the transposed weights: column sums of the interpolation matrix
    t = minicnn.tensor(x, requires_grad=True)
    interpolate(t, size=(1, 4), mode="bilinear").sum().backward()
    np.testing.assert_allclose(t.grad.numpy()[0, 0, 0], [2.0, 2.0], rtol=1e-15)


def test_scale_factor_sets_the_coordinates_unless_recomputed():
    x = np.arange(3.0).reshape(1, 1, 1, 3)
    # 3 * 1.7 = 5.1 -> 5 outputs; sources at (o + 0.5) / 1.7 - 0.5, or with 3/5 when recomputed
    given = interpolate(x, scale_factor=(1, 1.7), mode="bilinear").numpy()[0, 0, 0]
    recomputed = interpolate(
        x, scale_factor=(1, 1.7), mode="bilinear", recompute_scale_factor=True
    ).numpy()[0, 0, 0]
    o = np.arange(5)
    np.testing.assert_allclose(given, np.clip((o + 0.5) / 1.7 - 0.5, 0, 2), rtol=1e-15)
    np.testing.assert_allclose(recomputed, np.clip((o + 0.5) * 0.6 - 0.5, 0, 2), rtol=1e-15)
    assert not np.allclose(given, recomputed)
    # an output as large as the input is a copy, whatever the factor
    np.testing.assert_array_equal(interpolate(x, scale_factor=(1, 1.2), mode="bilinear").numpy(), x)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(), ValueError, "interpolate: give exactly one of size and scale_factor"),
        (dict(size=2, scale_factor=2), ValueError, "give exactly one of size and scale_factor"),
        (dict(size=0), ValueError, r"interpolate: size must be positive, got \(0, 0\)"),
        (dict(size=(2, 2, 2)), TypeError, "size must be an int or a pair of ints"),
        (dict(size=2.5), TypeError, "size must be an int or a pair of ints, got 2.5"),
        (
            dict(scale_factor=-1),
            ValueError,
            "interpolate: scale_factor must be a positive number or a pair of them, got -1",
        ),
        (dict(scale_factor=(2, float("inf"))), ValueError, "scale_factor must be a positive"),
        (dict(scale_factor=0.1), ValueError, "input 4x5 with scale_factor 0.1 gives an empty"),
        (dict(size=2, mode="bicubic"), ValueError, "mode must be one of 'nearest', 'bilinear'"),
        (
            dict(size=2, align_corners=True),
            ValueError,
            "align_corners can only be set with mode='bilinear'",
        ),
        (dict(size=2, mode="bilinear", align_corners=1), TypeError, "align_corners must be"),
        (
            dict(size=2, recompute_scale_factor=True),
            ValueError,
            "recompute_scale_factor is not meaningful with an explicit size",
        ),
    ],
)
def test_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        interpolate(np.zeros((1, 1, 4, 5)), **kwargs)


def test_input_errors():
    with pytest.raises(
        ValueError, match=r"expected a 4-D input \(N, C, H, W\), got shape \(4, 5\)"
    ):
        interpolate(np.zeros((4, 5)), size=2)
    with pytest.raises(TypeError, match="mode='bilinear' needs a floating-point input, got uint8"):
        interpolate(np.zeros((1, 1, 2, 2), np.uint8), size=3, mode="bilinear")


def test_upsample_settings_fail_at_construction():
    with pytest.raises(ValueError, match="Upsample: give exactly one of size and scale_factor"):
        nn.Upsample()
    with pytest.raises(ValueError, match="Upsample: align_corners can only be set"):
        nn.Upsample(scale_factor=2, align_corners=False)
    with pytest.raises(ValueError, match="Upsample: mode must be one of"):
        nn.Upsample(scale_factor=2, mode="linear")
    layer = nn.Upsample(size=3)
    with pytest.raises(ValueError, match=r"^Upsample\(size=3, mode='nearest'\): interpolate: "):
        layer(np.zeros((2, 2)))
