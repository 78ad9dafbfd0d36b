"""Convolution ops: gradient checks, a loop-by-loop reference, PyTorch, shapes, dtypes, errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn
from minicnn.functional import conv2d, conv_transpose2d
from minicnn.ops.im2col import col2im, im2col

# --- a strategy for valid convolution configurations (reusable: minicnn.testing may take it) --


def _int_or_pair(draw, a: int, b: int):
    """``a`` when both are equal and a coin says so, else the pair: both spellings get tested."""
    return a if a == b and draw(st.booleans()) else (a, b)


@st.composite
def conv_configs(draw, transposed: bool = False, max_extra: int = 3) -> dict:
    """A valid ``conv2d`` (or ``conv_transpose2d``) call on tiny tensors.

    Returns ``{"x": x shape, "weight": weight shape, "bias": bool, "kwargs": {...}}``.
    Covers kernels 1..4 (square or not), strides 1..3, dilations 1..2, paddings 0..2 (and
    "same"/"valid" for conv2d), groups 1, 2 or depthwise (with a channel multiplier), odd and
    even sizes, batch 1 or 2. Spatial sizes go up to ``max_extra`` beyond the smallest valid
    one, so gradchecks (one forward per element) stay fast.
    """
    kind = draw(st.sampled_from(["single", "two groups", "depthwise"]))
    if kind == "single":
        groups, c_in, c_out = 1, draw(st.integers(1, 3)), draw(st.integers(1, 3))
    elif kind == "two groups":
        groups, c_in, c_out = 2, 2 * draw(st.integers(1, 2)), 2 * draw(st.integers(1, 2))
    else:
        groups = c_in = draw(st.integers(1, 3))
        c_out = c_in * draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True)]
    kwargs = {
        "stride": _int_or_pair(draw, *stride),
        "dilation": _int_or_pair(draw, *dilation),
        "groups": groups,
    }

    if transposed:
        extra = [draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation, strict=True)]
        size = [draw(st.integers(1, 1 + max_extra)) for _ in range(2)]
        # the output, (n - 1)*s - 2p + d(k - 1) + extra + 1, must keep at least one pixel
        pad = [
            draw(st.integers(0, min(2, ((n - 1) * s + span - 1 + e) // 2)))
            for n, s, span, e in zip(size, stride, spans, extra, strict=True)
        ]
        kwargs["padding"] = _int_or_pair(draw, *pad)
        kwargs["output_padding"] = _int_or_pair(draw, *extra)
        weight = (c_in, c_out // groups, *kernel)
    else:
        choices = ["ints", "valid"] + (["same"] if stride == (1, 1) else [])
        mode = draw(st.sampled_from(choices))
        if mode == "ints":
            pad = [draw(st.integers(0, 2)) for _ in range(2)]
            kwargs["padding"] = _int_or_pair(draw, *pad)
            totals = [2 * p for p in pad]
        else:  # "same" pads d*(k-1) = span - 1 in all, "valid" nothing
            kwargs["padding"] = mode
            totals = [span - 1 if mode == "same" else 0 for span in spans]
        # the padded input must hold the dilated kernel at least once
        smallest = [max(1, span - t) for span, t in zip(spans, totals, strict=True)]
        size = [draw(st.integers(m, m + max_extra)) for m in smallest]
        weight = (c_out, c_in // groups, *kernel)
    x = (draw(st.integers(1, 2)), c_in, *size)
    return {"x": x, "weight": weight, "bias": draw(st.booleans()), "kwargs": kwargs}


def _arrays(config: dict, seed: int, dtype=np.float64) -> list[np.ndarray | None]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(config["x"]).astype(dtype)
    w = rng.standard_normal(config["weight"]).astype(dtype)
    if "output_padding" in config["kwargs"]:  # transposed: weight (C_in, C_out/groups, ...)
        channels = config["weight"][1] * config["kwargs"]["groups"]
    else:
        channels = config["weight"][0]
    b = rng.standard_normal(channels).astype(dtype) if config["bias"] else None
    return [x, w, b]


def _tensors(arrays, module=minicnn) -> list:
    return [None if a is None else module.tensor(a, requires_grad=True) for a in arrays]


# --- loop-by-loop references: the definitions, slow and obvious --------------------------------


def _pads(config: dict) -> tuple[tuple[int, int], tuple[int, int]]:
    padding, kw = config["kwargs"]["padding"], config["kwargs"]
    kernel, dilation = config["weight"][2:], kw["dilation"]
    dilation = dilation if isinstance(dilation, tuple) else (dilation, dilation)
    if padding == "valid":
        return (0, 0), (0, 0)
    if padding == "same":
        totals = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
        return tuple((t // 2, t - t // 2) for t in totals)
    p = padding if isinstance(padding, tuple) else (padding, padding)
    return (p[0], p[0]), (p[1], p[1])


def _naive_conv2d(x, w, b, stride, pads, dilation, groups) -> np.ndarray:
    """y[n, o, i, j] = b[o] + sum_{c, a, e} w[o, c, a, e] x_pad[n, c_group + c, i*s + a*d, ...]."""
    (sh, sw), (dh, dw) = stride, dilation
    (top, bottom), (left, right) = pads
    x = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    oh, ow = (h - dh * (kh - 1) - 1) // sh + 1, (wd - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((n, o, oh, ow))
    for b_, oc, i, j in itertools.product(range(n), range(o), range(oh), range(ow)):
        first = oc // (o // groups) * cg
        patch = x[b_, first : first + cg, i * sh : i * sh + dh * (kh - 1) + 1 : dh]
        patch = patch[:, :, j * sw : j * sw + dw * (kw - 1) + 1 : dw]
        y[b_, oc, i, j] = (patch * w[oc]).sum() + (0 if b is None else b[oc])
    return y


def _naive_conv_transpose2d(x, w, b, stride, pad, extra, dilation, groups) -> np.ndarray:
    """Each input pixel adds ``x[n, c, i, j] * w[c, o]`` at (i*s + a*d, j*s + e*d); crop pad."""
    (sh, sw), (dh, dw), (ph, pw) = stride, dilation, pad
    n, c, h, wd = x.shape
    _, og, kh, kw = w.shape
    full = np.zeros(
        (n, og * groups, (h - 1) * sh + dh * (kh - 1) + 1 + extra[0],
         (wd - 1) * sw + dw * (kw - 1) + 1 + extra[1])
    )  # fmt: skip
    for b_, ic, i, j, a, e in itertools.product(
        range(n), range(c), range(h), range(wd), range(kh), range(kw)
    ):
        first = ic // (c // groups) * og
        full[b_, first : first + og, i * sh + a * dh, j * sw + e * dw] += (
            x[b_, ic, i, j] * w[ic, :, a, e]
        )
    y = full[:, :, ph : full.shape[2] - ph, pw : full.shape[3] - pw]
    return y + (0 if b is None else b.reshape(1, -1, 1, 1))


def _pair(v):
    return v if isinstance(v, tuple) else (v, v)


# --- gradient checks ----------------------------------------------------------------------------


@given(conv_configs(), st.integers(0, 1000))
def test_conv2d_gradcheck(config, seed):
    inputs = _tensors(_arrays(config, seed))
    fn = lambda x, w, b: conv2d(x, w, b, **config["kwargs"])  # noqa: E731
    assert minicnn.gradcheck(fn, inputs)


@given(conv_configs(transposed=True), st.integers(0, 1000))
def test_conv_transpose2d_gradcheck(config, seed):
    inputs = _tensors(_arrays(config, seed))
    fn = lambda x, w, b: conv_transpose2d(x, w, b, **config["kwargs"])  # noqa: E731
    assert minicnn.gradcheck(fn, inputs)


# --- forward values: loop-by-loop reference (no PyTorch needed) and adjointness ---------------


@given(conv_configs(), st.integers(0, 1000))
def test_conv2d_matches_loop_reference(config, seed):
    x, w, b = _arrays(config, seed)
    kw = config["kwargs"]
    expected = _naive_conv2d(
        x, w, b, _pair(kw["stride"]), _pads(config), _pair(kw["dilation"]), kw["groups"]
    )
    np.testing.assert_allclose(conv2d(x, w, b, **kw).numpy(), expected, rtol=1e-10, atol=1e-12)


@given(conv_configs(transposed=True), st.integers(0, 1000))
def test_conv_transpose2d_matches_loop_reference(config, seed):
    x, w, b = _arrays(config, seed)
    kw = config["kwargs"]
    expected = _naive_conv_transpose2d(
        x, w, b, _pair(kw["stride"]), _pair(kw["padding"]), _pair(kw["output_padding"]),
        _pair(kw["dilation"]), kw["groups"],
    )  # fmt: skip
    y = conv_transpose2d(x, w, b, **kw).numpy()
    np.testing.assert_allclose(y, expected, rtol=1e-10, atol=1e-12)


@given(conv_configs(transposed=True), st.integers(0, 1000))
def test_conv_transpose2d_is_the_adjoint_of_conv2d(config, seed):
    """<conv2d(z, W), x> = <z, conv_transpose2d(x, W)> for every z and x: the transposed
    convolution is the transpose of the convolution's linear map."""
    x, w, _ = _arrays(config, seed)
    kw = dict(config["kwargs"])
    output_padding = kw.pop("output_padding")
    y = conv_transpose2d(x, w, **kw, output_padding=output_padding).numpy()
    z = np.random.default_rng(seed + 1).standard_normal(y.shape)
    conv = conv2d(z, w, **kw).numpy()  # the weight (C_in, C_out/g, ...) reads as (O, C/g, ...)
    # With output_padding >= stride (allowed when below the dilation) the convolution has
    # windows starting in the added rows; the transposed convolution ignores them.
    assert conv.shape[:2] == x.shape[:2] and conv.shape[2:] >= x.shape[2:]
    conv = conv[:, :, : x.shape[2], : x.shape[3]]
    np.testing.assert_allclose((conv * x).sum(), (z * y).sum(), rtol=1e-10)


