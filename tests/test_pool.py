"""Pooling ops: gradient checks, comparison with PyTorch, ties, dtypes, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn
from minicnn.functional import (
    adaptive_avg_pool2d,
    avg_pool2d,
    global_avg_pool2d,
    global_max_pool2d,
    max_pool2d,
)

SETTINGS = settings(max_examples=20)


def _distinct(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Values without ties (a shuffled ramp), so each window has one clear maximum and finite
    differences of max pooling are valid (steps 0.1 >> eps)."""
    rng = np.random.default_rng(seed)
    return rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1 - 1.0


@st.composite
def window_cases(draw):
    """(x shape, kernel, stride, padding) with valid geometry; ints or pairs, odd/even sizes."""
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    h = draw(st.integers(max(1, kh - 2 * ph), kh + 4))
    w = draw(st.integers(max(1, kw - 2 * pw), kw + 4))
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    stride = draw(
        st.one_of(st.none(), st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3)))
    )
    kernel = kh if kh == kw and draw(st.booleans()) else (kh, kw)
    padding = ph if ph == pw and draw(st.booleans()) else (ph, pw)
    return (n, c, h, w), kernel, stride, padding


@SETTINGS
@given(window_cases(), st.integers(0, 1000))
def test_max_pool2d_gradcheck(case, seed):
    shape, kernel, stride, padding = case
    x = minicnn.tensor(_distinct(shape, seed), requires_grad=True)
    assert minicnn.gradcheck(lambda t: max_pool2d(t, kernel, stride, padding), [x])


@SETTINGS
@given(window_cases(), st.booleans(), st.integers(0, 1000))
def test_avg_pool2d_gradcheck(case, count_include_pad, seed):
    shape, kernel, stride, padding = case
    x = minicnn.tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)
    fn = lambda t: avg_pool2d(t, kernel, stride, padding, count_include_pad=count_include_pad)  # noqa: E731
    assert minicnn.gradcheck(fn, [x])


output_sizes = st.one_of(
    st.integers(1, 5),
    st.tuples(st.one_of(st.none(), st.integers(1, 5)), st.one_of(st.none(), st.integers(1, 5))),
)


@SETTINGS
@given(st.integers(1, 7), st.integers(1, 7), output_sizes, st.integers(0, 1000))
def test_adaptive_avg_pool2d_gradcheck(h, w, output_size, seed):
    x = np.random.default_rng(seed).standard_normal((2, 2, h, w))
    x = minicnn.tensor(x, requires_grad=True)
    assert minicnn.gradcheck(lambda t: adaptive_avg_pool2d(t, output_size), [x])


@settings(max_examples=10)
@given(st.integers(1, 2), st.integers(1, 4), st.integers(1, 4), st.integers(0, 1000))
def test_global_pools_gradcheck(n, h, w, seed):
    x = minicnn.tensor(_distinct((n, 2, h, w), seed), requires_grad=True)
    assert minicnn.gradcheck(global_max_pool2d, [x])
    assert minicnn.gradcheck(global_avg_pool2d, [x])


