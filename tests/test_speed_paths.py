"""The speed paths: dtypes, fast paths against their plain twins, and memory behaviour.

* No functional op promotes float32 to float64, forward or backward (every name in
  ``minicnn.functional.__all__`` is covered, so a new op must be added here).
* Fast paths (GELU's erf by ranges and float32's A&S formula, depthwise convolution,
  convolution in slabs of a bounded workspace) give the reference's numbers (``minicnn.ops.reference``) and PyTorch's.
* Memory: the im2col workspace never keeps more than its cap, and repeated ``no_grad``
  forward passes allocate nothing that stays.

No timing is asserted anywhere: speed is measured by ``python -m benchmarks``.
"""

from __future__ import annotations

import contextlib
import gc
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
import minicnn.functional as F
from minicnn.ops import conv as C
from minicnn.ops import reference as R
from minicnn.testing import conv2d_configs, conv_transpose2d_configs, pool2d_configs

RNG = np.random.default_rng(0)


def _f32(*shape, low=None):
    a = RNG.standard_normal(shape) if low is None else RNG.uniform(low, 1.0, shape)
    return a.astype(np.float32)


def _labels(n, classes):
    return RNG.integers(0, classes, n)


# name in F.__all__ -> (call on tensors, float32 input arrays); int arrays get no gradient
FLOAT32_CALLS = {
    "adaptive_avg_pool2d": (lambda x: F.adaptive_avg_pool2d(x, (2, 3)), [_f32(2, 3, 5, 7)]),
    "adaptive_max_pool2d": (lambda x: F.adaptive_max_pool2d(x, (2, 3)), [_f32(2, 3, 5, 7)]),
    "avg_pool2d": (
        lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
        [_f32(2, 3, 8, 8)],
    ),
    "batch_norm": (
        lambda x, w, b: (
            F.batch_norm(x, mc.zeros(3), mc.ones(3), w, b, training=True)
            + F.batch_norm(x, mc.zeros(3), mc.ones(3), w, b, training=False)
        ),
        [_f32(4, 3, 2, 2), _f32(3), _f32(3)],
    ),  # fmt: skip
    "binary_cross_entropy": (
        lambda p, t: F.binary_cross_entropy(p, t),
        [_f32(3, 4, low=0.05), _f32(3, 4, low=0.0)],
    ),
    "binary_cross_entropy_with_logits": (
        lambda x, t: F.binary_cross_entropy_with_logits(x, t, pos_weight=mc.ones(4) * 2),
        [_f32(3, 4), _f32(3, 4, low=0.0)],
    ),
    "conv2d": (
        lambda x, w, b: (
            F.conv2d(x, w, b, stride=2, padding=1)
            + F.conv2d(x, w, b, stride=2, padding=1, dilation=1)
        ),
        [_f32(2, 4, 7, 6), _f32(4, 4, 3, 3), _f32(4)],
    ),
    "conv_transpose2d": (
        lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
        [_f32(2, 3, 4, 4), _f32(3, 2, 3, 3), _f32(2)],
    ),
    "cross_entropy": (
        lambda x, y: F.cross_entropy(x, y, label_smoothing=0.1),
        [_f32(5, 4), _labels(5, 4)],
    ),
    "dropout": (lambda x: F.dropout(x, 0.3), [_f32(4, 5)]),
    "elu": (lambda x: F.elu(x, 1.5), [_f32(4, 5)]),
    "gelu": (lambda x: F.gelu(x * 4) + F.gelu(x * 4, "tanh"), [_f32(4, 5)]),
    "global_avg_pool2d": (F.global_avg_pool2d, [_f32(2, 3, 4, 4)]),
    "global_max_pool2d": (F.global_max_pool2d, [_f32(2, 3, 4, 4)]),
    "group_norm": (lambda x, w, b: F.group_norm(x, 2, w, b), [_f32(2, 4, 3, 3), _f32(4), _f32(4)]),
    "hardswish": (lambda x: F.hardswish(x * 4), [_f32(4, 5)]),
    "interpolate": (
        lambda x: (
            F.interpolate(x, scale_factor=2)
            + F.interpolate(x, size=(8, 10), mode="bilinear", align_corners=False)
        ),
        [_f32(2, 3, 4, 5)],
    ),
    "layer_norm": (
        lambda x, w, b: F.layer_norm(x, (3, 4), w, b),
        [_f32(2, 3, 4), _f32(3, 4), _f32(3, 4)],
    ),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.1), [_f32(4, 5)]),
    "linear": (F.linear, [_f32(4, 3), _f32(2, 3), _f32(2)]),
    "log_softmax": (lambda x: F.log_softmax(x, 1), [_f32(4, 5)]),
    "max_pool2d": (
        lambda x: F.max_pool2d(x, 3, 2, 1) + F.max_pool2d(x, 2)[..., :4, :4],
        [_f32(2, 3, 8, 8)],
    ),
    "max_unpool2d": (
        lambda x: F.max_unpool2d(*F.max_pool2d(x, 2, return_indices=True), 2),
        [_f32(2, 3, 6, 6)],
    ),
    "mish": (F.mish, [_f32(4, 5)]),
    "mse_loss": (F.mse_loss, [_f32(3, 4), _f32(3, 4)]),
    "nll_loss": (lambda x, y: F.nll_loss(F.log_softmax(x, 1), y), [_f32(5, 4), _labels(5, 4)]),
    "relu": (F.relu, [_f32(4, 5)]),
    "relu6": (lambda x: F.relu6(x * 4), [_f32(4, 5)]),
    "sigmoid": (F.sigmoid, [_f32(4, 5)]),
    "silu": (F.silu, [_f32(4, 5)]),
    "softmax": (lambda x: F.softmax(x, 0), [_f32(4, 5)]),
    "softplus": (lambda x: F.softplus(x, 2, 1), [_f32(4, 5)]),
    "tanh": (F.tanh, [_f32(4, 5)]),
}