# --- against PyTorch: values and every gradient ------------------------------------------------


def _compare_with_torch(torch, ours_fn, torch_fn, arrays, rtol, atol, seed):
    ours = _tensors(arrays)
    theirs = _tensors(arrays, torch)
    y, y_ref = ours_fn(*ours), torch_fn(*theirs)
    assert y.dtype == arrays[0].dtype
    np.testing.assert_allclose(y.numpy(), y_ref.detach().numpy(), rtol=rtol, atol=atol)
    g = np.random.default_rng(seed).standard_normal(y.shape).astype(arrays[0].dtype)
    y.backward(g)
    y_ref.backward(torch.tensor(g))
    for name, a, b in zip(["x", "weight", "bias"], ours, theirs, strict=True):
        if a is not None:
            assert a.grad.dtype == arrays[0].dtype, name
            np.testing.assert_allclose(
                a.grad.numpy(), b.grad.numpy(), rtol=rtol, atol=atol, err_msg=name
            )


@given(conv_configs(), st.integers(0, 1000))
def test_conv2d_matches_torch(torch, config, seed):
    kw = config["kwargs"]
    _compare_with_torch(
        torch,
        lambda x, w, b: conv2d(x, w, b, **kw),
        lambda x, w, b: torch.nn.functional.conv2d(x, w, b, **kw),
        _arrays(config, seed),
        1e-10,
        1e-12,
        seed,
    )