def _compare(torch, fn_ours, fn_torch, x: np.ndarray, seed: int = 0):
    """Forward values and input gradients of ours vs PyTorch's, float64."""
    ours = minicnn.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    y, y_ref = fn_ours(ours), fn_torch(theirs)
    assert y.shape == tuple(y_ref.shape)
    np.testing.assert_allclose(y.numpy(), y_ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = np.random.default_rng(seed).standard_normal(y.shape)
    y.backward(g)
    y_ref.backward(torch.tensor(g))
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


@SETTINGS
@given(window_cases(), st.integers(0, 1000))
def test_max_pool2d_matches_torch(torch, case, seed):
    shape, kernel, stride, padding = case
    _compare(
        torch,
        lambda t: max_pool2d(t, kernel, stride, padding),
        lambda t: torch.nn.functional.max_pool2d(t, kernel, stride, padding),
        _distinct(shape, seed),
        seed,
    )


@SETTINGS
@given(window_cases(), st.booleans(), st.integers(0, 1000))
def test_avg_pool2d_matches_torch(torch, case, count_include_pad, seed):
    shape, kernel, stride, padding = case
    _compare(
        torch,
        lambda t: avg_pool2d(t, kernel, stride, padding, count_include_pad=count_include_pad),
        lambda t: torch.nn.functional.avg_pool2d(
            t, kernel, stride, padding, count_include_pad=count_include_pad
        ),
        np.random.default_rng(seed).standard_normal(shape),
        seed,
    )


@SETTINGS
@given(st.integers(1, 9), st.integers(1, 9), output_sizes, st.integers(0, 1000))
def test_adaptive_avg_pool2d_matches_torch(torch, h, w, output_size, seed):
    _compare(
        torch,
        lambda t: adaptive_avg_pool2d(t, output_size),
        lambda t: torch.nn.functional.adaptive_avg_pool2d(t, output_size),
        np.random.default_rng(seed).standard_normal((2, 3, h, w)),
        seed,
    )


@pytest.mark.parametrize(("h", "w", "out"), [(5, 7, 3), (7, 5, (4, 2)), (2, 3, (5, 4)), (10, 6, 4)])
def test_adaptive_avg_pool2d_non_divisible_sizes(torch, h, w, out):
    _compare(
        torch,
        lambda t: adaptive_avg_pool2d(t, out),
        lambda t: torch.nn.functional.adaptive_avg_pool2d(t, out),
        np.random.default_rng(1).standard_normal((1, 2, h, w)),
    )


def test_adaptive_avg_pool2d_bins_by_hand():
    # H = 5 into 3 bins: [0, 2), [1, 4), [3, 5) (floor/ceil bounds, overlapping)
    x = np.arange(5.0).reshape(1, 1, 5, 1)
    y = adaptive_avg_pool2d(x, (3, 1)).numpy().ravel()
    np.testing.assert_allclose(y, [0.5, 2.0, 3.5])


def test_global_pools_match_torch(torch):
    x = _distinct((2, 3, 4, 5), 3)
    _compare(torch, global_avg_pool2d, lambda t: t.mean(dim=(2, 3)), x)
    _compare(
        torch,
        global_max_pool2d,
        lambda t: torch.nn.functional.adaptive_max_pool2d(t, 1).flatten(1),
        x,
    )


def _tie_in_the_first_window():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = 1.0  # a tie inside the first 2x2 window; others all 0
    return x


def test_max_pool2d_ties_like_torch(torch):
    x = _tie_in_the_first_window()
    _compare(torch, lambda t: max_pool2d(t, 2), lambda t: torch.nn.functional.max_pool2d(t, 2), x)


def test_max_pool2d_ties_route_gradient_to_first_maximum():
    ours = minicnn.tensor(_tie_in_the_first_window(), requires_grad=True)
    max_pool2d(ours, 2).sum().backward()
    expected = np.zeros((4, 4))
    expected[0, 1] = expected[0, 2] = expected[2, 0] = expected[2, 2] = 1.0
    np.testing.assert_array_equal(ours.grad.numpy()[0, 0], expected)


def test_global_max_pool2d_ties_first_maximum():
    x = minicnn.tensor(np.ones((1, 1, 2, 2)), requires_grad=True)
    global_max_pool2d(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy().ravel(), [1, 0, 0, 0])


def test_overlapping_max_pool_adds_gradients():
    x = minicnn.tensor(np.array([[[[0.0, 5.0, 1.0, 0.5]]]]), requires_grad=True)
    y = max_pool2d(x, (1, 3), stride=1)  # both windows pick the 5
    np.testing.assert_array_equal(y.numpy().ravel(), [5.0, 5.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy().ravel(), [0, 2, 0, 0])


def test_padding_is_minus_inf_for_max_and_zero_for_avg():
    x = -np.ones((1, 1, 2, 2))
    np.testing.assert_array_equal(max_pool2d(x, 2, 1, 1).numpy(), -np.ones((1, 1, 3, 3)))
    corner = avg_pool2d(x, 2, 1, 1).numpy()[0, 0, 0, 0]
    assert corner == -0.25  # one real -1 among four, padding counted as 0
    assert avg_pool2d(x, 2, 1, 1, count_include_pad=False).numpy()[0, 0, 0, 0] == -1.0


def test_stride_defaults_to_kernel_size_and_unbatched_input():
    x = np.random.default_rng(0).standard_normal((3, 6, 6))  # (C, H, W)
    assert max_pool2d(x, 2).shape == (3, 3, 3)
    assert avg_pool2d(x, (2, 3)).shape == (3, 3, 2)


def test_unbatched_input_matches_torch(torch):
    x = np.random.default_rng(0).standard_normal((3, 6, 6))  # (C, H, W)
    _compare(torch, lambda t: max_pool2d(t, 3), lambda t: torch.nn.functional.max_pool2d(t, 3), x)
    _compare(
        torch,
        lambda t: avg_pool2d(t, (2, 3)),
        lambda t: torch.nn.functional.avg_pool2d(t, (2, 3)),
        x,
    )


@pytest.mark.parametrize(
    "fn",
    [
        lambda t: max_pool2d(t, 3, 2, 1),
        lambda t: avg_pool2d(t, 3, 2, 1, count_include_pad=False),
        lambda t: adaptive_avg_pool2d(t, (3, 2)),
        global_avg_pool2d,
        global_max_pool2d,
    ],
)
def test_float32_stays_float32(fn):
    x = minicnn.tensor(
        np.random.default_rng(0).standard_normal((2, 3, 5, 6)).astype(np.float32),
        requires_grad=True,
    )
    y = fn(x)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_errors():
    x = np.zeros((1, 1, 4, 4))
    with pytest.raises(
        ValueError,
        match=r"max_pool2d: kernel size \(7, 7\) is larger than the padded input \(6, 6\)",
    ):
        max_pool2d(x, 7, padding=1)
    with pytest.raises(
        ValueError, match=r"avg_pool2d: kernel size \(5, 5\) is larger than the padded input"
    ):
        avg_pool2d(x, 5)
    with pytest.raises(
        ValueError,
        match="max_pool2d: padding must be at most half of kernel_size, got padding=2 for "
        "kernel_size=2",
    ):
        max_pool2d(x, 2, padding=2)
    with pytest.raises(ValueError, match="avg_pool2d: padding must be at most half"):
        avg_pool2d(x, 3, padding=(0, 2))
    with pytest.raises(ValueError, match=r"max_pool2d: expected a 3-D \(C, H, W\) or 4-D"):
        max_pool2d(np.zeros((4, 4)), 2)
    with pytest.raises(ValueError, match=r"max_pool2d: kernel_size must be positive, got \(0, 0\)"):
        max_pool2d(x, 0)
    with pytest.raises(TypeError, match="avg_pool2d: stride must be an int or a pair of ints"):
        avg_pool2d(x, 2, stride=(1, 2, 3))
    with pytest.raises(ValueError, match="adaptive_avg_pool2d: output_size must be"):
        adaptive_avg_pool2d(x, 0)
    with pytest.raises(ValueError, match=r"global_max_pool2d: expected a 4-D \(N, C, H, W\) input"):
        global_max_pool2d(np.zeros((2, 3, 3)))
    with pytest.raises(ValueError, match=r"global_avg_pool2d: expected a 4-D"):
        global_avg_pool2d(np.zeros((2, 3)))