def test_every_functional_op_has_a_float32_case():
    missing = sorted(set(F.__all__) - set(FLOAT32_CALLS))
    assert not missing, f"add a float32 case for {missing}"


@pytest.mark.parametrize("name", sorted(FLOAT32_CALLS))
def test_float32_stays_float32(name):
    fn, arrays = FLOAT32_CALLS[name]
    inputs = [mc.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    out = fn(*inputs)
    assert out.dtype == np.float32, f"{name}: output {out.dtype}"
    out.backward(np.ones(out.shape, np.float32))
    for i, t in enumerate(inputs):
        if t.requires_grad:
            assert t.grad is not None and t.grad.dtype == np.float32, f"{name}: grad {i}"


# --- GELU: erf by ranges, block by block -----------------------------------------------------


def _plain_gelu(x):
    """y and dy/dx by the plain formulas of ``minicnn.ops.reference``."""
    return R.gelu_forward(x), R.gelu_backward(x, np.ones_like(x))


def _gelu_cases(dtype):
    """A dense sweep, normal samples, and the specials and exact zeros."""
    x = [np.linspace(-30, 30, 2401), RNG.standard_normal(300), [0.0, -0.0, np.inf, -np.inf, np.nan]]
    return np.concatenate(x).astype(dtype)


@pytest.mark.parametrize("block_bytes", [64, 2**18])
def test_gelu_float64_blocks_equal_the_plain_formula(monkeypatch, block_bytes):
    """Tiny blocks: some hold |x| > 5.66 (Cody's third range), some do not, so both the skip
    and the evaluation of that range are exercised."""
    monkeypatch.setattr(mc.backend, "BLOCK_BYTES", block_bytes)
    x = _gelu_cases(np.float64)
    t = mc.tensor(x, requires_grad=True)
    with np.errstate(invalid="ignore"):  # -inf * Phi(-inf) = -inf * 0 is NaN, as in PyTorch
        y = F.gelu(t)
        want_y, want_slope = _plain_gelu(x)
    y.backward(np.ones_like(x))
    assert y.dtype == np.float64 and t.grad.dtype == np.float64
    np.testing.assert_allclose(y.numpy(), want_y, rtol=1e-14, atol=1e-300)
    # the slope Phi + x phi cancels for x << 0: an absolute tolerance at the terms' rounding
    np.testing.assert_allclose(t.grad.numpy(), want_slope, rtol=1e-14, atol=1e-15)


def _gelu_float32_errors(y, slope, x):
    """How far float32 results are beyond the float32 contract of :func:`F.gelu`: Phi within
    3e-7 of the exact value and float32's rounding of the result (2^-24 relative), so
    |dy| <= 3e-7 |x| + 2^-24 |y| and |dslope| <= 3e-7 + 2^-24 |slope|
    (exact: the float64 plain formula). Positive entries break the contract."""
    with np.errstate(invalid="ignore"):
        want_y, want_slope = _plain_gelu(x.astype(np.float64))
        dy = np.abs(y - want_y) - (3e-7 * np.abs(x) + 2.0**-24 * np.abs(want_y))
        dslope = np.abs(slope - want_slope) - (3e-7 + 2.0**-24 * np.abs(want_slope))
    # equal (infinities) or NaN both: within; NaN elsewhere: beyond
    over = []
    for got, want, d in ((y, want_y, dy), (slope, want_slope, dslope)):
        same = (got == want) | (np.isnan(got) & np.isnan(want))
        over.append(np.where(same, -1, np.nan_to_num(d, nan=1)))
    return over


@pytest.mark.parametrize("block_bytes", [64, 2**18])
def test_gelu_float32_is_as_accurate_as_float32_allows(monkeypatch, block_bytes):
    """float32 takes A&S 7.1.26, whose Phi is within 3e-7 of the exact value: for x << 0
    the tiny y = x Phi(x) is then not accurate relative to itself, as in PyTorch (which gives
    0 from x = -5.54 on), but everywhere within the absolute contract above."""
    monkeypatch.setattr(mc.backend, "BLOCK_BYTES", block_bytes)
    x = np.concatenate([_gelu_cases(np.float32), np.linspace(-8, 8, 100001, dtype=np.float32)])
    t = mc.tensor(x, requires_grad=True)
    with np.errstate(invalid="ignore"):
        y = F.gelu(t)
    y.backward(np.ones_like(x))
    assert y.dtype == np.float32 and t.grad.dtype == np.float32
    over_y, over_slope = _gelu_float32_errors(y.numpy(), t.grad.numpy(), x)
    assert over_y.max() <= 0, f"y beyond the contract at x = {x[over_y.argmax()]}"
    assert over_slope.max() <= 0, f"slope beyond the contract at x = {x[over_slope.argmax()]}"


def test_pytorch_float32_gelu_meets_the_same_contract(torch):
    """PyTorch's float32 GELU meets the contract too: it asks no more than PyTorch gives."""
    x = np.linspace(-8, 8, 100001, dtype=np.float32)
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.nn.functional.gelu(tx)
    ty.backward(torch.ones_like(ty))
    over_y, over_slope = _gelu_float32_errors(ty.detach().numpy(), tx.grad.numpy(), x)
    assert over_y.max() <= 0 and over_slope.max() <= 0


def test_gelu_under_no_grad_keeps_no_slope():
    x = mc.tensor(RNG.standard_normal((3, 4)), requires_grad=True)
    with mc.no_grad():
        y = F.gelu(x)
    assert y.grad_fn is None
    np.testing.assert_allclose(y.numpy(), _plain_gelu(x.numpy())[0], rtol=1e-14)


# --- convolution in slabs of a bounded workspace, depthwise convolution ----------------------

SEEDS = st.integers(0, 2**32 - 1)


@contextlib.contextmanager
def _limits(workspace=None, keep=None, block=None):
    """Set backend.WORKSPACE_LIMIT, ops.conv.KEEP_COLUMNS_BYTES and backend.BLOCK_BYTES for a
    while (small values force many slabs and blocks on tiny inputs)."""
    saved = (mc.backend.WORKSPACE_LIMIT, C.KEEP_COLUMNS_BYTES, mc.backend.BLOCK_BYTES)
    try:
        mc.backend.WORKSPACE_LIMIT = saved[0] if workspace is None else workspace
        C.KEEP_COLUMNS_BYTES = saved[1] if keep is None else keep
        mc.backend.BLOCK_BYTES = saved[2] if block is None else block
        mc.backend.free_workspace()
        yield
    finally:
        mc.backend.WORKSPACE_LIMIT, C.KEEP_COLUMNS_BYTES, mc.backend.BLOCK_BYTES = saved
        mc.backend.free_workspace()


def _run(op, arrays, upstream_seed):
    """Output and gradients of ``op`` on float64 leaves, for a random upstream gradient."""
    tensors = [None if a is None else mc.tensor(a, requires_grad=True) for a in arrays]
    y = op(*tensors)
    g = np.random.default_rng(upstream_seed).standard_normal(y.shape)
    y.backward(g)
    return y.numpy(), g, [t.grad.numpy() for t in tensors if t is not None]


def _close(got, want, names):
    for a, b, name in zip(got, want, names, strict=False):
        assert a.shape == b.shape, name
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=name)