@given(conv_configs(transposed=True), st.integers(0, 1000))
def test_conv_transpose2d_matches_torch(torch, config, seed):
    kw = config["kwargs"]
    _compare_with_torch(
        torch,
        lambda x, w, b: conv_transpose2d(x, w, b, **kw),
        lambda x, w, b: torch.nn.functional.conv_transpose2d(x, w, b, **kw),
        _arrays(config, seed),
        1e-10,
        1e-12,
        seed,
    )


@settings(max_examples=10)
@given(st.booleans(), st.integers(0, 1000), st.data())
def test_float32_matches_torch(torch, transposed, seed, data):
    config = data.draw(conv_configs(transposed=transposed))
    kw = config["kwargs"]
    ours_fn, torch_fn = (
        (conv_transpose2d, torch.nn.functional.conv_transpose2d)
        if transposed
        else (conv2d, torch.nn.functional.conv2d)
    )
    _compare_with_torch(
        torch,
        lambda x, w, b: ours_fn(x, w, b, **kw),
        lambda x, w, b: torch_fn(x, w, b, **kw),
        _arrays(config, seed, np.float32),
        1e-4,
        1e-5,
        seed,
    )


# --- im2col and col2im themselves: the worked example of their docstring ----------------------


def test_im2col_worked_example():
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)  # a..i = 1..9
    cols = im2col(x, (2, 2), (1, 1), ((0, 0), (0, 0)), (1, 1))
    assert cols.shape == (1, 2, 2, 1, 2, 2)
    expected = [[1, 2, 4, 5], [2, 3, 5, 6], [4, 5, 7, 8], [5, 6, 8, 9]]
    np.testing.assert_array_equal(cols.reshape(4, 4), expected)
    counts = col2im(np.ones_like(cols), x.shape, (1, 1), ((0, 0), (0, 0)), (1, 1))
    np.testing.assert_array_equal(counts[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


@settings(max_examples=15)
@given(conv_configs(), st.integers(0, 1000))
def test_col2im_is_the_adjoint_of_im2col(config, seed):
    """<im2col(x), c> = <x, col2im(c)>: col2im is im2col's transpose, hence its gradient."""
    kw = config["kwargs"]
    x = np.random.default_rng(seed).standard_normal(config["x"])
    geometry = (_pair(kw["stride"]), _pads(config), _pair(kw["dilation"]))
    cols = im2col(x, config["weight"][2:], *geometry)
    c = np.random.default_rng(seed + 1).standard_normal(cols.shape)
    back = col2im(c, x.shape, *geometry)
    np.testing.assert_allclose((cols * c).sum(), (x * back).sum(), rtol=1e-10)


# --- shapes from the course, "same" padding, float32, partial gradients -------------------------


def test_transposed_4x4_with_2x2_kernel_gives_5x5():
    x = minicnn.ones((1, 1, 4, 4))
    y = conv_transpose2d(x, minicnn.ones((1, 1, 2, 2)))
    assert y.shape == (1, 1, 5, 5)
    # each output pixel counts the input pixels whose 2x2 stamp covers it
    counts = np.outer([1, 2, 2, 2, 1], [1, 2, 2, 2, 1])
    np.testing.assert_array_equal(y.numpy()[0, 0], counts)


def test_transposed_textbook_2x2_example():
    """Input [[0, 1], [2, 3]] and kernel [[0, 1], [2, 3]], stride 1: each input pixel scales the
    kernel and the four copies, one pixel apart, add up."""
    x = np.array([[[[0.0, 1.0], [2.0, 3.0]]]])
    y = conv_transpose2d(x, x).numpy()[0, 0]
    np.testing.assert_array_equal(y, [[0, 0, 1], [0, 4, 6], [4, 12, 9]])


def test_transposed_3x3_kernel_3x3_stride_2_padding_1_gives_5x5():
    y = conv_transpose2d(minicnn.ones((1, 1, 3, 3)), minicnn.ones((1, 1, 3, 3)), None, 2, 1)
    assert y.shape == (1, 1, 5, 5)


def test_alexnet_first_layer_227_to_55():
    rng = np.random.default_rng(0)
    x = minicnn.tensor(rng.standard_normal((1, 3, 227, 227)).astype(np.float32))
    w = minicnn.tensor(rng.standard_normal((96, 3, 11, 11)).astype(np.float32), requires_grad=True)
    y = conv2d(x, w, stride=4)
    assert y.shape == (1, 96, 55, 55) and y.dtype == np.float32
    y.sum().backward()
    assert w.grad.shape == w.shape and w.grad.dtype == np.float32


def test_same_padding_with_an_even_kernel_pads_bottom_right():
    """PyTorch pads the odd extra row/column at the bottom and the right."""
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    y = conv2d(x, np.ones((1, 1, 2, 2)), padding="same").numpy()[0, 0]
    padded = np.pad(x[0, 0], ((0, 1), (0, 1)))
    expected = padded[:-1, :-1] + padded[1:, :-1] + padded[:-1, 1:] + padded[1:, 1:]
    np.testing.assert_array_equal(y, expected)


@pytest.mark.parametrize("transposed", [False, True])
def test_float32_stays_float32(transposed):
    rng = np.random.default_rng(0)
    x, w, b = (
        minicnn.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
        for s in [(2, 4, 5, 5), (4, 2, 3, 3), (4,)]
    )
    fn = conv_transpose2d if transposed else conv2d
    y = fn(x, w, b, stride=2, padding=1, groups=2)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == w.grad.dtype == b.grad.dtype == np.float32


@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize(
    "wanted", [(True, False, False), (False, True, False), (False, False, True)]
)
def test_gradients_of_only_some_inputs(transposed, wanted):
    """Frozen inputs get no gradient; the others get the same one as when all are trained."""
    rng = np.random.default_rng(1)
    weight = (2, 3, 3, 2) if transposed else (3, 2, 3, 2)
    arrays = [rng.standard_normal(s) for s in [(2, 2, 5, 4), weight, (3,)]]
    fn = conv_transpose2d if transposed else conv2d
    all_grads = _tensors(arrays)
    fn(*all_grads, stride=2).sum().backward()
    some = [minicnn.tensor(a, requires_grad=r) for a, r in zip(arrays, wanted, strict=True)]
    fn(*some, stride=2).sum().backward()
    for full, partial, r in zip(all_grads, some, wanted, strict=True):
        if r:
            np.testing.assert_allclose(partial.grad.numpy(), full.grad.numpy(), rtol=1e-12)
        else:
            assert partial.grad is None


def test_non_contiguous_input():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 6, 5, 3)).transpose(0, 1, 3, 2)  # (2, 6, 3, 5), not contiguous
    w = rng.standard_normal((4, 3, 2, 2))
    y = conv2d(x, w, padding=1, groups=2).numpy()
    expected = conv2d(np.ascontiguousarray(x), w, padding=1, groups=2).numpy()
    np.testing.assert_array_equal(y, expected)