# 1 byte: every slab is one output row of one image; 2 KB: several rows, or several images;
# 1 GB: one slab
SLAB_LIMITS = st.sampled_from([1, 2048, 2**30])


@settings(max_examples=15)
@given(conv2d_configs(max_batch=3), SLAB_LIMITS, st.booleans(), SEEDS)
def test_conv2d_in_slabs_matches_reference(config, limit, keep, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(config.input_shape)
    w = rng.standard_normal(
        (config.out_channels, config.in_channels // config.groups, *config.kernel_size)
    )
    b = rng.standard_normal(config.out_channels)
    geometry = dict(
        stride=config.stride, padding=config.padding, dilation=config.dilation, groups=config.groups
    )
    with _limits(workspace=limit, keep=2**40 if keep else 0):
        y, g, grads = _run(lambda *t: F.conv2d(*t, **geometry), [x, w, b], seed)
        assert mc.backend.workspace_size() <= limit
    want = [R.conv2d_forward(x, w, b, **geometry), *R.conv2d_backward(x, w, g, **geometry)]
    _close([y, *grads], want, ["y", "dx", "dw", "db"])


@settings(max_examples=15)
@given(conv_transpose2d_configs(max_batch=3), SLAB_LIMITS, SEEDS)
def test_conv_transpose2d_in_slabs_matches_reference(config, limit, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(config.input_shape)
    w = rng.standard_normal(
        (config.in_channels, config.out_channels // config.groups, *config.kernel_size)
    )
    b = rng.standard_normal(config.out_channels)
    geometry = dict(
        stride=config.stride, padding=config.padding, dilation=config.dilation, groups=config.groups
    )
    with _limits(workspace=limit):
        op = lambda *t: F.conv_transpose2d(*t, output_padding=config.output_padding, **geometry)  # noqa: E731
        y, g, grads = _run(op, [x, w, b], seed)
    forward = R.conv_transpose2d_forward(x, w, b, output_padding=config.output_padding, **geometry)
    _close(
        [y, *grads],
        [forward, *R.conv_transpose2d_backward(x, w, g, **geometry)],
        ["y", "dx", "dw", "db"],
    )


# groups = in_channels = out_channels: the depthwise route
depthwise_configs = conv2d_configs(
    max_batch=3, max_channels_per_group=1, max_groups=4, max_padding=2
)


@settings(max_examples=20)
@given(depthwise_configs, st.sampled_from([1, 2**18]), st.booleans(), SEEDS)
def test_depthwise_conv2d_matches_reference(config, block, bias, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(config.input_shape)
    w = rng.standard_normal((config.out_channels, 1, *config.kernel_size))
    b = rng.standard_normal(config.out_channels) if bias else None
    geometry = dict(
        stride=config.stride, padding=config.padding, dilation=config.dilation, groups=config.groups
    )
    with _limits(block=block):  # 1 byte: one image per block
        y, g, grads = _run(lambda *t: F.conv2d(*t, **geometry), [x, w, b], seed)
    want = [R.conv2d_forward(x, w, b, **geometry), *R.conv2d_backward(x, w, g, **geometry)]
    _close([y, *grads], want[: len(grads) + 1], ["y", "dx", "dw", "db"])


@pytest.mark.parametrize("stride, depthwise", [((1, 1), True), ((2, 2), True), ((2, 1), False)])
def test_depthwise_route_needs_one_stride_both_ways(stride, depthwise):
    """The taps' 1-D slices need the same stride both ways; other strides go the grouped way
    (both checked against the reference by the hypothesis test above)."""
    x, w = (
        mc.tensor(RNG.standard_normal((2, 3, 7, 7))),
        mc.tensor(RNG.standard_normal((3, 1, 3, 3))),
    )
    x.requires_grad = True
    assert F.conv2d(x, w, stride=stride, groups=3).grad_fn.depthwise is depthwise


def test_depthwise_empty_batch():
    x = mc.tensor(np.zeros((0, 3, 5, 5)), requires_grad=True)
    w = mc.tensor(RNG.standard_normal((3, 1, 3, 3)), requires_grad=True)
    y = F.conv2d(x, w, padding=1, groups=3)
    y.backward(np.ones(y.shape))
    assert y.shape == (0, 3, 5, 5) and x.grad.shape == x.shape
    np.testing.assert_array_equal(w.grad.numpy(), 0)


def test_depthwise_junk_columns_never_reach_the_gradients():
    """An inf read only through a tap's junk columns (stride 1's wide output) must not turn
    that tap's dW, or the dx of pixels the tap never reads, into NaN: as in the reference."""
    x, w = RNG.standard_normal((2, 2, 4, 5)), RNG.standard_normal((2, 1, 3, 3))
    x[0, 0, 1, 4] = np.inf  # the last column: only taps j = 2 read it
    w_inf = w.copy()
    w_inf[1, 0, 0, 0] = np.inf
    g = np.ones((2, 2, 2, 3))
    with np.errstate(invalid="ignore"):
        for xs, ws in [(x, w), (np.nan_to_num(x, posinf=0.0), w_inf)]:
            tx, tw = mc.tensor(xs, requires_grad=True), mc.tensor(ws, requires_grad=True)
            F.conv2d(tx, tw, groups=2).backward(g)
            want_dx, want_dw = R.conv2d_backward(xs, ws, g, groups=2)[:2]
            np.testing.assert_allclose(tx.grad.numpy(), want_dx, rtol=1e-12)
            np.testing.assert_allclose(tw.grad.numpy(), want_dw, rtol=1e-12)


def test_depthwise_only_the_wanted_gradients():
    x, w = RNG.standard_normal((2, 3, 5, 5)), RNG.standard_normal((3, 1, 3, 3))
    for wants in [(True, False), (False, True)]:
        tx, tw = mc.tensor(x, requires_grad=wants[0]), mc.tensor(w, requires_grad=wants[1])
        y = F.conv2d(tx, tw, padding=1, groups=3)
        y.backward(np.ones(y.shape))
        full = R.conv2d_backward(x, w, np.ones(y.shape), padding=(1, 1), groups=3)
        for t, want, wanted in [(tx, full[0], wants[0]), (tw, full[1], wants[1])]:
            if wanted:
                np.testing.assert_allclose(t.grad.numpy(), want, rtol=1e-12)
            else:
                assert t.grad is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "kwargs", [dict(padding=1), dict(stride=2, padding=1), dict(dilation=2, padding=2), dict()]
)
def test_depthwise_conv2d_matches_torch(torch, dtype, kwargs):
    x = RNG.standard_normal((6, 16, 13, 12)).astype(dtype)
    w = RNG.standard_normal((16, 1, 3, 3)).astype(dtype)
    b = RNG.standard_normal(16).astype(dtype)
    ours = [mc.tensor(a, requires_grad=True) for a in (x, w, b)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    y = F.conv2d(*ours, groups=16, **kwargs)
    y_t = torch.nn.functional.conv2d(*theirs, groups=16, **kwargs)
    g = RNG.standard_normal(y.shape).astype(dtype)
    y.backward(g)
    y_t.backward(torch.tensor(g))
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(y.numpy(), y_t.detach().numpy(), **tol)
    for a, t in zip(ours, theirs, strict=True):
        assert a.grad.dtype == dtype
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), **tol)


# --- memory: the workspace stays under its cap, no_grad passes keep nothing -------------------


def test_workspace_never_keeps_more_than_its_limit():
    with _limits(workspace=4096):
        small = mc.backend.workspace((256,), np.float32)  # 1 KB: kept
        assert mc.backend.workspace_size() == 1024
        big = mc.backend.workspace((2048,), np.float32)  # 8 KB: a fresh array, not kept
        assert big.shape == (2048,) and mc.backend.workspace_size() == 1024
        assert not np.shares_memory(small, big)


def test_a_large_convolution_leaves_at_most_the_limit_behind():
    """Columns of 38 MB, above the default 32 MB limit: built in slabs that fit it."""
    mc.backend.free_workspace()
    x = mc.tensor(np.ones((16, 16, 64, 64), np.float32), requires_grad=True)
    w = mc.tensor(np.ones((16, 16, 3, 3), np.float32), requires_grad=True)
    F.conv2d(x, w, padding=1).sum().backward()
    assert 0 < mc.backend.workspace_size() <= mc.backend.WORKSPACE_LIMIT
    # each tap meets 63 or 64 of the 64 rows (columns) of each of the 16 images
    counts = np.array([63, 64, 63])
    np.testing.assert_array_equal(w.grad.numpy()[0, 0], 16 * np.outer(counts, counts))


def _traced_mb(run):
    gc.collect()
    run()
    gc.collect()
    return tracemalloc.get_traced_memory()[0] / 2**20


def test_no_grad_forward_passes_keep_no_memory():
    """tracemalloc sees NumPy's allocations: after warm-up, 30 more no_grad passes of LeNet-5
    leave nothing behind, and a batch 8 times as large leaves at most the workspace limit."""
    mc.manual_seed(0)
    model = mc.models.lenet5()
    model.eval()
    x = mc.tensor(RNG.standard_normal((16, 1, 28, 28)).astype(np.float32))
    big = mc.tensor(RNG.standard_normal((128, 1, 28, 28)).astype(np.float32))

    def passes(batch, count):
        def run():
            with mc.no_grad():
                for _ in range(count):
                    model(batch)

        return run

    with _limits(workspace=2**19):  # 0.5 MB: the batch of 128 needs slabs (1.6 MB of columns)
        tracemalloc.start()
        try:
            warm = _traced_mb(passes(x, 5))
            after = _traced_mb(passes(x, 30))
            after_big = _traced_mb(lambda: (passes(big, 1)(), passes(x, 3)()))
        finally:
            tracemalloc.stop()
    assert after - warm < 0.05, f"{after - warm:.3f} MB more after 30 passes"
    assert after_big - after < 0.5 + 0.05, f"{after_big - after:.3f} MB more after a large batch"


# --- max pooling a block of images at a time --------------------------------------------------


@settings(max_examples=20)
@given(pool2d_configs(max_batch=3), st.booleans(), st.booleans(), SEEDS)
def test_max_pool2d_in_blocks_matches_reference(config, ties, unbatched, seed):
    """Blocks of one image (one plane when unbatched); ties (small integers) test the first
    maximum, overlapping windows the added gradients."""
    rng = np.random.default_rng(seed)
    x = (
        rng.integers(-2, 3, config.input_shape) * 1.0
        if ties
        else rng.standard_normal(config.input_shape)
    )
    window = config.kwargs()
    if unbatched:
        x = x[0]
    with _limits(block=1):
        y, g, (dx,) = _run(lambda t: F.max_pool2d(t, **window), [x], seed)
    kernel = window.pop("kernel_size")
    batched = (x[None], g[None]) if unbatched else (x, g)
    want = [
        R.max_pool2d_forward(batched[0], kernel, **window),
        R.max_pool2d_backward(*batched, kernel, **window),
    ]
    _close([y, dx], [w[0] for w in want] if unbatched else want, ["y", "dx"])