# --- errors ---------------------------------------------------------------------------------------


def _x(*shape):
    return minicnn.zeros(shape)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: conv2d(_x(3, 28, 28), _x(16, 3, 3, 3)), ValueError,
         r"conv2d: expected a 4-D input \(N, C, H, W\), got shape \(3, 28, 28\)"),
        (lambda: conv2d(_x(1, 3, 8, 8), _x(16, 3, 3)), ValueError,
         r"conv2d: expected a 4-D weight \(out, in/groups, kh, kw\), got shape \(16, 3, 3\)"),
        (lambda: conv2d(_x(8, 1, 28, 28), _x(16, 3, 3, 3)), ValueError,
         r"conv2d: expected input with 3 channels \(weight \(16, 3, 3, 3\), groups=1\), "
         r"got shape \(8, 1, 28, 28\)"),
        (lambda: conv2d(_x(1, 4, 8, 8), _x(6, 1, 3, 3), groups=4), ValueError,
         r"conv2d: out_channels 6 \(weight \(6, 1, 3, 3\)\) must be divisible by groups=4"),
        (lambda: conv2d(_x(1, 5, 8, 8), _x(4, 2, 3, 3), groups=2), ValueError,
         r"conv2d: input channels 5 .* must be divisible by groups=2"),
        (lambda: conv2d(_x(1, 3, 8, 8), _x(4, 3, 3, 3), _x(3)), ValueError,
         r"conv2d: expected bias of shape \(4,\), got \(3,\)"),
        (lambda: conv2d(_x(1, 3, 8, 8), _x(4, 3, 3, 3), stride=0), ValueError,
         r"conv2d: stride must be positive, got \(0, 0\)"),
        (lambda: conv2d(_x(1, 3, 8, 8), _x(4, 3, 3, 3), dilation=(1, 0)), ValueError,
         r"conv2d: dilation must be positive, got \(1, 0\)"),
        (lambda: conv2d(_x(1, 3, 8, 8), _x(4, 3, 3, 3), padding=-1), ValueError,
         r"conv2d: padding must be non-negative, got \(-1, -1\)"),
        (lambda: conv2d(_x(1, 3, 8, 8), _x(4, 3, 3, 3), stride=1.5), TypeError,
         r"conv2d: stride must be an int or a pair of ints, got 1.5"),
        (lambda: conv2d(_x(1, 3, 8, 8), _x(4, 3, 3, 3), padding=(1, 2, 3)), TypeError,
         r"conv2d: padding must be an int or a pair of ints, got \(1, 2, 3\)"),
        (lambda: conv2d(_x(1, 3, 3, 3), _x(4, 3, 5, 5)), ValueError,
         r"conv2d: kernel 5x5 \(dilated 5x5\) is larger than the padded input 3x3"),
        (lambda: conv2d(_x(1, 3, 4, 4), _x(4, 3, 3, 3), dilation=3, padding=1), ValueError,
         r"conv2d: kernel 3x3 \(dilated 7x7\) is larger than the padded input 6x6"),
        (lambda: conv2d(_x(1, 3, 8, 8), _x(4, 3, 3, 3), stride=2, padding="same"), ValueError,
         r"conv2d: padding='same' requires stride 1, got stride \(2, 2\)"),
        (lambda: conv2d(_x(1, 3, 8, 8), _x(4, 3, 3, 3), padding="full"), ValueError,
         r"conv2d: padding must be an int, a pair of ints, 'same' or 'valid', got 'full'"),
        (lambda: conv2d(_x(1, 3, 8, 8), _x(4, 3, 3, 3), groups=0), ValueError,
         r"conv2d: groups must be a positive int, got 0"),
        (lambda: conv2d(_x(1, 3, 8, 8), _x(4, 3, 3, 3).double()), TypeError,
         r"conv2d: input, weight and bias must have the same dtype, got float32 input, "
         r"float64 weight"),
        (lambda: conv_transpose2d(_x(3, 8, 8), _x(3, 4, 3, 3)), ValueError,
         r"conv_transpose2d: expected a 4-D input \(N, C, H, W\), got shape \(3, 8, 8\)"),
        (lambda: conv_transpose2d(_x(1, 3, 8, 8), _x(3, 4, 3)), ValueError,
         r"conv_transpose2d: expected a 4-D weight \(in, out/groups, kh, kw\)"),
        (lambda: conv_transpose2d(_x(1, 2, 8, 8), _x(3, 4, 3, 3)), ValueError,
         r"conv_transpose2d: expected input with 3 channels \(weight \(3, 4, 3, 3\), "
         r"groups=1\), got shape \(1, 2, 8, 8\)"),
        (lambda: conv_transpose2d(_x(1, 3, 8, 8), _x(3, 4, 3, 3), groups=2), ValueError,
         r"conv_transpose2d: in_channels 3 \(weight \(3, 4, 3, 3\)\) must be divisible by "
         r"groups=2"),
        (lambda: conv_transpose2d(_x(1, 4, 8, 8), _x(4, 3, 3, 3), _x(3), groups=2), ValueError,
         r"conv_transpose2d: expected bias of shape \(6,\), got \(3,\)"),
        (lambda: conv_transpose2d(_x(1, 3, 8, 8), _x(3, 4, 3, 3), stride=2, output_padding=2),
         ValueError,
         r"conv_transpose2d: output_padding must be non-negative and smaller than either stride "
         r"or dilation, got output_padding \(2, 2\), stride \(2, 2\), dilation \(1, 1\)"),
        (lambda: conv_transpose2d(_x(1, 3, 8, 8), _x(3, 4, 3, 3), output_padding=-1), ValueError,
         r"conv_transpose2d: output_padding must be non-negative"),
        (lambda: conv_transpose2d(_x(1, 3, 1, 1), _x(3, 4, 1, 1), padding=1), ValueError,
         r"conv_transpose2d: output size -1x-1 is too small \(input 1x1, kernel 1x1"),
        (lambda: conv_transpose2d(_x(1, 3, 8, 8), _x(3, 4, 3, 3), padding="same"), TypeError,
         r"conv_transpose2d: padding must be an int or a pair of ints, got 'same'"),
        (lambda: conv_transpose2d(_x(1, 3, 8, 8), _x(3, 4, 3, 3), stride=(2, -1)), ValueError,
         r"conv_transpose2d: stride must be positive, got \(2, -1\)"),
    ],
)  # fmt: skip
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


# --- the shared column workspace: reuse between ops must never corrupt a result --------------


def _poison_workspace():
    """Fill the whole workspace with NaN: any result still viewing it would turn NaN."""
    minicnn.backend.workspace((1 << 17,), np.float64)[...] = np.nan


def _workspace_scenario(module, conv, conv_t, poison=lambda: None):
    """Two graphs of convolutions, interleaved, with a retain_graph double backward.

    Graph A: conv -> tanh -> strided conv -> transposed conv. Graph B, a larger conv, runs
    its forward after A's forward and its backward after A's two backward passes, so every
    backward rebuilds its columns after other ops have overwritten the workspace.
    Returns the gradients of every input, in float64 numpy.
    """
    rng = np.random.default_rng(7)
    arrays = {
        "x": rng.standard_normal((2, 3, 9, 8)),
        "w1": rng.standard_normal((4, 3, 3, 3)),
        "w2": rng.standard_normal((6, 4, 3, 3)),
        "w3": rng.standard_normal((6, 2, 2, 2)),
        "z": rng.standard_normal((3, 5, 12, 11)),
        "w4": rng.standard_normal((7, 5, 3, 2)),
    }
    t = {k: module.tensor(v, requires_grad=True) for k, v in arrays.items()}
    y = conv(t["x"], t["w1"], None, padding=1).tanh()
    poison()
    y = conv(y, t["w2"], None, stride=2, padding=(1, 0))
    poison()
    loss_a = (conv_t(y, t["w3"], None, stride=2) ** 2).sum()
    poison()
    loss_b = (conv(t["z"], t["w4"], None, dilation=(2, 1)) ** 2).sum()
    poison()
    loss_a.backward(retain_graph=True)
    poison()
    loss_a.backward()  # the gradients of graph A accumulate to twice their value
    poison()
    loss_b.backward()
    poison()
    return {k: v.grad.detach().numpy() for k, v in t.items()}


def test_workspace_reuse_between_convs_matches_torch(torch):
    minicnn.backend.workspace((1 << 17,), np.float64)  # large enough for every conv below
    ours = _workspace_scenario(minicnn, conv2d, conv_transpose2d, _poison_workspace)
    F = torch.nn.functional
    theirs = _workspace_scenario(torch, F.conv2d, F.conv_transpose2d)
    for name in ours:
        assert np.isfinite(ours[name]).all(), name
        np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-10, atol=1e-12, err_msg=name)


def test_workspace_reuse_between_convs_gradcheck():
    x, w1, w2, w3 = (
        minicnn.tensor(np.random.default_rng(i).standard_normal(shape), requires_grad=True)
        for i, shape in enumerate([(2, 3, 7, 6), (4, 3, 3, 3), (5, 4, 2, 3), (5, 2, 3, 3)])
    )

    def chain(x, w1, w2, w3):
        y = conv2d(x, w1, padding=1).tanh()
        y = conv2d(y, w2, stride=(2, 1)).tanh()
        return conv_transpose2d(y, w3, stride=2)

    assert minicnn.gradcheck(chain, [x, w1, w2, w3])
